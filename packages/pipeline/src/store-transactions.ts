/**
 * The read-decide-write bodies of a JobStore's write transactions, written once for every SQL driver: each reads the
 * rows it needs through a small port (StoreRows), asks the lifecycle (lifecycle.ts, study-settling.ts) for the next
 * records, and writes them back through the port. A driver implements the port in its dialect (row locks, upserts,
 * placeholders) and runs a body inside its own transaction; the claims and renewals stay single conditional UPDATEs
 * in the drivers and are not here.
 *
 * The bodies are generators so that one text serves a synchronous driver (better-sqlite3, whose transaction must not
 * await) and an asynchronous one (pg): each port call is yielded, runSync feeds a plain value back, runAsync awaits a
 * promise first.
 *
 * Example (in a driver):
 *   saveJob(id, guard, update, now) {
 *     return this.#tx((db) => runSync(saveJobRows(this.#port(db), id, guard, update, now)));
 *   }
 */
import {
  deliveryAfterResult,
  deliveryAudit,
  jobAfterDeliveries,
  jobReceivedAudit,
  jobSettledAudit,
  newJobRecord,
  ownsAttempt,
  planJobUpdate,
  quarantineAfterHold,
  quarantineAfterState,
  replayedDelivery,
} from './lifecycle.ts';
import type { AuditInput, Delivery, Job, NewJob, QuarantineRecord, StudyRecord } from './model.ts';
import type { DeliveryResult, JobGuard, JobUpdate } from './store.ts';
import {
  emptyStudy,
  stableStudy,
  studyAfterInstance,
  studyIsStable,
  studyQuietCutoff,
  studyStableAudit,
} from './study-settling.ts';

export type Awaitable<T> = T | Promise<T>;

/**
 * The row reads and writes the transactions need, inside the driver's open transaction. `lock` asks for the row to be
 * held until commit where the driver has row locks (a single-writer driver ignores it). Counts are by state.
 */
export interface StoreRows {
  /** Inserts the job unless its id exists; true when inserted. */
  insertJobIfAbsent(job: Job): Awaitable<boolean>;
  getJob(id: string, lock: boolean): Awaitable<Job | undefined>;
  /** Writes every column a job's lifecycle changes. */
  writeJob(job: Job): Awaitable<void>;
  /** Inserts the delivery unless (job, destination) has one. */
  insertDeliveryIfAbsent(d: Delivery): Awaitable<void>;
  /** The delivery, locked. */
  lockDelivery(jobId: string, destination: string): Awaitable<Delivery | undefined>;
  /** The job's deliveries in a REPLAYABLE_DELIVERY_STATES state, locked. */
  replayableDeliveries(jobId: string): Awaitable<readonly Delivery[]>;
  /** Writes the delivery's lifecycle columns; the delivery as stored. */
  writeDelivery(d: Delivery): Awaitable<Delivery>;
  deliveryCounts(jobId: string): Awaitable<Readonly<Record<string, number>>>;
  getQuarantine(jobId: string): Awaitable<QuarantineRecord | undefined>;
  /** Inserts or replaces the job's quarantine record. */
  putQuarantine(q: QuarantineRecord): Awaitable<void>;
  /** Inserts the study unless its key exists, then returns it locked. */
  lockStudy(blank: StudyRecord): Awaitable<StudyRecord>;
  /** Open studies last seen at or before `cutoff`, by key, locked (a driver may skip rows another settler holds). */
  quietOpenStudies(cutoff: number): Awaitable<readonly StudyRecord[]>;
  jobCountsOfStudy(studyKey: string): Awaitable<Readonly<Record<string, number>>>;
  /** Writes the study; the study as stored. */
  writeStudy(s: StudyRecord): Awaitable<StudyRecord>;
  audit(jobId: string | null, entry: AuditInput, now: number): Awaitable<void>;
}

/** A transaction body: yields each port call's result (a value or a promise) and gets it back settled. */
export type RowsBody<T> = Generator<unknown, T, unknown>;

/** One port call inside a body: `const job = yield* row(port.getJob(id, true))`. */
function* row<T>(v: Awaitable<T>): RowsBody<T> {
  return (yield v) as T;
}

/** Runs a body against a synchronous port (inside a synchronous transaction). */
export function runSync<T>(body: RowsBody<T>): T {
  let step = body.next();
  while (!step.done) {
    if (step.value instanceof Promise) throw new Error('STORE_ROWS_NOT_SYNCHRONOUS');
    step = body.next(step.value);
  }
  return step.value;
}

