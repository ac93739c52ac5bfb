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
import Database from 'better-sqlite3';
import { appendChained, upgradeAudit } from './governance.ts';
import { SCHEMA, SCHEMA_VERSION } from './schema.ts';

const { toJob, toDelivery, toQuarantine, toStudy, toAudit } = rowMappers((v) => JSON.parse(String(v)));

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(',');
const SETTLED_SQL = SETTLED_STATES.map((s) => `'${s}'`).join(',');

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

  async createJob(job: NewJob, now: number): Promise<Job> {
    return this.#tx((db) => {
      const info = db
        .prepare(
          `INSERT INTO jobs (id, state, step, step_state, ingress, route, source, attempts, created_at, updated_at)
           VALUES (?, 'queued', ?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT (id) DO NOTHING`,
        )
        .run(
          job.id,
          job.step,
          JSON.stringify(job.stepState ?? {}),
          job.ingress,
          job.route,
          JSON.stringify(job.source),
          now,
          now,
        );
      if (info.changes === 1) {
        this.#audit(db, job.id, { event: 'job.received', detail: { ingress: job.ingress, route: job.route } }, now);
      }
      return this.#getJob(db, job.id)!;
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

  async leaseJob(id: string, owner: string, now: number, ttlMs: number): Promise<Job | undefined> {
    return this.#tx((db) => {
      const r = db
        .prepare(
          `UPDATE jobs SET state = 'processing', lease_owner = ?, lease_until = ?, updated_at = ?
           WHERE id = ? AND state IN ('queued', 'processing')
             AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= ? OR lease_owner = ?)
           RETURNING *`,
        )
        .get(owner, now + ttlMs, now, id, now, owner) as Row | undefined;
      return r ? toJob(r) : undefined;
    });
  }

  async renewJobLease(id: string, owner: string, now: number, ttlMs: number): Promise<boolean> {
    return this.#tx((db) => {
      const r = db
        .prepare(
          `UPDATE jobs SET lease_until = ?, updated_at = ?
           WHERE id = ? AND state = 'processing' AND lease_owner = ? AND lease_until > ?`,
        )
        .run(now + ttlMs, now, id, owner, now);
      return r.changes === 1;
    });
  }

  async saveJob(id: string, guard: JobGuard, update: JobUpdate, now: number): Promise<Job | undefined> {
    return this.#tx((db) => {
      const job = this.#getJob(db, id);
      if (!job) return undefined;
      if ('owner' in guard) {
        if (job.leaseOwner !== guard.owner || job.leaseUntil === null || job.leaseUntil <= now) return undefined;
      } else if (!guard.states.includes(job.state)) return undefined;

      const state = update.state ?? job.state;
      const finishedAt = finishedAtAfter(job, update.state, now);
      const release = update.releaseLease === true;
      const setStudy = update.studyKey !== undefined && job.studyKey === null;
      db.prepare(
        `UPDATE jobs SET state = ?, step = ?, step_state = ?, study_key = ?, attempts = ?, error = ?,
           lease_owner = ?, lease_until = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
      ).run(
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
      );
      if (setStudy) {
        db.prepare(
          `INSERT INTO studies (study_key, state, instances, first_seen_at, last_seen_at) VALUES (?, 'open', 1, ?, ?)
           ON CONFLICT (study_key) DO UPDATE SET instances = instances + 1, state = 'open', stable_at = NULL,
             outcome = NULL, last_seen_at = MAX(last_seen_at, excluded.last_seen_at)`,
        ).run(update.studyKey!, now, now);
      }
      for (const destination of update.deliveries ?? []) {
        db.prepare(
          `INSERT INTO deliveries (job_id, destination, state, attempts, updated_at) VALUES (?, ?, 'pending', 0, ?)
           ON CONFLICT (job_id, destination) DO NOTHING`,
        ).run(id, destination, now);
      }
      if (update.replayDead) {
        db.prepare(
          `UPDATE deliveries SET state = 'pending', attempts = 0, error = NULL, next_attempt_at = NULL,
             lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE job_id = ? AND state = 'dead'`,
        ).run(now, id);
      }
      if (update.quarantine) {
        const q = update.quarantine;
        db.prepare(
          `INSERT INTO quarantine (job_id, state, code, tag_path, step, created_at, updated_at)
           VALUES (?, 'held', ?, ?, ?, ?, ?)
           ON CONFLICT (job_id) DO UPDATE SET state = 'held', code = excluded.code, tag_path = excluded.tag_path,
             step = excluded.step, updated_at = excluded.updated_at`,
        ).run(id, q.code, q.tagPath ?? null, q.step, now, now);
      }
      if (update.quarantineState) {
        db.prepare('UPDATE quarantine SET state = ?, updated_at = ? WHERE job_id = ?').run(
          update.quarantineState,
          now,
          id,
        );
      }
      if (update.audit) this.#audit(db, id, update.audit, now);
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
    const counts: Record<DeliveryState, number> = {
      pending: 0,
      sending: 0,
      retry: 0,
      delivered: 0,
      dead: 0,
      withheld: 0,
    };
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
          `UPDATE deliveries SET state = 'sending', attempts = attempts + 1, lease_owner = ?, lease_until = ?,
             updated_at = ?
           WHERE job_id = ? AND destination = ?
             AND (state = 'pending' OR (state = 'retry' AND next_attempt_at <= ?)
                  OR (state = 'sending' AND (lease_until IS NULL OR lease_until <= ?)))
           RETURNING *`,
        )
        .get(owner, now + ttlMs, now, jobId, destination, now, now) as Row | undefined;
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
           WHERE job_id = ? AND destination = ? AND state = 'sending' AND lease_owner = ? AND lease_until > ?`,
        )
        .run(now + ttlMs, now, jobId, destination, owner, now);
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
      const cur = db.prepare('SELECT * FROM deliveries WHERE job_id = ? AND destination = ?').get(jobId, destination) as
        | Row
        | undefined;
      if (cur?.state !== 'sending' || cur.lease_owner !== owner) return undefined;
      const error = deliveryError(result);
      db.prepare(
        `UPDATE deliveries SET state = ?, error = ?, next_attempt_at = ?, delivered_at = ?, lease_owner = NULL,
           lease_until = NULL, updated_at = ? WHERE job_id = ? AND destination = ?`,
      ).run(
        result.state,
        error,
        result.state === 'retry' ? result.nextAttemptAt : null,
        result.state === 'delivered' ? now : null,
        now,
        jobId,
        destination,
      );
      this.#audit(db, jobId, deliveryAudit(destination, num(cur.attempts), result), now);
      let job = this.#getJob(db, jobId)!;
      if (job.state === 'delivering') {
        const counts: Record<string, number> = {};
        for (const r of db
          .prepare('SELECT state, COUNT(*) AS n FROM deliveries WHERE job_id = ? GROUP BY state')
          .all(jobId) as Row[]) {
          counts[String(r.state)] = num(r.n);
        }
        const next = jobStateAfterDeliveries(counts);
        if (next) {
          db.prepare('UPDATE jobs SET state = ?, finished_at = ?, updated_at = ? WHERE id = ?').run(
            next,
            now,
            now,
            jobId,
          );
          this.#audit(db, jobId, jobSettledAudit(next), now);
          job = this.#getJob(db, jobId)!;
        }
      }
      const delivery = toDelivery(
        db.prepare('SELECT * FROM deliveries WHERE job_id = ? AND destination = ?').get(jobId, destination) as Row,
      );
      return { delivery, job };
    });
  }

  async getQuarantine(jobId: string): Promise<QuarantineRecord | undefined> {
    const r = this.#conn.prepare('SELECT * FROM quarantine WHERE job_id = ?').get(jobId) as Row | undefined;
    return r ? toQuarantine(r) : undefined;
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
      const candidates = db
        .prepare(
          `SELECT s.study_key FROM studies s WHERE s.state = 'open' AND s.last_seen_at <= ?
             AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.study_key = s.study_key AND j.state NOT IN (${SETTLED_SQL}))
           ORDER BY s.study_key`,
        )
        .all(now - quietMs) as Row[];
      const out: StudyRecord[] = [];
      for (const c of candidates) {
        const key = String(c.study_key);
        const outcome = emptyOutcome();
        for (const r of db
          .prepare('SELECT state, COUNT(*) AS n FROM jobs WHERE study_key = ? GROUP BY state')
          .all(key) as Row[]) {
          outcome[r.state as JobState] = num(r.n);
        }
        db.prepare(`UPDATE studies SET state = 'stable', stable_at = ?, outcome = ? WHERE study_key = ?`).run(
          now,
          JSON.stringify(outcome),
          key,
        );
        const study = toStudy(db.prepare('SELECT * FROM studies WHERE study_key = ?').get(key) as Row);
        this.#audit(
          db,
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
