/**
 * Hang guard (issue 15, threat model: one hostile input never stalls the process): detectPhi on long hostile runs
 * (hostile-shapes.ts: shapes that were quadratic or worse before their rules were bounded, and 40 seeded periodic
 * strings of rule triggers) must finish each within a budget about 20 times what a linear engine needs on a loaded
 * machine (~0.05-0.3 s for 32 KB). This is not a speed target (bench/text-hostile.bench.ts reports the rates): a
 * quadratic rule takes tens of seconds at this size and a backtracking one never ends, so the run happens in a
 * worker that is terminated when a shape overruns, and the test names the shape.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { HOSTILE_SHAPES, periodicShapes } from './hostile-shapes.ts';

const BUDGET_MS = 6000;

async function runShapes(jobs: { name: string; chars: number }[]): Promise<Map<string, number>> {
  const worker = new Worker(new URL('./hostile-worker-entry.mjs', import.meta.url), { execArgv: [] });
  const times = new Map<string, number>();
  try {
    const next = () =>
      new Promise<{ name?: string; ms?: number; inside?: boolean; ready?: boolean }>((resolve, reject) => {
        const onMessage = (m: { name?: string; ms?: number; inside?: boolean; ready?: boolean }) => {
          worker.off('error', reject);
          resolve(m);
        };
        worker.once('message', onMessage);
        worker.once('error', reject);
      });
    await next(); // ready (lexicons load on the first call, not here)
    for (const job of jobs) {
      const reply = next();
      worker.postMessage(job);
      let timer: NodeJS.Timeout | undefined;
      const overrun = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`detectPhi ran over ${BUDGET_MS} ms on ${job.chars} characters of ${job.name}`)),
          // the first call also parses the lexicons
          times.size === 0 ? BUDGET_MS * 3 : BUDGET_MS,
        );
      });
      try {
        const m = await Promise.race([reply, overrun]);
        assert.equal(m.inside, true, `${job.name}: a span outside the text`);
        times.set(job.name, m.ms!);
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    await worker.terminate();
  }
  return times;
}

test('detectPhi finishes on long hostile runs (named shapes, 32 KB each)', async () => {
  const times = await runShapes(Object.keys(HOSTILE_SHAPES).map((name) => ({ name, chars: 32 * 1024 })));
  assert.equal(times.size, Object.keys(HOSTILE_SHAPES).length);
});

test('detectPhi finishes on 40 seeded periodic strings of rule triggers (16 KB each)', async () => {
  const times = await runShapes(periodicShapes(40, 7).map(([name]) => ({ name, chars: 16 * 1024 })));
  assert.equal(times.size, 40);
});
