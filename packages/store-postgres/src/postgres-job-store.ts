/**
 * JobStore on PostgreSQL (pg 8): the shared state of a scaled-out gateway (one ingress, many workers). Every write is
 * one transaction; leases are conditional UPDATEs (row locks decide races: exactly one caller wins), roll-ups lock the
 * job row first. All tables live in one schema (default `veil`), created by init() under an advisory lock so that
 * processes starting together do not race on the DDL.
 *
 * Example:
 *   const store = new PostgresJobStore({ connectionString: 'postgres://postgres@127.0.0.1:5432/veil', schema: 'veil' });
 *   await store.init();
 */
import {
  type AuditEntry,
  type AuditInput,
  createJobRows,
  DELIVERY_LEASE,
  type Delivery,
  type DeliveryFilter,
  type DeliveryResult,
  type DeliveryState,
  emptyDeliveryCounts,
  emptyOutcome,
  finishDeliveryRows,
  JOB_LEASE,
  type Job,
  type JobFilter,
  type JobGuard,
  type JobState,
  type JobStore,
  type JobUpdate,
  leaseExpiry,
  type NewJob,
  num,
  type QuarantineRecord,
  type QuarantineState,
  REPLAYABLE_DELIVERY_STATES,
  type Row,
  recordParams,
  rowMappers,
  runAsync,
  type StoreRows,
  type StudyRecord,
  saveJobRows,
  settleStudiesRows,
} from '@veil/pipeline';
import pg from 'pg';
import { appendChainedPg, type PendingAudit, upgradeAuditPg } from './governance.ts';
import { SCHEMA_NAME, SCHEMA_VERSION, schemaSql } from './schema.ts';

type Client = pg.PoolClient | pg.Pool;
const { toJob, toDelivery, toQuarantine, toStudy, toAudit } = rowMappers((v) => v);

/** Counts of `state` from `SELECT state, COUNT(*) AS n ... GROUP BY state` rows. */
function countsOf(rows: readonly Row[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of rows) counts[String(r.state)] = num(r.n);
  return counts;
}

export interface PostgresJobStoreOptions {
  readonly connectionString: string;
  /** Schema holding the tables (created when missing): lowercase letters, digits, underscores. Default `veil`. */
  readonly schema?: string;
  /** Pool size (default 10). */
  readonly max?: number;
}

export class PostgresJobStore implements JobStore {
  readonly schema: string;
  readonly #pool: pg.Pool;
  #closed = false;
  /** Audit events of each open transaction: chained and appended last, just before COMMIT (governance.ts). */
  readonly #pending = new WeakMap<object, PendingAudit[]>();

  constructor(options: PostgresJobStoreOptions) {
    this.schema = options.schema ?? 'veil';
    if (!SCHEMA_NAME.test(this.schema)) throw new Error('STORE_BAD_SCHEMA_NAME');
    this.#pool = new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 10 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.#pool.on('error', () => {});
  }

