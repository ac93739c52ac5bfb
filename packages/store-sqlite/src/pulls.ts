/**
 * PullStore on the SQLite file of the job store (its own connection; WAL lets both work together): the gateway's
 * pull jobs, their rows and instances, in tables of their own (pulls, pull_rows, pull_instances), created if missing
 * (an additive change: older files gain them at the next start).
 *
 * Example:
 *   const pulls = new SqlitePullStore('/var/lib/veil/veil.db');
 *   await pulls.init();
 */
import {
  batchNeedsReport,
  type JsonObject,
  MISSING_JOB_STATE,
  NEW_PULL_ROW_STATUS,
  NEW_PULL_STATE,
  type NewPull,
  num,
  type PullInstance,
  type PullRecord,
  type PullRow,
  type PullState,
  type PullStore,
  pullFinishedAt,
  pullRowMappers,
  type RiskBatch,
  type Row,
  StoreError,
} from '@veil/pipeline';
import Database from 'better-sqlite3';
import { SCHEMA } from './schema.ts';

export const PULL_SCHEMA = `
CREATE TABLE IF NOT EXISTS pulls (
  id TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  options TEXT NOT NULL,
  state TEXT NOT NULL,
  risk TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE TABLE IF NOT EXISTS pull_rows (
  pull_id TEXT NOT NULL REFERENCES pulls (id),
  line INTEGER NOT NULL,
  status TEXT NOT NULL,
  studies INTEGER NOT NULL DEFAULT 0,
  instances INTEGER NOT NULL DEFAULT 0,
  failed_instances INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (pull_id, line)
);
CREATE TABLE IF NOT EXISTS pull_instances (
  job_id TEXT PRIMARY KEY,
  pull_id TEXT NOT NULL REFERENCES pulls (id),
  line INTEGER NOT NULL,
  qi TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pull_instances_pull ON pull_instances (pull_id);
CREATE TABLE IF NOT EXISTS risk_batches (
  batch TEXT PRIMARY KEY,
  reported_rows INTEGER NOT NULL DEFAULT 0,
  reported_at INTEGER,
  summary TEXT,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS risk_rows (
  batch TEXT NOT NULL REFERENCES risk_batches (batch),
  job_id TEXT NOT NULL,
  qi TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (batch, job_id)
);
`;

const { toPull, toRow, toBatch } = pullRowMappers((v) => JSON.parse(String(v)));

const BATCH_SELECT = `SELECT b.*, (SELECT COUNT(*) FROM risk_rows r WHERE r.batch = b.batch) AS rows FROM risk_batches b`;

export class SqlitePullStore implements PullStore {
  readonly path: string;
  #db: Database.Database | undefined;

  constructor(path: string) {
    this.path = path;
  }

  get #conn(): Database.Database {
    if (!this.#db) throw new Error('STORE_NOT_OPEN');
    return this.#db;
  }

  async init(): Promise<void> {
    if (!this.#db) {
      const db = new Database(this.path);
      db.pragma('busy_timeout = 10000');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      this.#db = db;
    }
    const db = this.#conn;
    db.transaction(() => {
      // The job tables first: countJobs joins them, and this store may be opened before the job store.
      db.exec(SCHEMA);
      db.exec(PULL_SCHEMA);
    }).immediate();
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
  }

