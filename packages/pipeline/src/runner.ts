/**
 * The Runner moves jobs through their steps and deliveries. It is the queue's message handler and the server's
 * recovery: it holds no state of its own, everything it decides is committed to the JobStore before it acts on it.
 *
 * A `process` message: lease the job, run its current step, commit the step's outcome (the next step and the JSON
 * state it left, or quarantine, or a retry), and go on to the next step; after the last one the job's deliveries are
 * created (one per destination of its route) in the same commit that moves it to `delivering`, and then enqueued.
 * A `deliver` message: lease the delivery (sending, one more attempt), call the destination, commit delivered / retry
 * at a backoff / dead; the commit that delivers the last one makes the job `done`, and only then is `onDone` called
 * (the app removes the job's spool files there).
 *
 * Example:
 *   const runner = new Runner({ store, queue, steps, destinations, routes, outgoing, owner, ... });
 *   await queue.consume((m) => runner.handle(m), { concurrency: 4 });
 *   await runner.recover(); // at start: enqueue whatever the store says is unfinished
 */
import type { RouteConfig } from './config.ts';
import { DeliveryError, type Destination, type OutgoingInstance } from './destination.ts';
import { failedAttempt } from './lifecycle.ts';
import { DELIVER_STEP, type Delivery, type Job, type JsonObject, type StudyRecord } from './model.ts';
import { errorCode, type JobQueue, type QueueMessage } from './queue.ts';
import type { DeliveryResult, JobStore } from './store.ts';

export type StepOutcome =
  /** Go on: the next step gets this state (replaces the job's stepState when given). */
  | {
      readonly kind: 'next';
      readonly stepState?: JsonObject;
      readonly studyKey?: string;
    }
  /** Hold the job: the file must not go out as it is. */
  | {
      readonly kind: 'quarantine';
      readonly code: string;
      readonly tagPath?: string | undefined;
      readonly stepState?: JsonObject;
      readonly studyKey?: string;
    }
  /** Something outside the file failed (I/O, a full disk): try the step again later. */
  | { readonly kind: 'retry'; readonly code: string }
  /** The job cannot go on and retrying will not help. */
  | { readonly kind: 'fail'; readonly code: string };

export interface Step {
  readonly name: string;
  run(job: Job): Promise<StepOutcome> | StepOutcome;
}

export type RunnerEvent =
  | {
      readonly type: 'step';
      readonly job: Job;
      readonly step: string;
      readonly outcome: StepOutcome['kind'];
      readonly ms: number;
    }
  | { readonly type: 'quarantined'; readonly job: Job; readonly step: string; readonly code: string }
  | {
      readonly type: 'retry';
      readonly job: Job;
      readonly step: string;
      readonly code: string;
      readonly delayMs: number;
    }
  | { readonly type: 'failed'; readonly job: Job; readonly step: string; readonly code: string }
  | { readonly type: 'delivered'; readonly job: Job; readonly destination: string; readonly ms: number }
  | {
      readonly type: 'delivery-retry';
      readonly job: Job;
      readonly destination: string;
      readonly code: string;
      readonly attempts: number;
      readonly delayMs: number;
    }
  | {
      readonly type: 'dead';
      readonly job: Job;
      readonly destination: string;
      readonly code: string;
      readonly attempts: number;
    }
  /** Not sent by policy at the deliver step (beforeSend's code, e.g. CONSENT_OPT_OUT). */
  | { readonly type: 'withheld'; readonly job: Job; readonly destination: string; readonly code: string }
  | { readonly type: 'done'; readonly job: Job; readonly latencyMs: number }
  | { readonly type: 'study-stable'; readonly study: StudyRecord }
  | { readonly type: 'error'; readonly where: string; readonly code: string; readonly jobId?: string };

