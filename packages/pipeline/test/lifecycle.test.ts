/**
 * The lifecycle rules the stores apply (lifecycle.ts); the stores' conformance suite checks them through SQLite and
 * PostgreSQL, this file the rules themselves, every case.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  batchNeedsReport,
  canLeaseDelivery,
  canLeaseJob,
  deliveryAfterResult,
  deliveryAudit,
  emptyStudy,
  failedAttempt,
  finishedAtAfter,
  type Job,
  jobAfterDeliveries,
  jobSettledAudit,
  jobStateAfterDeliveries,
  newDelivery,
  planJobUpdate,
  pullFinishedAt,
  quarantineAfterHold,
  quarantineAfterState,
  replayedDelivery,
  SETTLED_STATES,
  stableStudy,
  studyAfterInstance,
  studyIsStable,
  studyStableAudit,
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

test('saveJob plan: the guard decides; a job joins its first study only; the lease is released on request', () => {
  const leased: Job = { ...job('processing', null), leaseOwner: 'w', leaseUntil: 100 };
  assert.equal(planJobUpdate(leased, { owner: 'w' }, {}, 100), undefined, 'a lease ending now has run out');
  assert.equal(planJobUpdate(leased, { owner: 'v' }, {}, 50), undefined, "another owner's lease");
  assert.equal(planJobUpdate(leased, { states: ['queued'] }, {}, 50), undefined, 'not in the named states');
  const plan = planJobUpdate(
    leased,
    { owner: 'w' },
    { state: 'delivering', studyKey: 'S', deliveries: ['a', 'b'], releaseLease: true, error: null },
    50,
  );
  assert.equal(plan?.joinsStudy, 'S');
  assert.deepEqual(plan?.job, {
    ...leased,
    state: 'delivering',
    studyKey: 'S',
    leaseOwner: null,
    leaseUntil: null,
    updatedAt: 50,
  });
  assert.deepEqual(plan?.deliveries, [newDelivery('j', 'a', 50), newDelivery('j', 'b', 50)]);
  const again = planJobUpdate({ ...leased, studyKey: 'S' }, { states: ['processing'] }, { studyKey: 'T' }, 60);
  assert.equal(again?.joinsStudy, undefined, 'counted once');
  assert.equal(again?.job.studyKey, 'S');
  assert.equal(again?.job.leaseOwner, 'w', 'kept unless released');
});

test('delivery attempts: leasable states, result, replay; a job settles only from delivering', () => {
  const d = newDelivery('j', 'pacs', 1);
  assert.equal(canLeaseDelivery(d, 1), true);
  const sending = { ...d, state: 'sending' as const, attempts: 1, leaseOwner: 'w', leaseUntil: 10 };
  assert.equal(canLeaseDelivery(sending, 9), false);
  assert.equal(canLeaseDelivery(sending, 10), true, 'a lease ending now has run out');
  const retry = deliveryAfterResult(sending, { state: 'retry', nextAttemptAt: 30, error: 'DEST_TIMEOUT' }, 5);
  assert.deepEqual(
    [retry.state, retry.error, retry.nextAttemptAt, retry.leaseOwner, retry.deliveredAt],
    ['retry', 'DEST_TIMEOUT', 30, null, null],
  );
  assert.equal(canLeaseDelivery(retry, 29), false);
  assert.equal(canLeaseDelivery(retry, 30), true);
  const delivered = deliveryAfterResult(sending, { state: 'delivered' }, 6);
  assert.deepEqual([delivered.error, delivered.deliveredAt, canLeaseDelivery(delivered, 99)], [null, 6, false]);
  const dead = deliveryAfterResult(sending, { state: 'dead', error: 'DEST_REFUSED' }, 7);
  assert.deepEqual(replayedDelivery(dead, 8), { ...d, updatedAt: 8 });
  assert.equal(jobAfterDeliveries(job('quarantined', 1), { delivered: 1 }, 9), undefined);
  assert.deepEqual(jobAfterDeliveries(job('delivering', null), { delivered: 1, dead: 1 }, 9), {
    ...job('dead', 9),
    updatedAt: 9,
  });
  assert.equal(canLeaseJob(job('delivering', null), 'w', 1), false);
});

test('processing attempts: the last one is the one that reaches maxAttempts', () => {
  assert.deepEqual(failedAttempt({ ...job('processing', null), attempts: 0 }, 3), { attempts: 1, last: false });
  assert.deepEqual(failedAttempt({ ...job('processing', null), attempts: 2 }, 3), { attempts: 3, last: true });
  assert.deepEqual(failedAttempt({ ...job('processing', null), attempts: 0 }, 1), { attempts: 1, last: true });
});

test('quarantine records: created once, held again with the new code, released keeps the rest', () => {
  const first = quarantineAfterHold(undefined, 'j', { code: 'A', step: 'gate' }, 10);
  assert.deepEqual(first, {
    jobId: 'j',
    state: 'held',
    code: 'A',
    tagPath: null,
    step: 'gate',
    createdAt: 10,
    updatedAt: 10,
  });
  const released = quarantineAfterState(first, 'released', 20);
  const again = quarantineAfterHold(released, 'j', { code: 'B', tagPath: '(0010,0010)', step: 'verify' }, 30);
  assert.deepEqual(again, { ...first, code: 'B', tagPath: '(0010,0010)', step: 'verify', updatedAt: 30 });
});

test('studies: counted and reopened by an instance; stable only when quiet and every job settled', () => {
  const open = studyAfterInstance(studyAfterInstance(emptyStudy('S', 100), 90), 120);
  assert.deepEqual([open.instances, open.firstSeenAt, open.lastSeenAt], [2, 100, 120], 'last seen never goes back');
  assert.equal(studyIsStable(open, { done: 2 }, 619, 500), false, 'not quiet long enough');
  assert.equal(studyIsStable(open, { done: 1, delivering: 1 }, 1000, 500), false, 'a job in flight');
  assert.equal(studyIsStable(open, { done: 1, quarantined: 1 }, 620, 500), true);
  const stable = stableStudy(open, { done: 1, quarantined: 1 }, 620);
  assert.equal(studyIsStable(stable, { done: 2 }, 9999, 500), false, 'stable already');
  assert.deepEqual(
    [stable.state, stable.stableAt, stable.outcome?.done, stable.outcome?.queued],
    ['stable', 620, 1, 0],
  );
  assert.deepEqual(Object.keys(studyStableAudit(stable).detail?.outcome ?? {}).slice(0, 2), ['queued', 'processing']);
  const reopened = studyAfterInstance(stable, 700);
  assert.deepEqual([reopened.state, reopened.instances, reopened.stableAt, reopened.outcome], ['open', 3, null, null]);
});

test('pulls: finished when done or cancelled; a risk batch reported again once it has new rows', () => {
  assert.equal(pullFinishedAt('done', 5), 5);
  assert.equal(pullFinishedAt('cancelled', 5), 5);
  assert.equal(pullFinishedAt('running', 5), null);
  assert.equal(pullFinishedAt('retrieved', 5), null);
  const batch = { batch: 'b', rows: 3, reportedRows: 3, reportedAt: 1, summary: null };
  assert.equal(batchNeedsReport(batch), false, 'every row reported');
  assert.equal(batchNeedsReport({ ...batch, rows: 4 }), true, 'a row since the last report');
});