  async createPull(p: NewPull, now: number): Promise<PullRecord> {
    const db = this.#conn;
    db.transaction(() => {
      if (db.prepare('SELECT 1 FROM pulls WHERE id = ?').get(p.id)) throw new StoreError('PULL_EXISTS');
      db.prepare(
        `INSERT INTO pulls (id, source, options, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(p.id, p.source, JSON.stringify(p.options), NEW_PULL_STATE, now, now);
      const row = db.prepare(`INSERT INTO pull_rows (pull_id, line, status, updated_at) VALUES (?, ?, ?, ?)`);
      for (const line of p.lines) row.run(p.id, line, NEW_PULL_ROW_STATUS, now);
    }).immediate();
    return (await this.getPull(p.id))!;
  }

  async getPull(id: string): Promise<PullRecord | undefined> {
    const r = this.#conn.prepare('SELECT * FROM pulls WHERE id = ?').get(id) as Row | undefined;
    return r ? toPull(r) : undefined;
  }

  async listPulls(filter: { readonly state?: PullState; readonly limit?: number } = {}): Promise<PullRecord[]> {
    const where = filter.state ? 'WHERE state = ?' : '';
    const args: unknown[] = filter.state ? [filter.state] : [];
    const rows = this.#conn
      .prepare(`SELECT * FROM pulls ${where} ORDER BY created_at DESC, id DESC LIMIT ?`)
      .all(...args, filter.limit ?? 1000) as Row[];
    return rows.map(toPull);
  }

  async setPullState(id: string, state: PullState, now: number, risk?: JsonObject): Promise<void> {
    const finished = pullFinishedAt(state, now);
    this.#conn
      .prepare(`UPDATE pulls SET state = ?, updated_at = ?, finished_at = ?, risk = COALESCE(?, risk) WHERE id = ?`)
      .run(state, now, finished, risk === undefined ? null : JSON.stringify(risk), id);
  }

  async saveRow(id: string, row: PullRow, now: number): Promise<void> {
    this.#conn
      .prepare(
        `UPDATE pull_rows SET status = ?, studies = ?, instances = ?, failed_instances = ?, error = ?, updated_at = ?
         WHERE pull_id = ? AND line = ?`,
      )
      .run(row.status, row.studies, row.instances, row.failedInstances, row.error ?? null, now, id, row.line);
  }

  async listRows(id: string): Promise<PullRow[]> {
    return (this.#conn.prepare('SELECT * FROM pull_rows WHERE pull_id = ? ORDER BY line').all(id) as Row[]).map(toRow);
  }

  async addInstance(id: string, line: number, jobId: string, now: number): Promise<boolean> {
    const r = this.#conn
      .prepare('INSERT OR IGNORE INTO pull_instances (job_id, pull_id, line, created_at) VALUES (?, ?, ?, ?)')
      .run(jobId, id, line, now);
    return r.changes === 1;
  }

  async setInstanceQi(jobId: string, qi: JsonObject): Promise<boolean> {
    const r = this.#conn.prepare('UPDATE pull_instances SET qi = ? WHERE job_id = ?').run(JSON.stringify(qi), jobId);
    return r.changes === 1;
  }

  async listInstances(id: string): Promise<PullInstance[]> {
    const rows = this.#conn
      .prepare('SELECT * FROM pull_instances WHERE pull_id = ? ORDER BY line, job_id')
      .all(id) as Row[];
    return rows.map((r) => ({
      line: num(r.line),
      jobId: String(r.job_id),
      qi: r.qi === null || r.qi === undefined ? null : (JSON.parse(String(r.qi)) as JsonObject),
    }));
  }

  async countJobs(id: string): Promise<Record<string, number>> {
    const rows = this.#conn
      .prepare(
        `SELECT COALESCE(j.state, ?) AS state, COUNT(*) AS n FROM pull_instances p
         LEFT JOIN jobs j ON j.id = p.job_id WHERE p.pull_id = ? GROUP BY 1`,
      )
      .all(MISSING_JOB_STATE, id) as Row[];
    return Object.fromEntries(rows.map((r) => [String(r.state), num(r.n)]));
  }

  async addRiskRow(batch: string, jobId: string, qi: JsonObject, now: number): Promise<boolean> {
    const db = this.#conn;
    return db
      .transaction(() => {
        db.prepare('INSERT OR IGNORE INTO risk_batches (batch, created_at) VALUES (?, ?)').run(batch, now);
        return (
          db
            .prepare('INSERT OR IGNORE INTO risk_rows (batch, job_id, qi, created_at) VALUES (?, ?, ?, ?)')
            .run(batch, jobId, JSON.stringify(qi), now).changes === 1
        );
      })
      .immediate();
  }

  async listRiskRows(batch: string): Promise<{ readonly jobId: string; readonly qi: JsonObject }[]> {
    const rows = this.#conn
      .prepare('SELECT job_id, qi FROM risk_rows WHERE batch = ? ORDER BY job_id')
      .all(batch) as Row[];
    return rows.map((r) => ({ jobId: String(r.job_id), qi: JSON.parse(String(r.qi)) as JsonObject }));
  }

  async listUnreportedBatches(): Promise<RiskBatch[]> {
    const rows = this.#conn.prepare(`SELECT * FROM (${BATCH_SELECT}) ORDER BY created_at, batch`).all() as Row[];
    return rows.map(toBatch).filter(batchNeedsReport);
  }

  async getRiskBatch(batch: string): Promise<RiskBatch | undefined> {
    const r = this.#conn.prepare(`${BATCH_SELECT} WHERE b.batch = ?`).get(batch) as Row | undefined;
    return r ? toBatch(r) : undefined;
  }

  async markBatchReported(batch: string, rows: number, now: number, summary: JsonObject): Promise<void> {
    this.#conn
      .prepare('UPDATE risk_batches SET reported_rows = ?, reported_at = ?, summary = ? WHERE batch = ?')
      .run(rows, now, JSON.stringify(summary), batch);
  }
}
