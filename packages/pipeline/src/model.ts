/**
 * The job model: one job per received instance, moved through named steps whose state is JSON stored with the job,
 * one delivery per (job, destination), a quarantine record per held job, study grouping state and an append-only
 * audit log. Nothing here holds PHI: jobs carry spool-relative paths, sizes, hashes, stable codes and pseudonymised
 * keys, never a value read from a patient's file or a name given to it by a sender.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * queued       waiting for (or between) processing steps
 * processing   a worker holds its lease and runs its steps
 * delivering   processed; its deliveries are pending, being sent or waiting to be retried
 * done         every delivery delivered (terminal)
 * quarantined  held by a step (policy, de-identification, verification); see its QuarantineRecord
 * dead         processed, and at least one delivery ran out of attempts (dead letter: `veil jobs --replay`)
 * failed       a processing step failed for a reason that is not the file's (out of attempts)
 * purged       quarantined, then its bytes were deleted on an operator's order (terminal)
 */
export type JobState = 'queued' | 'processing' | 'delivering' | 'done' | 'quarantined' | 'dead' | 'failed' | 'purged';

export const JOB_STATES: readonly JobState[] = [
  'queued',
  'processing',
  'delivering',
  'done',
  'quarantined',
  'dead',
  'failed',
  'purged',
];

/** States in which nothing more happens to a job unless an operator acts (release, replay). */
export const SETTLED_STATES: readonly JobState[] = ['done', 'quarantined', 'dead', 'failed', 'purged'];

export function isSettled(state: JobState): boolean {
  return SETTLED_STATES.includes(state);
}

/** The step name of a job whose processing steps are all done and whose deliveries are under way. */
export const DELIVER_STEP = 'deliver';

export interface Job {
  /** Time-sortable, random: see newJobId(). */
  readonly id: string;
  readonly state: JobState;
  /** The step to run next (or running): a processing step's name, or DELIVER_STEP. */
  readonly step: string;
  /** What the steps so far recorded for the next ones (resumable: a crash re-runs only the current step). */
  readonly stepState: JsonObject;
  /** The ingress it came from (configuration name) and the route chosen for it. */
  readonly ingress: string;
  readonly route: string;
  /** Facts about the received bytes: spool-relative path, size, sha256. No names or values from the sender. */
  readonly source: JsonObject;
  /** The pseudonymised study key (set by a processing step), for study grouping. */
  readonly studyKey: string | null;
  /** Processing attempts that ended in a transient error. */
  readonly attempts: number;
  /** The last error or quarantine code. */
  readonly error: string | null;
  readonly leaseOwner: string | null;
  /** Epoch ms until which leaseOwner holds the job. */
  readonly leaseUntil: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
}

export interface NewJob {
  readonly id: string;
  readonly ingress: string;
  readonly route: string;
  /** The first processing step. */
  readonly step: string;
  readonly source: JsonObject;
  readonly stepState?: JsonObject;
}

/**
 * pending    to be sent
 * sending    a worker leased it and is sending (a crash here resends: destinations write idempotently)
 * retry      the last attempt failed; due again at nextAttemptAt
 * delivered  durably recorded as delivered (terminal)
 * dead       out of attempts or refused permanently (dead letter)
 * withheld   not sent, by policy at the deliver step (CONSENT_OPT_OUT: the patient opted out of the destination's
 *            purpose); terminal, and counts as settled for the job (a job whose deliveries are all delivered or
 *            withheld is done)
 */
export type DeliveryState = 'pending' | 'sending' | 'retry' | 'delivered' | 'dead' | 'withheld';

export const DELIVERY_STATES: readonly DeliveryState[] = [
  'pending',
  'sending',
  'retry',
  'delivered',
  'dead',
  'withheld',
];

export interface Delivery {
  readonly jobId: string;
  readonly destination: string;
  readonly state: DeliveryState;
  /** Attempts started (a lease counts as an attempt). */
  readonly attempts: number;
  readonly nextAttemptAt: number | null;
  readonly error: string | null;
  readonly leaseOwner: string | null;
  readonly leaseUntil: number | null;
  readonly updatedAt: number;
  readonly deliveredAt: number | null;
}

export type QuarantineState = 'held' | 'released' | 'purged';

/** One per quarantined job (a job released and quarantined again updates it). */
export interface QuarantineRecord {
  readonly jobId: string;
  readonly state: QuarantineState;
  /** Stable reason code (SOP_CLASS_NOT_ALLOWED, DICOM_TRUNCATED, VERIFY_KNOWN_NAME...). */
  readonly code: string;
  /** Where in the dataset, as a tag path (no values). */
  readonly tagPath: string | null;
  /** The step that quarantined it: release resumes there. */
  readonly step: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface QuarantineInput {
  readonly code: string;
  readonly tagPath?: string | undefined;
  readonly step: string;
}

/** Outcome counts of a study's jobs when it became stable. */
export type StudyOutcome = Readonly<Record<JobState, number>>;

export interface StudyRecord {
  readonly studyKey: string;
  /** open: instances may still arrive or are in progress; stable: quiet for the configured time, all jobs settled. */
  readonly state: 'open' | 'stable';
  readonly instances: number;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  readonly stableAt: number | null;
  readonly outcome: StudyOutcome | null;
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: number;
  readonly jobId: string | null;
  /** job.received, step.done, job.quarantined, delivery.delivered, delivery.dead, job.replayed... */
  readonly event: string;
  /** Codes, counts, step and destination names: never PHI. */
  readonly detail: JsonObject;
  /** Who: `system` (the pipeline), `cli:<user>`, `console:<account>`, `portal:patient`, `vendor:<destination>`. */
  readonly actor: string | null;
  /** The purpose of use the event served (a delivery's destination purpose), if any. */
  readonly purpose: string | null;
  /** The hash chain (audit-chain.ts): the previous event's hash and this one's. */
  readonly prevHash: string | null;
  readonly hash: string | null;
}

export interface AuditInput {
  readonly event: string;
  readonly detail?: JsonObject;
  /** Default `system`. */
  readonly actor?: string;
  readonly purpose?: string | null;
}

export function emptyOutcome(): Record<JobState, number> {
  const o = {} as Record<JobState, number>;
  for (const s of JOB_STATES) o[s] = 0;
  return o;
}

/** Zero deliveries in every state (countDeliveries). */
export function emptyDeliveryCounts(): Record<DeliveryState, number> {
  const o = {} as Record<DeliveryState, number>;
  for (const s of DELIVERY_STATES) o[s] = 0;
  return o;
}
