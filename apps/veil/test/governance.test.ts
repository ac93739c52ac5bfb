/**
 * Governance proof test (in process through startServer, the CLI through the real `veil` executable), on real files:
 * two patients' studies go through a gateway with a clinical-ai and a research destination under contracts; patient A
 * opts out of research with `veil consent set`; A's next instance reaches clinical-ai but is withheld from research
 * (CONSENT_OPT_OUT, audited, counted); releases carry the contract and an expiry; an expired retention shows as an
 * overdue deletion in metrics until `veil deletion confirm`; `veil audit report` exports per vendor; `veil audit
 * verify` passes on the untouched chain and fails, naming the position, after each of three tamperings done directly
 * in the SQLite file; a forbidden region stops the configuration from loading; `veil consent import` reads a CSV.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SqliteGovernanceStore } from '@veil/store-sqlite';
import Database from 'better-sqlite3';
import { patientKey } from '../src/governance/patient-key.ts';
import { loadServerConfig } from '../src/server/config.ts';
import { createObservability } from '../src/server/observe.ts';
import { type ServerHandle, startServer } from '../src/server/server.ts';
import { governanceConfig, PATIENT_A, PATIENT_B, put } from './governance-support.ts';
import { ensureDir, httpGet, keyFile, metric, runVeil, waitFor, writeConfig } from './server-support.ts';

const root = mkdtempSync(join(tmpdir(), 'veil-governance-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('governance: consent at the deliver step, contracts, audit chain', () => {
  const dir = ensureDir(join(root, 'gw'));
  const inbox = ensureDir(join(dir, 'inbox'));
  const { path: keyPath, key } = keyFile(dir);
  let configPath: string;
  let server: ServerHandle | undefined;

  before(async () => {
    configPath = governanceConfig(dir, keyPath);
    server = await startServer({
      config: loadServerConfig(configPath),
      key,
      role: 'all',
      obs: createObservability({ level: 'warn', role: 'all' }),
    });
  });
  after(async () => {
    await server?.close();
  });

  const settled = (n: number) =>
    waitFor(
      `${n} jobs done`,
      async () => {
        const c = await server!.store.countJobs();
        return c.done === n ? c : undefined;
      },
      60_000,
    );

  test('an opt-out of research withholds the next instance from research only; audited and counted', async () => {
    const s = server!;
    put(inbox, PATIENT_A.files[0]!, 'a1.dcm');
    put(inbox, PATIENT_B.files[0]!, 'b1.dcm');
    await settled(2);
    assert.equal(readdirSync(join(dir, 'out/clinical')).length, 2);
    assert.equal(readdirSync(join(dir, 'out/research')).length, 2);

    const set = await runVeil([
      'consent',
      'set',
      '--config',
      configPath,
      '--patient-id',
      PATIENT_A.id,
      '--purpose',
      'research',
      '--opt-out',
    ]);
    assert.equal(set.code, 0, set.stderr);
    const refused = await runVeil([
      'consent',
      'set',
      '-c',
      configPath,
      '--patient-id',
      'X',
      '--purpose',
      'clinical-ai',
      '--opt-out',
    ]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /CONSENT_OPT_OUT_NOT_ALLOWED/);

    put(inbox, PATIENT_A.files[1]!, 'a2.dcm');
    await settled(3);
    assert.equal(readdirSync(join(dir, 'out/clinical')).length, 3, 'clinical-ai still receives it');
    assert.equal(readdirSync(join(dir, 'out/research')).length, 2, 'research does not');
    const withheld = await s.store.listDeliveries({ states: ['withheld'] });
    assert.equal(withheld.length, 1);
    assert.equal(withheld[0]!.destination, 'research');
    assert.equal(withheld[0]!.error, 'CONSENT_OPT_OUT');
    const job = await s.store.getJob(withheld[0]!.jobId);
    assert.equal(job?.state, 'done');
    assert.equal(job?.stepState.patientKey, patientKey(key, PATIENT_A.id));
    assert.ok(!JSON.stringify(job).includes(PATIENT_A.id), 'the job holds the patient key, not the id');

    const gov = new SqliteGovernanceStore(join(dir, 'veil.db'));
    await gov.init();
    try {
      const [held] = await gov.listAudit({ event: 'consent.withheld' });
      assert.equal(held?.purpose, 'research');
      assert.deepEqual(held?.detail, { destination: 'research', code: 'CONSENT_OPT_OUT' });
      const [changed] = await gov.listAudit({ event: 'consent.changed' });
      assert.match(String(changed?.actor), /^cli:/);
      assert.equal(changed?.purpose, 'research');
      const releases = await gov.listReleases();
      assert.equal(releases.length, 5, 'two to research, three to clinical');
      const c = releases.find((r) => r.destination === 'clinical')!;
      assert.equal(c.vendor, 'Clinical AI Ltd');
      assert.equal(c.contract, 'DPA-C-1');
      assert.equal(c.region, 'eu-west');
      assert.equal(c.expiresAt, c.releasedAt + 30 * 86_400_000);
      assert.equal(c.deliveryState, 'delivered');
      // Nothing in the audit trail names the patient.
      const all = JSON.stringify(await gov.listAudit({ limit: 10_000 }));
      assert.ok(!all.includes(PATIENT_A.id) && !all.includes(PATIENT_B.id));
    } finally {
      await gov.close();
    }

    const metrics = (await httpGet(s.http!.port, '/metrics')).text;
    assert.equal(metric(metrics, 'veil_withheld_total{destination="research",code="CONSENT_OPT_OUT"}'), 1);
    // research keeps nothing (retentionDays 0): both of its deliveries are overdue until the vendor confirms.
    assert.equal(metric(metrics, 'veil_deletions_overdue{destination="research"}'), 2);
    assert.equal(metric(metrics, 'veil_deletions_overdue{destination="clinical"}'), 0);

    const show = await runVeil(['consent', 'show', '-c', configPath, '--patient-id', PATIENT_A.id]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^research\topt-out\twithheld \(CONSENT_OPT_OUT\)/m);
    assert.match(show.stdout, /^clinical-ai\tdefault\tshared/m);
    assert.match(show.stdout, /^commercial-ai-training\tdefault\twithheld \(CONSENT_NOT_GIVEN\)/m);

    const csv = await runVeil(['audit', 'report', '-c', configPath, '--vendor', 'Research Institute']);
    assert.equal(csv.code, 0, csv.stderr);
    const lines = csv.stdout.trim().split('\n');
    assert.equal(lines.length, 3, 'header and two releases');
    assert.match(lines[0]!, /^jobId,destination,vendor,contract,purpose,region,releasedAt,state/);
    assert.match(lines[1]!, /,research,Research Institute,DPA-R-7,research,eu-west,.*,delivered,/);
    const json = await runVeil(['audit', 'report', '-c', configPath, '--destination', 'clinical', '--format', 'json']);
    assert.equal((JSON.parse(json.stdout) as unknown[]).length, 3);

    const confirm = await runVeil(['deletion', 'confirm', '-c', configPath, '--destination', 'research', '--all']);
    assert.equal(confirm.code, 0, confirm.stderr);
    assert.match(confirm.stdout, /^2 deletion\(s\) confirmed/);
    const after = (await httpGet(s.http!.port, '/metrics')).text;
    assert.equal(metric(after, 'veil_deletions_overdue{destination="research"}'), 0);
  });

  test('veil audit verify: intact passes; a changed, a removed and a reordered event fail, naming the position', async () => {
    await server!.close();
    server = undefined;
    const ok = await runVeil(['audit', 'verify', '-c', configPath]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /audit chain intact: \d+ event\(s\), head \d+, [1-9]\d* signed checkpoint/);

    const tamper = async (name: string, sql: string[]): Promise<{ code: number; stdout: string }> => {
      const d = ensureDir(join(root, name));
      for (const f of ['veil.db', 'veil.db-wal', 'veil.db-shm']) {
        if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(d, f));
      }
      const db = new Database(join(d, 'veil.db'));
      for (const s of sql) db.exec(s);
      db.close();
      const cfg = writeConfig(d, {
        spool: join(dir, 'spool'),
        store: { kind: 'sqlite', path: './veil.db' },
        key: { file: keyPath },
        destinations: [{ name: 'x', kind: 'folder', path: './x' }],
        audit: { publicKey: join(dir, 'audit-public.pem') },
      });
      const r = await runVeil(['audit', 'verify', '-c', cfg]);
      return { code: r.code, stdout: r.stdout };
    };
    const changed = await tamper('changed', [`UPDATE audit SET detail = '{"step":"tampered"}' WHERE seq = 5`]);
    assert.equal(changed.code, 1);
    assert.match(changed.stdout, /BROKEN at event 5: AUDIT_EVENT_CHANGED/);
    const removed = await tamper('removed', ['DELETE FROM audit WHERE seq = 7']);
    assert.equal(removed.code, 1);
    assert.match(removed.stdout, /BROKEN at event 7: AUDIT_EVENT_REMOVED/);
    const reordered = await tamper('reordered', [
      'UPDATE audit SET seq = -1 WHERE seq = 3',
      'UPDATE audit SET seq = 3 WHERE seq = 4',
      'UPDATE audit SET seq = 4 WHERE seq = -1',
    ]);
    assert.equal(reordered.code, 1);
    assert.match(reordered.stdout, /BROKEN at event 3: AUDIT_EVENT_REORDERED/);
  });

  test('a destination in a region the policy forbids stops the configuration (veil serve refuses to start)', async () => {
    const d = ensureDir(join(root, 'region'));
    const cfg = governanceConfig(d, keyPath, {
      governance: { regions: { allowed: ['eu-west'], forbidden: ['us-east'] } },
    });
    const text = JSON.parse(String(execFileSync('cat', [cfg]))) as { destinations: { region: string }[] };
    text.destinations[1]!.region = 'us-east';
    writeFileSync(cfg, JSON.stringify(text));
    assert.throws(() => loadServerConfig(cfg), /destinations\.1\.region: REGION_FORBIDDEN/);
    const serve = await runVeil(['serve', '-c', cfg]);
    assert.equal(serve.code, 3);
    assert.match(serve.stderr, /REGION_FORBIDDEN/);
  });

  test('veil consent import records a CSV whole, or nothing when a line is wrong', async () => {
    const csvFile = join(root, 'consent.csv');
    writeFileSync(csvFile, 'patient_id,issuer,purpose,choice\nP1,,research,opt-out\n"P2",HOSP,education,opt-out\n');
    const ok = await runVeil(['consent', 'import', '-c', configPath, csvFile]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^2 choice\(s\) recorded/);
    const bad = join(root, 'bad.csv');
    writeFileSync(bad, 'patient_id,issuer,purpose,choice\nP3,,research,opt-out\nP4,,astrology,opt-out\n');
    const r = await runVeil(['consent', 'import', '-c', configPath, bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /line 3: unknown purpose/);
    assert.ok(!r.stderr.includes('P4'), 'the error names the line, not the patient');
    const gov = new SqliteGovernanceStore(join(dir, 'veil.db'));
    await gov.init();
    try {
      assert.equal((await gov.listConsent(patientKey(key, 'P2', 'HOSP')))[0]?.choice, 'opt-out');
      assert.deepEqual(await gov.listConsent(patientKey(key, 'P3')), []);
    } finally {
      await gov.close();
    }
  });
});
