/**
 * The Runner keeps a job's (and a delivery's) lease alive while its step (or send) runs longer than the lease: a second
 * worker that looks at the job meanwhile cannot take it over, so the step runs once. Real SQLite store (two store
 * objects on one file, as two processes would have), embedded queue.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqliteJobStore } from '@veil/store-sqlite';
import type { RouteConfig } from '../src/config.ts';
import type { Destination } from '../src/destination.ts';
import { EmbeddedQueue } from '../src/embedded-queue.ts';
import { newJobId } from '../src/ids.ts';
import { Runner, type RunnerEvent, type Step } from '../src/runner.ts';
import type { JobStore } from '../src/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'veil-runner-lease-'));
const LEASE_MS = 150;
const SLOW_MS = 700; // more than four leases

after(() => rmSync(dir, { recursive: true, force: true }));

interface Counts {
  steps: number;
  sends: number;
}

function makeRunner(store: JobStore, queue: EmbeddedQueue, owner: string, counts: Counts, events: RunnerEvent[]) {
  const slowStep: Step = {
    name: 'slow',
    run: async () => {
      counts.steps++;
      await sleep(SLOW_MS);
      return { kind: 'next', stepState: { done: true } };
    },
  };
  const destination: Destination = {
    name: 'd',
    send: async () => {
      counts.sends++;
      await sleep(SLOW_MS);
    },
  };
  const route = { name: 'default', from: undefined, to: ['d'] } as unknown as RouteConfig;
  return new Runner({
    store,
    queue,
    steps: [slowStep],
    destinations: new Map([['d', destination]]),
    routes: [route],
    outgoing: (job) => ({
      jobId: job.id,
      path: join(dir, 'none.dcm'),
      size: 0,
      sopInstanceUid: '1.2.3',
      sopClassUid: '1.2.3',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      studyKey: null,
      hierarchy: 'p/s/r',
    }),
    owner,
    processing: { maxAttempts: 3, leaseMs: LEASE_MS, retryDelayMs: () => 50 },
    delivery: { maxAttempts: 3, leaseMs: LEASE_MS, retryDelayMs: () => 50 },
    onEvent: (e) => events.push(e),
  });
}

describe('Runner lease renewal', () => {
  it('a step and a send longer than the lease run once while another worker keeps trying to take them', async () => {
    const path = join(dir, 'store.db');
    const storeA = new SqliteJobStore(path);
    const storeB = new SqliteJobStore(path);
    await storeA.init();
    await storeB.init();
    const queueA = new EmbeddedQueue();
    const queueB = new EmbeddedQueue();
    const counts: Counts = { steps: 0, sends: 0 };
    const events: RunnerEvent[] = [];
    const a = makeRunner(storeA, queueA, 'worker-a', counts, events);
    const b = makeRunner(storeB, queueB, 'worker-b', counts, events);
    try {
      const id = newJobId(Date.now());
      await storeA.createJob(
        { id, ingress: 'inbox', route: 'default', step: 'slow', source: { spool: 'x.dcm', size: 1 } },
        Date.now(),
      );
      // Worker A processes; its deliveries go to A's queue, consumed by A.
      const processing = a.handle({ kind: 'process', jobId: id });
      // Worker B looks at the job again and again, each time well after A's first lease would have run out.
      for (let i = 0; i < 3; i++) {
        await sleep(LEASE_MS + 50);
        await b.handle({ kind: 'process', jobId: id });
        // The same process gets a message for it too (B's look-again, or a sweep): the lease is A's, not a new run.
        await Promise.race([a.handle({ kind: 'process', jobId: id }), sleep(50)]);
      }
      await processing;
      assert.equal(counts.steps, 1, 'the step ran once');
      const job = await storeA.getJob(id);
      assert.equal(job?.state, 'delivering');
      assert.equal(job?.attempts, 0);

      // The delivery: A sends (slowly) while B tries to lease it.
      const sending = a.handle({ kind: 'deliver', jobId: id, destination: 'd' });
      for (let i = 0; i < 3; i++) {
        await sleep(LEASE_MS + 50);
        await b.handle({ kind: 'deliver', jobId: id, destination: 'd' });
      }
      await sending;
      assert.equal(counts.sends, 1, 'sent once');
      const [d] = await storeA.listDeliveries({ jobId: id });
      assert.equal(d?.state, 'delivered');
      assert.equal(d?.attempts, 1);
      assert.equal((await storeA.getJob(id))?.state, 'done');
      assert.deepEqual(
        events.filter((e) => e.type === 'step' || e.type === 'delivered' || e.type === 'error').map((e) => e.type),
        ['step', 'delivered'],
      );
    } finally {
      await queueA.close();
      await queueB.close();
      await storeA.close();
      await storeB.close();
    }
  });

  it('a worker that stops renewing (died) loses the job after its lease: recovery is unchanged', async () => {
    const path = join(dir, 'crash.db');
    const store = new SqliteJobStore(path);
    await store.init();
    const queue = new EmbeddedQueue();
    const counts: Counts = { steps: 0, sends: 0 };
    const events: RunnerEvent[] = [];
    const b = makeRunner(store, queue, 'worker-b', counts, events);
    try {
      const id = newJobId(Date.now());
      await store.createJob(
        { id, ingress: 'inbox', route: 'default', step: 'slow', source: { spool: 'x.dcm', size: 1 } },
        Date.now(),
      );
      // A leased the job and died (no Runner renews it).
      assert.ok(await store.leaseJob(id, 'worker-a', Date.now(), LEASE_MS));
      await b.handle({ kind: 'process', jobId: id });
      assert.equal(counts.steps, 0, 'held by A while its lease lasts');
      await sleep(LEASE_MS + 30);
      await b.handle({ kind: 'process', jobId: id });
      assert.equal(counts.steps, 1, 'B took the job over once A stopped renewing');
      assert.equal((await store.getJob(id))?.state, 'delivering');
    } finally {
      await queue.close();
      await store.close();
    }
  });
});
