/**
 * The durable state of the gateway's pull jobs (`POST /api/pulls`): one pull (its source, options and state), its
 * list's rows (found, not found, retrieved, failed: by line number, never by value) and the instances each row
 * brought in (the gateway job that carries each one, and, once delivered, the quasi-identifiers of what was
 * released, for the batch's re-identification risk report). Kept in the job store's database (SQLite file or
 * PostgreSQL schema) in tables of its own, so a restarted gateway resumes a pull where it stopped and counts what
 * was delivered by joining the jobs.
 *
 * Example:
 *   await pulls.createPull({ id, source: 'PACS@10.0.0.5:104', options: {}, lines: [2, 3, 4] }, Date.now());
 *   await pulls.saveRow(id, { line: 2, status: 'retrieved', studies: 1, instances: 3, failedInstances: 0 }, now);
 *   await pulls.addInstance(id, 2, jobId, now);  // before the job is committed
 *   await pulls.countJobs(id);                   // { done: 3 }
 */
import type { JsonObject } from './model.ts';

export type PullState = 'running' | 'retrieved' | 'done' | 'cancelled';
export type PullRowStatus = 'pending' | 'retrieved' | 'not-found' | 'failed';

/** A new pull runs; every row of its list starts pending. */
export const NEW_PULL_STATE: PullState = 'running';
export const NEW_PULL_ROW_STATUS: PullRowStatus = 'pending';
/** The pull states in which it is over (finishedAt set). */
export const FINISHED_PULL_STATES: readonly PullState[] = ['done', 'cancelled'];
/** The state countJobs names a recorded instance under when its job is gone. */
export const MISSING_JOB_STATE = 'missing';

/** finishedAt of a pull moved to `state` at `now`: set when it is over, cleared otherwise. */
export function pullFinishedAt(state: PullState, now: number): number | null {
  return FINISHED_PULL_STATES.includes(state) ? now : null;
}

/** A risk batch needs a (new) report when it holds rows its last report did not cover. */
export function batchNeedsReport(b: RiskBatch): boolean {
  return b.rows > b.reportedRows;
}

export interface NewPull {
  readonly id: string;
  /** Where from, without credentials: `AE@host:port` or a DICOMweb base URL. */
  readonly source: string;
  /** Retrieval and report settings (no secrets, no values of the list). */
  readonly options: JsonObject;
  /** The list's data rows, by line number in the file. */
  readonly lines: readonly number[];
}

export interface PullRecord {
  readonly id: string;
  readonly source: string;
  readonly options: JsonObject;
  readonly state: PullState;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
  /** The summary of the batch's risk report, once written. */
  readonly risk: JsonObject | null;
}

export interface PullRow {
  readonly line: number;
  readonly status: PullRowStatus;
  readonly studies: number;
  readonly instances: number;
  readonly failedInstances: number;
  readonly error?: string | null | undefined;
}

export interface PullInstance {
  readonly line: number;
  readonly jobId: string;
  /** The released instance's quasi-identifiers (risk/quasi-identifiers.ts InstanceQi), once delivered. */
  readonly qi: JsonObject | null;
}

/** A risk batch (a destination's deliveries of one UTC day): its stored rows and what its last report covered. */
export interface RiskBatch {
  readonly batch: string;
  readonly rows: number;
  /** Rows the last report covered (0: never reported). */
  readonly reportedRows: number;
  readonly reportedAt: number | null;
  readonly summary: JsonObject | null;
}

export interface PullStore {
  init(): Promise<void>;
  close(): Promise<void>;
  /** Creates the pull and its rows (all pending); throws StoreError('PULL_EXISTS') when the id is taken. */
  createPull(pull: NewPull, now: number): Promise<PullRecord>;
  getPull(id: string): Promise<PullRecord | undefined>;
  /** Newest first. */
  listPulls(filter?: { readonly state?: PullState; readonly limit?: number }): Promise<PullRecord[]>;
  /** Moves the pull to `state` (done and cancelled set finishedAt); `risk` replaces the stored summary when given. */
  setPullState(id: string, state: PullState, now: number, risk?: JsonObject): Promise<void>;
  saveRow(id: string, row: PullRow, now: number): Promise<void>;
  listRows(id: string): Promise<PullRow[]>;
  /** Records that `jobId` carries an instance of the row; false when it was recorded already (idempotent). */
  addInstance(id: string, line: number, jobId: string, now: number): Promise<boolean>;
  /** Stores the released instance's quasi-identifiers on its row (by job id); false when the job is no pull's. */
  setInstanceQi(jobId: string, qi: JsonObject): Promise<boolean>;
  listInstances(id: string): Promise<PullInstance[]>;
  /** The pull's instances by the state of their job (a recorded instance whose job is missing counts as `missing`). */
  countJobs(id: string): Promise<Record<string, number>>;
  /** Adds a delivered instance's quasi-identifiers to a risk batch (created if new); false when already there. */
  addRiskRow(batch: string, jobId: string, qi: JsonObject, now: number): Promise<boolean>;
  listRiskRows(batch: string): Promise<{ readonly jobId: string; readonly qi: JsonObject }[]>;
  /** Batches with rows their last report did not cover, oldest first. */
  listUnreportedBatches(): Promise<RiskBatch[]>;
  getRiskBatch(batch: string): Promise<RiskBatch | undefined>;
  /** Records a report over `rows` rows of the batch. */
  markBatchReported(batch: string, rows: number, now: number, summary: JsonObject): Promise<void>;
}
