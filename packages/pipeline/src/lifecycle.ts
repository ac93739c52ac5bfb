/**
 * The job and delivery lifecycle, decided in one place: what a new job or delivery looks like, who may change a job,
 * which jobs and deliveries may be leased and what a lease does to them, what an update, an attempt's result, a
 * replay or a hold makes of a record, and when a delivering job settles. Pure functions over the model's records:
 * the stores' transaction bodies (store-transactions.ts) read the rows they need through a driver's port, ask these
 * functions for the next records, and write them back. A store persists (rows, locks, SQL dialect); it decides
 * nothing here.
 *
 * The claims (leaseJob, leaseDelivery) and renewals stay single conditional UPDATEs in the drivers, so that exactly
 * one of two racing callers wins without a lock held across round trips; their conditions are written from
 * JOB_LEASE / DELIVERY_LEASE and leaseExpiry, and the conformance suite checks each driver's answer against
 * canLeaseJob / leasedJob and canLeaseDelivery / leasedDelivery case by case.
 *
 * Example (inside a store's saveJob transaction):
 *   const plan = planJobUpdate(job, guard, update, now);       // undefined: the guard does not hold
 *   if (!plan) return undefined;
 *   writeJob(plan.job); for (const d of plan.deliveries) insertDeliveryIfAbsent(d);
 */

import {
  type AuditInput,
  type Delivery,
  type DeliveryState,
  isSettled,
  type Job,
  type JobState,
  type JsonObject,
  type NewJob,
  type QuarantineInput,
  type QuarantineRecord,
  type QuarantineState,
} from './model.ts';
import type { DeliveryResult, JobGuard, JobUpdate } from './store.ts';

// ---- leases ---------------------------------------------------------------------------------------------------------

/** The lease columns a job and a delivery share. */
export interface Leased {
  readonly leaseOwner: string | null;
  readonly leaseUntil: number | null;
}

/** The time a lease taken or renewed at `now` for `ttlMs` runs out. */
export function leaseExpiry(now: number, ttlMs: number): number {
  return now + ttlMs;
}

/** No one holds it: never leased, released, or run out (a lease ending exactly at now has run out). */
export function leaseFree(r: Leased, now: number): boolean {
  return r.leaseOwner === null || r.leaseUntil === null || r.leaseUntil <= now;
}

/** `owner` holds a lease that has not run out. */
export function holdsLiveLease(r: Leased, owner: string, now: number): boolean {
  return r.leaseOwner === owner && r.leaseUntil !== null && r.leaseUntil > now;
}

// ---- jobs -----------------------------------------------------------------------------------------------------------

/**
 * Job leases: a job in one of `states` may be leased when its lease is free or already the caller's (a worker taking
 * its own job again after a redelivered message); it becomes `leased`.
 */
export const JOB_LEASE = {
  states: ['queued', 'processing'] as readonly JobState[],
  leased: 'processing' as JobState,
} as const;

/** The job as createJob stores it: queued, no attempts, no study, no lease. */
export function newJobRecord(input: NewJob, now: number): Job {
  return {
    id: input.id,
    state: 'queued',
    step: input.step,
    stepState: input.stepState ?? {},
    ingress: input.ingress,
    route: input.route,
    source: input.source,
    studyKey: null,
    attempts: 0,
    error: null,
    leaseOwner: null,
    leaseUntil: null,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
  };
}

/** The audit event of a new job. */
export function jobReceivedAudit(input: NewJob): AuditInput {
  return { event: 'job.received', detail: { ingress: input.ingress, route: input.route } };
}

export function canLeaseJob(job: Job, owner: string, now: number): boolean {
  return JOB_LEASE.states.includes(job.state) && (leaseFree(job, now) || job.leaseOwner === owner);
}

/** The job once `owner` leased it at `now` for `ttlMs`. */
export function leasedJob(job: Job, owner: string, now: number, ttlMs: number): Job {
  return { ...job, state: JOB_LEASE.leased, leaseOwner: owner, leaseUntil: leaseExpiry(now, ttlMs), updatedAt: now };
}

/** A lease renewal holds for the owner's live lease of a job still in the leased state. */
export function canRenewJobLease(job: Job, owner: string, now: number): boolean {
  return job.state === JOB_LEASE.leased && holdsLiveLease(job, owner, now);
}

