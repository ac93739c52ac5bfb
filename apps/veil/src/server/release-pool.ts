/**
 * The gateway's processing steps, run off the event loop: each step of steps.ts (gate, deidentify through the one
 * release path, verify) runs in a pool of worker threads with V8 resource limits (release/thread-pool.ts), so a
 * hostile file can neither stall ingress nor take the process down. A job whose worker dies (out of memory, a
 * crash in native code) is retried like any transient error, and when its attempts are spent it is quarantined
 * with WORKER_CRASHED (never failed and replayed forever, never retried without end).
 *
 * Example:
 *   const pooled = createPooledSteps({ spoolRoot, deidInput, verifyLevels, key, routes, threads: 2,
 *     maxOldGenerationSizeMb: 1024, maxAttempts: 3 });
 *   new Runner({ steps: pooled.steps, ... }); ... await pooled.close();
 */
import {
  failedAttempt,
  type Job,
  type JsonObject,
  type RouteConfig,
  type Step,
  type StepOutcome,
} from '@veil/pipeline';
import { ThreadPool, WorkerCrashed, WorkerFailed } from '../release/thread-pool.ts';
import type { DetectorLevels } from '../verify/gate.ts';
import type { ReleaseWorkerInit, StepRequest } from './release-worker.ts';

const STEP_NAMES = ['gate', 'deidentify', 'verify'] as const;

// From source (tsx), the worker starts through its .mjs entry, which registers tsx in the new thread; from the bundle
// (scripts/build.mjs), the bundled worker sits beside the bundled CLI.
const ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('./release-worker-entry.mjs', import.meta.url)
  : new URL('./release-worker.mjs', import.meta.url);

export interface PooledStepsOptions {
  readonly spoolRoot: string;
  readonly deidInput: Record<string, unknown>;
  readonly verifyLevels: DetectorLevels | undefined;
  readonly key: Uint8Array;
  readonly routes: readonly RouteConfig[];
  readonly threads: number;
  /** V8 old-generation heap limit of each worker (MB). */
  readonly maxOldGenerationSizeMb: number;
  /** The processing attempts of a job (processing.maxAttempts): a crash on the last one quarantines it. */
  readonly maxAttempts: number;
  readonly duplicateUid?: 'quarantine' | 'version';
  /** Told once when the release threads cannot run at all (jobs then wait, retried, until a restart). */
  readonly onFatal?: (code: string) => void;
}

export interface PooledSteps {
  readonly steps: Step[];
  close(): Promise<void>;
}

export function crashOutcome(job: Job, step: string, reason: string, maxAttempts: number): StepOutcome {
  if (!failedAttempt(job, maxAttempts).last) return { kind: 'retry', code: 'WORKER_CRASHED' };
  const finding: JsonObject = {
    stage: step,
    detector: 'worker',
    code: 'WORKER_CRASHED',
    tagPath: '',
    level: 'error',
    detail: reason.replace(/[^A-Z0-9_]/gi, '_').slice(0, 64),
  };
  return {
    kind: 'quarantine',
    code: 'WORKER_CRASHED',
    stepState: { ...job.stepState, quarantine: { step, findings: [finding] } },
  };
}

export function createPooledSteps(o: PooledStepsOptions): PooledSteps {
  const init: ReleaseWorkerInit = {
    spoolRoot: o.spoolRoot,
    deidInput: o.deidInput,
    verifyLevels: o.verifyLevels,
    key: o.key,
    routes: o.routes,
    duplicateUid: o.duplicateUid ?? 'quarantine',
  };
  const pool = new ThreadPool<StepRequest, StepOutcome>({
    entry: ENTRY,
    size: o.threads,
    workerData: init,
    resourceLimits: { maxOldGenerationSizeMb: o.maxOldGenerationSizeMb },
    ...(o.onFatal ? { onFatal: o.onFatal } : {}),
  });
  const steps: Step[] = STEP_NAMES.map((name) => ({
    name,
    async run(job: Job): Promise<StepOutcome> {
      try {
        return await pool.run({ step: name, job });
      } catch (e) {
        if (e instanceof WorkerCrashed) return crashOutcome(job, name, e.reason, o.maxAttempts);
        if (e instanceof WorkerFailed) return { kind: 'retry', code: e.code };
        const code = (e as { code?: unknown }).code;
        return { kind: 'retry', code: typeof code === 'string' ? code : 'STEP_ERROR' };
      }
    },
  }));
  return { steps, close: () => pool.close() };
}