export interface RunnerOptions {
  readonly store: JobStore;
  readonly queue: JobQueue;
  /** Processing steps, in order; a new job starts at the first. */
  readonly steps: readonly Step[];
  readonly destinations: ReadonlyMap<string, Destination>;
  readonly routes: readonly RouteConfig[];
  /** What a destination is given for a processed job (from its stepState). */
  readonly outgoing: (job: Job) => OutgoingInstance;
  /** This process's lease owner name (unique per process). */
  readonly owner: string;
  readonly processing: {
    readonly maxAttempts: number;
    readonly leaseMs: number;
    readonly retryDelayMs: (attempt: number) => number;
  };
  readonly delivery: {
    readonly maxAttempts: number;
    readonly leaseMs: number;
    readonly retryDelayMs: (attempt: number) => number;
  };
  readonly stableAfterMs?: number;
  readonly clock?: () => number;
  readonly onEvent?: (event: RunnerEvent) => void;
  /**
   * Called for each delivery after its lease and before the destination is called: a code withholds it (not sent;
   * the delivery ends `withheld` with that code). Where the consent check runs, and where the release is recorded
   * before any byte leaves. A rejection is a failed attempt (retried, then dead): nothing is sent unchecked.
   */
  readonly beforeSend?: (job: Job, destination: string) => Promise<string | undefined>;
  /** After the commit that made a job done (every delivery recorded): remove its spool files. */
  readonly onDone?: (job: Job) => Promise<void> | void;
}

export class Runner {
  readonly #o: RunnerOptions;
  readonly #now: () => number;
  /** Jobs this process is working on now. */
  readonly #running = new Set<string>();

  constructor(options: RunnerOptions) {
    this.#o = options;
    this.#now = options.clock ?? Date.now;
  }

  get firstStep(): string {
    return this.#o.steps[0]?.name ?? DELIVER_STEP;
  }

  /** The queue's handler. Rejects only when the store cannot be reached (the queue then hands the message out again). */
  async handle(message: QueueMessage): Promise<void> {
    if (message.kind === 'process') await this.#process(message.jobId);
    else await this.#deliver(message.jobId, message.destination);
  }

  /** Enqueues a new job's processing (after its row is committed). */
  async submit(jobId: string): Promise<void> {
    await this.#o.queue.enqueue({ kind: 'process', jobId }, { key: `p-${jobId}` });
  }