/** A worker's guard holds while its lease is live; an operator's while the job is in one of the named states. */
export function guardAllows(job: Job, guard: JobGuard, now: number): boolean {
  return 'owner' in guard ? holdsLiveLease(job, guard.owner, now) : guard.states.includes(job.state);
}

/** finished_at after a job update: set when the job enters a settled state, cleared when it leaves one. */
export function finishedAtAfter(job: Job, next: JobState | undefined, now: number): number | null {
  if (next === undefined || next === job.state) return job.finishedAt;
  return isSettled(next) ? now : null;
}

/** What a store writes for one saveJob: the next job row and the changes to the records around it. */
export interface JobUpdatePlan {
  readonly job: Job;
  /** The study the job joins now (its first study key): count it there, reopening a stable study. */
  readonly joinsStudy: string | undefined;
  /** Deliveries to insert where (job, destination) has none yet. */
  readonly deliveries: readonly Delivery[];
  /** Put each of the job's replayable (dead) deliveries back with replayedDelivery. */
  readonly replayDead: boolean;
  /** Hold the job: its quarantine record becomes quarantineAfterHold(existing, ...). */
  readonly hold: QuarantineInput | undefined;
  /** Move its quarantine record (when it has one) with quarantineAfterState. */
  readonly quarantineState: Exclude<QuarantineState, 'held'> | undefined;
  readonly audit: AuditInput | undefined;
}

/** The plan of a saveJob, or undefined when the guard does not hold (a lost race, not an error). */
export function planJobUpdate(job: Job, guard: JobGuard, update: JobUpdate, now: number): JobUpdatePlan | undefined {
  if (!guardAllows(job, guard, now)) return undefined;
  const release = update.releaseLease === true;
  const joinsStudy = update.studyKey !== undefined && job.studyKey === null ? update.studyKey : undefined;
  const next: Job = {
    ...job,
    state: update.state ?? job.state,
    step: update.step ?? job.step,
    stepState: update.stepState ?? job.stepState,
    studyKey: joinsStudy ?? job.studyKey,
    attempts: update.attempts ?? job.attempts,
    error: update.error !== undefined ? update.error : job.error,
    leaseOwner: release ? null : job.leaseOwner,
    leaseUntil: release ? null : job.leaseUntil,
    updatedAt: now,
    finishedAt: finishedAtAfter(job, update.state, now),
  };
  return {
    job: next,
    joinsStudy,
    deliveries: (update.deliveries ?? []).map((d) => newDelivery(job.id, d, now)),
    replayDead: update.replayDead === true,
    hold: update.quarantine,
    quarantineState: update.quarantineState,
    audit: update.audit,
  };
}

// ---- deliveries -----------------------------------------------------------------------------------------------------

/**
 * Delivery leases: `ready` may be leased at any time, `due` once its nextAttemptAt has come, `stale` again once its
 * lease ran out (the worker died while sending: destinations write idempotently). A leased delivery is `leased` and
 * has one more attempt.
 */
export const DELIVERY_LEASE = {
  ready: 'pending' as DeliveryState,
  due: 'retry' as DeliveryState,
  stale: 'sending' as DeliveryState,
  leased: 'sending' as DeliveryState,
} as const;

/** Deliveries a replay puts back (replayDead). */
export const REPLAYABLE_DELIVERY_STATES: readonly DeliveryState[] = ['dead'];

/** A delivery as a processed job creates it: pending, no attempts. */
export function newDelivery(jobId: string, destination: string, now: number): Delivery {
  return {
    jobId,
    destination,
    state: 'pending',
    attempts: 0,
    nextAttemptAt: null,
    error: null,
    leaseOwner: null,
    leaseUntil: null,
    updatedAt: now,
    deliveredAt: null,
  };
}

export function canLeaseDelivery(d: Delivery, now: number): boolean {
  if (d.state === DELIVERY_LEASE.ready) return true;
  if (d.state === DELIVERY_LEASE.due) return d.nextAttemptAt !== null && d.nextAttemptAt <= now;
  if (d.state === DELIVERY_LEASE.stale) return d.leaseUntil === null || d.leaseUntil <= now;
  return false;
}

/** The delivery once `owner` leased it: sending, one more attempt. */
export function leasedDelivery(d: Delivery, owner: string, now: number, ttlMs: number): Delivery {
  return {
    ...d,
    state: DELIVERY_LEASE.leased,
    attempts: d.attempts + 1,
    leaseOwner: owner,
    leaseUntil: leaseExpiry(now, ttlMs),
    updatedAt: now,
  };
}

