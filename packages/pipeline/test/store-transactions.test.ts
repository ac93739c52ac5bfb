/**
 * The runners of the stores' transaction bodies (store-transactions.ts): what the bodies do is checked through SQLite
 * and PostgreSQL by the conformance suite; this file checks how a port's answers and failures reach a body.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createJobRows, type Job, newJobRecord, runAsync, runSync, type StoreRows } from '../src/index.ts';

const input = { id: 'j1', ingress: 'inbox', route: 'default', step: 'gate', source: {} };

/** A port over one map of jobs; `wrap` makes each answer sync or async. */
function jobsPort(wrap: <T>(v: T) => T | Promise<T>, jobs = new Map<string, Job>()): StoreRows {
  const unused = (): never => {
    throw new Error('not used by createJob');
  };
  return {
    insertJobIfAbsent: (j) => {
      const absent = !jobs.has(j.id);
      if (absent) jobs.set(j.id, j);
      return wrap(absent);
    },
    getJob: (id) => wrap(jobs.get(id)),
    audit: () => wrap(undefined),
    writeJob: unused,
    insertDeliveryIfAbsent: unused,
    lockDelivery: unused,
    replayableDeliveries: unused,
    writeDelivery: unused,
    deliveryCounts: unused,
    getQuarantine: unused,
    putQuarantine: unused,
    lockStudy: unused,
    quietOpenStudies: unused,
    jobCountsOfStudy: unused,
    writeStudy: unused,
  };
}

test('runSync and runAsync give the body the same answers', async () => {
  const viaSync = runSync(
    createJobRows(
      jobsPort((v) => v),
      input,
      5,
    ),
  );
  const viaAsync = await runAsync(
    createJobRows(
      jobsPort(async (v) => v),
      input,
      5,
    ),
  );
  assert.deepEqual(viaSync, newJobRecord(input, 5));
  assert.deepEqual(viaAsync, viaSync);
});

test('runSync refuses a port that answers with a promise (a synchronous transaction cannot wait)', () => {
  assert.throws(
    () =>
      runSync(
        createJobRows(
          jobsPort(async (v) => v),
          input,
          5,
        ),
      ),
    /STORE_ROWS_NOT_SYNCHRONOUS/,
  );
});

test('runAsync rejects with the failure of a port call (the driver rolls back)', async () => {
  const port = { ...jobsPort(async (v) => v), audit: async () => Promise.reject(new Error('STORE_TEST_DOWN')) };
  await assert.rejects(runAsync(createJobRows(port, input, 5)), /STORE_TEST_DOWN/);
});
