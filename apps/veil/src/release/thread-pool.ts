/**
 * A long-lived pool of worker threads for heavy, hostile-input work (the gateway's release path): each request runs
 * in a worker with V8 resource limits, one request per worker at a time, so that one file that exhausts memory or
 * crashes its thread takes only its own request with it. The request in flight when a worker dies is rejected with
 * WorkerCrashed (code WORKER_CRASHED, and why: ERR_WORKER_OUT_OF_MEMORY, an exit code...); the worker is replaced and
 * the other requests go on. The caller decides what a crash means for its job (the gateway: retry, then quarantine).
 *
 * The worker module speaks a small protocol: it posts { type: 'ready' } (or { type: 'fatal', code }) once, then
 * answers each { id, request } with { id, ok: true, result } or { id, ok: false, code }.
 *
 * Example:
 *   const pool = new ThreadPool<Req, Res>({ entry, size: 2, workerData, resourceLimits: { maxOldGenerationSizeMb: 512 } });
 *   const res = await pool.run(req);   // rejects with WorkerCrashed when the worker died on it
 *   await pool.close();
 */
import { type ResourceLimits, Worker } from 'node:worker_threads';

export class WorkerCrashed extends Error {
  readonly code = 'WORKER_CRASHED';
  constructor(readonly reason: string) {
    super(`the worker thread died (${reason})`);
    this.name = 'WorkerCrashed';
  }
}

export class WorkerFailed extends Error {
  constructor(readonly code: string) {
    super(`the worker could not start (${code})`);
    this.name = 'WorkerFailed';
  }
}

export interface ThreadPoolOptions {
  readonly entry: URL;
  readonly size: number;
  readonly workerData: unknown;
  readonly resourceLimits?: ResourceLimits;
  /** Called once when the pool gives up (workers cannot start, or one reported a fatal code): an operator's cue. */
  readonly onFatal?: (code: string) => void;
}

type FromPoolWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'fatal'; readonly code: string }
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly code: string };

interface Pending<Res> {
  readonly id: number;
  readonly request: unknown;
  resolve(r: Res): void;
  reject(e: Error): void;
}

interface Slot<Res> {
  readonly worker: Worker;
  ready: boolean;
  dead: boolean;
  current: Pending<Res> | undefined;
  why: string | undefined;
}

export class ThreadPool<Req, Res> {
  readonly #o: ThreadPoolOptions;
  readonly #slots: Slot<Res>[] = [];
  readonly #queue: Pending<Res>[] = [];
  #next = 1;
  #closed = false;
  /** Consecutive start failures: a worker that cannot even start is not restarted forever. */
  #startFailures = 0;
  #fatal: string | undefined;

  /** Workers start with the first request: a process that never gets one (an ingress-only role) starts none. */
  constructor(options: ThreadPoolOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#slots.length;
  }

  run(request: Req): Promise<Res> {
    if (this.#closed) return Promise.reject(new Error('pool closed'));
    if (this.#fatal) return Promise.reject(new WorkerFailed(this.#fatal));
    if (this.#slots.length === 0) {
      for (let i = 0; i < Math.max(1, this.#o.size); i++) this.#slots.push(this.#spawn());
    }
    return new Promise<Res>((resolve, reject) => {
      this.#queue.push({ id: this.#next++, request, resolve, reject });
      this.#dispatch();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#queue.splice(0)) p.reject(new Error('pool closed'));
    await Promise.all(
      this.#slots.map(async (s) => {
        s.dead = true;
        s.current?.reject(new Error('pool closed'));
        s.current = undefined;
        await s.worker.terminate();
      }),
    );
  }

  #dispatch(): void {
    for (const s of this.#slots) {
      if (this.#queue.length === 0) return;
      if (!s.ready || s.dead || s.current) continue;
      const p = this.#queue.shift()!;
      s.current = p;
      s.worker.postMessage({ id: p.id, request: p.request });
    }
  }

  #spawn(): Slot<Res> {
    // execArgv: [] — a parent started with `--import tsx` would pass it on; the entry registers tsx itself.
    const worker = new Worker(this.#o.entry, {
      workerData: this.#o.workerData,
      execArgv: [],
      ...(this.#o.resourceLimits ? { resourceLimits: this.#o.resourceLimits } : {}),
    });
    const s: Slot<Res> = { worker, ready: false, dead: false, current: undefined, why: undefined };
    worker.on('message', (m: FromPoolWorker) => {
      if ('type' in m) {
        if (m.type === 'ready') {
          s.ready = true;
          this.#startFailures = 0;
          this.#dispatch();
        } else {
          this.#giveUp(m.code);
        }
        return;
      }
      const p = s.current;
      if (!p || p.id !== m.id) return;
      s.current = undefined;
      if (m.ok) p.resolve(m.result as Res);
      else p.reject(Object.assign(new Error(m.code), { code: m.code }));
      this.#dispatch();
    });
    worker.on('error', (e: Error & { code?: string }) => {
      s.why = typeof e.code === 'string' ? e.code : e.name;
    });
    worker.on('exit', (code) => this.#lost(s, s.why ?? `EXIT_${code}`));
    return s;
  }

  #lost(s: Slot<Res>, why: string): void {
    if (s.dead) return;
    s.dead = true;
    const p = s.current;
    s.current = undefined;
    if (p) p.reject(new WorkerCrashed(why));
    if (this.#closed) return;
    if (!s.ready) this.#startFailures++;
    const i = this.#slots.indexOf(s);
    if (this.#startFailures > 3 * this.#slots.length) {
      this.#giveUp('WORKERS_KEEP_CRASHING');
      return;
    }
    this.#slots[i] = this.#spawn();
  }

  /** Every later request is refused with WorkerFailed; the first cause is kept and reported once. */
  #giveUp(code: string): void {
    const first = this.#fatal === undefined;
    this.#fatal ??= code;
    for (const q of this.#queue.splice(0)) q.reject(new WorkerFailed(this.#fatal));
    if (first) this.#o.onFatal?.(this.#fatal);
  }
}
