/**
 * JobStore on one SQLite file (better-sqlite3): the embedded server's durable state. WAL with synchronous=FULL, so a
 * commit is on disk (fsynced) before the call resolves and survives a power cut, not only a crash; every write method
 * is one IMMEDIATE transaction. One process writes (the server); others (the `veil jobs` CLI) may read and make
 * operator changes concurrently (busy_timeout).
 *
 * Example:
 *   const store = new SqliteJobStore('/var/lib/veil/veil.db');
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
  runSync,
  type StoreRows,
  type StudyRecord,
  saveJobRows,
  settleStudiesRows,
} from '@veil/pipeline';
import Database from 'better-sqlite3';
import { appendChained, upgradeAudit } from './governance.ts';
import { SCHEMA, SCHEMA_VERSION } from './schema.ts';

const { toJob, toDelivery, toQuarantine, toStudy, toAudit } = rowMappers((v) => JSON.parse(String(v)));

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(',');

/** Counts of `state` from `SELECT state, COUNT(*) AS n ... GROUP BY state` rows. */
function countsOf(rows: readonly Row[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of rows) counts[String(r.state)] = num(r.n);
  return counts;
}

export interface SqliteJobStoreOptions {
  /** Milliseconds to wait for another connection's write lock (default 10000). */
  readonly busyTimeoutMs?: number;
}

export class SqliteJobStore implements JobStore {
  readonly path: string;
  readonly #busyTimeoutMs: number;
  #db: Database.Database | undefined;

  constructor(path: string, options: SqliteJobStoreOptions = {}) {
    this.path = path;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 10_000;
  }

  get #conn(): Database.Database {
    if (!this.#db) throw new Error('STORE_NOT_OPEN');
    return this.#db;
  }

