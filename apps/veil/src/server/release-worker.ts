/**
 * A release worker thread of `veil serve`: runs the gateway's processing steps (steps.ts: gate, deidentify through
 * the one release path, verify) for the jobs the main thread sends, one at a time, under the V8 resource limits the
 * pool gave it. A hostile file that exhausts the heap or crashes the thread takes this thread down, not the server:
 * the pool replaces the thread and the job is retried, then quarantined (WORKER_CRASHED).
 *
 * Test-only hook: with VEIL_TEST_WORKER_HOOK=oom-on-marker in the environment, a job whose spooled bytes contain
 * the ASCII marker VEIL-TEST-OOM makes this thread allocate until V8 stops it (the real out-of-memory path).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { parseDeidConfig } from '@veil/core';
import type { Job, RouteConfig, Step, StepOutcome } from '@veil/pipeline';
import { describeError } from '../deid/cli-error.ts';
import { loadFreeTextCleaner, loadReleaseStages } from '../release/stages.ts';
import type { DetectorLevels } from '../verify/gate.ts';
import { Spool } from './spool.ts';
import { createSteps } from './steps.ts';

export interface ReleaseWorkerInit {
  readonly spoolRoot: string;
  /** The core part of the deid configuration, as read (parsed again here). */
  readonly deidInput: Record<string, unknown>;
  readonly verifyLevels: DetectorLevels | undefined;
  readonly key: Uint8Array;
  readonly routes: readonly RouteConfig[];
  readonly duplicateUid: 'quarantine' | 'version';
}

export interface StepRequest {
  readonly step: string;
  readonly job: Job;
}

const port = parentPort;
if (!port) throw new Error('release-worker.ts runs in a worker thread');
const init = workerData as ReleaseWorkerInit;

function oomHook(job: Job, spool: Spool): void {
  if (process.env.VEIL_TEST_WORKER_HOOK !== 'oom-on-marker') return;
  const bytes = readFileSync(spool.path(String(job.source.spool)));
  if (!bytes.includes('VEIL-TEST-OOM')) return;
  const hog: unknown[] = [];
  for (;;) hog.push(new Array(1 << 20).fill(hog.length));
}

let steps: Map<string, Step> | undefined;
let spool: Spool | undefined;
try {
  const config = parseDeidConfig(init.deidInput);
  spool = new Spool(init.spoolRoot);
  const list = createSteps({
    spool,
    deid: config,
    verifyLevels: init.verifyLevels,
    key: init.key,
    routes: init.routes,
    duplicateUid: init.duplicateUid,
    // Defacing decisions of the study-level series pass (deface-series.ts: defaceDirOf).
    stages: await loadReleaseStages(init.deidInput, config, { defaceDir: join(init.spoolRoot, 'deface') }),
    cleanFreeText: await loadFreeTextCleaner(config),
  });
  steps = new Map(list.map((s) => [s.name, s]));
} catch (e) {
  port.postMessage({ type: 'fatal', code: describeError(e) });
}

if (steps && spool) {
  const byName = steps;
  const sp = spool;
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (m: { id: number; request: StepRequest }) => {
    queue = queue.then(async () => {
      const step = byName.get(m.request.step);
      if (!step) {
        port.postMessage({ id: m.id, ok: false, code: 'PIPELINE_UNKNOWN_STEP' });
        return;
      }
      try {
        oomHook(m.request.job, sp);
        const result: StepOutcome = await step.run(m.request.job);
        port.postMessage({ id: m.id, ok: true, result });
      } catch (e) {
        // A bug, not the file's: by class and code only (a message might quote a value).
        const code = (e as { code?: unknown }).code;
        port.postMessage({ id: m.id, ok: false, code: typeof code === 'string' ? code : 'INTERNAL_ERROR' });
      }
    });
  });
  port.postMessage({ type: 'ready' });
}
