/**
 * The PullStore conformance suite (node:test): pulls and their rows, idempotent instance records, quasi-identifier
 * rows, the count of a pull's instances by the state of their jobs (joined with the job store's jobs), and state
 * surviving a reopen. SQLite and PostgreSQL run the same suite.
 *
 * Example (packages/store-sqlite/test/pulls.test.ts):
 *   runPullStoreSuite({ name: 'SqlitePullStore', create: async () => ({ store, pulls, reopen }) });
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { newJobId } from '../ids.ts';
import type { PullStore } from '../pull-store.ts';
import type { JobStore } from '../store.ts';
import { StoreError } from '../store.ts';

export interface PullFixture {
  /** The job store on the same database (the suite calls init() on both). */
  readonly store: JobStore;
  readonly pulls: PullStore;
  /** A second PullStore on the same database (as after a restart). */
  reopen(): PullStore;
}

export interface PullStoreSuiteOptions {
  readonly name: string;
  create(): Promise<PullFixture>;
  cleanup?(): Promise<void>;
  readonly skip?: string | undefined;
}

const T0 = 1_700_000_000_000;

export function runPullStoreSuite(options: PullStoreSuiteOptions): void {
  describe(`PullStore conformance: ${options.name}`, { skip: options.skip ?? false }, () => {
    const open: { close(): Promise<void> }[] = [];
    const fresh = async (): Promise<PullFixture> => {
      const f = await options.create();
      await f.store.init();
      await f.pulls.init();
      open.push(f.pulls, f.store);
      return f;
    };
    after(async () => {
      for (const c of open) await c.close().catch(() => {});
      await options.cleanup?.();
    });

    it('creates a pull with pending rows; a second pull with the same id is refused', async () => {
      const { pulls } = await fresh();
      const p = await pulls.createPull(
        { id: 'p1', source: 'PACS@127.0.0.1:104', options: { mode: 'move', k: 5 }, lines: [2, 3, 5] },
        T0,
      );
      assert.equal(p.state, 'running');
      assert.deepEqual(p.options, { mode: 'move', k: 5 });
      assert.equal(p.finishedAt, null);
      assert.equal(p.risk, null);
      const rows = await pulls.listRows('p1');
      assert.deepEqual(
        rows.map((r) => [r.line, r.status, r.studies, r.instances]),
        [
          [2, 'pending', 0, 0],
          [3, 'pending', 0, 0],
          [5, 'pending', 0, 0],
        ],
      );
      await assert.rejects(
        pulls.createPull({ id: 'p1', source: 'x', options: {}, lines: [2] }, T0),
        (e: unknown) => e instanceof StoreError && e.code === 'PULL_EXISTS',
      );
      assert.equal(await pulls.getPull('nope'), undefined);
    });

    it('saves rows, moves states, keeps the risk summary; newest first, by state', async () => {
      const { pulls } = await fresh();
      await pulls.createPull({ id: 'a', source: 's', options: {}, lines: [2, 3] }, T0);
      await pulls.createPull({ id: 'b', source: 's', options: {}, lines: [2] }, T0 + 10);
      await pulls.saveRow('a', { line: 2, status: 'retrieved', studies: 1, instances: 3, failedInstances: 0 }, T0 + 1);
      await pulls.saveRow(
        'a',
        { line: 3, status: 'failed', studies: 1, instances: 0, failedInstances: 2, error: 'PULL_SUBOPERATIONS_FAILED' },
        T0 + 2,
      );
      const rows = await pulls.listRows('a');
      assert.deepEqual(rows[0], {
        line: 2,
        status: 'retrieved',
        studies: 1,
        instances: 3,
        failedInstances: 0,
        error: null,
      });
      assert.equal(rows[1]!.error, 'PULL_SUBOPERATIONS_FAILED');
      await pulls.setPullState('a', 'retrieved', T0 + 3);
      assert.equal((await pulls.getPull('a'))!.finishedAt, null);
      await pulls.setPullState('a', 'done', T0 + 4, { k: 3, records: 7 });
      const a = (await pulls.getPull('a'))!;
      assert.equal(a.state, 'done');
      assert.equal(a.finishedAt, T0 + 4);
      assert.equal(a.updatedAt, T0 + 4);
      assert.deepEqual(a.risk, { k: 3, records: 7 });
      assert.deepEqual(
        (await pulls.listPulls()).map((p) => p.id),
        ['b', 'a'],
      );
      assert.deepEqual(
        (await pulls.listPulls({ state: 'running' })).map((p) => p.id),
        ['b'],
      );
      assert.deepEqual(
        (await pulls.listPulls({ limit: 1 })).map((p) => p.id),
        ['b'],
      );
    });

    it('records instances once, stores their quasi-identifiers, counts them by job state; survives a reopen', async () => {
      const f = await fresh();
      const { pulls, store } = f;
      await pulls.createPull({ id: 'c', source: 's', options: {}, lines: [2, 3] }, T0);
      const j1 = newJobId(T0);
      const j2 = newJobId(T0);
      const j3 = newJobId(T0);
      assert.equal(await pulls.addInstance('c', 2, j1, T0), true);
      assert.equal(await pulls.addInstance('c', 2, j1, T0 + 1), false, 'a second record of the same job is a no-op');
      assert.equal(await pulls.addInstance('c', 3, j2, T0), true);
      assert.equal(await pulls.addInstance('c', 3, j3, T0), true);
      await store.createJob({ id: j1, ingress: 'pull', route: 'r', step: 'gate', source: { pull: 'c' } }, T0);
      await store.createJob({ id: j2, ingress: 'pull', route: 'r', step: 'gate', source: { pull: 'c' } }, T0);
      await store.saveJob(j2, { states: ['queued'] }, { state: 'done' }, T0 + 5);
      assert.deepEqual(await pulls.countJobs('c'), { queued: 1, done: 1, missing: 1 });
      assert.equal(await pulls.setInstanceQi(j2, { sex: 'F', ageYears: 42, deviceSerial: [] }), true);
      assert.equal(await pulls.setInstanceQi(newJobId(T0), { sex: 'M' }), false, 'not a pull instance');
      const again = f.reopen();
      await again.init();
      open.push(again);
      const inst = await again.listInstances('c');
      assert.deepEqual(
        inst.map((i) => [i.line, i.jobId, i.qi]).sort(),
        [
          [2, j1, null],
          [3, j2, { sex: 'F', ageYears: 42, deviceSerial: [] }],
          [3, j3, null],
        ].sort(),
      );
      assert.equal((await again.getPull('c'))!.state, 'running');
      assert.deepEqual(await again.countJobs('nope'), {});
    });

    it('risk batches: rows once each, unreported until a report covers them, reported again when rows come', async () => {
      const f = await fresh();
      const { pulls } = f;
      assert.deepEqual(await pulls.listUnreportedBatches(), []);
      assert.equal(await pulls.addRiskRow('day-2026-12-07-out', 'j1', { sex: 'F' }, T0), true);
      assert.equal(await pulls.addRiskRow('day-2026-12-07-out', 'j1', { sex: 'M' }, T0), false, 'once per job');
      assert.equal(await pulls.addRiskRow('day-2026-12-07-out', 'j2', { sex: 'M', deviceSerial: [] }, T0 + 1), true);
      assert.equal(await pulls.addRiskRow('day-2026-12-08-out', 'j3', {}, T0 + 2), true);
      assert.deepEqual(await pulls.listRiskRows('day-2026-12-07-out'), [
        { jobId: 'j1', qi: { sex: 'F' } },
        { jobId: 'j2', qi: { sex: 'M', deviceSerial: [] } },
      ]);
      let open = await pulls.listUnreportedBatches();
      assert.deepEqual(
        open.map((b) => [b.batch, b.rows, b.reportedRows, b.reportedAt]),
        [
          ['day-2026-12-07-out', 2, 0, null],
          ['day-2026-12-08-out', 1, 0, null],
        ],
      );
      await pulls.markBatchReported('day-2026-12-07-out', 2, T0 + 5, { k: 1 });
      open = await pulls.listUnreportedBatches();
      assert.deepEqual(
        open.map((b) => b.batch),
        ['day-2026-12-08-out'],
      );
      const got = await pulls.getRiskBatch('day-2026-12-07-out');
      assert.deepEqual(got, {
        batch: 'day-2026-12-07-out',
        rows: 2,
        reportedRows: 2,
        reportedAt: T0 + 5,
        summary: { k: 1 },
      });
      await pulls.addRiskRow('day-2026-12-07-out', 'j4', {}, T0 + 6);
      assert.deepEqual(
        (await pulls.listUnreportedBatches()).map((x) => [x.batch, x.rows, x.reportedRows]),
        [
          ['day-2026-12-07-out', 3, 2],
          ['day-2026-12-08-out', 1, 0],
        ],
      );
      assert.equal(await pulls.getRiskBatch('nope'), undefined);
    });
  });
}