  /**
   * Enqueues what the store says is unfinished: jobs queued or processing, deliveries pending, sending or waiting
   * for a retry (at their due time). With staleBefore, only what has not moved since then (the periodic safety net;
   * at start, everything). Returns the number of messages offered (the queue drops duplicates by key).
   */
  async recover(options: { readonly staleBefore?: number } = {}): Promise<number> {
    const now = this.#now();
    const stale = options.staleBefore;
    let offered = 0;
    let afterId: string | undefined;
    for (;;) {
      const jobs = await this.#o.store.listJobs({
        states: ['queued', 'processing'],
        limit: 500,
        ...(afterId !== undefined ? { afterId } : {}),
        ...(stale !== undefined ? { updatedBefore: stale } : {}),
      });
      for (const job of jobs) {
        await this.#o.queue.enqueue({ kind: 'process', jobId: job.id }, { key: `p-${job.id}` });
        offered++;
      }
      if (jobs.length < 500) break;
      afterId = jobs[jobs.length - 1]!.id;
    }
    const deliveries = await this.#o.store.listDeliveries({ states: ['pending', 'sending', 'retry'] });
    for (const d of deliveries) {
      if (stale !== undefined && d.state === 'pending' && d.updatedAt >= stale) continue;
      if (stale !== undefined && d.state === 'retry' && (d.nextAttemptAt ?? 0) >= stale) continue;
      if (d.state === 'sending' && (d.leaseUntil ?? 0) > now && stale !== undefined) continue;
      await this.#enqueueDelivery(d, now);
      offered++;
    }
    return offered;
  }

  /** Enqueues one job's unfinished work (after an operator's replay or release). */
  async recoverJob(jobId: string): Promise<number> {
    return offerJob(this.#o.store, this.#o.queue, jobId, this.#now());
  }

  /** The periodic sweep: studies that became stable, and the recovery of work that stopped moving. */
  async sweep(staleMs: number): Promise<void> {
    const now = this.#now();
    if (this.#o.stableAfterMs !== undefined) {
      for (const study of await this.#o.store.settleStudies(now, this.#o.stableAfterMs)) {
        this.#emit({ type: 'study-stable', study });
      }
    }
    await this.recover({ staleBefore: now - staleMs });
  }

  async #enqueueDelivery(d: Delivery, now: number): Promise<void> {
    await offerDelivery(this.#o.queue, d, now);
  }

  #emit(event: RunnerEvent): void {
    try {
      this.#o.onEvent?.(event);
    } catch {
      // Observers (logs, metrics) never stop the pipeline.
    }
  }

  async #process(jobId: string): Promise<void> {
    // A second message for a job this process is already running (a sweep, another worker's look-again at the end
    // of a lease this process has since renewed): the lease is this owner's, so leaseJob would hand it out again.
    if (this.#running.has(jobId)) return;
    this.#running.add(jobId);
    try {
      await this.#leaseAndRun(jobId);
    } finally {
      this.#running.delete(jobId);
    }
  }

  async #leaseAndRun(jobId: string): Promise<void> {
    const { store, owner } = this.#o;
    const job = await store.leaseJob(jobId, owner, this.#now(), this.#o.processing.leaseMs);
    if (!job) {
      const current = await store.getJob(jobId);
      if (current && (current.state === 'queued' || current.state === 'processing') && current.leaseUntil !== null) {
        // Another worker holds it: look again when its lease runs out (it may have died).
        const delayMs = Math.max(50, current.leaseUntil - this.#now() + 50);
        await this.#o.queue.enqueue({ kind: 'process', jobId }, { key: `p-${jobId}-l${current.leaseUntil}`, delayMs });
      }
      return;
    }
    // The lease is kept alive while this process works on the job (a step may wait for a free thread longer than
    // leaseMs); a process that dies stops renewing, and the lease then runs out as before.
    const keep = this.#keepLease(jobId, this.#o.processing.leaseMs, (now, ttlMs) =>
      store.renewJobLease(jobId, owner, now, ttlMs),
    );
    try {
      await this.#runSteps(job);
    } finally {
      await keep.stop();
    }
  }

  /**
   * Renews a lease every ttlMs / 3 until stop() (which waits for a renewal in flight). A renewal that finds the lease
   * lost ends the renewing (the commit that follows then fails its guard); a store error is reported and retried.
   */
  #keepLease(
    jobId: string,
    ttlMs: number,
    renew: (now: number, ttlMs: number) => Promise<boolean>,
  ): { stop(): Promise<void> } {
    let inFlight: Promise<void> | undefined;
    let stopped = false;
    const timer = setInterval(
      () => {
        if (inFlight || stopped) return;
        inFlight = renew(this.#now(), ttlMs)
          .then((held) => {
            if (!held) clearInterval(timer);
          })
          .catch((e: unknown) => this.#emit({ type: 'error', where: 'renewLease', code: errorCode(e), jobId }))
          .finally(() => {
            inFlight = undefined;
          });
      },
      Math.max(10, Math.floor(ttlMs / 3)),
    );
    timer.unref?.();
    return {
      stop: async () => {
        stopped = true;
        clearInterval(timer);
        await inFlight;
      },
    };
  }

  async #runSteps(leased: Job): Promise<void> {
    const { store, owner } = this.#o;
    const jobId = leased.id;
    let job = leased;
    for (;;) {
      const index = this.#o.steps.findIndex((s) => s.name === job.step);
      const step = this.#o.steps[index];
      if (!step) {
        await this.#failJob(job, job.step, 'PIPELINE_UNKNOWN_STEP');
        return;
      }
      const started = performance.now();
      let outcome: StepOutcome;
      try {
        outcome = await step.run(job);
      } catch (e) {
        outcome = { kind: 'retry', code: `STEP_ERROR_${errorCode(e)}` };
      }
      this.#emit({ type: 'step', job, step: step.name, outcome: outcome.kind, ms: performance.now() - started });
      const now = this.#now();
      if (outcome.kind === 'next') {
        const next = this.#o.steps[index + 1]?.name ?? DELIVER_STEP;
        const common = {
          step: next,
          ...(outcome.stepState ? { stepState: outcome.stepState } : {}),
          ...(outcome.studyKey !== undefined ? { studyKey: outcome.studyKey } : {}),
          error: null,
        };
        if (next !== DELIVER_STEP) {
          const saved = await store.saveJob(
            jobId,
            { owner },
            { ...common, audit: { event: 'step.done', detail: { step: step.name } } },
            now,
          );
          if (!saved) return; // lease lost: its new holder goes on
          job = saved;
          continue;
        }
        const route = this.#o.routes.find((r) => r.name === job.route);
        const to = route ? [...route.to] : [];
        if (to.length === 0) {
          await this.#failJob(job, step.name, 'PIPELINE_NO_ROUTE');
          return;
        }
        const saved = await store.saveJob(
          jobId,
          { owner },
          {
            ...common,
            state: 'delivering',
            deliveries: to,
            releaseLease: true,
            audit: { event: 'step.done', detail: { step: step.name, destinations: to.length } },
          },
          now,
        );
        if (!saved) return;
        for (const d of await store.listDeliveries({ jobId, states: ['pending'] })) await this.#enqueueDelivery(d, now);
        return;
      }
      if (outcome.kind === 'quarantine') {
        const saved = await store.saveJob(
          jobId,
          { owner },
          {
            state: 'quarantined',
            error: outcome.code,
            releaseLease: true,
            quarantine: { code: outcome.code, tagPath: outcome.tagPath, step: step.name },
            ...(outcome.stepState ? { stepState: outcome.stepState } : {}),
            ...(outcome.studyKey !== undefined ? { studyKey: outcome.studyKey } : {}),
            audit: { event: 'job.quarantined', detail: { step: step.name, code: outcome.code } },
          },
          now,
        );
        if (saved) this.#emit({ type: 'quarantined', job: saved, step: step.name, code: outcome.code });
        return;
      }
      if (outcome.kind === 'fail') {
        await this.#failJob(job, step.name, outcome.code);
        return;
      }
      const { attempts, last } = failedAttempt(job, this.#o.processing.maxAttempts);
      if (last) {
        await this.#failJob(job, step.name, outcome.code, attempts);
        return;
      }
      const delayMs = this.#o.processing.retryDelayMs(attempts);
      const saved = await store.saveJob(
        jobId,
        { owner },
        {
          state: 'queued',
          attempts,
          error: outcome.code,
          releaseLease: true,
          audit: { event: 'step.retry', detail: { step: step.name, code: outcome.code, attempts } },
        },
        now,
      );
      if (!saved) return;
      this.#emit({ type: 'retry', job: saved, step: step.name, code: outcome.code, delayMs });
      await this.#o.queue.enqueue({ kind: 'process', jobId }, { key: `p-${jobId}-a${attempts}`, delayMs });
      return;
    }
  }

  async #failJob(job: Job, step: string, code: string, attempts?: number): Promise<void> {
    const saved = await this.#o.store.saveJob(
      job.id,
      { owner: this.#o.owner },
      {
        state: 'failed',
        error: code,
        releaseLease: true,
        ...(attempts !== undefined ? { attempts } : {}),
        audit: { event: 'job.failed', detail: { step, code } },
      },
      this.#now(),
    );
    if (saved) this.#emit({ type: 'failed', job: saved, step, code });
  }

  async #deliver(jobId: string, destination: string): Promise<void> {
    const { store, owner } = this.#o;
    const d = await store.leaseDelivery(jobId, destination, owner, this.#now(), this.#o.delivery.leaseMs);
    if (!d) return; // delivered, dead, not due, or another worker is on it
    const keep = this.#keepLease(jobId, this.#o.delivery.leaseMs, (now, ttlMs) =>
      store.renewDeliveryLease(jobId, destination, owner, now, ttlMs),
    );
    try {
      await this.#send(d, destination);
    } finally {
      await keep.stop();
    }
  }

  async #send(d: Delivery, destination: string): Promise<void> {
    const { store, owner } = this.#o;
    const jobId = d.jobId;
    const job = await store.getJob(jobId);
    if (!job) return;
    const target = this.#o.destinations.get(destination);
    const started = performance.now();
    let result: DeliveryResult;
    let code = '';
    if (!target) {
      code = 'DESTINATION_UNKNOWN';
      result = { state: 'dead', error: code };
    } else {
      try {
        const hold = await this.#o.beforeSend?.(job, destination);
        if (hold !== undefined) {
          code = hold;
          result = { state: 'withheld', error: hold };
        } else {
          await target.send(this.#o.outgoing(job));
          result = { state: 'delivered' };
        }
      } catch (e) {
        code = errorCode(e);
        const permanent = e instanceof DeliveryError && e.permanent;
        if (permanent || d.attempts >= this.#o.delivery.maxAttempts) result = { state: 'dead', error: code };
        else {
          result = {
            state: 'retry',
            error: code,
            nextAttemptAt: this.#now() + this.#o.delivery.retryDelayMs(d.attempts),
          };
        }
      }
    }
    const ms = performance.now() - started;
    const now = this.#now();
    const finished = await store.finishDelivery(jobId, destination, owner, result, now);
    if (!finished) return; // our lease ran out and someone else took over: their outcome stands
    if (result.state === 'delivered') this.#emit({ type: 'delivered', job: finished.job, destination, ms });
    else if (result.state === 'withheld') this.#emit({ type: 'withheld', job: finished.job, destination, code });
    else if (result.state === 'retry') {
      const delayMs = Math.max(0, result.nextAttemptAt - now);
      this.#emit({ type: 'delivery-retry', job: finished.job, destination, code, attempts: d.attempts, delayMs });
      await this.#enqueueDelivery(finished.delivery, now);
    } else this.#emit({ type: 'dead', job: finished.job, destination, code, attempts: d.attempts });
    if (finished.job.state === 'done' && job.state !== 'done') {
      this.#emit({ type: 'done', job: finished.job, latencyMs: now - finished.job.createdAt });
      try {
        await this.#o.onDone?.(finished.job);
      } catch (e) {
        this.#emit({ type: 'error', where: 'onDone', code: errorCode(e), jobId });
      }
    }
  }
}

