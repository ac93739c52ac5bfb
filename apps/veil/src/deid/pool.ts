/**
 * A pool of worker threads that each run scan -> deidentify -> write for the files they are sent. Tasks are sent in
 * batches (see ToWorker) of up to MAX_BATCH files, smaller as the queue runs down so that the workers finish together;
 * each worker holds at most PREFETCH batches so that it never waits for the main thread. A worker that dies is
 * replaced; the tasks it held are retried once, each alone, and a task that kills a worker twice fails with
 * WORKER_CRASHED (the run goes on). Each worker's V8 heap is capped (`threadHeapMb`, `veil deid --thread-heap-mb`,
 * default 1024 as `veil serve`'s processing.threadHeapMb): a file that exhausts it ends that worker, not the process.
 */
import { Worker } from 'node:worker_threads';
import type { ActionCounts } from './action-tally.ts';
import { describeError } from './cli-error.ts';
import type { FromWorker, Task, TaskResult, ToWorker, WorkerInit } from './protocol.ts';

const PREFETCH = 2;
/** The default V8 old-generation cap per worker, in MiB (the same as `veil serve`'s processing.threadHeapMb). */
export const DEFAULT_THREAD_HEAP_MB = 1024;
const MAX_BATCH = 16;
// From source (tsx), the worker starts through worker-entry.mjs, which registers tsx in the new thread; from the
// bundle (scripts/build.mjs), the bundled worker sits beside the bundled CLI.
const ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('./worker-entry.mjs', import.meta.url)
  : new URL('./deid-worker.mjs', import.meta.url);

interface Slot {
  worker: Worker;
  inflight: Task[];
  /** Batches sent and not answered yet. */
  batches: number;
  ready: boolean;
  dead: boolean;
}

export class WorkerStartError extends Error {
  constructor(readonly code: string) {
    super(`a worker could not start (${code})`);
    this.name = 'WorkerStartError';
  }
}

export interface PoolOptions {
  /** The worker module (tests give one that speaks the same protocol). */
  readonly entry?: URL;
  /** Each worker's V8 old-generation heap cap in MiB (resourceLimits.maxOldGenerationSizeMb). */
  readonly threadHeapMb?: number | undefined;
  /** Receives each batch's action tally (sent before that batch's results are passed to onResult). */
  readonly onActions?: ((actions: ActionCounts) => void) | undefined;
}

/** Runs all tasks on `size` workers; calls onResult once per task, in completion order. */
export function runPool(
  tasks: readonly Task[],
  size: number,
  init: WorkerInit,
  onResult: (task: Task, result: TaskResult) => void,
  options: PoolOptions = {},
): Promise<void> {
  const entry = options.entry ?? ENTRY;
  const maxOldGenerationSizeMb = options.threadHeapMb ?? DEFAULT_THREAD_HEAP_MB;
  return new Promise<void>((resolve, reject) => {
    const queue: Task[] = [...tasks].reverse();
    const retry: Task[] = [];
    const retried = new Set<number>();
    const slots: Slot[] = [];
    let remaining = tasks.length;
    let restarts = 0;
    let finished = false;

    const finish = (error?: Error): void => {
      if (finished) return;
      finished = true;
      for (const s of slots) {
        s.dead = true;
        void s.worker.terminate();
      }
      if (error) reject(error);
      else resolve();
    };

    const dispatch = (s: Slot): void => {
      while (s.ready && !s.dead && s.batches < PREFETCH && (retry.length > 0 || queue.length > 0)) {
        // A task that was in flight when a worker died runs alone in a worker with nothing else in flight: if it
        // kills that one too, it alone is blamed (WORKER_CRASHED), not the files it happened to travel with.
        if (s.inflight.some((t) => retried.has(t.id))) break;
        if (retry.length > 0 && s.batches > 0) break;
        // Otherwise a quarter of each worker's fair share of what is left, so the last batches are small.
        const size = Math.max(1, Math.min(MAX_BATCH, Math.floor(queue.length / (4 * slots.length))));
        const batch = retry.length > 0 ? [retry.pop()!] : queue.splice(Math.max(0, queue.length - size)).reverse();
        s.inflight.push(...batch);
        s.batches++;
        s.worker.postMessage({ type: 'tasks', tasks: batch } satisfies ToWorker);
      }
    };

    const complete = (task: Task, result: TaskResult): void => {
      onResult(task, result);
      remaining--;
      if (remaining === 0) finish();
    };

    const lost = (s: Slot): void => {
      if (s.dead) return;
      s.dead = true;
      for (const task of s.inflight) {
        if (retried.has(task.id)) complete(task, { id: task.id, outcome: 'error', code: 'WORKER_CRASHED' });
        else {
          retried.add(task.id);
          retry.push(task);
        }
      }
      s.inflight = [];
      if (finished) return;
      const i = slots.indexOf(s);
      if (restarts++ < 2 * size + 2) slots[i] = spawn();
      else slots.splice(i, 1);
      if (slots.length === 0) finish(new WorkerStartError('WORKERS_KEEP_CRASHING'));
      for (const other of slots) dispatch(other);
    };

    const spawn = (): Slot => {
      // execArgv: [] — a parent started with `--import tsx` would pass it on, and tsx is registered by the entry.
      // resourceLimits: a file that exhausts the heap ends this worker (an 'error' then 'exit'), which lost() handles.
      const worker = new Worker(entry, { workerData: init, execArgv: [], resourceLimits: { maxOldGenerationSizeMb } });
      const s: Slot = { worker, inflight: [], batches: 0, ready: false, dead: false };
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          s.ready = true;
          dispatch(s);
        } else if (m.type === 'fatal') {
          finish(new WorkerStartError(m.code));
        } else {
          s.batches--;
          if (m.actions && m.actions.length > 0) options.onActions?.(m.actions);
          for (const result of m.results) {
            const i = s.inflight.findIndex((t) => t.id === result.id);
            const task = i >= 0 ? s.inflight.splice(i, 1)[0] : undefined;
            if (task) complete(task, result);
          }
          if (!finished) dispatch(s);
        }
      });
      worker.on('error', (e) => {
        if (process.env.VEIL_DEBUG === '1') process.stderr.write(`veil deid: worker error: ${describeError(e)}\n`);
        lost(s);
      });
      worker.on('exit', () => lost(s));
      return s;
    };

    if (tasks.length === 0) {
      resolve();
      return;
    }
    for (let i = 0; i < Math.max(1, Math.min(size, tasks.length)); i++) slots.push(spawn());
  });
}
