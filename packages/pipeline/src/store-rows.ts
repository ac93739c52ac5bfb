/**
 * Rows of the job store's tables into the model's records and back, shared by the SQL backends. The drivers differ
 * only in how a JSON column arrives: SQLite returns its text, PostgreSQL's jsonb an object already.
 */
import type {
  AuditEntry,
  Delivery,
  DeliveryState,
  Job,
  JobState,
  JsonObject,
  QuarantineRecord,
  QuarantineState,
  StudyRecord,
} from './model.ts';
import type { PullRecord, PullRow, PullRowStatus, PullState, RiskBatch } from './pull-store.ts';

/** A database row as the drivers return it. */
export type Row = Record<string, unknown>;

export const num = (v: unknown): number => Number(v);
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export interface RowMappers {
  toJob(r: Row): Job;
  toDelivery(r: Row): Delivery;
  toQuarantine(r: Row): QuarantineRecord;
  toStudy(r: Row): StudyRecord;
  toAudit(r: Row): AuditEntry;
}

/** Row mappers for a driver; `json` turns a JSON column's value into data. */
export function rowMappers(json: (v: unknown) => unknown): RowMappers {
  return {
    toJob(r: Row): Job {
      return {
        id: String(r.id),
        state: r.state as JobState,
        step: String(r.step),
        stepState: json(r.step_state) as JsonObject,
        ingress: String(r.ingress),
        route: String(r.route),
        source: json(r.source) as JsonObject,
        studyKey: strOrNull(r.study_key),
        attempts: num(r.attempts),
        error: strOrNull(r.error),
        leaseOwner: strOrNull(r.lease_owner),
        leaseUntil: numOrNull(r.lease_until),
        createdAt: num(r.created_at),
        updatedAt: num(r.updated_at),
        finishedAt: numOrNull(r.finished_at),
      };
    },

    toDelivery(r: Row): Delivery {
      return {
        jobId: String(r.job_id),
        destination: String(r.destination),
        state: r.state as DeliveryState,
        attempts: num(r.attempts),
        nextAttemptAt: numOrNull(r.next_attempt_at),
        error: strOrNull(r.error),
        leaseOwner: strOrNull(r.lease_owner),
        leaseUntil: numOrNull(r.lease_until),
        updatedAt: num(r.updated_at),
        deliveredAt: numOrNull(r.delivered_at),
      };
    },

    toQuarantine(r: Row): QuarantineRecord {
      return {
        jobId: String(r.job_id),
        state: r.state as QuarantineState,
        code: String(r.code),
        tagPath: strOrNull(r.tag_path),
        step: String(r.step),
        createdAt: num(r.created_at),
        updatedAt: num(r.updated_at),
      };
    },

    toStudy(r: Row): StudyRecord {
      return {
        studyKey: String(r.study_key),
        state: r.state as 'open' | 'stable',
        instances: num(r.instances),
        firstSeenAt: num(r.first_seen_at),
        lastSeenAt: num(r.last_seen_at),
        stableAt: numOrNull(r.stable_at),
        outcome: r.outcome === null || r.outcome === undefined ? null : (json(r.outcome) as StudyRecord['outcome']),
      };
    },

    toAudit(r: Row): AuditEntry {
      return {
        seq: num(r.seq),
        at: num(r.at),
        jobId: strOrNull(r.job_id),
        event: String(r.event),
        detail: json(r.detail) as JsonObject,
        actor: strOrNull(r.actor),
        purpose: strOrNull(r.purpose),
        prevHash: strOrNull(r.prev_hash),
        hash: strOrNull(r.hash),
      };
    },
  };
}

/**
 * The other way: a record's values for the drivers' statements, in the order they name the columns. The lifecycle
 * columns first, the key last, so one list serves an UPDATE ... WHERE key and an INSERT naming the same columns. JSON
 * columns as text (PostgreSQL's jsonb parses it).
 */
export const recordParams = {
  /** state, step, step_state, study_key, attempts, error, lease_owner, lease_until, updated_at, finished_at, id */
  job(j: Job): unknown[] {
    return [
      j.state,
      j.step,
      JSON.stringify(j.stepState),
      j.studyKey,
      j.attempts,
      j.error,
      j.leaseOwner,
      j.leaseUntil,
      j.updatedAt,
      j.finishedAt,
      j.id,
    ];
  },
  /** ingress, route, source, created_at: the columns a job keeps from its creation (after recordParams.job). */
  jobCreation(j: Job): unknown[] {
    return [j.ingress, j.route, JSON.stringify(j.source), j.createdAt];
  },
  /** state, attempts, next_attempt_at, error, lease_owner, lease_until, updated_at, delivered_at, job_id, destination */
  delivery(d: Delivery): unknown[] {
    return [
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
    ];
  },
  /** state, instances, first_seen_at, last_seen_at, stable_at, outcome, study_key */
  study(s: StudyRecord): unknown[] {
    const outcome = s.outcome === null ? null : JSON.stringify(s.outcome);
    return [s.state, s.instances, s.firstSeenAt, s.lastSeenAt, s.stableAt, outcome, s.studyKey];
  },
  /** job_id, state, code, tag_path, step, created_at, updated_at */
  quarantine(q: QuarantineRecord): unknown[] {
    return [q.jobId, q.state, q.code, q.tagPath, q.step, q.createdAt, q.updatedAt];
  },
} as const;

export interface PullRowMappers {
  toPull(r: Row): PullRecord;
  toRow(r: Row): PullRow;
  toBatch(r: Row): RiskBatch;
}

/** Row mappers of the PullStore's tables for a driver; `json` as for rowMappers. */
export function pullRowMappers(json: (v: unknown) => unknown): PullRowMappers {
  const jsonOrNull = (v: unknown): JsonObject | null =>
    v === null || v === undefined ? null : (json(v) as JsonObject);
  return {
    toPull(r: Row): PullRecord {
      return {
        id: String(r.id),
        source: String(r.source),
        options: json(r.options) as JsonObject,
        state: String(r.state) as PullState,
        createdAt: num(r.created_at),
        updatedAt: num(r.updated_at),
        finishedAt: numOrNull(r.finished_at),
        risk: jsonOrNull(r.risk),
      };
    },

    toRow(r: Row): PullRow {
      return {
        line: num(r.line),
        status: String(r.status) as PullRowStatus,
        studies: num(r.studies),
        instances: num(r.instances),
        failedInstances: num(r.failed_instances),
        error: strOrNull(r.error),
      };
    },

    toBatch(r: Row): RiskBatch {
      return {
        batch: String(r.batch),
        rows: num(r.rows),
        reportedRows: num(r.reported_rows),
        reportedAt: numOrNull(r.reported_at),
        summary: jsonOrNull(r.summary),
      };
    },
  };
}
