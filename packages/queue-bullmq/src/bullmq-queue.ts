/**
 * JobQueue on BullMQ (Redis): messages shared by every process of a scaled-out gateway. Dedup keys are BullMQ job ids
 * (an add with an id that exists is ignored; finished messages are removed, which frees their id); delays are BullMQ
 * delays; a rejected handler is retried with a fixed backoff. A worker process that dies holding messages loses its
 * lock, and BullMQ's stalled-job check hands them out again after lockMs: at least once, across crashes.
 *
 * Example:
 *   const queue = new BullmqQueue({ url: 'redis://127.0.0.1:6379', prefix: 'veil' });
 *   await queue.consume(async (m) => runner.handle(m), { concurrency: 4 });
 */
import {
  assertQueueKey,
  type EnqueueOptions,
  errorCode,
  type JobQueue,
  type MessageHandler,
  type QueueDepth,
  type QueueMessage,
  type QueueOptions,
} from '@veil/pipeline';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

export interface BullmqQueueOptions extends QueueOptions {
  /** redis://[user:password@]host:port[/db] (default redis://127.0.0.1:6379). */
  readonly url?: string;
  /** Key prefix in Redis: one per deployment (and per test run). */
  readonly prefix: string;
  /** Queue name within the prefix (default `veil`). */
  readonly name?: string;
  /** How long a worker's claim on a message lasts without renewal: a dead worker's messages return after this. */
  readonly lockMs?: number;
}

export class BullmqQueue implements JobQueue {
  readonly #o: BullmqQueueOptions;
  readonly #name: string;
  readonly #connections: Redis[] = [];
  readonly #queue: Queue;
  #worker: Worker | undefined;
  #closed = false;

  constructor(options: BullmqQueueOptions) {
    this.#o = options;
    this.#name = options.name ?? 'veil';
    this.#queue = new Queue(this.#name, { connection: this.#redis(), prefix: options.prefix });
    // Connection errors surface as rejected calls; the event must not crash the process.
    this.#queue.on('error', () => {});
  }

  #redis(): Redis {
    const r = new Redis(this.#o.url ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    r.on('error', () => {});
    this.#connections.push(r);
    return r;
  }

  async enqueue(message: QueueMessage, options: EnqueueOptions = {}): Promise<void> {
    if (this.#closed) throw new Error('QUEUE_CLOSED');
    if (options.key !== undefined) assertQueueKey(options.key);
    await this.#queue.add(message.kind, message, {
      ...(options.key !== undefined ? { jobId: options.key } : {}),
      ...(options.delayMs !== undefined && options.delayMs > 0 ? { delay: Math.ceil(options.delayMs) } : {}),
      attempts: Math.max(1, this.#o.maxAttempts ?? 3),
      backoff: { type: 'fixed', delay: Math.max(0, this.#o.retryDelayMs ?? 1000) },
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  async consume(handler: MessageHandler, options: { readonly concurrency: number }): Promise<void> {
    if (this.#worker) throw new Error('QUEUE_ALREADY_CONSUMED');
    const lockMs = this.#o.lockMs ?? 30_000;
    const worker = new Worker(this.#name, async (job) => handler(job.data as QueueMessage), {
      connection: this.#redis(),
      prefix: this.#o.prefix,
      concurrency: Math.max(1, Math.floor(options.concurrency)),
      lockDuration: lockMs,
      stalledInterval: Math.max(1000, Math.floor(lockMs / 2)),
      // A stalled message is how a crashed worker's work comes back: never give up on it for that.
      maxStalledCount: 1_000_000,
    });
    worker.on('error', () => {});
    worker.on('failed', (job, err) => {
      if (!job) return;
      const attempts = job.opts.attempts ?? 1;
      if (job.attemptsMade >= attempts) this.#o.onError?.(job.data as QueueMessage, errorCode(err));
    });
    this.#worker = worker;
    await worker.waitUntilReady();
  }

  async depth(): Promise<QueueDepth> {
    const c = await this.#queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      delayed: c.delayed ?? 0,
      active: c.active ?? 0,
    };
  }

  /** Deletes every key of this queue in Redis (tests). */
  async obliterate(): Promise<void> {
    await this.#queue.obliterate({ force: true });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#worker?.close();
    await this.#queue.close();
    await Promise.all(this.#connections.map((r) => r.quit().catch(() => r.disconnect())));
  }
}