  #t(table: string): string {
    return `"${this.schema}".${table}`;
  }

  async #tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      const pending: PendingAudit[] = [];
      this.#pending.set(c, pending);
      const out = await fn(c);
      await appendChainedPg(c, this.schema, pending);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      this.#pending.delete(c);
      c.release();
    }
  }

  async #rows(c: Client, sql: string, args: unknown[] = []): Promise<Row[]> {
    return (await c.query(sql, args)).rows as Row[];
  }

  async init(): Promise<void> {
    await this.#tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`veil-schema:${this.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await c.query(schemaSql(`"${this.schema}"`));
      await upgradeAuditPg(c, this.schema);
      const [row] = await this.#rows(c, `SELECT value FROM ${this.#t('veil_meta')} WHERE key = 'schema_version'`);
      if (!row) {
        await c.query(`INSERT INTO ${this.#t('veil_meta')} (key, value) VALUES ('schema_version', $1)`, [
          String(SCHEMA_VERSION),
        ]);
      } else if (Number(row.value) > SCHEMA_VERSION) throw new Error('STORE_SCHEMA_NEWER');
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  async ping(): Promise<void> {
    await this.#pool.query('SELECT 1');
  }

  async #audit(c: Client, jobId: string | null, entry: AuditInput, now: number): Promise<void> {
    // Hash-chained at the end of the transaction (governance.ts): every event commits to the one before it.
    const pending = this.#pending.get(c);
    if (!pending) throw new Error('STORE_AUDIT_OUTSIDE_TRANSACTION');
    pending.push({ jobId, entry, now });
  }

  async #getJob(c: Client, id: string, lock = false): Promise<Job | undefined> {
    const [r] = await this.#rows(c, `SELECT * FROM ${this.#t('jobs')} WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
    return r ? toJob(r) : undefined;
  }

  async #getQuarantine(c: Client, jobId: string): Promise<QuarantineRecord | undefined> {
    const [r] = await this.#rows(c, `SELECT * FROM ${this.#t('quarantine')} WHERE job_id = $1`, [jobId]);
    return r ? toQuarantine(r) : undefined;
  }

  /** The rows of @veil/pipeline's store transactions in this transaction; `lock` and the locked reads: FOR UPDATE. */
  #port(c: pg.PoolClient): StoreRows {
    const one = async (sql: string, args: unknown[]): Promise<Row | undefined> => (await this.#rows(c, sql, args))[0];
    const counts = async (sql: string, key: string): Promise<Record<string, number>> =>
      countsOf(await this.#rows(c, sql, [key]));
    return {
      insertJobIfAbsent: async (j) => {
        const inserted = await this.#rows(
          c,
          `INSERT INTO ${this.#t('jobs')} (state, step, step_state, study_key, attempts, error, lease_owner, lease_until,
             updated_at, finished_at, id, ingress, route, source, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          [...recordParams.job(j), ...recordParams.jobCreation(j)],
        );
        return inserted.length === 1;
      },
      getJob: (id, lock) => this.#getJob(c, id, lock),
      writeJob: async (j) => {
        await c.query(
          `UPDATE ${this.#t('jobs')} SET state = $1, step = $2, step_state = $3, study_key = $4, attempts = $5,
             error = $6, lease_owner = $7, lease_until = $8, updated_at = $9, finished_at = $10 WHERE id = $11`,
          recordParams.job(j),
        );
      },
      insertDeliveryIfAbsent: async (d) => {
        await c.query(
          `INSERT INTO ${this.#t('deliveries')} (state, attempts, next_attempt_at, error, lease_owner, lease_until,
             updated_at, delivered_at, job_id, destination) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (job_id, destination) DO NOTHING`,
          recordParams.delivery(d),
        );
      },
      lockDelivery: async (jobId, destination) => {
        const r = await one(
          `SELECT * FROM ${this.#t('deliveries')} WHERE job_id = $1 AND destination = $2 FOR UPDATE`,
          [jobId, destination],
        );
        return r && toDelivery(r);
      },
      replayableDeliveries: async (jobId) =>
        (
          await this.#rows(
            c,
            `SELECT * FROM ${this.#t('deliveries')} WHERE job_id = $1 AND state = ANY($2) FOR UPDATE`,
            [jobId, [...REPLAYABLE_DELIVERY_STATES]],
          )
        ).map(toDelivery),
      writeDelivery: async (d) => {
        const r = await one(
          `UPDATE ${this.#t('deliveries')} SET state = $1, attempts = $2, next_attempt_at = $3, error = $4,
             lease_owner = $5, lease_until = $6, updated_at = $7, delivered_at = $8
           WHERE job_id = $9 AND destination = $10 RETURNING *`,
          recordParams.delivery(d),
        );
        return toDelivery(r!);
      },
      deliveryCounts: (jobId) =>
        counts(`SELECT state, COUNT(*) AS n FROM ${this.#t('deliveries')} WHERE job_id = $1 GROUP BY state`, jobId),
      getQuarantine: (jobId) => this.#getQuarantine(c, jobId),
      putQuarantine: async (q) => {
        await c.query(
          `INSERT INTO ${this.#t('quarantine')} (job_id, state, code, tag_path, step, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (job_id) DO UPDATE SET state = excluded.state, code = excluded.code, tag_path = excluded.tag_path,
             step = excluded.step, created_at = excluded.created_at, updated_at = excluded.updated_at`,
          recordParams.quarantine(q),
        );
      },
      // A concurrent first instance of the same study waits on the insert, then on the lock: both are counted.
      lockStudy: async (blank) => {
        await c.query(
          `INSERT INTO ${this.#t('studies')} (study_key, state, instances, first_seen_at, last_seen_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (study_key) DO NOTHING`,
          [blank.studyKey, blank.state, blank.instances, blank.firstSeenAt, blank.lastSeenAt],
        );
        const r = await one(`SELECT * FROM ${this.#t('studies')} WHERE study_key = $1 FOR UPDATE`, [blank.studyKey]);
        return toStudy(r!);
      },
      // Locked; another settler skips them.
      quietOpenStudies: async (cutoff) =>
        (
          await this.#rows(
            c,
            `SELECT * FROM ${this.#t('studies')} WHERE state = 'open' AND last_seen_at <= $1
             ORDER BY study_key COLLATE "C" FOR UPDATE SKIP LOCKED`,
            [cutoff],
          )
        ).map(toStudy),
      jobCountsOfStudy: (studyKey) =>
        counts(`SELECT state, COUNT(*) AS n FROM ${this.#t('jobs')} WHERE study_key = $1 GROUP BY state`, studyKey),
      writeStudy: async (st) => {
        const r = await one(
          `UPDATE ${this.#t('studies')} SET state = $1, instances = $2, first_seen_at = $3, last_seen_at = $4,
             stable_at = $5, outcome = $6 WHERE study_key = $7 RETURNING *`,
          recordParams.study(st),
        );
        return toStudy(r!);
      },
      audit: (jobId, entry, now) => this.#audit(c, jobId, entry, now),
    };
  }

  async createJob(job: NewJob, now: number): Promise<Job> {
    return this.#tx((c) => runAsync(createJobRows(this.#port(c), job, now)));
  }

  async getJob(id: string): Promise<Job | undefined> {
    return this.#getJob(this.#pool, id);
  }

  async listJobs(filter: JobFilter = {}): Promise<Job[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.states) {
      if (filter.states.length === 0) return [];
      args.push([...filter.states]);
      where.push(`state = ANY($${args.length})`);
    }
    if (filter.afterId !== undefined) {
      args.push(filter.afterId);
      where.push(`id > $${args.length}`);
    }
    if (filter.updatedBefore !== undefined) {
      args.push(filter.updatedBefore);
      where.push(`updated_at < $${args.length}`);
    }
    args.push(filter.limit ?? 10_000);
    const sql = `SELECT * FROM ${this.#t('jobs')} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY id COLLATE "C" LIMIT $${args.length}`;
    return (await this.#rows(this.#pool, sql, args)).map(toJob);
  }

  async countJobs(): Promise<Record<JobState, number>> {
    const counts = emptyOutcome();
    for (const r of await this.#rows(
      this.#pool,
      `SELECT state, COUNT(*) AS n FROM ${this.#t('jobs')} GROUP BY state`,
    )) {
      counts[r.state as JobState] = num(r.n);
    }
    return counts;
  }

  // The claims and renewals are single conditional UPDATEs (row locks decide races; lifecycle.ts JOB_LEASE:
  // canLeaseJob, leasedJob, canRenewJobLease); the conformance suite checks them against those rules.
  async leaseJob(id: string, owner: string, now: number, ttlMs: number): Promise<Job | undefined> {
    const [r] = await this.#rows(
      this.#pool,
      `UPDATE ${this.#t('jobs')} SET state = $5, lease_owner = $1, lease_until = $2, updated_at = $3
       WHERE id = $4 AND state = ANY($6)
         AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= $3 OR lease_owner = $1)
       RETURNING *`,
      [owner, leaseExpiry(now, ttlMs), now, id, JOB_LEASE.leased, [...JOB_LEASE.states]],
    );
    return r ? toJob(r) : undefined;
  }

  async renewJobLease(id: string, owner: string, now: number, ttlMs: number): Promise<boolean> {
    const r = await this.#pool.query(
      `UPDATE ${this.#t('jobs')} SET lease_until = $1, updated_at = $2
       WHERE id = $3 AND state = $5 AND lease_owner = $4 AND lease_until > $2`,
      [leaseExpiry(now, ttlMs), now, id, owner, JOB_LEASE.leased],
    );
    return r.rowCount === 1;
  }

  async saveJob(id: string, guard: JobGuard, update: JobUpdate, now: number): Promise<Job | undefined> {
    return this.#tx((c) => runAsync(saveJobRows(this.#port(c), id, guard, update, now)));
  }

  async breakLeases(now: number): Promise<number> {
    return this.#tx(async (c) => {
      const a = await c.query(
        `UPDATE ${this.#t('jobs')} SET lease_owner = NULL, lease_until = NULL, updated_at = $1
         WHERE lease_owner IS NOT NULL`,
        [now],
      );
      const b = await c.query(
        `UPDATE ${this.#t('deliveries')} SET lease_owner = NULL, lease_until = NULL, updated_at = $1
         WHERE lease_owner IS NOT NULL`,
        [now],
      );
      return (a.rowCount ?? 0) + (b.rowCount ?? 0);
    });
  }

  async listDeliveries(filter: DeliveryFilter = {}): Promise<Delivery[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.jobId !== undefined) {
      args.push(filter.jobId);
      where.push(`job_id = $${args.length}`);
    }
    if (filter.states) {
      if (filter.states.length === 0) return [];
      args.push([...filter.states]);
      where.push(`state = ANY($${args.length})`);
    }
    args.push(filter.limit ?? 100_000);
    const sql = `SELECT * FROM ${this.#t('deliveries')} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY job_id COLLATE "C", destination COLLATE "C" LIMIT $${args.length}`;
    return (await this.#rows(this.#pool, sql, args)).map(toDelivery);
  }

  async countDeliveries(): Promise<Record<DeliveryState, number>> {
    const counts = emptyDeliveryCounts();
    for (const r of await this.#rows(
      this.#pool,
      `SELECT state, COUNT(*) AS n FROM ${this.#t('deliveries')} GROUP BY state`,
    )) {
      counts[r.state as DeliveryState] = num(r.n);
    }
    return counts;
  }

  async leaseDelivery(
    jobId: string,
    destination: string,
    owner: string,
    now: number,
    ttlMs: number,
  ): Promise<Delivery | undefined> {
    const [r] = await this.#rows(
      this.#pool,
      `UPDATE ${this.#t('deliveries')} SET state = $6, attempts = attempts + 1, lease_owner = $1,
         lease_until = $2, updated_at = $3
       WHERE job_id = $4 AND destination = $5
         AND (state = $7 OR (state = $8 AND next_attempt_at <= $3)
              OR (state = $9 AND (lease_until IS NULL OR lease_until <= $3)))
       RETURNING *`,
      [
        owner,
        leaseExpiry(now, ttlMs),
        now,
        jobId,
        destination,
        DELIVERY_LEASE.leased,
        DELIVERY_LEASE.ready,
        DELIVERY_LEASE.due,
        DELIVERY_LEASE.stale,
      ],
    );
    return r ? toDelivery(r) : undefined;
  }

  async renewDeliveryLease(
    jobId: string,
    destination: string,
    owner: string,
    now: number,
    ttlMs: number,
  ): Promise<boolean> {
    const r = await this.#pool.query(
      `UPDATE ${this.#t('deliveries')} SET lease_until = $1, updated_at = $2
       WHERE job_id = $3 AND destination = $4 AND state = $6 AND lease_owner = $5 AND lease_until > $2`,
      [leaseExpiry(now, ttlMs), now, jobId, destination, owner, DELIVERY_LEASE.leased],
    );
    return r.rowCount === 1;
  }

  async finishDelivery(
    jobId: string,
    destination: string,
    owner: string,
    result: DeliveryResult,
    now: number,
  ): Promise<{ delivery: Delivery; job: Job } | undefined> {
    return this.#tx((c) => runAsync(finishDeliveryRows(this.#port(c), jobId, destination, owner, result, now)));
  }

  async getQuarantine(jobId: string): Promise<QuarantineRecord | undefined> {
    return this.#getQuarantine(this.#pool, jobId);
  }

  async listQuarantine(
    filter: { readonly states?: readonly QuarantineState[]; readonly limit?: number } = {},
  ): Promise<QuarantineRecord[]> {
    const args: unknown[] = [];
    let where = '';
    if (filter.states) {
      if (filter.states.length === 0) return [];
      args.push([...filter.states]);
      where = 'WHERE state = ANY($1)';
    }
    args.push(filter.limit ?? 10_000);
    return (
      await this.#rows(
        this.#pool,
        `SELECT * FROM ${this.#t('quarantine')} ${where} ORDER BY job_id COLLATE "C" LIMIT $${args.length}`,
        args,
      )
    ).map(toQuarantine);
  }

  async getStudy(studyKey: string): Promise<StudyRecord | undefined> {
    const [r] = await this.#rows(this.#pool, `SELECT * FROM ${this.#t('studies')} WHERE study_key = $1`, [studyKey]);
    return r ? toStudy(r) : undefined;
  }

  async listStudies(
    filter: { readonly state?: 'open' | 'stable'; readonly limit?: number } = {},
  ): Promise<StudyRecord[]> {
    const args: unknown[] = [];
    let where = '';
    if (filter.state) {
      args.push(filter.state);
      where = 'WHERE state = $1';
    }
    args.push(filter.limit ?? 10_000);
    return (
      await this.#rows(
        this.#pool,
        `SELECT * FROM ${this.#t('studies')} ${where} ORDER BY first_seen_at, study_key COLLATE "C"
         LIMIT $${args.length}`,
        args,
      )
    ).map(toStudy);
  }

  async settleStudies(now: number, quietMs: number): Promise<StudyRecord[]> {
    return this.#tx((c) => runAsync(settleStudiesRows(this.#port(c), now, quietMs)));
  }

  async appendAudit(jobId: string | null, entry: AuditInput, now: number): Promise<void> {
    await this.#tx(async (c) => this.#audit(c, jobId, entry, now));
  }

  async listAudit(
    filter: { readonly jobId?: string; readonly afterSeq?: number; readonly limit?: number } = {},
  ): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.jobId !== undefined) {
      args.push(filter.jobId);
      where.push(`job_id = $${args.length}`);
    }
    if (filter.afterSeq !== undefined) {
      args.push(filter.afterSeq);
      where.push(`seq > $${args.length}`);
    }
    args.push(filter.limit ?? 10_000);
    const sql = `SELECT * FROM ${this.#t('audit')} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY seq LIMIT $${args.length}`;
    return (await this.#rows(this.#pool, sql, args)).map(toAudit);
  }
}