  #tx<T>(fn: (db: Database.Database) => T): T {
    const db = this.#conn;
    return db.transaction(() => fn(db)).immediate();
  }

  async init(): Promise<void> {
    if (!this.#db) {
      const db = new Database(this.path);
      db.pragma(`busy_timeout = ${this.#busyTimeoutMs}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      this.#db = db;
    }
    this.#tx((db) => {
      db.exec(SCHEMA);
      upgradeAudit(db);
      const row = db.prepare(`SELECT value FROM veil_meta WHERE key = 'schema_version'`).get() as Row | undefined;
      if (!row)
        db.prepare(`INSERT INTO veil_meta (key, value) VALUES ('schema_version', ?)`).run(String(SCHEMA_VERSION));
      else if (Number(row.value) > SCHEMA_VERSION) throw new Error('STORE_SCHEMA_NEWER');
    });
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
  }

  async ping(): Promise<void> {
    this.#conn.prepare('SELECT 1').get();
  }

  #audit(db: Database.Database, jobId: string | null, entry: AuditInput, now: number): void {
    // Hash-chained (governance.ts): every event commits to the one before it.
    appendChained(db, jobId, entry, now);
  }

  #getJob(db: Database.Database, id: string): Job | undefined {
    const r = db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
    return r ? toJob(r) : undefined;
  }

  #getQuarantine(db: Database.Database, jobId: string): QuarantineRecord | undefined {
    const r = db.prepare('SELECT * FROM quarantine WHERE job_id = ?').get(jobId) as Row | undefined;
    return r ? toQuarantine(r) : undefined;
  }

  /** The rows of @veil/pipeline's store transactions in this database (one IMMEDIATE transaction: no row locks). */
  #port(db: Database.Database): StoreRows {
    const counts = (sql: string, key: string): Record<string, number> => countsOf(db.prepare(sql).all(key) as Row[]);
    return {
      insertJobIfAbsent: (j) =>
        db
          .prepare(
            `INSERT INTO jobs (state, step, step_state, study_key, attempts, error, lease_owner, lease_until, updated_at,
               finished_at, id, ingress, route, source, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
          )
          .run(...recordParams.job(j), ...recordParams.jobCreation(j)).changes === 1,
      getJob: (id) => this.#getJob(db, id),
      writeJob: (j) => {
        db.prepare(
          `UPDATE jobs SET state = ?, step = ?, step_state = ?, study_key = ?, attempts = ?, error = ?,
             lease_owner = ?, lease_until = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
        ).run(...recordParams.job(j));
      },
      insertDeliveryIfAbsent: (d) => {
        db.prepare(
          `INSERT INTO deliveries (state, attempts, next_attempt_at, error, lease_owner, lease_until, updated_at,
             delivered_at, job_id, destination) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (job_id, destination) DO NOTHING`,
        ).run(...recordParams.delivery(d));
      },
      lockDelivery: (jobId, destination) => {
        const r = db.prepare('SELECT * FROM deliveries WHERE job_id = ? AND destination = ?').get(jobId, destination);
        return r ? toDelivery(r as Row) : undefined;
      },
      replayableDeliveries: (jobId) => {
        const states = REPLAYABLE_DELIVERY_STATES;
        const sql = `SELECT * FROM deliveries WHERE job_id = ? AND state IN (${placeholders(states.length)})`;
        return (db.prepare(sql).all(jobId, ...states) as Row[]).map(toDelivery);
      },
      writeDelivery: (d) =>
        toDelivery(
          db
            .prepare(
              `UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, error = ?, lease_owner = ?,
                 lease_until = ?, updated_at = ?, delivered_at = ? WHERE job_id = ? AND destination = ? RETURNING *`,
            )
            .get(...recordParams.delivery(d)) as Row,
        ),
      deliveryCounts: (jobId) =>
        counts('SELECT state, COUNT(*) AS n FROM deliveries WHERE job_id = ? GROUP BY state', jobId),
      getQuarantine: (jobId) => this.#getQuarantine(db, jobId),
      putQuarantine: (q) => {
        db.prepare(
          `INSERT INTO quarantine (job_id, state, code, tag_path, step, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (job_id) DO UPDATE SET state = excluded.state, code = excluded.code, tag_path = excluded.tag_path,
             step = excluded.step, created_at = excluded.created_at, updated_at = excluded.updated_at`,
        ).run(...recordParams.quarantine(q));
      },
      lockStudy: (blank) => {
        db.prepare(
          `INSERT INTO studies (study_key, state, instances, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (study_key) DO NOTHING`,
        ).run(blank.studyKey, blank.state, blank.instances, blank.firstSeenAt, blank.lastSeenAt);
        return toStudy(db.prepare('SELECT * FROM studies WHERE study_key = ?').get(blank.studyKey) as Row);
      },
      quietOpenStudies: (cutoff) =>
        (
          db
            .prepare(`SELECT * FROM studies WHERE state = 'open' AND last_seen_at <= ? ORDER BY study_key`)
            .all(cutoff) as Row[]
        ).map(toStudy),
      jobCountsOfStudy: (studyKey) =>
        counts('SELECT state, COUNT(*) AS n FROM jobs WHERE study_key = ? GROUP BY state', studyKey),
      writeStudy: (st) =>
        toStudy(
          db
            .prepare(
              `UPDATE studies SET state = ?, instances = ?, first_seen_at = ?, last_seen_at = ?, stable_at = ?,
                 outcome = ? WHERE study_key = ? RETURNING *`,
            )
            .get(...recordParams.study(st)) as Row,
        ),
      audit: (jobId, entry, now) => this.#audit(db, jobId, entry, now),
    };
  }

  async createJob(job: NewJob, now: number): Promise<Job> {
    return this.#tx((db) => runSync(createJobRows(this.#port(db), job, now)));
  }

  async getJob(id: string): Promise<Job | undefined> {
    return this.#getJob(this.#conn, id);
  }

  async listJobs(filter: JobFilter = {}): Promise<Job[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.states) {
      if (filter.states.length === 0) return [];
      where.push(`state IN (${placeholders(filter.states.length)})`);
      args.push(...filter.states);
    }
    if (filter.afterId !== undefined) {
      where.push('id > ?');
      args.push(filter.afterId);
    }
    if (filter.updatedBefore !== undefined) {
      where.push('updated_at < ?');
      args.push(filter.updatedBefore);
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
    args.push(filter.limit ?? 10_000);
    return (this.#conn.prepare(sql).all(...args) as Row[]).map(toJob);
  }

  async countJobs(): Promise<Record<JobState, number>> {
    const counts = emptyOutcome();
    for (const r of this.#conn.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state').all() as Row[]) {
      counts[r.state as JobState] = num(r.n);
    }
    return counts;
  }

  // The claims and renewals are single conditional UPDATEs (lifecycle.ts JOB_LEASE: canLeaseJob, leasedJob,
  // canRenewJobLease); the conformance suite checks them against those rules.
  async leaseJob(id: string, owner: string, now: number, ttlMs: number): Promise<Job | undefined> {
    return this.#tx((db) => {
      const r = db
        .prepare(
          `UPDATE jobs SET state = ?, lease_owner = ?, lease_until = ?, updated_at = ?
           WHERE id = ? AND state IN (${placeholders(JOB_LEASE.states.length)})
             AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= ? OR lease_owner = ?)
           RETURNING *`,
        )
        .get(JOB_LEASE.leased, owner, leaseExpiry(now, ttlMs), now, id, ...JOB_LEASE.states, now, owner) as
        | Row
        | undefined;
      return r ? toJob(r) : undefined;
    });
  }

  async renewJobLease(id: string, owner: string, now: number, ttlMs: number): Promise<boolean> {
    return this.#tx((db) => {
      const r = db
        .prepare(
          `UPDATE jobs SET lease_until = ?, updated_at = ?
           WHERE id = ? AND state = ? AND lease_owner = ? AND lease_until > ?`,
        )
        .run(leaseExpiry(now, ttlMs), now, id, JOB_LEASE.leased, owner, now);
      return r.changes === 1;
    });
  }

  async saveJob(id: string, guard: JobGuard, update: JobUpdate, now: number): Promise<Job | undefined> {
    return this.#tx((db) => runSync(saveJobRows(this.#port(db), id, guard, update, now)));
  }

  async breakLeases(now: number): Promise<number> {
    return this.#tx((db) => {
      const a = db
        .prepare('UPDATE jobs SET lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE lease_owner IS NOT NULL')
        .run(now).changes;
      const b = db
        .prepare(
          `UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE lease_owner IS NOT NULL`,
        )
        .run(now).changes;
      return a + b;
    });
  }

  async listDeliveries(filter: DeliveryFilter = {}): Promise<Delivery[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.jobId !== undefined) {
      where.push('job_id = ?');
      args.push(filter.jobId);
    }
    if (filter.states) {
      if (filter.states.length === 0) return [];
      where.push(`state IN (${placeholders(filter.states.length)})`);
      args.push(...filter.states);
    }
    args.push(filter.limit ?? 100_000);
    const sql = `SELECT * FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY job_id, destination LIMIT ?`;
    return (this.#conn.prepare(sql).all(...args) as Row[]).map(toDelivery);
  }

  async countDeliveries(): Promise<Record<DeliveryState, number>> {
    const counts = emptyDeliveryCounts();
    for (const r of this.#conn.prepare('SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state').all() as Row[]) {
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
    return this.#tx((db) => {
      const r = db
        .prepare(
          `UPDATE deliveries SET state = ?, attempts = attempts + 1, lease_owner = ?, lease_until = ?, updated_at = ?
           WHERE job_id = ? AND destination = ?
             AND (state = ? OR (state = ? AND next_attempt_at <= ?)
                  OR (state = ? AND (lease_until IS NULL OR lease_until <= ?)))
           RETURNING *`,
        )
        .get(
          DELIVERY_LEASE.leased,
          owner,
          leaseExpiry(now, ttlMs),
          now,
          jobId,
          destination,
          DELIVERY_LEASE.ready,
          DELIVERY_LEASE.due,
          now,
          DELIVERY_LEASE.stale,
          now,
        ) as Row | undefined;
      return r ? toDelivery(r) : undefined;
    });
  }

  async renewDeliveryLease(
    jobId: string,
    destination: string,
    owner: string,
    now: number,
    ttlMs: number,
  ): Promise<boolean> {
    return this.#tx((db) => {
      const r = db
        .prepare(
          `UPDATE deliveries SET lease_until = ?, updated_at = ?
           WHERE job_id = ? AND destination = ? AND state = ? AND lease_owner = ? AND lease_until > ?`,
        )
        .run(leaseExpiry(now, ttlMs), now, jobId, destination, DELIVERY_LEASE.leased, owner, now);
      return r.changes === 1;
    });
  }

  async finishDelivery(
    jobId: string,
    destination: string,
    owner: string,
    result: DeliveryResult,
    now: number,
  ): Promise<{ delivery: Delivery; job: Job } | undefined> {
    return this.#tx((db) => runSync(finishDeliveryRows(this.#port(db), jobId, destination, owner, result, now)));
  }

  async getQuarantine(jobId: string): Promise<QuarantineRecord | undefined> {
    return this.#getQuarantine(this.#conn, jobId);
  }

  async listQuarantine(
    filter: { readonly states?: readonly QuarantineState[]; readonly limit?: number } = {},
  ): Promise<QuarantineRecord[]> {
    const args: unknown[] = [];
    let where = '';
    if (filter.states) {
      if (filter.states.length === 0) return [];
      where = `WHERE state IN (${placeholders(filter.states.length)})`;
      args.push(...filter.states);
    }
    args.push(filter.limit ?? 10_000);
    return (this.#conn.prepare(`SELECT * FROM quarantine ${where} ORDER BY job_id LIMIT ?`).all(...args) as Row[]).map(
      toQuarantine,
    );
  }

  async getStudy(studyKey: string): Promise<StudyRecord | undefined> {
    const r = this.#conn.prepare('SELECT * FROM studies WHERE study_key = ?').get(studyKey) as Row | undefined;
    return r ? toStudy(r) : undefined;
  }

  async listStudies(
    filter: { readonly state?: 'open' | 'stable'; readonly limit?: number } = {},
  ): Promise<StudyRecord[]> {
    const args: unknown[] = [];
    let where = '';
    if (filter.state) {
      where = 'WHERE state = ?';
      args.push(filter.state);
    }
    args.push(filter.limit ?? 10_000);
    return (
      this.#conn
        .prepare(`SELECT * FROM studies ${where} ORDER BY first_seen_at, study_key LIMIT ?`)
        .all(...args) as Row[]
    ).map(toStudy);
  }

  async settleStudies(now: number, quietMs: number): Promise<StudyRecord[]> {
    return this.#tx((db) => runSync(settleStudiesRows(this.#port(db), now, quietMs)));
  }

  async appendAudit(jobId: string | null, entry: AuditInput, now: number): Promise<void> {
    this.#tx((db) => this.#audit(db, jobId, entry, now));
  }

  async listAudit(
    filter: { readonly jobId?: string; readonly afterSeq?: number; readonly limit?: number } = {},
  ): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.jobId !== undefined) {
      where.push('job_id = ?');
      args.push(filter.jobId);
    }
    if (filter.afterSeq !== undefined) {
      where.push('seq > ?');
      args.push(filter.afterSeq);
    }
    args.push(filter.limit ?? 10_000);
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ?`;
    return (this.#conn.prepare(sql).all(...args) as Row[]).map(toAudit);
  }
}