/** Runs a body against an asynchronous port; a rejected call is thrown into the body at that call. */
export async function runAsync<T>(body: RowsBody<T>): Promise<T> {
  let step = body.next();
  while (!step.done) {
    let settled: unknown;
    try {
      settled = await step.value;
    } catch (e) {
      step = body.throw(e);
      continue;
    }
    step = body.next(settled);
  }
  return step.value;
}

/** createJob: the new job (or the one already under that id); audited once, when inserted. */
export function* createJobRows(port: StoreRows, input: NewJob, now: number): RowsBody<Job> {
  const job = newJobRecord(input, now);
  if (yield* row(port.insertJobIfAbsent(job))) yield* row(port.audit(job.id, jobReceivedAudit(input), now));
  return (yield* row(port.getJob(job.id, false)))!;
}

/** saveJob: the job after planJobUpdate and the records around it, or undefined when the guard does not hold. */
export function* saveJobRows(
  port: StoreRows,
  id: string,
  guard: JobGuard,
  update: JobUpdate,
  now: number,
): RowsBody<Job | undefined> {
  const job = yield* row(port.getJob(id, true));
  const plan = job && planJobUpdate(job, guard, update, now);
  if (!plan) return undefined;
  yield* row(port.writeJob(plan.job));
  if (plan.joinsStudy !== undefined) {
    // Created if absent, then locked: concurrent first instances of one study are counted one after the other.
    const study = yield* row(port.lockStudy(emptyStudy(plan.joinsStudy, now)));
    yield* row(port.writeStudy(studyAfterInstance(study, now)));
  }
  for (const d of plan.deliveries) yield* row(port.insertDeliveryIfAbsent(d));
  if (plan.replayDead) {
    for (const d of yield* row(port.replayableDeliveries(id))) yield* row(port.writeDelivery(replayedDelivery(d, now)));
  }
  if (plan.hold) {
    const existing = yield* row(port.getQuarantine(id));
    yield* row(port.putQuarantine(quarantineAfterHold(existing, id, plan.hold, now)));
  }
  if (plan.quarantineState) {
    const q = yield* row(port.getQuarantine(id));
    if (q) yield* row(port.putQuarantine(quarantineAfterState(q, plan.quarantineState, now)));
  }
  if (plan.audit) yield* row(port.audit(id, plan.audit, now));
  return yield* row(port.getJob(id, false));
}

/**
 * finishDelivery: the attempt's result recorded by its owner, and the job settled when nothing of it is left in
 * flight; undefined when the job or delivery is gone or the caller no longer owns the attempt.
 */
export function* finishDeliveryRows(
  port: StoreRows,
  jobId: string,
  destination: string,
  owner: string,
  result: DeliveryResult,
  now: number,
): RowsBody<{ delivery: Delivery; job: Job } | undefined> {
  // The job first: two deliveries of one job finishing together must roll it up one after the other.
  const locked = yield* row(port.getJob(jobId, true));
  if (!locked) return undefined;
  const cur = yield* row(port.lockDelivery(jobId, destination));
  if (!cur || !ownsAttempt(cur, owner)) return undefined;
  const delivery = yield* row(port.writeDelivery(deliveryAfterResult(cur, result, now)));
  yield* row(port.audit(jobId, deliveryAudit(destination, cur.attempts, result), now));
  const settled = jobAfterDeliveries(locked, yield* row(port.deliveryCounts(jobId)), now);
  if (!settled) return { delivery, job: locked };
  yield* row(port.writeJob(settled));
  yield* row(port.audit(jobId, jobSettledAudit(settled.state), now));
  return { delivery, job: (yield* row(port.getJob(jobId, false)))! };
}

/** settleStudies: the quiet open studies whose jobs are all settled, made stable and audited. */
export function* settleStudiesRows(port: StoreRows, now: number, quietMs: number): RowsBody<StudyRecord[]> {
  const out: StudyRecord[] = [];
  for (const study of yield* row(port.quietOpenStudies(studyQuietCutoff(now, quietMs)))) {
    const counts = yield* row(port.jobCountsOfStudy(study.studyKey));
    if (!studyIsStable(study, counts, now, quietMs)) continue;
    const stable = stableStudy(study, counts, now);
    // The audit detail from the record as computed (a jsonb column would reorder the outcome's keys).
    yield* row(port.audit(null, studyStableAudit(stable), now));
    out.push(yield* row(port.writeStudy(stable)));
  }
  return out;
}
