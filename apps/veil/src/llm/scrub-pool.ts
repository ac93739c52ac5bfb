/**
 * Where `veil llm-proxy` scrubs request bodies: a small pool of worker threads (config scrubWorkers, default
 * min(2, cores)) or, with scrubWorkers 0, in-process on the event loop. The text engine costs about 1-2 ms per KB, so
 * in-process one caller's 4 MiB prompt would hold every other caller for seconds; in the pool it holds one thread.
 * Each worker runs under a V8 heap limit; one that throws or dies fails its request closed (ScrubFailure, nothing is
 * forwarded) and is replaced (release/thread-pool.ts). Only plain data crosses: the body's bytes in, ScrubOutcome out.
 *
 * Example:
 *   const scrubber = createScrubber({ workers: 2 });
 *   const out = await scrubber.scrub({ kind: 'chat', body, key, patientKey, maxTextChars });
 *   await scrubber.close();
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ThreadPool, WorkerCrashed, WorkerFailed } from '../release/thread-pool.ts';
import { SCRUB_REFUSALS, type ScrubOutcome, ScrubRefused, type ScrubRequest, scrubRequest } from './scrub.ts';

/**
 * Test-only (never read from the config): the worker throws (kind 'throw') or its thread exits ('exit') on a request
 * body that holds `marker`, to prove that a failing worker fails its request closed and is replaced; or every
 * thread exits before it is ready ('start'), to prove that the proxy refuses with 503 and says so once.
 */
export interface ScrubFaultForTests {
  readonly marker: string;
  readonly kind: 'throw' | 'exit' | 'start';
}

/** The scrub could not run: 5xx, nothing forwarded. */
export class ScrubFailure extends Error {
  constructor(
    readonly status: 500 | 503,
    readonly code: 'LLM_PROXY_SCRUB_FAILED' | 'LLM_PROXY_SCRUB_UNAVAILABLE',
  ) {
    super(code);
    this.name = 'ScrubFailure';
  }
}

export interface Scrubber {
  /** Rejects with ScrubRefused (400/413) or ScrubFailure (5xx); never with a message that quotes the body. */
  scrub(request: ScrubRequest): Promise<ScrubOutcome>;
  /** Starts the workers now rather than on the first request (the proxy calls it when it starts listening). */
  warm(): void;
  close(): Promise<void>;
}

/** V8 old-generation limit of one scrub thread: a 4 MiB body's scrub peaks far below; a runaway one dies alone. */
const THREAD_HEAP_MB = 1024;

/**
 * From source the worker starts through scrub-worker-entry.mjs (registers tsx in the new thread); from the bundle
 * (scripts/build.mjs) through llm-scrub-worker.mjs beside it, or, in a bundle built without that entry, through the
 * source entry (tsx, ~0.6 s more per thread start).
 */
function workerEntry(): URL {
  const fromSource = new URL('./scrub-worker-entry.mjs', import.meta.url);
  if (import.meta.url.endsWith('.ts')) return fromSource;
  const bundled = new URL('./llm-scrub-worker.mjs', import.meta.url);
  if (existsSync(fileURLToPath(bundled))) return bundled;
  return new URL('../src/llm/scrub-worker-entry.mjs', import.meta.url);
}

export function createScrubber(o: {
  workers: number;
  faultForTests?: ScrubFaultForTests | undefined;
  /** Told once when the scrub threads cannot run at all (every request then gets 503). */
  onUnavailable?: ((code: string) => void) | undefined;
}): Scrubber {
  if (o.workers <= 0) {
    return {
      scrub: async (request) => {
        try {
          return scrubRequest(request);
        } catch (e) {
          if (e instanceof ScrubRefused) throw e;
          throw new ScrubFailure(500, 'LLM_PROXY_SCRUB_FAILED');
        }
      },
      warm: () => {},
      close: async () => {},
    };
  }
  const pool = new ThreadPool<ScrubRequest, ScrubOutcome>({
    entry: workerEntry(),
    size: o.workers,
    workerData: o.faultForTests ? { fault: o.faultForTests } : null,
    resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
    ...(o.onUnavailable ? { onFatal: o.onUnavailable } : {}),
  });
  const scrub = async (request: ScrubRequest): Promise<ScrubOutcome> => {
    try {
      return await pool.run(request);
    } catch (e) {
      if (e instanceof WorkerCrashed) throw new ScrubFailure(500, 'LLM_PROXY_SCRUB_FAILED');
      if (e instanceof WorkerFailed) throw new ScrubFailure(503, 'LLM_PROXY_SCRUB_UNAVAILABLE');
      const code = (e as { code?: unknown }).code;
      const status = typeof code === 'string' ? SCRUB_REFUSALS[code] : undefined;
      if (status !== undefined) throw new ScrubRefused(status, code as ScrubRefused['code']);
      // A failure inside the worker (a code), or 'pool closed' (the server is shutting down)
      if (typeof code === 'string') throw new ScrubFailure(500, 'LLM_PROXY_SCRUB_FAILED');
      throw new ScrubFailure(503, 'LLM_PROXY_SCRUB_UNAVAILABLE');
    }
  };
  return {
    scrub,
    warm: () => {
      const empty = new TextEncoder().encode('{}');
      scrub({ kind: 'chat', body: empty, key: new Uint8Array(32), patientKey: 'warm', maxTextChars: 0 }).catch(
        () => {},
      );
    },
    close: () => pool.close(),
  };
}
