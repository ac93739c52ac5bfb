/**
 * PullStore on PostgreSQL, in the job store's schema (its own pool): the gateway's pull jobs, their rows and
 * instances, in tables of their own (pulls, pull_rows, pull_instances), created if missing (an additive change).
 *
 * Example:
 *   const pulls = new PostgresPullStore({ connectionString: 'postgres://postgres@127.0.0.1/veil', schema: 'veil' });
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
import pg from 'pg';
import { SCHEMA_NAME, schemaSql } from './schema.ts';

const { toPull, toRow, toBatch } = pullRowMappers((v) => v);

export function pullSchemaSql(s: string): string {
  return `
CREATE TABLE IF NOT EXISTS ${s}.pulls (
  id TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  options JSONB NOT NULL,
  state TEXT NOT NULL,
  risk JSONB,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE TABLE IF NOT EXISTS ${s}.pull_rows (
  pull_id TEXT NOT NULL REFERENCES ${s}.pulls (id),
  line INTEGER NOT NULL,
  status TEXT NOT NULL,
  studies INTEGER NOT NULL DEFAULT 0,
  instances INTEGER NOT NULL DEFAULT 0,
  failed_instances INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (pull_id, line)
);
CREATE TABLE IF NOT EXISTS ${s}.pull_instances (
  job_id TEXT PRIMARY KEY,
  pull_id TEXT NOT NULL REFERENCES ${s}.pulls (id),
  line INTEGER NOT NULL,
  qi JSONB,
  created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS pull_instances_pull ON ${s}.pull_instances (pull_id);
CREATE TABLE IF NOT EXISTS ${s}.risk_batches (
  batch TEXT PRIMARY KEY,
  reported_rows INTEGER NOT NULL DEFAULT 0,
  reported_at BIGINT,
  summary JSONB,
  created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.risk_rows (
  batch TEXT NOT NULL REFERENCES ${s}.risk_batches (batch),
  job_id TEXT NOT NULL,
  qi JSONB NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (batch, job_id)
);
`;
}

export interface PostgresPullStoreOptions {
  readonly connectionString: string;
  readonly schema?: string | undefined;
  readonly max?: number | undefined;
}

export class PostgresPullStore implements PullStore {
  readonly schema: string;
  readonly #pool: pg.Pool;
  #closed = false;

  constructor(options: PostgresPullStoreOptions) {
    this.schema = options.schema ?? 'veil';
    if (!SCHEMA_NAME.test(this.schema)) throw new Error('STORE_BAD_SCHEMA_NAME');
    this.#pool = new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 2 });
    this.#pool.on('error', () => {});
  }

  #t(table: string): string {
    return `"${this.schema}".${table}`;
  }

  async #rows(sql: string, args: unknown[] = []): Promise<Row[]> {
    return (await this.#pool.query(sql, args)).rows as Row[];
  }

  async init(): Promise<void> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`veil-schema:${this.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await c.query(schemaSql(`"${this.schema}"`));
      await c.query(pullSchemaSql(`"${this.schema}"`));
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  async createPull(p: NewPull, now: number): Promise<PullRecord> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      const ins = await c.query(
        `INSERT INTO ${this.#t('pulls')} (id, source, options, state, created_at, updated_at)
         VALUES ($1, $2, $3, $5, $4, $4) ON CONFLICT (id) DO NOTHING`,
        [p.id, p.source, JSON.stringify(p.options), now, NEW_PULL_STATE],
      );
      if (ins.rowCount !== 1) throw new StoreError('PULL_EXISTS');
      if (p.lines.length > 0)
        await c.query(
          `INSERT INTO ${this.#t('pull_rows')} (pull_id, line, status, updated_at)
           SELECT $1, line, $4, $3 FROM unnest($2::int[]) AS line`,
          [p.id, p.lines, now, NEW_PULL_ROW_STATUS],
        );
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
    return (await this.getPull(p.id))!;
  }

  async getPull(id: string): Promise<PullRecord | undefined> {
    const [r] = await this.#rows(`SELECT * FROM ${this.#t('pulls')} WHERE id = $1`, [id]);
    return r ? toPull(r) : undefined;
  }

  async listPulls(filter: { readonly state?: PullState; readonly limit?: number } = {}): Promise<PullRecord[]> {
    const rows = await this.#rows(
      `SELECT * FROM ${this.#t('pulls')} WHERE ($1::text IS NULL OR state = $1)
       ORDER BY created_at DESC, id DESC LIMIT $2`,
      [filter.state ?? null, filter.limit ?? 1000],
    );
    return rows.map(toPull);
  }

  async setPullState(id: string, state: PullState, now: number, risk?: JsonObject): Promise<void> {
    const finished = pullFinishedAt(state, now);
    await this.#pool.query(
      `UPDATE ${this.#t('pulls')} SET state = $1, updated_at = $2, finished_at = $3, risk = COALESCE($4::jsonb, risk)
       WHERE id = $5`,
      [state, now, finished, risk === undefined ? null : JSON.stringify(risk), id],
    );
  }

  async saveRow(id: string, row: PullRow, now: number): Promise<void> {
    await this.#pool.query(
      `UPDATE ${this.#t('pull_rows')} SET status = $1, studies = $2, instances = $3, failed_instances = $4,
       error = $5, updated_at = $6 WHERE pull_id = $7 AND line = $8`,
      [row.status, row.studies, row.instances, row.failedInstances, row.error ?? null, now, id, row.line],
    );
  }

  async listRows(id: string): Promise<PullRow[]> {
    return (await this.#rows(`SELECT * FROM ${this.#t('pull_rows')} WHERE pull_id = $1 ORDER BY line`, [id])).map(
      toRow,
    );
  }

  async addInstance(id: string, line: number, jobId: string, now: number): Promise<boolean> {
    const r = await this.#pool.query(
      `INSERT INTO ${this.#t('pull_instances')} (job_id, pull_id, line, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (job_id) DO NOTHING`,
      [jobId, id, line, now],
    );
    return r.rowCount === 1;
  }

  async setInstanceQi(jobId: string, qi: JsonObject): Promise<boolean> {
    const r = await this.#pool.query(`UPDATE ${this.#t('pull_instances')} SET qi = $1 WHERE job_id = $2`, [
      JSON.stringify(qi),
      jobId,
    ]);
    return r.rowCount === 1;
  }

  async listInstances(id: string): Promise<PullInstance[]> {
    const rows = await this.#rows(
      `SELECT * FROM ${this.#t('pull_instances')} WHERE pull_id = $1 ORDER BY line, job_id`,
      [id],
    );
    return rows.map((r) => ({ line: num(r.line), jobId: String(r.job_id), qi: (r.qi ?? null) as JsonObject | null }));
  }

  async countJobs(id: string): Promise<Record<string, number>> {
    const rows = await this.#rows(
      `SELECT COALESCE(j.state, $2) AS state, COUNT(*) AS n FROM ${this.#t('pull_instances')} p
       LEFT JOIN ${this.#t('jobs')} j ON j.id = p.job_id WHERE p.pull_id = $1 GROUP BY 1`,
      [id, MISSING_JOB_STATE],
    );
    return Object.fromEntries(rows.map((r) => [String(r.state), num(r.n)]));
  }

  #batchSelect(): string {
    return `SELECT b.*, (SELECT COUNT(*) FROM ${this.#t('risk_rows')} r WHERE r.batch = b.batch) AS rows
      FROM ${this.#t('risk_batches')} b`;
  }

  async addRiskRow(batch: string, jobId: string, qi: JsonObject, now: number): Promise<boolean> {
    await this.#pool.query(
      `INSERT INTO ${this.#t('risk_batches')} (batch, created_at) VALUES ($1, $2) ON CONFLICT (batch) DO NOTHING`,
      [batch, now],
    );
    const r = await this.#pool.query(
      `INSERT INTO ${this.#t('risk_rows')} (batch, job_id, qi, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (batch, job_id) DO NOTHING`,
      [batch, jobId, JSON.stringify(qi), now],
    );
    return r.rowCount === 1;
  }

  async listRiskRows(batch: string): Promise<{ readonly jobId: string; readonly qi: JsonObject }[]> {
    const rows = await this.#rows(`SELECT job_id, qi FROM ${this.#t('risk_rows')} WHERE batch = $1 ORDER BY job_id`, [
      batch,
    ]);
    return rows.map((r) => ({ jobId: String(r.job_id), qi: r.qi as JsonObject }));
  }

  async listUnreportedBatches(): Promise<RiskBatch[]> {
    const rows = await this.#rows(`SELECT * FROM (${this.#batchSelect()}) x ORDER BY created_at, batch`);
    return rows.map(toBatch).filter(batchNeedsReport);
  }

  async getRiskBatch(batch: string): Promise<RiskBatch | undefined> {
    const [r] = await this.#rows(`${this.#batchSelect()} WHERE b.batch = $1`, [batch]);
    return r ? toBatch(r) : undefined;
  }

  async markBatchReported(batch: string, rows: number, now: number, summary: JsonObject): Promise<void> {
    await this.#pool.query(
      `UPDATE ${this.#t('risk_batches')} SET reported_rows = $1, reported_at = $2, summary = $3 WHERE batch = $4`,
      [rows, now, JSON.stringify(summary), batch],
    );
  }
}
