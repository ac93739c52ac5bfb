/**
 * The GovernanceStore conformance suite (node:test): the hash-chained audit trail (with tampering done directly in
 * the database), checkpoints, the consent registry, releases under contracts, portal invitations, accounts and vendor
 * tokens. SQLite and PostgreSQL run the same suite.
 *
 * Example (packages/store-sqlite/test/governance.test.ts):
 *   runGovernanceSuite({ name: 'SqliteGovernanceStore', create: async () => { ...; return { store, gov, exec } } });
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { signCheckpoint, verifyChain } from '../audit-chain.ts';
import type { GovernanceStore } from '../governance-store.ts';
import { newJobId } from '../ids.ts';
import type { JobStore } from '../store.ts';

export interface GovernanceFixture {
  /** The job store on the same database (the suite calls init() on both). */
  readonly store: JobStore;
  readonly gov: GovernanceStore;
  /** Runs one SQL statement directly on the database; `{audit}` names the audit table. */
  exec(sql: string): Promise<void>;
}

export interface GovernanceSuiteOptions {
  readonly name: string;
  create(): Promise<GovernanceFixture>;
  cleanup?(): Promise<void>;
  readonly skip?: string | undefined;
}

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;

export function runGovernanceSuite(options: GovernanceSuiteOptions): void {
  describe(`GovernanceStore conformance: ${options.name}`, { skip: options.skip ?? false }, () => {
    const open: GovernanceFixture[] = [];
    const fresh = async (): Promise<GovernanceFixture> => {
      const f = await options.create();
      await f.store.init();
      await f.gov.init();
      open.push(f);
      return f;
    };
    after(async () => {
      for (const f of open) {
        await f.gov.close().catch(() => {});
        await f.store.close().catch(() => {});
      }
      await options.cleanup?.();
    });
    const verify = async (gov: GovernanceStore, publicKey?: string) =>
      verifyChain(gov.auditPages(3), await gov.listCheckpoints(), publicKey);

    /** Six events: the job store's and the governance store's on one chain. */
    const sixEvents = async (f: GovernanceFixture): Promise<void> => {
      const id = newJobId(T0);
      await f.store.createJob({ id, ingress: 'inbox', route: 'r', step: 'gate', source: {} }, T0); // 1
      await f.gov.appendAudit(id, { event: 'step.done', actor: 'system', detail: { step: 'gate' } }, T0 + 1); // 2
      await f.store.appendAudit(null, { event: 'server.started', detail: { role: 'all' } }, T0 + 2); // 3
      await f.gov.appendAudit(null, { event: 'reidentify', actor: 'cli:alice', purpose: 'clinical-ai' }, T0 + 3); // 4
      await f.gov.setConsent('pk1', 'research', 'opt-out', { actor: 'portal:patient', via: 'portal' }, T0 + 4); // 5
      await f.store.appendAudit(null, { event: 'server.stopped' }, T0 + 5); // 6
    };

    it('every event of both stores is on one chain, with actor and purpose; an untouched chain verifies', async () => {
      const f = await fresh();
      await sixEvents(f);
      const all = await f.gov.listAudit();
      assert.deepEqual(
        all.map((e) => e.seq),
        [1, 2, 3, 4, 5, 6],
      );
      assert.equal(all[0]!.event, 'job.received');
      assert.equal(all[0]!.actor, 'system');
      assert.equal(all[3]!.actor, 'cli:alice');
      assert.equal(all[3]!.purpose, 'clinical-ai');
      assert.equal(all[4]!.event, 'consent.changed');
      assert.equal(all[4]!.purpose, 'research');
      for (let i = 1; i < all.length; i++) assert.equal(all[i]!.prevHash, all[i - 1]!.hash);
      const report = await verify(f.gov);
      assert.equal(report.ok, true, JSON.stringify(report.problems));
      assert.equal(report.events, 6);
      assert.deepEqual(await f.gov.auditHead(), { seq: 6, hash: all[5]!.hash });
      // The job store's own listing sees the same rows.
      assert.equal((await f.store.listAudit()).length, 6);
    });

    it('a changed event is named by its position', async () => {
      const f = await fresh();
      await sixEvents(f);
      await f.exec(`UPDATE {audit} SET event = 'server.started' WHERE seq = 4`);
      const report = await verify(f.gov);
      assert.equal(report.ok, false);
      assert.equal(report.problems[0]!.code, 'AUDIT_EVENT_CHANGED');
      assert.equal(report.problems[0]!.seq, 4);
    });

    it('a removed event is named by its position', async () => {
      const f = await fresh();
      await sixEvents(f);
      await f.exec('DELETE FROM {audit} WHERE seq = 3');
      const report = await verify(f.gov);
      assert.equal(report.ok, false);
      assert.equal(report.problems[0]!.code, 'AUDIT_EVENT_REMOVED');
      assert.equal(report.problems[0]!.seq, 3);
    });

    it('reordered events are named by position', async () => {
      const f = await fresh();
      await sixEvents(f);
      await f.exec('UPDATE {audit} SET seq = -1 WHERE seq = 2');
      await f.exec('UPDATE {audit} SET seq = 2 WHERE seq = 3');
      await f.exec('UPDATE {audit} SET seq = 3 WHERE seq = -1');
      const report = await verify(f.gov);
      assert.equal(report.ok, false);
      assert.equal(report.problems[0]!.code, 'AUDIT_EVENT_REORDERED');
      assert.equal(report.problems[0]!.seq, 2);
    });

    it('signed checkpoints: a truncated tail, a rewritten chain and a forged signature are caught', async () => {
      const f = await fresh();
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      await sixEvents(f);
      const head = (await f.gov.auditHead())!;
      await f.gov.addCheckpoint(signCheckpoint({ ...head, at: T0 + 10 }, privateKey));
      assert.equal((await verify(f.gov, pub)).ok, true);
      assert.equal((await verify(f.gov)).problems[0]!.code, 'AUDIT_CHECKPOINT_UNVERIFIED');
      const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
      assert.equal((await verify(f.gov, other)).problems[0]!.code, 'AUDIT_CHECKPOINT_SIGNATURE');
      // The last two events removed: the chain alone is consistent, the checkpoint is not.
      await f.exec('DELETE FROM {audit} WHERE seq >= 5');
      const cut = await verify(f.gov, pub);
      assert.equal(cut.ok, false);
      assert.equal(cut.problems[0]!.code, 'AUDIT_TRUNCATED');
      assert.equal(cut.problems[0]!.seq, 5);
      // Appending again after the cut re-fills seq 5 and 6 with other events: the checkpoint still disagrees.
      await f.gov.appendAudit(null, { event: 'x' }, T0 + 20);
      await f.gov.appendAudit(null, { event: 'y' }, T0 + 21);
      const refilled = await verify(f.gov, pub);
      assert.equal(refilled.problems[0]!.code, 'AUDIT_CHECKPOINT_MISMATCH');
      assert.equal(refilled.problems[0]!.seq, 6);
    });

    it('concurrent appends from both stores keep one unbroken chain', async () => {
      const f = await fresh();
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 20; i++) {
        work.push(f.gov.appendAudit(null, { event: 'g', detail: { i } }, T0 + i));
        work.push(f.store.appendAudit(null, { event: 's', detail: { i } }, T0 + i));
        work.push(f.gov.setConsent(`pk${i}`, 'research', 'opt-out', { actor: 'cli:x', via: 'cli' }, T0 + i));
      }
      await Promise.all(work);
      const report = await verify(f.gov);
      assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)));
      assert.equal(report.events, 60);
    });

    it('consent: set, change, clear; per purpose; counts; each change audited without the patient id', async () => {
      const f = await fresh();
      const via = { actor: 'cli:bob', via: 'cli' };
      await f.gov.setConsent('pkA', 'research', 'opt-out', via, T0);
      await f.gov.setConsent('pkA', 'commercial-ai-training', 'opt-in', via, T0 + 1);
      await f.gov.setConsent('pkB', 'research', 'opt-out', via, T0 + 2);
      assert.deepEqual(
        (await f.gov.listConsent('pkA')).map((c) => [c.purpose, c.choice, c.actor]),
        [
          ['commercial-ai-training', 'opt-in', 'cli:bob'],
          ['research', 'opt-out', 'cli:bob'],
        ],
      );
      await f.gov.setConsent('pkA', 'research', 'opt-in', { actor: 'portal:patient', via: 'portal' }, T0 + 3);
      assert.equal((await f.gov.listConsent('pkA')).find((c) => c.purpose === 'research')!.choice, 'opt-in');
      await f.gov.setConsent('pkA', 'research', null, via, T0 + 4);
      assert.deepEqual(
        (await f.gov.listConsent('pkA')).map((c) => c.purpose),
        ['commercial-ai-training'],
      );
      assert.deepEqual(await f.gov.listConsent('nobody'), []);
      assert.deepEqual(await f.gov.consentCounts(), {
        research: { optOut: 1, optIn: 0 },
        'commercial-ai-training': { optOut: 0, optIn: 1 },
      });
      const events = await f.gov.listAudit({ event: 'consent.changed' });
      assert.equal(events.length, 5);
      assert.deepEqual(events[3]!.detail, { patientKey: 'pkA', choice: 'opt-in', via: 'portal' });
      assert.equal(events[3]!.actor, 'portal:patient');
    });

    it('releases: recorded once with an expiry; overdue once delivered and expired; deletion confirmed', async () => {
      const f = await fresh();
      const ids = [newJobId(T0), newJobId(T0 + 1), newJobId(T0 + 2)];
      for (const id of ids) {
        await f.store.createJob({ id, ingress: 'inbox', route: 'r', step: 'gate', source: {} }, T0);
        await f.store.saveJob(id, { states: ['queued'] }, { state: 'delivering', deliveries: ['lab'] }, T0);
      }
      const rel = {
        destination: 'lab',
        vendor: 'Acme AI',
        contract: 'C-1',
        purpose: 'research',
        region: 'eu',
        retentionDays: 30,
        confirmDeletion: true,
      };
      const first = await f.gov.recordRelease({ ...rel, jobId: ids[0]! }, T0);
      assert.equal(first.expiresAt, T0 + 30 * DAY);
      assert.equal(first.deliveryState, 'pending');
      const again = await f.gov.recordRelease({ ...rel, jobId: ids[0]!, vendor: 'Other' }, T0 + 5);
      assert.equal(again.vendor, 'Acme AI');
      assert.equal(again.releasedAt, T0);
      await f.gov.recordRelease({ ...rel, jobId: ids[1]! }, T0 + 1);
      await f.gov.recordRelease({ ...rel, jobId: ids[2]!, vendor: 'Beta', retentionDays: null }, T0 + 2);
      // Delivered: ids[0] and ids[1]; ids[2] stays pending.
      for (const id of ids.slice(0, 2)) {
        const d = await f.store.leaseDelivery(id, 'lab', 'w', T0, 1000);
        assert.ok(d);
        await f.store.finishDelivery(id, 'lab', 'w', { state: 'delivered' }, T0 + 10);
      }
      assert.deepEqual(await f.gov.listReleases({ overdueAt: T0 + 29 * DAY }), []);
      const overdue = await f.gov.listReleases({ overdueAt: T0 + 31 * DAY });
      assert.deepEqual(
        overdue.map((r) => r.jobId),
        ids.slice(0, 2),
      );
      assert.equal(overdue[0]!.deliveryState, 'delivered');
      assert.equal(overdue[0]!.deliveredAt, T0 + 10);
      assert.deepEqual(
        (await f.gov.listReleases({ vendor: 'Beta' })).map((r) => r.jobId),
        [ids[2]],
      );
      assert.equal(await f.gov.confirmDeletion({ destination: 'lab', jobIds: [ids[0]!] }, 'vendor:lab', T0 + DAY), 1);
      assert.deepEqual(
        (await f.gov.listReleases({ overdueAt: T0 + 31 * DAY })).map((r) => r.jobId),
        [ids[1]],
      );
      // Everything delivered up to a time: ids[1] (ids[0] already confirmed; ids[2] not delivered).
      assert.equal(await f.gov.confirmDeletion({ destination: 'lab', releasedBefore: T0 + 5 }, 'cli:ops', T0 + DAY), 1);
      assert.deepEqual(await f.gov.listReleases({ overdueAt: T0 + 31 * DAY }), []);
      const confirmed = (await f.gov.listReleases({ jobId: ids[0]! }))[0]!;
      assert.equal(confirmed.deletedAt, T0 + DAY);
      assert.equal(confirmed.deletedBy, 'vendor:lab');
      const audit = await f.gov.listAudit({ event: 'deletion.confirmed' });
      assert.deepEqual(
        audit.map((a) => [a.actor, a.detail.count]),
        [
          ['vendor:lab', 1],
          ['cli:ops', 1],
        ],
      );
      assert.equal((await f.gov.listAudit({ event: 'release.recorded' }))[0]!.purpose, 'research');
      assert.equal((await verify(f.gov)).ok, true);
    });

    it("a patient's jobs are found by the key their gate step recorded", async () => {
      const f = await fresh();
      const a1 = newJobId(T0);
      const b1 = newJobId(T0 + 1);
      const a2 = newJobId(T0 + 2);
      for (const [id, pk] of [
        [a1, 'pkA'],
        [b1, 'pkB'],
        [a2, 'pkA'],
      ] as const) {
        await f.store.createJob({ id, ingress: 'i', route: 'r', step: 'gate', source: {} }, T0);
        await f.store.saveJob(id, { states: ['queued'] }, { stepState: { patientKey: pk, sopClassUid: '1.2' } }, T0);
      }
      assert.deepEqual(
        (await f.gov.listPatientJobs('pkA')).map((j) => j.id),
        [a1, a2],
      );
      assert.deepEqual(
        (await f.gov.listPatientJobs('pkB')).map((j) => j.id),
        [b1],
      );
      assert.deepEqual(await f.gov.listPatientJobs('pkC'), []);
    });

    it('portal invitations are used once and expire', async () => {
      const f = await fresh();
      await f.gov.createInvite('h1', 'pkA', T0 + 1000, 'cli:desk', T0);
      await f.gov.createInvite('h2', 'pkB', T0 + 1000, 'cli:desk', T0);
      assert.equal(await f.gov.redeemInvite('nope', T0 + 1), undefined);
      assert.equal(await f.gov.redeemInvite('h1', T0 + 1), 'pkA');
      assert.equal(await f.gov.redeemInvite('h1', T0 + 2), undefined);
      assert.equal(await f.gov.redeemInvite('h2', T0 + 1000), undefined);
      assert.deepEqual(
        (await f.gov.listAudit({ event: 'portal.login' })).map((a) => a.detail.patientKey),
        ['pkA'],
      );
    });

    it('accounts and vendor tokens', async () => {
      const f = await fresh();
      await f.gov.putAccount({ name: 'admin', role: 'admin', passwordHash: 'scrypt$x' }, 'cli:init', T0);
      await f.gov.putAccount({ name: 'po', role: 'privacy-officer', passwordHash: 'scrypt$y' }, 'cli:init', T0);
      await f.gov.putAccount({ name: 'admin', role: 'operator', passwordHash: 'scrypt$z' }, 'cli:init', T0 + 1);
      const admin = await f.gov.getAccount('admin');
      assert.equal(admin?.role, 'operator');
      assert.equal(admin?.passwordHash, 'scrypt$z');
      assert.equal(admin?.createdAt, T0);
      assert.equal(admin?.updatedAt, T0 + 1);
      assert.deepEqual(
        (await f.gov.listAccounts()).map((a) => a.name),
        ['admin', 'po'],
      );
      assert.equal(await f.gov.getAccount('nobody'), undefined);
      await f.gov.putVendorToken('th', 'lab', 'cli:init', T0);
      assert.equal(await f.gov.vendorTokenDestination('th'), 'lab');
      assert.equal(await f.gov.vendorTokenDestination('other'), undefined);
    });

    it('crosswalk rows: opaque, found by blind index, the first kept, concurrent writers idempotent', async () => {
      const f = await fresh();
      const row = (blind: string, sealed: string) => ({ blind, kind: 'studyUID', keyId: 'k1', sealed });
      assert.equal(await f.gov.putCrosswalk([], T0), 0);
      assert.equal(await f.gov.putCrosswalk([row('b1', 's1'), row('b2', 's2')], T0), 2);
      // The same row again (a step re-run after a crash) and a different one under a stored index: the first stays.
      assert.equal(await f.gov.putCrosswalk([row('b1', 'other'), row('b3', 's3')], T0 + 1), 1);
      const got = await f.gov.getCrosswalk(['b3', 'b1', 'missing', 'b1']);
      assert.deepEqual(
        got.sort((a, b) => a.blind.localeCompare(b.blind)),
        [row('b1', 's1'), row('b3', 's3')],
      );
      assert.deepEqual(await f.gov.getCrosswalk([]), []);
      // Two writers of overlapping batches at once (two release threads, two scale-out workers).
      const batch = (n: number) => Array.from({ length: 20 }, (_, i) => row(`c${(i + n) % 30}`, `v${(i + n) % 30}`));
      const counts = await Promise.all([f.gov.putCrosswalk(batch(0), T0), f.gov.putCrosswalk(batch(10), T0)]);
      assert.equal(counts[0]! + counts[1]!, 30);
      assert.equal(await f.gov.crosswalkCount(), 33);
      // Writing the crosswalk adds nothing to the audit chain; lookups are audited by the caller.
      assert.equal((await f.gov.listAudit()).length, 0);
    });
  });
}