/**
 * Enqueues a delivery at its due time. The key names the attempt, so the message of a scheduled retry and the same
 * retry found again by a recovery are one message.
 */
export async function offerDelivery(queue: JobQueue, d: Delivery, now: number): Promise<void> {
  let delayMs = 0;
  if (d.state === 'retry' && d.nextAttemptAt !== null) delayMs = Math.max(0, d.nextAttemptAt - now);
  if (d.state === 'sending' && d.leaseUntil !== null) delayMs = Math.max(0, d.leaseUntil - now + 50);
  await queue.enqueue(
    { kind: 'deliver', jobId: d.jobId, destination: d.destination },
    { key: `d-${d.jobId}-${d.destination}-${d.attempts}`, ...(delayMs > 0 ? { delayMs } : {}) },
  );
}

/**
 * Enqueues one job's unfinished work: its processing when queued or processing, its deliveries that are pending,
 * sending or waiting for a retry. For operators' tools (replay, release) as well as the Runner. Returns the number of
 * messages offered.
 */
export async function offerJob(store: JobStore, queue: JobQueue, jobId: string, now: number): Promise<number> {
  const job = await store.getJob(jobId);
  if (!job) return 0;
  let offered = 0;
  if (job.state === 'queued' || job.state === 'processing') {
    await queue.enqueue({ kind: 'process', jobId }, { key: `p-${jobId}-r${job.updatedAt}` });
    offered++;
  }
  for (const d of await store.listDeliveries({ jobId, states: ['pending', 'sending', 'retry'] })) {
    await offerDelivery(queue, d, now);
    offered++;
  }
  return offered;
}
