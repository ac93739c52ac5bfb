/**
 * A de-identification worker thread: parses the configuration once, then processes the files it is sent one by one
 * and posts a result for each. Bundled as dist/deid-worker.mjs (scripts/build.mjs); from source it is loaded through
 * worker-entry.mjs, which registers tsx first.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseDeidConfig } from '@veil/core';
import { loadFreeTextCleaner, loadReleaseStages } from '../release/stages.ts';
import { ActionTally } from './action-tally.ts';
import { describeError } from './cli-error.ts';
import { type FileContext, processFile } from './process-file.ts';
import type { FromWorker, TaskResult, ToWorker, WorkerInit } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('worker.ts runs in a worker thread');
const init = workerData as WorkerInit;
const post = (m: FromWorker): void => port.postMessage(m);

let ctx: FileContext | undefined;
try {
  const config = parseDeidConfig(init.deidInput);
  ctx = {
    config,
    stages: await loadReleaseStages(init.deidInput, config, { defacePlan: init.defacePlan }),
    keys: { key: init.key, cleanFreeText: await loadFreeTextCleaner(config) },
    layout: init.layout,
    outDir: init.outDir,
    quarantineDir: init.quarantineDir,
    dryRun: init.dryRun,
    identities: init.identities,
    verifyLevels: init.verifyLevels,
    previews: init.previews ? { reportDir: init.previews.reportDir, remaining: init.previews.perThread } : undefined,
    tally: new ActionTally(),
  };
} catch (e) {
  post({ type: 'fatal', code: describeError(e) });
}

if (ctx) {
  const context = ctx;
  // Batches are handled one after the other, also when a stage is asynchronous.
  let queue: Promise<void> = Promise.resolve();
  const handle = async (m: Extract<ToWorker, { type: 'tasks' }>): Promise<void> => {
    const results: TaskResult[] = [];
    for (const task of m.tasks) {
      try {
        const r = processFile(task, context);
        results.push(r instanceof Promise ? await r : r);
      } catch (e) {
        // A bug, not a property of the file: report it by class and code only (the message might quote a value).
        results.push({ id: task.id, outcome: 'error', code: 'INTERNAL_ERROR' });
        if (process.env.VEIL_DEBUG === '1') process.stderr.write(`veil deid worker: ${describeError(e)}\n`);
      }
    }
    post({ type: 'results', results, actions: context.tally?.take() ?? [] });
  };
  port.on('message', (m: ToWorker) => {
    if (m.type === 'stop') {
      port.close();
      return;
    }
    queue = queue.then(() => handle(m));
  });
  post({ type: 'ready' });
}
