/**
 * The embedded JobQueue: in memory, in process. It keeps nothing across a crash by design: the embedded server
 * rebuilds it from the JobStore when it starts (every unsettled job and delivery is enqueued again), so durability
 * lives in one place, the store.
 *
 * Example:
 *   const queue = new EmbeddedQueue({ maxAttempts: 3, retryDelayMs: 500 });
 *   await queue.consume(async (m) => handle(m), { concurrency: 4 });
 *   await queue.enqueue({ kind: 'process', jobId });
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
} from './queue.ts';

interface Entry {
  readonly message: QueueMessage;
  readonly key: string | undefined;
  attempts: number;
}

export class EmbeddedQueue implements JobQueue {
  readonly #maxAttempts: number;
  readonly #retryDelayMs: number;
  readonly #onError: ((m: QueueMessage, code: string) => void) | undefined;
  readonly #waiting: Entry[] = [];
  readonly #delayed = new Set<NodeJS.Timeout>();
  readonly #keys = new Set<string>();
  readonly #running = new Set<Promise<void>>();
  #handler: MessageHandler | undefined;
  #concurrency = 1;
  #closed = false;
  #head = 0;

  constructor(options: QueueOptions = {}) {
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.#retryDelayMs = Math.max(0, options.retryDelayMs ?? 1000);
    this.#onError = options.onError;
  }

  async enqueue(message: QueueMessage, options: EnqueueOptions = {}): Promise<void> {
    if (this.#closed) throw new Error('QUEUE_CLOSED');
    const key = options.key;
    if (key !== undefined) {
      assertQueueKey(key);
      if (this.#keys.has(key)) return;
      this.#keys.add(key);
    }
    this.#schedule({ message, key, attempts: 0 }, options.delayMs ?? 0);
  }

  async consume(handler: MessageHandler, options: { readonly concurrency: number }): Promise<void> {
    if (this.#handler) throw new Error('QUEUE_ALREADY_CONSUMED');
    this.#handler = handler;
    this.#concurrency = Math.max(1, Math.floor(options.concurrency));
    this.#pump();
  }

  async depth(): Promise<QueueDepth> {
    return { waiting: this.#waiting.length - this.#head, delayed: this.#delayed.size, active: this.#running.size };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#delayed) clearTimeout(t);
    this.#delayed.clear();
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  #schedule(entry: Entry, delayMs: number): void {
    if (delayMs <= 0) {
      this.#waiting.push(entry);
      this.#pump();
      return;
    }
    const timer = setTimeout(() => {
      this.#delayed.delete(timer);
      if (this.#closed) return;
      this.#waiting.push(entry);
      this.#pump();
    }, delayMs);
    this.#delayed.add(timer);
  }

  #pump(): void {
    const handler = this.#handler;
    if (!handler) return;
    while (!this.#closed && this.#running.size < this.#concurrency && this.#head < this.#waiting.length) {
      const entry = this.#waiting[this.#head]!;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
        this.#waiting.splice(0, this.#head);
        this.#head = 0;
      }
      entry.attempts++;
      let self: Promise<void> = Promise.resolve();
      const run: Promise<void> = (async () => {
        await Promise.resolve(); // so that `self` is assigned before the finally block reads it
        try {
          await handler(entry.message);
          if (entry.key !== undefined) this.#keys.delete(entry.key);
        } catch (e) {
          if (entry.attempts < this.#maxAttempts && !this.#closed) this.#schedule(entry, this.#retryDelayMs);
          else {
            if (entry.key !== undefined) this.#keys.delete(entry.key);
            this.#onError?.(entry.message, errorCode(e));
          }
        } finally {
          this.#running.delete(self);
          queueMicrotask(() => this.#pump());
        }
      })();
      self = run;
      this.#running.add(run);
    }
  }
}
