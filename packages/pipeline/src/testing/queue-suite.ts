/**
 * The JobQueue conformance suite (node:test): the semantics listed in queue.ts, checked on every backend. Each test
 * gets a new, empty queue from `create` (for BullMQ: a new prefix) with maxAttempts 3 and retryDelayMs 100.
 *
 * Example (packages/queue-bullmq/test/queue.test.ts):
 *   runQueueSuite({ name: 'BullMQ', create: async (o) => new BullmqQueue({ ...redis, prefix: uniquePrefix(), ...o }) });
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { JobQueue, QueueMessage, QueueOptions } from '../queue.ts';

export interface QueueSuiteOptions {
  readonly name: string;
  /** A new, empty queue using these options. The suite closes it. */
  create(options: QueueOptions): Promise<JobQueue>;
  cleanup?(): Promise<void>;
  readonly skip?: string | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const process = (jobId: string): QueueMessage => ({ kind: 'process', jobId });

export function runQueueSuite(options: QueueSuiteOptions): void {
  describe(`JobQueue conformance: ${options.name}`, { skip: options.skip ?? false }, () => {
    const open: JobQueue[] = [];
    const fresh = async (extra: QueueOptions = {}): Promise<JobQueue> => {
      const q = await options.create({ maxAttempts: 3, retryDelayMs: 100, ...extra });
      open.push(q);
      return q;
    };
    after(async () => {
      for (const q of open) await q.close().catch(() => {});
      await options.cleanup?.();
    });

    it('hands every message to the handler once, both kinds, with their fields', async () => {
      const q = await fresh();
      const seen: QueueMessage[] = [];
      for (let i = 0; i < 20; i++) await q.enqueue(process(`job${i}`));
      await q.enqueue({ kind: 'deliver', jobId: 'j', destination: 'research' });
      await q.consume(
        async (m) => {
          seen.push(m);
        },
        { concurrency: 4 },
      );
      await until('21 messages', () => seen.length >= 21);
      await sleep(100);
      assert.equal(seen.length, 21);
      assert.deepEqual(new Set(seen.map((m) => m.jobId)).size, 21);
      assert.deepEqual(
        seen.find((m) => m.kind === 'deliver'),
        { kind: 'deliver', jobId: 'j', destination: 'research' },
      );
    });

    it('runs at most `concurrency` handlers at once', async () => {
      const q = await fresh();
      let running = 0;
      let peak = 0;
      let done = 0;
      await q.consume(
        async () => {
          running++;
          peak = Math.max(peak, running);
          await sleep(30);
          running--;
          done++;
        },
        { concurrency: 3 },
      );
      for (let i = 0; i < 12; i++) await q.enqueue(process(`c${i}`));
      await until('12 handled', () => done >= 12);
      assert.ok(peak <= 3, `peak ${peak}`);
      assert.ok(peak >= 2, `peak ${peak}: handlers should overlap`);
    });

    it('counts waiting and delayed messages in depth()', async () => {
      const q = await fresh();
      await q.enqueue(process('w1'));
      await q.enqueue(process('w2'));
      await q.enqueue(process('d1'), { delayMs: 60_000 });
      await until('depth', async () => {
        const d = await q.depth();
        return d.waiting === 2 && d.delayed === 1 && d.active === 0;
      });
    });

    it('holds a delayed message back until its delay has passed', async () => {
      const q = await fresh();
      const at: number[] = [];
      const start = Date.now();
      await q.consume(
        async () => {
          at.push(Date.now() - start);
        },
        { concurrency: 1 },
      );
      await q.enqueue(process('later'), { delayMs: 400 });
      await q.enqueue(process('now'));
      await until('both', () => at.length >= 2);
      assert.ok(at[0]! < 400, `the undelayed one came at ${at[0]} ms`);
      assert.ok(at[1]! >= 380, `the delayed one came at ${at[1]} ms`);
    });

    it('drops a message whose key is waiting, delayed or being handled; frees the key once handled', async () => {
      const q = await fresh();
      await q.enqueue(process('a'), { key: 'p-a' });
      await q.enqueue(process('a'), { key: 'p-a' });
      await q.enqueue(process('b'), { key: 'p-b', delayMs: 200 });
      await q.enqueue(process('b'), { key: 'p-b' });
      const seen: string[] = [];
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      await q.consume(
        async (m) => {
          seen.push(m.jobId);
          if (m.jobId === 'a' && seen.filter((s) => s === 'a').length === 1) await gate;
        },
        { concurrency: 2 },
      );
      await until('a active', () => seen.includes('a'));
      await q.enqueue(process('a'), { key: 'p-a' }); // being handled: dropped
      release();
      await until('b', () => seen.includes('b'));
      await sleep(150);
      assert.deepEqual(seen.sort(), ['a', 'b']);
      await q.enqueue(process('a'), { key: 'p-a' }); // handled: the key is free again
      await until('a again', () => seen.filter((s) => s === 'a').length === 2);
    });

    it('hands a rejected message out again, up to maxAttempts, then reports it', async () => {
      const errors: string[] = [];
      const q = await fresh({ onError: (m, code) => errors.push(`${m.jobId}:${code}`) });
      const tries = new Map<string, number>();
      await q.consume(
        async (m) => {
          const n = (tries.get(m.jobId) ?? 0) + 1;
          tries.set(m.jobId, n);
          if (m.jobId === 'flaky' && n < 2) throw Object.assign(new Error('boom'), { code: 'EFLAKY' });
          if (m.jobId === 'broken') throw Object.assign(new Error('boom'), { code: 'EBROKEN' });
        },
        { concurrency: 2 },
      );
      await q.enqueue(process('flaky'), { key: 'k-flaky' });
      await q.enqueue(process('broken'), { key: 'k-broken' });
      await until('broken reported', () => errors.length >= 1);
      await until('flaky twice', () => tries.get('flaky') === 2);
      assert.equal(tries.get('broken'), 3);
      assert.deepEqual(errors, ['broken:EBROKEN']);
      await q.enqueue(process('broken'), { key: 'k-broken' }); // dropped: the key is free
      await until('broken again', () => tries.get('broken') === 4);
    });

    it('close() waits for running handlers and hands out nothing more', async () => {
      const q = await fresh();
      let finished = 0;
      let started = 0;
      await q.consume(
        async () => {
          started++;
          await sleep(150);
          finished++;
        },
        { concurrency: 2 },
      );
      for (let i = 0; i < 6; i++) await q.enqueue(process(`x${i}`));
      await until('two started', () => started >= 2);
      await q.close();
      assert.equal(finished, started, 'every started handler finished before close() resolved');
      const before = started;
      await sleep(300);
      assert.equal(started, before);
    });

    it('rejects keys with characters outside [A-Za-z0-9._-]', async () => {
      const q = await fresh();
      await assert.rejects(q.enqueue(process('z'), { key: 'a:b' }));
    });
  });
}
