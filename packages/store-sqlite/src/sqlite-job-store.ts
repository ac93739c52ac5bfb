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
  DELIVERY_LEASE,
  type Delivery,
  type DeliveryFilter,
  type DeliveryResult,
  type DeliveryState,
  deliveryAfterResult,
  deliveryAudit,
  emptyDeliveryCounts,
  emptyOutcome,
  emptyStudy,
  JOB_LEASE,
  type Job,
  type JobFilter,
  type JobGuard,
  type JobState,
  type JobStore,
  type JobUpdate,
  jobAfterDeliveries,
  jobReceivedAudit,
  jobSettledAudit,
  leaseExpiry,
  type NewJob,
  newJobRecord,
  num,
  ownsAttempt,
  planJobUpdate,
  type QuarantineRecord,
  type QuarantineState,
  quarantineAfterHold,
  quarantineAfterState,
  REPLAYABLE_DELIVERY_STATES,
  type Row,
  replayedDelivery,
  rowMappers,
  type StudyRecord,
  stableStudy,
  studyAfterInstance,
  studyIsStable,
  studyQuietCutoff,
  studyStableAudit,
} from '@veil/pipeline';
import Database from 'better-sqlite3';
import { appendChained, upgradeAudit } from './governance.ts';
import { SCHEMA, SCHEMA_VERSION } from './schema.ts';

