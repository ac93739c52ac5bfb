/**
 * The JobStore port: the durable state of the gateway. Every method commits before it resolves (one transaction each),
 * so what a caller was told is on disk. Implementations: @veil/store-sqlite (embedded), @veil/store-postgres
 * (scale-out); both pass runStoreSuite from '@veil/pipeline/testing'.
 *
 * Times are epoch milliseconds passed in by the caller (the store never reads the clock), so tests drive time.
 *
 * Example:
 *   const job = await store.createJob({ id: newJobId(), ingress: 'inbox', route: 'default', step: 'gate', source }, now);
 *   const mine = await store.leaseJob(job.id, owner, now, 30_000);
 *   if (mine) await store.saveJob(job.id, { owner }, { step: 'deidentify', stepState: { ... } }, now);
 */
import type {
  AuditEntry,
  AuditInput,
  Delivery,
  DeliveryState,
  Job,
  JobState,
  JsonObject,
  NewJob,
  QuarantineInput,
  QuarantineRecord,
  QuarantineState,
  StudyRecord,
} from './model.ts';

/** Who may change a job: the holder of its lease (workers), or anyone when it is in one of these states (operators). */
export type JobGuard = { readonly owner: string } | { readonly states: readonly JobState[] };

export interface JobUpdate {
  readonly state?: JobState;
  readonly step?: string;
  /** Replaces the step state. */
  readonly stepState?: JsonObject;
  /** Set once per job; the first time, the job's instance is counted in the study (and reopens a stable one). */
  readonly studyKey?: string;
  readonly attempts?: number;
  readonly error?: string | null;
  /** Give up the lease (set after the last change a worker makes). */
  readonly releaseLease?: boolean;
  /** Create pending deliveries to these destinations (existing ones are left as they are). */
  readonly deliveries?: readonly string[];
  /** Dead deliveries go back to pending with no attempts (replay). */
  readonly replayDead?: boolean;
  /** Hold the job: create or update its quarantine record (state held). */
  readonly quarantine?: QuarantineInput;
  readonly quarantineState?: Exclude<QuarantineState, 'held'>;
  readonly audit?: AuditInput;
}

export type DeliveryResult =
  | { readonly state: 'delivered' }
  | { readonly state: 'retry'; readonly nextAttemptAt: number; readonly error: string }
  | { readonly state: 'dead'; readonly error: string }
  /** Not sent by policy (CONSENT_OPT_OUT): terminal, settles like delivered. */
  | { readonly state: 'withheld'; readonly error: string };

export interface JobFilter {
  readonly states?: readonly JobState[];
  /** Jobs whose id sorts after this one (paging; ids sort by creation time). */
  readonly afterId?: string;
  readonly updatedBefore?: number;
  readonly limit?: number;
}

export interface DeliveryFilter {
  readonly jobId?: string;
  readonly states?: readonly DeliveryState[];
  readonly limit?: number;
}

export interface JobStore {
  /** Creates or upgrades the schema. Idempotent; call once before anything else. */
  init(): Promise<void>;
  close(): Promise<void>;
  /** Resolves when the store answers (health checks). */
  ping(): Promise<void>;

  /** Inserts a queued job and its `job.received` audit entry; a job with this id already there is returned as is. */
  createJob(job: NewJob, now: number): Promise<Job>;
  getJob(id: string): Promise<Job | undefined>;
  /** Ordered by id (creation time). */
  listJobs(filter?: JobFilter): Promise<Job[]>;
  countJobs(): Promise<Record<JobState, number>>;
  /**
   * Takes the lease of a queued or processing job for ttlMs when it is free, expired or already the owner's; the job
   * becomes `processing`. Undefined when another owner holds it, or the job is in another state or absent.
   */
  leaseJob(id: string, owner: string, now: number, ttlMs: number): Promise<Job | undefined>;
  /**
   * Extends the owner's live lease of a processing job to now + ttlMs (and touches updatedAt), while its step runs.
   * False when the lease is another owner's, has expired (someone may have taken the job over), or was released.
   */
  renewJobLease(id: string, owner: string, now: number, ttlMs: number): Promise<boolean>;
  /** Applies an update when the guard holds (undefined otherwise). A settled state sets finishedAt. */
  saveJob(id: string, guard: JobGuard, update: JobUpdate, now: number): Promise<Job | undefined>;
  /** Clears every lease (jobs and deliveries): only for a single-process deployment restarting after a crash. */
  breakLeases(now: number): Promise<number>;

  listDeliveries(filter?: DeliveryFilter): Promise<Delivery[]>;
  countDeliveries(): Promise<Record<DeliveryState, number>>;
  /**
   * Leases a delivery that is pending, due for retry (nextAttemptAt <= now) or sending under an expired lease: it
   * becomes `sending` and its attempts grow by one. Undefined otherwise.
   */
  leaseDelivery(
    jobId: string,
    destination: string,
    owner: string,
    now: number,
    ttlMs: number,
  ): Promise<Delivery | undefined>;
  /**
   * Extends the owner's live lease of a sending delivery to now + ttlMs (attempts unchanged), while the destination is
   * called. False when the lease is another owner's, has expired or the delivery is no longer sending.
   */
  renewDeliveryLease(jobId: string, destination: string, owner: string, now: number, ttlMs: number): Promise<boolean>;
  /**
   * Records the outcome of the owner's attempt and rolls the job up in the same transaction: every delivery delivered
   * makes the job `done`; none left to try and one dead makes it `dead`. Undefined when the owner lost the lease.
   */
  finishDelivery(
    jobId: string,
    destination: string,
    owner: string,
    result: DeliveryResult,
    now: number,
  ): Promise<{ delivery: Delivery; job: Job } | undefined>;

  getQuarantine(jobId: string): Promise<QuarantineRecord | undefined>;
  listQuarantine(filter?: {
    readonly states?: readonly QuarantineState[];
    readonly limit?: number;
  }): Promise<QuarantineRecord[]>;

  getStudy(studyKey: string): Promise<StudyRecord | undefined>;
  listStudies(filter?: { readonly state?: 'open' | 'stable'; readonly limit?: number }): Promise<StudyRecord[]>;
  /**
   * Marks stable every open study last seen at or before now - quietMs whose jobs are all settled, with their outcome
   * counts, and returns those. A later instance of the study reopens it.
   */
  settleStudies(now: number, quietMs: number): Promise<StudyRecord[]>;

  appendAudit(jobId: string | null, entry: AuditInput, now: number): Promise<void>;
  /** Ordered by seq. */
  listAudit(filter?: {
    readonly jobId?: string;
    readonly afterSeq?: number;
    readonly limit?: number;
  }): Promise<AuditEntry[]>;
}

/** A store method was given arguments that break the model (not a lost race: those return undefined). */
export class StoreError extends Error {
  constructor(readonly code: string) {
    super(code);
    this.name = 'StoreError';
  }
}
