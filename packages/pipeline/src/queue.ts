/**
 * The JobQueue port: hands work to workers. It carries job ids, never state: the JobStore is the truth, and every
 * handler re-reads the job and does nothing when the work is already done, so a message delivered twice is harmless.
 *
 * Semantics every implementation keeps (runQueueSuite in '@veil/pipeline/testing' checks them):
 * - at least once: a message is handed to a handler until a handler resolves for it; a handler that rejects gets it
 *   again after retryDelayMs, at most maxAttempts times in all (then onError is told and the message dropped);
 * - a message with a key is not added while one with the same key is waiting, delayed or being handled (dedup);
 *   once handled, the key is free again;
 * - delayMs: not handed out before that much time has passed;
 * - at most `concurrency` handlers at once per consumer;
 * - close() stops handing out messages and waits for the running handlers.
 * What survives a crash differs: the embedded queue keeps nothing (the server rebuilds it from the store at start);
 * BullMQ keeps messages in Redis and hands out those a dead worker held after its lock expires.
 *
 * Example:
 *   await queue.enqueue({ kind: 'process', jobId }, { key: `p-${jobId}` });
 *   await queue.consume(async (m) => runner.handle(m), { concurrency: 4 });
 */

export type QueueMessage =
  | { readonly kind: 'process'; readonly jobId: string }
  | { readonly kind: 'deliver'; readonly jobId: string; readonly destination: string };

export interface EnqueueOptions {
  readonly delayMs?: number;
  /** Dedup key: letters, digits, '.', '_' and '-' only. */
  readonly key?: string;
}

export interface QueueDepth {
  readonly waiting: number;
  readonly delayed: number;
  readonly active: number;
}

export type MessageHandler = (message: QueueMessage) => Promise<void>;

export interface QueueOptions {
  /** Handler runs per message before it is dropped (default 3). */
  readonly maxAttempts?: number;
  /** Pause before a rejected message is handed out again (default 1000 ms). */
  readonly retryDelayMs?: number;
  /** Told when a message is dropped after its last attempt, with the error's code only. */
  readonly onError?: (message: QueueMessage, code: string) => void;
}

export interface JobQueue {
  enqueue(message: QueueMessage, options?: EnqueueOptions): Promise<void>;
  /** Starts handing messages to the handler; one consumer per queue object. */
  consume(handler: MessageHandler, options: { readonly concurrency: number }): Promise<void>;
  depth(): Promise<QueueDepth>;
  close(): Promise<void>;
}

const KEY = /^[A-Za-z0-9._-]{1,200}$/;

export function assertQueueKey(key: string): void {
  if (!KEY.test(key)) throw new Error('QUEUE_BAD_KEY');
}

/** The stable code of an error for logs: its `code` when it has one, else its class name. Never its message. */
export function errorCode(e: unknown): string {
  if (e && typeof e === 'object') {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    if (e instanceof Error) return e.name;
  }
  return typeof e;
}
