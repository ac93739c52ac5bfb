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
  type Delivery,
  type DeliveryFilter,
  type DeliveryResult,
  type DeliveryState,
  deliveryAudit,
  deliveryError,
  emptyOutcome,
  finishedAtAfter,
  type Job,
  type JobFilter,
  type JobGuard,
  type JobState,
  type JobStore,
  type JobUpdate,
  jobSettledAudit,
  jobStateAfterDeliveries,
  type NewJob,
  num,
  type QuarantineRecord,
  type QuarantineState,
  type Row,
  rowMappers,
  SETTLED_STATES,
  type StudyRecord,
} from '@veil/pipeline';
import pg from 'pg';
import { appendChainedPg, type PendingAudit, upgradeAuditPg } from './governance.ts';
import { SCHEMA_NAME, SCHEMA_VERSION, schemaSql } from './schema.ts';

type Client = pg.PoolClient | pg.Pool;
const { toJob, toDelivery, toQuarantine, toStudy, toAudit } = rowMappers((v) => v);

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

  async createJob(job: NewJob, now: number): Promise<Job> {
    return this.#tx(async (c) => {
      const inserted = await this.#rows(
        c,
        `INSERT INTO ${this.#t('jobs')} (id, state, step, step_state, ingress, route, source, attempts, created_at,
           updated_at) VALUES ($1, 'queued', $2, $3, $4, $5, $6, 0, $7, $7) ON CONFLICT (id) DO NOTHING RETURNING id`,
        [
          job.id,
          job.step,
          JSON.stringify(job.stepState ?? {}),
          job.ingress,
          job.route,
          JSON.stringify(job.source),
          now,
        ],
      );
      if (inserted.length === 1) {
        await this.#audit(
          c,
          job.id,
          { event: 'job.received', detail: { ingress: job.ingress, route: job.route } },
          now,
        );
      }
      return (await this.#getJob(c, job.id))!;
    });
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

  async leaseJob(id: string, owner: string, now: number, ttlMs: number): Promise<Job | undefined> {
    const [r] = await this.#rows(
      this.#pool,
      `UPDATE ${this.#t('jobs')} SET state = 'processing', lease_owner = $1, lease_until = $2, updated_at = $3
       WHERE id = $4 AND state IN ('queued', 'processing')
         AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= $3 OR lease_owner = $1)
       RETURNING *`,
      [owner, now + ttlMs, now, id],
    );
    return r ? toJob(r) : undefined;
  }

  async renewJobLease(id: string, owner: string, now: number, ttlMs: number): Promise<boolean> {
    const r = await this.#pool.query(
      `UPDATE ${this.#t('jobs')} SET lease_until = $1, updated_at = $2
       WHERE id = $3 AND state = 'processing' AND lease_owner = $4 AND lease_until > $2`,
      [now + ttlMs, now, id, owner],
    );
    return r.rowCount === 1;
  }

  async saveJob(id: string, guard: JobGuard, update: JobUpdate, now: number): Promise<Job | undefined> {
    return this.#tx(async (c) => {
      const job = await this.#getJob(c, id, true);
      if (!job) return undefined;
      if ('owner' in guard) {
        if (job.leaseOwner !== guard.owner || job.leaseUntil === null || job.leaseUntil <= now) return undefined;
      } else if (!guard.states.includes(job.state)) return undefined;

      const state = update.state ?? job.state;
      const finishedAt = finishedAtAfter(job, update.state, now);
      const release = update.releaseLease === true;
      const setStudy = update.studyKey !== undefined && job.studyKey === null;
      await c.query(
        `UPDATE ${this.#t('jobs')} SET state = $1, step = $2, step_state = $3, study_key = $4, attempts = $5,
           error = $6, lease_owner = $7, lease_until = $8, updated_at = $9, finished_at = $10 WHERE id = $11`,
        [
          state,
          update.step ?? job.step,
          JSON.stringify(update.stepState ?? job.stepState),
          setStudy ? update.studyKey! : job.studyKey,
          update.attempts ?? job.attempts,
          update.error !== undefined ? update.error : job.error,
          release ? null : job.leaseOwner,
          release ? null : job.leaseUntil,
          now,
          finishedAt,
          id,
        ],
      );
      if (setStudy) {
        await c.query(
          `INSERT INTO ${this.#t('studies')} AS s (study_key, state, instances, first_seen_at, last_seen_at)
           VALUES ($1, 'open', 1, $2, $2)
           ON CONFLICT (study_key) DO UPDATE SET instances = s.instances + 1, state = 'open', stable_at = NULL,
             outcome = NULL, last_seen_at = GREATEST(s.last_seen_at, excluded.last_seen_at)`,
          [update.studyKey!, now],
        );
      }
      for (const destination of update.deliveries ?? []) {
        await c.query(
          `INSERT INTO ${this.#t('deliveries')} (job_id, destination, state, attempts, updated_at)
           VALUES ($1, $2, 'pending', 0, $3) ON CONFLICT (job_id, destination) DO NOTHING`,
          [id, destination, now],
        );
      }
      if (update.replayDead) {
        await c.query(
          `UPDATE ${this.#t('deliveries')} SET state = 'pending', attempts = 0, error = NULL, next_attempt_at = NULL,
             lease_owner = NULL, lease_until = NULL, updated_at = $1 WHERE job_id = $2 AND state = 'dead'`,
          [now, id],
        );
      }
      if (update.quarantine) {
        const q = update.quarantine;
        await c.query(
          `INSERT INTO ${this.#t('quarantine')} (job_id, state, code, tag_path, step, created_at, updated_at)
           VALUES ($1, 'held', $2, $3, $4, $5, $5)
           ON CONFLICT (job_id) DO UPDATE SET state = 'held', code = excluded.code, tag_path = excluded.tag_path,
             step = excluded.step, updated_at = excluded.updated_at`,
          [id, q.code, q.tagPath ?? null, q.step, now],
        );
      }
      if (update.quarantineState) {
        await c.query(`UPDATE ${this.#t('quarantine')} SET state = $1, updated_at = $2 WHERE job_id = $3`, [
          update.quarantineState,
          now,
          id,
        ]);
      }
      if (update.audit) await this.#audit(c, id, update.audit, now);
      return this.#getJob(c, id);
    });
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
    const counts: Record<DeliveryState, number> = {
      pending: 0,
      sending: 0,
      retry: 0,
      delivered: 0,
      dead: 0,
      withheld: 0,
    };
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
      `UPDATE ${this.#t('deliveries')} SET state = 'sending', attempts = attempts + 1, lease_owner = $1,
         lease_until = $2, updated_at = $3
       WHERE job_id = $4 AND destination = $5
         AND (state = 'pending' OR (state = 'retry' AND next_attempt_at <= $3)
              OR (state = 'sending' AND (lease_until IS NULL OR lease_until <= $3)))
       RETURNING *`,
      [owner, now + ttlMs, now, jobId, destination],
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
       WHERE job_id = $3 AND destination = $4 AND state = 'sending' AND lease_owner = $5 AND lease_until > $2`,
      [now + ttlMs, now, jobId, destination, owner],
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
    return this.#tx(async (c) => {
      // Lock the job first: two deliveries of one job finishing together must roll it up one after the other.
      const locked = await this.#getJob(c, jobId, true);
      if (!locked) return undefined;
      const [cur] = await this.#rows(
        c,
        `SELECT * FROM ${this.#t('deliveries')} WHERE job_id = $1 AND destination = $2 FOR UPDATE`,
        [jobId, destination],
      );
      if (cur?.state !== 'sending' || cur.lease_owner !== owner) return undefined;
      const error = deliveryError(result);
      const [updated] = await this.#rows(
        c,
        `UPDATE ${this.#t('deliveries')} SET state = $1, error = $2, next_attempt_at = $3, delivered_at = $4,
           lease_owner = NULL, lease_until = NULL, updated_at = $5 WHERE job_id = $6 AND destination = $7 RETURNING *`,
        [
          result.state,
          error,
          result.state === 'retry' ? result.nextAttemptAt : null,
          result.state === 'delivered' ? now : null,
          now,
          jobId,
          destination,
        ],
      );
      await this.#audit(c, jobId, deliveryAudit(destination, num(cur.attempts), result), now);
      let job = locked;
      if (job.state === 'delivering') {
        const counts: Record<string, number> = {};
        for (const r of await this.#rows(
          c,
          `SELECT state, COUNT(*) AS n FROM ${this.#t('deliveries')} WHERE job_id = $1 GROUP BY state`,
          [jobId],
        )) {
          counts[String(r.state)] = num(r.n);
        }
        const next = jobStateAfterDeliveries(counts);
        if (next) {
          await c.query(`UPDATE ${this.#t('jobs')} SET state = $1, finished_at = $2, updated_at = $2 WHERE id = $3`, [
            next,
            now,
            jobId,
          ]);
          await this.#audit(c, jobId, jobSettledAudit(next), now);
          job = (await this.#getJob(c, jobId))!;
        }
      }
      return { delivery: toDelivery(updated!), job };
    });
  }

  async getQuarantine(jobId: string): Promise<QuarantineRecord | undefined> {
    const [r] = await this.#rows(this.#pool, `SELECT * FROM ${this.#t('quarantine')} WHERE job_id = $1`, [jobId]);
    return r ? toQuarantine(r) : undefined;
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
    const settled = SETTLED_STATES.map((s) => `'${s}'`).join(',');
    return this.#tx(async (c) => {
      const candidates = await this.#rows(
        c,
        `SELECT s.study_key FROM ${this.#t('studies')} s WHERE s.state = 'open' AND s.last_seen_at <= $1
           AND NOT EXISTS (SELECT 1 FROM ${this.#t('jobs')} j WHERE j.study_key = s.study_key
                           AND j.state NOT IN (${settled}))
         ORDER BY s.study_key COLLATE "C" FOR UPDATE SKIP LOCKED`,
        [now - quietMs],
      );
      const out: StudyRecord[] = [];
      for (const cand of candidates) {
        const key = String(cand.study_key);
        const outcome = emptyOutcome();
        for (const r of await this.#rows(
          c,
          `SELECT state, COUNT(*) AS n FROM ${this.#t('jobs')} WHERE study_key = $1 GROUP BY state`,
          [key],
        )) {
          outcome[r.state as JobState] = num(r.n);
        }
        const [row] = await this.#rows(
          c,
          `UPDATE ${this.#t('studies')} SET state = 'stable', stable_at = $1, outcome = $2 WHERE study_key = $3
           RETURNING *`,
          [now, JSON.stringify(outcome), key],
        );
        const study = toStudy(row!);
        await this.#audit(
          c,
          null,
          { event: 'study.stable', detail: { studyKey: key, instances: study.instances, outcome } },
          now,
        );
        out.push(study);
      }
      return out;
    });
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