const { toJob, toDelivery, toQuarantine, toStudy, toAudit } = rowMappers((v) => JSON.parse(String(v)));

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(',');
const json = (v: unknown): string => JSON.stringify(v);

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

  /** Writes every column a job's lifecycle changes (the record comes from @veil/pipeline's lifecycle). */
  #writeJob(db: Database.Database, j: Job): void {
    db.prepare(
      `UPDATE jobs SET state = ?, step = ?, step_state = ?, study_key = ?, attempts = ?, error = ?,
         lease_owner = ?, lease_until = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
    ).run(
      j.state,
      j.step,
      json(j.stepState),
      j.studyKey,
      j.attempts,
      j.error,
      j.leaseOwner,
      j.leaseUntil,
      j.updatedAt,
      j.finishedAt,
      j.id,
    );
  }

  #getDelivery(db: Database.Database, jobId: string, destination: string): Delivery | undefined {
    const r = db.prepare('SELECT * FROM deliveries WHERE job_id = ? AND destination = ?').get(jobId, destination) as
      | Row
      | undefined;
    return r ? toDelivery(r) : undefined;
  }

  #writeDelivery(db: Database.Database, d: Delivery): void {
    db.prepare(
      `UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, error = ?, lease_owner = ?, lease_until = ?,
         updated_at = ?, delivered_at = ? WHERE job_id = ? AND destination = ?`,
    ).run(
      d.state,
      d.attempts,
      d.nextAttemptAt,
      d.error,
      d.leaseOwner,
      d.leaseUntil,
      d.updatedAt,
      d.deliveredAt,
      d.jobId,
      d.destination,
    );
  }

  #writeStudy(db: Database.Database, s: StudyRecord): void {
    db.prepare(
      `UPDATE studies SET state = ?, instances = ?, first_seen_at = ?, last_seen_at = ?, stable_at = ?, outcome = ?
       WHERE study_key = ?`,
    ).run(
      s.state,
      s.instances,
      s.firstSeenAt,
      s.lastSeenAt,
      s.stableAt,
      s.outcome === null ? null : json(s.outcome),
      s.studyKey,
    );
  }

  /** Counts one more instance of the study: the row is created if absent, then moved by studyAfterInstance. */
  #joinStudy(db: Database.Database, studyKey: string, now: number): void {
    const blank = emptyStudy(studyKey, now);
    db.prepare(
      `INSERT INTO studies (study_key, state, instances, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (study_key) DO NOTHING`,
    ).run(blank.studyKey, blank.state, blank.instances, blank.firstSeenAt, blank.lastSeenAt);
    const study = toStudy(db.prepare('SELECT * FROM studies WHERE study_key = ?').get(studyKey) as Row);
    this.#writeStudy(db, studyAfterInstance(study, now));
  }

  #putQuarantine(db: Database.Database, q: QuarantineRecord): void {
    db.prepare(
      `INSERT INTO quarantine (job_id, state, code, tag_path, step, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id) DO UPDATE SET state = excluded.state, code = excluded.code, tag_path = excluded.tag_path,
         step = excluded.step, created_at = excluded.created_at, updated_at = excluded.updated_at`,
    ).run(q.jobId, q.state, q.code, q.tagPath, q.step, q.createdAt, q.updatedAt);
  }

  #getQuarantine(db: Database.Database, jobId: string): QuarantineRecord | undefined {
    const r = db.prepare('SELECT * FROM quarantine WHERE job_id = ?').get(jobId) as Row | undefined;
    return r ? toQuarantine(r) : undefined;
  }

  async createJob(job: NewJob, now: number): Promise<Job> {
    const j = newJobRecord(job, now);
    return this.#tx((db) => {
      const info = db
        .prepare(
          `INSERT INTO jobs (id, state, step, step_state, ingress, route, source, study_key, attempts, error,
             lease_owner, lease_until, created_at, updated_at, finished_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        )
        .run(
          j.id,
          j.state,
          j.step,
          json(j.stepState),
          j.ingress,
          j.route,
          json(j.source),
          j.studyKey,
          j.attempts,
          j.error,
          j.leaseOwner,
          j.leaseUntil,
          j.createdAt,
          j.updatedAt,
          j.finishedAt,
        );
      if (info.changes === 1) this.#audit(db, j.id, jobReceivedAudit(job), now);
      return this.#getJob(db, j.id)!;
    });
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
    return this.#tx((db) => {
      const job = this.#getJob(db, id);
      const plan = job && planJobUpdate(job, guard, update, now);
      if (!plan) return undefined;
      this.#writeJob(db, plan.job);
      if (plan.joinsStudy !== undefined) this.#joinStudy(db, plan.joinsStudy, now);
      for (const d of plan.deliveries) {
        db.prepare(
          `INSERT INTO deliveries (job_id, destination, state, attempts, next_attempt_at, error, lease_owner,
             lease_until, updated_at, delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (job_id, destination) DO NOTHING`,
        ).run(
          d.jobId,
          d.destination,
          d.state,
          d.attempts,
          d.nextAttemptAt,
          d.error,
          d.leaseOwner,
          d.leaseUntil,
          d.updatedAt,
          d.deliveredAt,
        );
      }
      if (plan.replayDead) {
        const states = REPLAYABLE_DELIVERY_STATES;
        const dead = db
          .prepare(`SELECT * FROM deliveries WHERE job_id = ? AND state IN (${placeholders(states.length)})`)
          .all(id, ...states) as Row[];
        for (const r of dead) this.#writeDelivery(db, replayedDelivery(toDelivery(r), now));
      }
      if (plan.hold) this.#putQuarantine(db, quarantineAfterHold(this.#getQuarantine(db, id), id, plan.hold, now));
      if (plan.quarantineState) {
        const q = this.#getQuarantine(db, id);
        if (q) this.#putQuarantine(db, quarantineAfterState(q, plan.quarantineState, now));
      }
      if (plan.audit) this.#audit(db, id, plan.audit, now);
      return this.#getJob(db, id);
    });
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
    return this.#tx((db) => {
      const cur = this.#getDelivery(db, jobId, destination);
      if (!cur || !ownsAttempt(cur, owner)) return undefined;
      const delivery = deliveryAfterResult(cur, result, now);
      this.#writeDelivery(db, delivery);
      this.#audit(db, jobId, deliveryAudit(destination, cur.attempts, result), now);
      let job = this.#getJob(db, jobId)!;
      const counts = countsOf(
        db.prepare('SELECT state, COUNT(*) AS n FROM deliveries WHERE job_id = ? GROUP BY state').all(jobId) as Row[],
      );
      const settled = jobAfterDeliveries(job, counts, now);
      if (settled) {
        this.#writeJob(db, settled);
        this.#audit(db, jobId, jobSettledAudit(settled.state), now);
        job = this.#getJob(db, jobId)!;
      }
      return { delivery: this.#getDelivery(db, jobId, destination)!, job };
    });
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
    return this.#tx((db) => {
      const quiet = db
        .prepare(`SELECT * FROM studies WHERE state = 'open' AND last_seen_at <= ? ORDER BY study_key`)
        .all(studyQuietCutoff(now, quietMs)) as Row[];
      const jobsOf = db.prepare('SELECT state, COUNT(*) AS n FROM jobs WHERE study_key = ? GROUP BY state');
      const out: StudyRecord[] = [];
      for (const r of quiet) {
        const study = toStudy(r);
        const counts = countsOf(jobsOf.all(study.studyKey) as Row[]);
        if (!studyIsStable(study, counts, now, quietMs)) continue;
        const stable = stableStudy(study, counts, now);
        this.#writeStudy(db, stable);
        this.#audit(db, null, studyStableAudit(stable), now);
        out.push(toStudy(db.prepare('SELECT * FROM studies WHERE study_key = ?').get(stable.studyKey) as Row));
      }
      return out;
    });
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
