/**
 * The lifecycle rules the stores apply (lifecycle.ts); the stores' conformance suite checks them through SQLite and
 * PostgreSQL, this file the rules themselves, every case.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  deliveryAudit,
  finishedAtAfter,
  type Job,
  jobSettledAudit,
  jobStateAfterDeliveries,
  SETTLED_STATES,
} from '../src/index.ts';

const job = (state: Job['state'], finishedAt: number | null): Job => ({
  id: 'j',
  state,
  step: 'deidentify',
  stepState: {},
  ingress: 'in',
  route: 'r',
  source: {},
  studyKey: null,
  attempts: 0,
  error: null,
  leaseOwner: null,
  leaseUntil: null,
  createdAt: 1,
  updatedAt: 1,
  finishedAt,
});

test('finished_at: set on entering a settled state, cleared on leaving one, kept otherwise', () => {
  for (const s of SETTLED_STATES) assert.equal(finishedAtAfter(job('processing', null), s, 50), 50, s);
  assert.equal(finishedAtAfter(job('quarantined', 40), 'queued', 50), null, 'released from quarantine');
  assert.equal(finishedAtAfter(job('quarantined', 40), 'quarantined', 50), 40, 'no change of state');
  assert.equal(finishedAtAfter(job('done', 40), undefined, 50), 40, 'no state in the update');
  assert.equal(finishedAtAfter(job('queued', null), 'processing', 50), null);
});

test('a delivering job settles when nothing is in flight: done unless a delivery is dead', () => {
  assert.equal(jobStateAfterDeliveries({ delivered: 2 }), 'done');
  assert.equal(jobStateAfterDeliveries({ delivered: 1, withheld: 1 }), 'done', 'withheld by consent settles');
  assert.equal(jobStateAfterDeliveries({ delivered: 1, dead: 1 }), 'dead');
  for (const inFlight of ['pending', 'sending', 'retry']) {
    assert.equal(jobStateAfterDeliveries({ dead: 1, [inFlight]: 1 }), undefined, inFlight);
  }
});

test('audit events of a delivery result and of a settled job', () => {
  assert.deepEqual(deliveryAudit('pacs', 1, { state: 'delivered' }), {
    event: 'delivery.delivered',
    detail: { destination: 'pacs', attempts: 1 },
  });
  assert.deepEqual(deliveryAudit('pacs', 3, { state: 'retry', nextAttemptAt: 9, error: 'DEST_TIMEOUT' }), {
    event: 'delivery.retry',
    detail: { destination: 'pacs', attempts: 3, code: 'DEST_TIMEOUT' },
  });
  assert.deepEqual(jobSettledAudit('dead'), { event: 'job.dead' });
});