/** A lease renewal holds for the owner's live lease of a delivery still being sent. */
export function canRenewDeliveryLease(d: Delivery, owner: string, now: number): boolean {
  return d.state === DELIVERY_LEASE.leased && holdsLiveLease(d, owner, now);
}

/** Only the owner of the attempt under way may record its result (a lease taken over by another worker is lost). */
export function ownsAttempt(d: Delivery, owner: string): boolean {
  return d.state === DELIVERY_LEASE.leased && d.leaseOwner === owner;
}

/** The error a delivery keeps after its result (none once delivered). */
export function deliveryError(result: DeliveryResult): string | null {
  return result.state === 'delivered' ? null : result.error;
}

/** The delivery after its attempt's result: the lease is given up; a retry is due at its time. */
export function deliveryAfterResult(d: Delivery, result: DeliveryResult, now: number): Delivery {
  return {
    ...d,
    state: result.state,
    error: deliveryError(result),
    nextAttemptAt: result.state === 'retry' ? result.nextAttemptAt : null,
    deliveredAt: result.state === 'delivered' ? now : null,
    leaseOwner: null,
    leaseUntil: null,
    updatedAt: now,
  };
}

/** A replayed (dead) delivery: pending again, attempts from zero. */
export function replayedDelivery(d: Delivery, now: number): Delivery {
  return {
    ...d,
    state: 'pending',
    attempts: 0,
    error: null,
    nextAttemptAt: null,
    leaseOwner: null,
    leaseUntil: null,
    updatedAt: now,
  };
}

/**
 * The state a delivering job moves to once its deliveries are counted by state: done when every one is delivered,
 * dead when none is in flight and at least one is dead; undefined while any is pending, sending or waiting to retry.
 */
export function jobStateAfterDeliveries(countsByState: Readonly<Record<string, number>>): JobState | undefined {
  const inFlight = (countsByState.pending ?? 0) + (countsByState.sending ?? 0) + (countsByState.retry ?? 0);
  if (inFlight > 0) return undefined;
  return (countsByState.dead ?? 0) === 0 ? 'done' : 'dead';
}

/** The job once a delivery of it finished: settled when it was delivering and nothing is left in flight. */
export function jobAfterDeliveries(
  job: Job,
  countsByState: Readonly<Record<string, number>>,
  now: number,
): Job | undefined {
  if (job.state !== 'delivering') return undefined;
  const next = jobStateAfterDeliveries(countsByState);
  return next ? { ...job, state: next, finishedAt: now, updatedAt: now } : undefined;
}

/** The audit event of a delivery attempt's result: delivery.delivered | delivery.retry | delivery.dead. */
export function deliveryAudit(destination: string, attempts: number, result: DeliveryResult): AuditInput {
  const detail: JsonObject = { destination, attempts };
  const error = deliveryError(result);
  if (error !== null) detail.code = error;
  return { event: `delivery.${result.state}`, detail };
}

/** The audit event of a job that its deliveries settled. */
export function jobSettledAudit(state: JobState): AuditInput {
  return { event: `job.${state}` };
}

// ---- quarantine records ---------------------------------------------------------------------------------------------

/** The record of a job held (again): held, with the new code, path and step; created once. */
export function quarantineAfterHold(
  existing: QuarantineRecord | undefined,
  jobId: string,
  q: QuarantineInput,
  now: number,
): QuarantineRecord {
  return {
    jobId,
    state: 'held',
    code: q.code,
    tagPath: q.tagPath ?? null,
    step: q.step,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
}

/** The record once released or purged. */
export function quarantineAfterState(
  existing: QuarantineRecord,
  state: Exclude<QuarantineState, 'held'>,
  now: number,
): QuarantineRecord {
  return { ...existing, state, updatedAt: now };
}

// ---- processing attempts --------------------------------------------------------------------------------------------

/**
 * A processing attempt that ended in a transient error (or a crashed worker): the attempts it makes, and whether it
 * was the last one the job gets (then the job fails, or a crash quarantines it: never retried without end).
 */
export function failedAttempt(job: Job, maxAttempts: number): { readonly attempts: number; readonly last: boolean } {
  const attempts = job.attempts + 1;
  return { attempts, last: attempts >= maxAttempts };
}
