/**
 * The de-identification worker pool (apps/veil/src/deid/pool.ts) with a stand-in worker (fixtures/pool-worker.mjs):
 * every task is answered once; tasks travel in batches that shrink as the queue runs down; a file that kills its
 * worker is retried alone and then reported WORKER_CRASHED, and the files that shared a batch with it are not; a file
 * that exhausts its worker's V8 heap cap (resourceLimits, `veil deid --thread-heap-mb`) ends only that worker.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runPool } from '../src/deid/pool.ts';
import type { Task, TaskResult, WorkerInit } from '../src/deid/protocol.ts';

const entry = new URL('./fixtures/pool-worker.mjs', import.meta.url);
const init: WorkerInit = {
  deidInput: {},
  layout: 'mirror',
  key: new Uint8Array(32),
  outDir: undefined,
  quarantineDir: undefined,
  dryRun: true,
  identities: false,
};

async function run(paths: string[], workers: number, threadHeapMb?: number): Promise<Map<string, TaskResult>> {
  const tasks: Task[] = paths.map((path, id) => ({ id, path, rel: path }));
  const results = new Map<string, TaskResult>();
  await runPool(
    tasks,
    workers,
    init,
    (task, result) => {
      assert.ok(!results.has(task.path), `${task.path} answered twice`);
      assert.equal(result.id, task.id);
      results.set(task.path, result);
    },
    { entry, threadHeapMb },
  );
  return results;
}

describe('runPool', () => {
  test('1,000 tasks on 2 workers: each answered once, in batches of at most 16 that shrink to 1 at the end', async () => {
    const paths = Array.from({ length: 1000 }, (_, i) => `f${i}`);
    const results = await run(paths, 2);
    assert.equal(results.size, 1000);
    const sizes = [...results.values()].map((r) => Number(r.code?.replace('BATCH_', '')));
    assert.equal(Math.max(...sizes), 16);
    assert.equal(results.get('f999')?.code, 'BATCH_1');
  });

  test('a file that kills its worker twice is WORKER_CRASHED; the files that travelled with it are written', async () => {
    const paths = Array.from({ length: 200 }, (_, i) => (i === 37 ? 'poison-37' : `f${i}`));
    const results = await run(paths, 2);
    assert.equal(results.size, 200);
    assert.equal(results.get('poison-37')?.outcome, 'error');
    assert.equal(results.get('poison-37')?.code, 'WORKER_CRASHED');
    const others = [...results].filter(([p]) => p !== 'poison-37');
    assert.ok(others.every(([, r]) => r.outcome === 'written'));
  });

  test('a file that exhausts its worker heap cap is WORKER_CRASHED; the process and the other files go on', async () => {
    const paths = Array.from({ length: 100 }, (_, i) => (i === 12 ? 'oom-12' : `f${i}`));
    const results = await run(paths, 2, 64);
    assert.equal(results.size, 100);
    assert.equal(results.get('oom-12')?.outcome, 'error');
    assert.equal(results.get('oom-12')?.code, 'WORKER_CRASHED');
    const others = [...results].filter(([p]) => p !== 'oom-12');
    assert.equal(others.length, 99);
    assert.ok(others.every(([, r]) => r.outcome === 'written'));
  });
});
