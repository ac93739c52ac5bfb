/**
 * The JobStore conformance suite: every backend runs it (node:test). Each test gets a new, empty store from `create`.
 *
 * Example (packages/store-sqlite/test/store.test.ts):
 *   runStoreSuite({ name: 'SqliteJobStore', create: async () => new SqliteJobStore(tempFile()) });
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { newJobId } from '../ids.ts';
import {
  canLeaseDelivery,
  canLeaseJob,
  canRenewDeliveryLease,
  canRenewJobLease,
  leasedDelivery,
  leasedJob,
  leaseExpiry,
} from '../lifecycle.ts';
import { JOB_STATES, type NewJob } from '../model.ts';
import type { DeliveryResult, JobStore } from '../store.ts';

export interface StoreSuiteOptions {
  readonly name: string;
  /** A new, empty store; the suite calls init() and close(). */
  create(): Promise<JobStore>;
  /** Opens the data of a closed store again through a new object (durability across restarts). */
  reopen?(closed: JobStore): Promise<JobStore>;
  /** Called once after the last test (drop schemas, remove files). */
  cleanup?(): Promise<void>;
  /** A reason to skip the whole suite (a missing service outside CI). */
  readonly skip?: string | undefined;
}

const T0 = 1_700_000_000_000;

function newJob(over: Partial<NewJob> = {}): NewJob {
  return {
    id: over.id ?? newJobId(T0),
    ingress: 'inbox',
    route: 'default',
    step: 'gate',
    source: { spool: 'incoming/x.dcm', size: 123 },
    ...over,
  };
}

export function runStoreSuite(options: StoreSuiteOptions): void {
  describe(`JobStore conformance: ${options.name}`, { skip: options.skip ?? false }, () => {
    const open: JobStore[] = [];
    const fresh = async (): Promise<JobStore> => {
      const store = await options.create();
      await store.init();
      open.push(store);
      return store;
    };
    after(async () => {
      for (const s of open) await s.close().catch(() => {});
      await options.cleanup?.();
    });

    it('createJob stores a queued job; a second create with the same id returns it unchanged', async () => {
      const store = await fresh();
      const input = newJob({ stepState: { a: 1 } });
      const job = await store.createJob(input, T0);
      assert.equal(job.id, input.id);
      assert.equal(job.state, 'queued');
      assert.equal(job.step, 'gate');
      assert.deepEqual(job.stepState, { a: 1 });
      assert.deepEqual(job.source, { spool: 'incoming/x.dcm', size: 123 });
      assert.equal(job.studyKey, null);
      assert.equal(job.attempts, 0);
      assert.equal(job.createdAt, T0);
      assert.equal(job.finishedAt, null);
      const again = await store.createJob({ ...input, route: 'other' }, T0 + 5);
      assert.equal(again.route, 'default');
      assert.equal(again.createdAt, T0);
      assert.deepEqual(await store.getJob(input.id), job);
      assert.equal(await store.getJob(newJobId()), undefined);
      const audit = await store.listAudit({ jobId: input.id });
      assert.deepEqual(
        audit.map((a) => a.event),
        ['job.received'],
      );
    });

    it('listJobs filters by state, orders and pages by id; countJobs counts every state', async () => {
      const store = await fresh();
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const id = newJobId(T0 + i);
        ids.push(id);
        await store.createJob(newJob({ id }), T0 + i);
      }
      await store.saveJob(ids[1]!, { states: ['queued'] }, { state: 'failed', error: 'X' }, T0 + 100);
      await store.saveJob(ids[4]!, { states: ['queued'] }, { state: 'failed', error: 'X' }, T0 + 100);
      const all = await store.listJobs();
      assert.deepEqual(
        all.map((j) => j.id),
        ids,
      );
      const failed = await store.listJobs({ states: ['failed'] });
      assert.deepEqual(
        failed.map((j) => j.id),
        [ids[1], ids[4]],
      );
      const page = await store.listJobs({ states: ['queued'], afterId: ids[2]!, limit: 2 });
      assert.deepEqual(
        page.map((j) => j.id),
        [ids[3], ids[5]],
      );
      const old = await store.listJobs({ updatedBefore: T0 + 3 });
      assert.deepEqual(
        old.map((j) => j.id),
        [ids[0], ids[2]],
      );
      const counts = await store.countJobs();
      assert.equal(counts.queued, 5);
      assert.equal(counts.failed, 2);
      assert.equal(counts.done, 0);
      assert.equal(Object.keys(counts).length, 8);
    });

    it('leaseJob is exclusive until the lease expires; the owner may renew; the job becomes processing', async () => {
      const store = await fresh();
      const { id } = await store.createJob(newJob(), T0);
      const a = await store.leaseJob(id, 'worker-a', T0 + 10, 1000);
      assert.ok(a);
      assert.equal(a.state, 'processing');
      assert.equal(a.leaseOwner, 'worker-a');
      assert.equal(a.leaseUntil, T0 + 1010);
      assert.equal(await store.leaseJob(id, 'worker-b', T0 + 500, 1000), undefined);
      const renewed = await store.leaseJob(id, 'worker-a', T0 + 600, 1000);
      assert.equal(renewed?.leaseUntil, T0 + 1600);
      assert.equal(await store.leaseJob(id, 'worker-b', T0 + 1599, 1000), undefined);
      const b = await store.leaseJob(id, 'worker-b', T0 + 1601, 1000);
      assert.equal(b?.leaseOwner, 'worker-b');
      assert.equal(await store.leaseJob(newJobId(), 'worker-a', T0, 1000), undefined);
      // Not leasable once delivering or settled.
      await store.saveJob(id, { owner: 'worker-b' }, { state: 'delivering', releaseLease: true }, T0 + 1700);
      assert.equal(await store.leaseJob(id, 'worker-a', T0 + 1800, 1000), undefined);
    });

    it("renewJobLease extends only the owner's live lease of a processing job", async () => {
      const store = await fresh();
      const { id } = await store.createJob(newJob(), T0);
      assert.equal(await store.renewJobLease(id, 'worker-a', T0 + 1, 1000), false, 'a queued job has no lease');
      await store.leaseJob(id, 'worker-a', T0 + 10, 1000);
      assert.equal(await store.renewJobLease(id, 'worker-a', T0 + 900, 1000), true);
      const renewed = await store.getJob(id);
      assert.equal(renewed?.leaseOwner, 'worker-a');
      assert.equal(renewed?.leaseUntil, T0 + 1900);
      assert.equal(renewed?.updatedAt, T0 + 900);
      assert.equal(renewed?.state, 'processing');
      assert.equal(await store.leaseJob(id, 'worker-b', T0 + 1500, 1000), undefined, 'the renewed lease still holds');
      assert.equal(await store.renewJobLease(id, 'worker-b', T0 + 1500, 1000), false, 'another owner cannot renew');
      assert.equal((await store.getJob(id))?.leaseUntil, T0 + 1900);
      // The lease runs out and another worker takes the job: the old owner cannot renew it back.
      const b = await store.leaseJob(id, 'worker-b', T0 + 1901, 1000);
      assert.equal(b?.leaseOwner, 'worker-b');
      assert.equal(await store.renewJobLease(id, 'worker-a', T0 + 1950, 1000), false);
      // Nor once it has run out and nobody took it (a lost lease is lost).
      assert.equal(await store.renewJobLease(id, 'worker-b', T0 + 2901, 1000), false, 'expired');
      const after = await store.getJob(id);
      assert.equal(after?.leaseOwner, 'worker-b');
      assert.equal(after?.leaseUntil, T0 + 2901);
      // A released lease cannot be renewed either.
      await store.leaseJob(id, 'worker-b', T0 + 3000, 1000);
      await store.saveJob(id, { owner: 'worker-b' }, { state: 'delivering', releaseLease: true }, T0 + 3001);
      assert.equal(await store.renewJobLease(id, 'worker-b', T0 + 3002, 1000), false);
      assert.equal((await store.getJob(id))?.leaseUntil, null);
    });

    it('concurrent leaseJob calls: exactly one owner wins', async () => {
      const store = await fresh();
      const { id } = await store.createJob(newJob(), T0);
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) => store.leaseJob(id, `w${i}`, T0 + 1, 10_000)),
      );
      const winners = results.filter((r) => r !== undefined);
      assert.equal(winners.length, 1);
      assert.equal((await store.getJob(id))?.leaseOwner, winners[0]!.leaseOwner);
    });

    it('leases and renewals decide as the lifecycle rules do, in every job state and lease condition', async () => {
      // The claims stay single conditional UPDATEs in each driver; this holds them to lifecycle.ts case by case.
      const store = await fresh();
      const TTL = 1000;
      for (const state of JOB_STATES) {
        for (const holder of [undefined, 'me', 'other'] as const) {
          for (const now of holder ? [T0 + TTL / 2, T0 + TTL, T0 + 2 * TTL] : [T0 + TTL / 2]) {
            const label = `${state}, lease ${holder ?? 'none'}, now T0+${now - T0}`;
            const { id } = await store.createJob(newJob({ id: newJobId(T0) }), T0);
            if (holder) {
              await store.leaseJob(id, holder, T0, TTL);
              await store.saveJob(id, { owner: holder }, { state }, T0);
            } else await store.saveJob(id, { states: ['queued'] }, { state }, T0);
            const before = (await store.getJob(id))!;
            const renewed = await store.renewJobLease(id, 'me', now, TTL);
            assert.equal(renewed, canRenewJobLease(before, 'me', now), `renew: ${label}`);
            const mid = (await store.getJob(id))!;
            assert.deepEqual(
              mid,
              renewed ? { ...before, leaseUntil: leaseExpiry(now, TTL), updatedAt: now } : before,
              `renew: ${label}`,
            );
            const got = await store.leaseJob(id, 'me', now, TTL);
            assert.equal(got !== undefined, canLeaseJob(mid, 'me', now), `lease: ${label}`);
            assert.deepEqual(await store.getJob(id), got ? leasedJob(mid, 'me', now, TTL) : mid, `lease: ${label}`);
            if (got) assert.deepEqual(got, leasedJob(mid, 'me', now, TTL), `lease: ${label}`);
          }
        }
      }
      const results: [string, DeliveryResult | 'lease' | undefined, number][] = [
        ['pending', undefined, T0 + 500],
        ['sending, live lease', 'lease', T0 + 500],
        ['sending, lease ends now', 'lease', T0 + TTL],
        ['sending, lease expired', 'lease', T0 + 2 * TTL],
        ['retry, not due', { state: 'retry', nextAttemptAt: T0 + 800, error: 'E' }, T0 + 799],
        ['retry, due now', { state: 'retry', nextAttemptAt: T0 + 800, error: 'E' }, T0 + 800],
        ['retry, overdue', { state: 'retry', nextAttemptAt: T0 + 800, error: 'E' }, T0 + 2 * TTL],
        ['delivered', { state: 'delivered' }, T0 + 2 * TTL],
        ['dead', { state: 'dead', error: 'E' }, T0 + 2 * TTL],
        ['withheld', { state: 'withheld', error: 'E' }, T0 + 2 * TTL],
      ];
      for (const [label, result, now] of results) {
        const { id } = await store.createJob(newJob({ id: newJobId(T0) }), T0);
        await store.saveJob(id, { states: ['queued'] }, { state: 'delivering', deliveries: ['d', 'e'] }, T0);
        if (result !== undefined) await store.leaseDelivery(id, 'd', 'w', T0, TTL);
        if (result !== undefined && result !== 'lease') await store.finishDelivery(id, 'd', 'w', result, T0 + 1);
        const [before] = await store.listDeliveries({ jobId: id, limit: 1 });
        assert.equal(before?.destination, 'd');
        for (const owner of ['w', 'me']) {
          const d = (await store.listDeliveries({ jobId: id, limit: 1 }))[0]!;
          const renewed = await store.renewDeliveryLease(id, 'd', owner, now, TTL);
          assert.equal(renewed, canRenewDeliveryLease(d, owner, now), `renew by ${owner}: ${label}`);
        }
        const mid = (await store.listDeliveries({ jobId: id, limit: 1 }))[0]!;
        const got = await store.leaseDelivery(id, 'd', 'me', now, TTL);
        assert.equal(got !== undefined, canLeaseDelivery(mid, now), `lease: ${label}`);
        const after = (await store.listDeliveries({ jobId: id, limit: 1 }))[0]!;
        assert.deepEqual(after, got ? leasedDelivery(mid, 'me', now, TTL) : mid, `lease: ${label}`);
      }
    });

    it('saveJob applies an update only when its guard holds', async () => {
      const store = await fresh();
      const { id } = await store.createJob(newJob(), T0);
      assert.equal(await store.saveJob(id, { owner: 'a' }, { step: 'x' }, T0 + 1), undefined, 'no lease held');
      await store.leaseJob(id, 'a', T0 + 1, 1000);
      assert.equal(await store.saveJob(id, { owner: 'b' }, { step: 'x' }, T0 + 2), undefined, 'not the owner');
      assert.equal(await store.saveJob(id, { states: ['queued'] }, { step: 'x' }, T0 + 2), undefined, 'wrong state');
      const saved = await store.saveJob(id, { owner: 'a' }, { step: 'deidentify', attempts: 2, error: 'E' }, T0 + 3);
      assert.equal(saved?.step, 'deidentify');
      assert.equal(saved?.attempts, 2);
      assert.equal(saved?.error, 'E');
      assert.equal(saved?.updatedAt, T0 + 3);
      assert.equal(saved?.leaseOwner, 'a', 'the lease is kept unless released');
      const released = await store.saveJob(id, { owner: 'a' }, { releaseLease: true, error: null }, T0 + 4);
      assert.equal(released?.leaseOwner, null);
      assert.equal(released?.leaseUntil, null);
      assert.equal(released?.error, null);
      // An expired lease is no longer the owner's.
      await store.leaseJob(id, 'a', T0 + 10, 100);
      assert.equal(await store.saveJob(id, { owner: 'a' }, { step: 'y' }, T0 + 111), undefined);
      const byState = await store.saveJob(id, { states: ['processing'] }, { state: 'queued' }, T0 + 120);
      assert.equal(byState?.state, 'queued');
      assert.equal(await store.saveJob(newJobId(), { states: ['queued'] }, { step: 'x' }, T0), undefined);
    });

    it('stepState and source round-trip JSON exactly', async () => {
      const store = await fresh();
      const { id } = await store.createJob(newJob(), T0);
      await store.leaseJob(id, 'a', T0, 1000);
      const state = {
        out: { path: 'output/ab.dcm', size: 12345678901, ok: true, none: null },
        list: [1, 'two', [3], { four: 4.5 }],
        text: 'ünïcødé \u2603 "quoted" \\ back',
        empty: {},
      };
      const saved = await store.saveJob(id, { owner: 'a' }, { stepState: state }, T0 + 1);
      assert.deepEqual(saved?.stepState, state);
      assert.deepEqual((await store.getJob(id))?.stepState, state);
    });

    it('settled states set finishedAt; leaving them clears it', async () => {
      const store = await fresh();
      const { id } = await store.createJob(newJob(), T0);
      const failed = await store.saveJob(id, { states: ['queued'] }, { state: 'failed' }, T0 + 5);
      assert.equal(failed?.finishedAt, T0 + 5);
      const again = await store.saveJob(id, { states: ['failed'] }, { state: 'queued', attempts: 0 }, T0 + 9);
      assert.equal(again?.finishedAt, null);
    });

    it('deliveries: created pending once, leased with an attempt each, the last delivered makes the job done', async () => {
      const store = await fresh();
      const { id } = await store.createJob(newJob(), T0);
      await store.leaseJob(id, 'a', T0, 1000);
      const job = await store.saveJob(
        id,
        { owner: 'a' },
        { state: 'delivering', step: 'deliver', deliveries: ['d1', 'd2'], releaseLease: true },
        T0 + 1,
      );
      assert.equal(job?.state, 'delivering');
      await store.saveJob(id, { states: ['delivering'] }, { deliveries: ['d1'] }, T0 + 2); // no duplicate
      let ds = await store.listDeliveries({ jobId: id });
      assert.deepEqual(
        ds.map((d) => [d.destination, d.state, d.attempts]),
        [
          ['d1', 'pending', 0],
          ['d2', 'pending', 0],
        ],
      );
      const l1 = await store.leaseDelivery(id, 'd1', 'w', T0 + 10, 1000);
      assert.equal(l1?.state, 'sending');
      assert.equal(l1?.attempts, 1);
      assert.equal(l1?.leaseUntil, T0 + 1010);
      assert.equal(await store.leaseDelivery(id, 'd1', 'v', T0 + 11, 1000), undefined, 'held by w');
      assert.equal(await store.leaseDelivery(id, 'nope', 'w', T0 + 11, 1000), undefined);
      const f1 = await store.finishDelivery(id, 'd1', 'w', { state: 'delivered' }, T0 + 20);
      assert.equal(f1?.delivery.state, 'delivered');
      assert.equal(f1?.delivery.deliveredAt, T0 + 20);
      assert.equal(f1?.delivery.leaseOwner, null);
      assert.equal(f1?.job.state, 'delivering', 'd2 still pending');
      assert.equal(await store.leaseDelivery(id, 'd1', 'w', T0 + 30, 1000), undefined, 'delivered stays delivered');
      await store.leaseDelivery(id, 'd2', 'w', T0 + 30, 1000);
      const f2 = await store.finishDelivery(id, 'd2', 'w', { state: 'delivered' }, T0 + 40);
      assert.equal(f2?.job.state, 'done');
      assert.equal(f2?.job.finishedAt, T0 + 40);
      ds = await store.listDeliveries({ jobId: id, states: ['delivered'] });
      assert.equal(ds.length, 2);
      const counts = await store.countDeliveries();
      assert.equal(counts.delivered, 2);
      assert.equal(counts.pending, 0);
      const events = (await store.listAudit({ jobId: id })).map((a) => a.event);
      assert.ok(events.includes('delivery.delivered'));
      assert.ok(events.includes('job.done'));
    });

    it('a retry is not leased before it is due; a sending delivery under an expired lease is leased again', async () => {
      const store = await fresh();
      const { id } = await store.createJob(newJob(), T0);
      await store.saveJob(id, { states: ['queued'] }, { state: 'delivering', deliveries: ['d'] }, T0);
      await store.leaseDelivery(id, 'd', 'w', T0 + 1, 1000);
      const r = await store.finishDelivery(
        id,
        'd',
        'w',
        { state: 'retry', nextAttemptAt: T0 + 500, error: 'EIO' },
        T0 + 2,
      );
      assert.equal(r?.delivery.state, 'retry');
      assert.equal(r?.delivery.error, 'EIO');
      assert.equal(r?.delivery.nextAttemptAt, T0 + 500);
      assert.equal(r?.job.state, 'delivering');
      assert.equal(await store.leaseDelivery(id, 'd', 'w', T0 + 499, 1000), undefined, 'not due yet');
      const second = await store.leaseDelivery(id, 'd', 'w', T0 + 500, 1000);
      assert.equal(second?.attempts, 2);
      // The worker dies while sending: nobody else can take it until the lease expires.
      assert.equal(await store.leaseDelivery(id, 'd', 'x', T0 + 1499, 1000), undefined);
      const third = await store.leaseDelivery(id, 'd', 'x', T0 + 1501, 1000);
      assert.equal(third?.leaseOwner, 'x');
      assert.equal(third?.attempts, 3);
      assert.equal(
        await store.finishDelivery(id, 'd', 'w', { state: 'delivered' }, T0 + 1600),
        undefined,
        'the old owner lost its lease',
      );
      const done = await store.finishDelivery(id, 'd', 'x', { state: 'delivered' }, T0 + 1601);
      assert.equal(done?.job.state, 'done');
    });

    it("renewDeliveryLease extends only the owner's live lease of a sending delivery, attempts unchanged", async () => {
      const store = await fresh();
      const { id } = await store.createJob(newJob(), T0);
      await store.saveJob(id, { states: ['queued'] }, { state: 'delivering', deliveries: ['d'] }, T0);
      assert.equal(await store.renewDeliveryLease(id, 'd', 'w', T0 + 1, 1000), false, 'pending: no lease');
      await store.leaseDelivery(id, 'd', 'w', T0 + 10, 1000);
      assert.equal(await store.renewDeliveryLease(id, 'd', 'w', T0 + 900, 1000), true);
      let [d] = await store.listDeliveries({ jobId: id });
      assert.equal(d?.leaseUntil, T0 + 1900);
      assert.equal(d?.attempts, 1);
      assert.equal(d?.state, 'sending');
      assert.equal(await store.leaseDelivery(id, 'd', 'x', T0 + 1500, 1000), undefined, 'the renewed lease holds');
      assert.equal(await store.renewDeliveryLease(id, 'd', 'x', T0 + 1500, 1000), false, 'another owner cannot renew');
      assert.equal(await store.renewDeliveryLease(id, 'nope', 'w', T0 + 1500, 1000), false);
      const taken = await store.leaseDelivery(id, 'd', 'x', T0 + 1901, 1000);
      assert.equal(taken?.leaseOwner, 'x');
      assert.equal(await store.renewDeliveryLease(id, 'd', 'w', T0 + 1950, 1000), false, 'taken over: not renewed');
      [d] = await store.listDeliveries({ jobId: id });
      assert.equal(d?.leaseOwner, 'x');
      assert.equal(d?.leaseUntil, T0 + 2901);
      await store.finishDelivery(id, 'd', 'x', { state: 'delivered' }, T0 + 2000);
      assert.equal(await store.renewDeliveryLease(id, 'd', 'x', T0 + 2001, 1000), false, 'delivered');
    });

    it('a dead delivery makes the job dead once nothing else is in flight; replayDead brings it back', async () => {
      const store = await fresh();
      const { id } = await store.createJob(newJob(), T0);
      await store.saveJob(id, { states: ['queued'] }, { state: 'delivering', deliveries: ['a', 'b'] }, T0);
      await store.leaseDelivery(id, 'a', 'w', T0 + 1, 1000);
      const dead = await store.finishDelivery(id, 'a', 'w', { state: 'dead', error: 'EROFS' }, T0 + 2);
      assert.equal(dead?.delivery.state, 'dead');
      assert.equal(dead?.job.state, 'delivering', 'b is still pending');
      await store.leaseDelivery(id, 'b', 'w', T0 + 3, 1000);
      const last = await store.finishDelivery(id, 'b', 'w', { state: 'delivered' }, T0 + 4);
      assert.equal(last?.job.state, 'dead');
      assert.equal(last?.job.finishedAt, T0 + 4);
      assert.deepEqual(
        (await store.listJobs({ states: ['dead'] })).map((j) => j.id),
        [id],
      );
      const replayed = await store.saveJob(
        id,
        { states: ['dead'] },
        { state: 'delivering', replayDead: true, audit: { event: 'job.replayed' } },
        T0 + 10,
      );
      assert.equal(replayed?.state, 'delivering');
      assert.equal(replayed?.finishedAt, null);
      const ds = await store.listDeliveries({ jobId: id });
      assert.deepEqual(
        ds.map((d) => [d.destination, d.state, d.attempts, d.error]),
        [
          ['a', 'pending', 0, null],
          ['b', 'delivered', 1, null],
        ],
      );
      await store.leaseDelivery(id, 'a', 'w', T0 + 11, 1000);
      const ok = await store.finishDelivery(id, 'a', 'w', { state: 'delivered' }, T0 + 12);
      assert.equal(ok?.job.state, 'done');
    });

    it('concurrent leaseDelivery calls: exactly one wins', async () => {
      const store = await fresh();
      const { id } = await store.createJob(newJob(), T0);
      await store.saveJob(id, { states: ['queued'] }, { state: 'delivering', deliveries: ['d'] }, T0);
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) => store.leaseDelivery(id, 'd', `w${i}`, T0 + 1, 10_000)),
      );
      assert.equal(results.filter((r) => r !== undefined).length, 1);
      const [d] = await store.listDeliveries({ jobId: id });
      assert.equal(d?.attempts, 1);
    });

    it('breakLeases frees every job and delivery lease', async () => {
      const store = await fresh();
      const a = await store.createJob(newJob({ id: newJobId(T0) }), T0);
      const b = await store.createJob(newJob({ id: newJobId(T0 + 1) }), T0);
      await store.leaseJob(a.id, 'dead-process', T0, 60_000);
      await store.saveJob(b.id, { states: ['queued'] }, { state: 'delivering', deliveries: ['d'] }, T0);
      await store.leaseDelivery(b.id, 'd', 'dead-process', T0, 60_000);
      assert.ok((await store.breakLeases(T0 + 1)) >= 2);
      assert.ok(await store.leaseJob(a.id, 'new-process', T0 + 2, 1000));
      const d = await store.leaseDelivery(b.id, 'd', 'new-process', T0 + 2, 1000);
      assert.equal(d?.attempts, 2);
    });

    it('quarantine: a held record per job, updated when held again, released, purged, listed by state', async () => {
      const store = await fresh();
      const a = await store.createJob(newJob({ id: newJobId(T0) }), T0);
      const b = await store.createJob(newJob({ id: newJobId(T0 + 1) }), T0);
      await store.leaseJob(a.id, 'w', T0, 1000);
      const held = await store.saveJob(
        a.id,
        { owner: 'w' },
        {
          state: 'quarantined',
          error: 'SOP_CLASS_NOT_ALLOWED',
          releaseLease: true,
          quarantine: { code: 'SOP_CLASS_NOT_ALLOWED', step: 'gate' },
        },
        T0 + 1,
      );
      assert.equal(held?.state, 'quarantined');
      await store.saveJob(
        b.id,
        { states: ['queued'] },
        { state: 'quarantined', quarantine: { code: 'VERIFY_KNOWN_NAME', tagPath: '(0008,1030)', step: 'verify' } },
        T0 + 2,
      );
      const qa = await store.getQuarantine(a.id);
      assert.deepEqual(
        { state: qa?.state, code: qa?.code, tagPath: qa?.tagPath, step: qa?.step, createdAt: qa?.createdAt },
        { state: 'held', code: 'SOP_CLASS_NOT_ALLOWED', tagPath: null, step: 'gate', createdAt: T0 + 1 },
      );
      assert.equal((await store.getQuarantine(b.id))?.tagPath, '(0008,1030)');
      assert.equal((await store.listQuarantine()).length, 2);
      await store.saveJob(
        a.id,
        { states: ['quarantined'] },
        { state: 'queued', step: 'gate', quarantineState: 'released' },
        T0 + 3,
      );
      assert.equal((await store.getQuarantine(a.id))?.state, 'released');
      assert.deepEqual(
        (await store.listQuarantine({ states: ['held'] })).map((q) => q.jobId),
        [b.id],
      );
      // Held again after release: the same record, held, with the new reason.
      await store.saveJob(
        a.id,
        { states: ['queued'] },
        { state: 'quarantined', quarantine: { code: 'DICOM_TRUNCATED', step: 'deidentify' } },
        T0 + 4,
      );
      const again = await store.getQuarantine(a.id);
      assert.equal(again?.state, 'held');
      assert.equal(again?.code, 'DICOM_TRUNCATED');
      assert.equal(again?.step, 'deidentify');
      assert.equal(again?.createdAt, T0 + 1);
      assert.equal(again?.updatedAt, T0 + 4);
      const purged = await store.saveJob(
        b.id,
        { states: ['quarantined'] },
        { state: 'purged', quarantineState: 'purged' },
        T0 + 5,
      );
      assert.equal(purged?.state, 'purged');
      assert.equal((await store.getQuarantine(b.id))?.state, 'purged');
      assert.equal(await store.getQuarantine(newJobId()), undefined);
    });

    it('studies: each job counted once, stable after quiet time with every job settled, reopened by a new one', async () => {
      const store = await fresh();
      const ids = [newJobId(T0), newJobId(T0 + 1), newJobId(T0 + 2)];
      for (const id of ids) await store.createJob(newJob({ id }), T0);
      const [a, b, c] = ids as [string, string, string];
      await store.saveJob(a, { states: ['queued'] }, { studyKey: 'S1' }, T0 + 10);
      await store.saveJob(a, { states: ['queued'] }, { studyKey: 'S1' }, T0 + 11); // not counted twice
      await store.saveJob(b, { states: ['queued'] }, { studyKey: 'S1' }, T0 + 20);
      await store.saveJob(c, { states: ['queued'] }, { studyKey: 'S2' }, T0 + 30);
      let s1 = await store.getStudy('S1');
      assert.equal(s1?.instances, 2);
      assert.equal(s1?.state, 'open');
      assert.equal(s1?.firstSeenAt, T0 + 10);
      assert.equal(s1?.lastSeenAt, T0 + 20);
      assert.deepEqual(await store.settleStudies(T0 + 1000, 500), [], 'jobs not settled yet');
      await store.saveJob(a, { states: ['queued'] }, { state: 'done' }, T0 + 40);
      await store.saveJob(
        b,
        { states: ['queued'] },
        { state: 'quarantined', quarantine: { code: 'Q', step: 'g' } },
        T0 + 41,
      );
      assert.deepEqual(await store.settleStudies(T0 + 519, 500), [], 'not quiet long enough');
      const stable = await store.settleStudies(T0 + 1000, 500);
      assert.deepEqual(
        stable.map((s) => s.studyKey),
        ['S1'],
      );
      assert.equal(stable[0]?.state, 'stable');
      assert.equal(stable[0]?.stableAt, T0 + 1000);
      assert.equal(stable[0]?.outcome?.done, 1);
      assert.equal(stable[0]?.outcome?.quarantined, 1);
      assert.equal(stable[0]?.outcome?.queued, 0);
      assert.deepEqual(await store.settleStudies(T0 + 2000, 500), [], 'S2 still has a queued job');
      assert.deepEqual(
        (await store.listStudies({ state: 'stable' })).map((s) => s.studyKey),
        ['S1'],
      );
      const d = newJobId(T0 + 3);
      await store.createJob(newJob({ id: d }), T0 + 3000);
      await store.saveJob(d, { states: ['queued'] }, { studyKey: 'S1' }, T0 + 3001);
      s1 = await store.getStudy('S1');
      assert.equal(s1?.state, 'open');
      assert.equal(s1?.instances, 3);
      assert.equal(s1?.stableAt, null);
      assert.equal((await store.listStudies()).length, 2);
    });

    it('studies: concurrent first instances of one study are each counted', async () => {
      const store = await fresh();
      const ids = Array.from({ length: 8 }, (_, i) => newJobId(T0 + i));
      for (const id of ids) await store.createJob(newJob({ id }), T0);
      await Promise.all(ids.map((id, i) => store.saveJob(id, { states: ['queued'] }, { studyKey: 'SX' }, T0 + 10 + i)));
      const s = await store.getStudy('SX');
      assert.equal(s?.instances, 8);
      assert.equal(s?.firstSeenAt !== undefined && s.firstSeenAt >= T0 + 10, true);
      assert.equal(s?.lastSeenAt, T0 + 17);
    });

    it('audit: appended in order, filtered by job, paged by seq', async () => {
      const store = await fresh();
      const { id } = await store.createJob(newJob(), T0);
      await store.appendAudit(id, { event: 'custom.one', detail: { n: 1 } }, T0 + 1);
      await store.appendAudit(null, { event: 'server.started' }, T0 + 2);
      await store.saveJob(
        id,
        { states: ['queued'] },
        { step: 'x', audit: { event: 'step.done', detail: { step: 'gate' } } },
        T0 + 3,
      );
      const all = await store.listAudit();
      assert.deepEqual(
        all.map((a) => a.event),
        ['job.received', 'custom.one', 'server.started', 'step.done'],
      );
      assert.ok(all.every((a, i) => i === 0 || a.seq > all[i - 1]!.seq));
      assert.deepEqual(all[1]?.detail, { n: 1 });
      assert.equal(all[2]?.jobId, null);
      assert.deepEqual(all[3]?.detail, { step: 'gate' });
      assert.equal(all[3]?.at, T0 + 3);
      const mine = await store.listAudit({ jobId: id });
      assert.equal(mine.length, 3);
      const later = await store.listAudit({ afterSeq: all[1]!.seq, limit: 1 });
      assert.deepEqual(
        later.map((a) => a.event),
        ['server.started'],
      );
    });

    it('ping answers', async () => {
      const store = await fresh();
      await store.ping();
    });

    if (options.reopen) {
      const reopen = options.reopen;
      it('what was committed is there after close and reopen', async () => {
        const store = await fresh();
        const { id } = await store.createJob(newJob(), T0);
        await store.saveJob(
          id,
          { states: ['queued'] },
          { state: 'delivering', deliveries: ['d'], studyKey: 'S' },
          T0 + 1,
        );
        await store.close();
        const again = await reopen(store);
        open.push(again);
        await again.init();
        assert.equal((await again.getJob(id))?.state, 'delivering');
        assert.equal((await again.listDeliveries({ jobId: id }))[0]?.state, 'pending');
        assert.equal((await again.getStudy('S'))?.instances, 1);
      });
    }
  });
}
