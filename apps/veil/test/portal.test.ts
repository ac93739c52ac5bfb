/**
 * The patient portal's and the console's security, against a running gateway (in process) on real files: two
 * patients' studies go through; one of patient A's instances is held in quarantine (its original stays in the spool).
 * A patient sees exactly their own events; another patient's event, study or download answers 404 like an unknown
 * id (direct object references); the one-time code works once (`veil portal invite` prints it last); the session
 * cookie is HttpOnly, SameSite=Strict, and a cookie planted before sign-in is never honoured (fixation); state changes
 * need the CSRF token and a same-origin Origin; code guessing is cut off (429) even for a then-valid code; the own
 * study downloads as a zip of report.html and the originals Veil still holds (held in quarantine: yes; delivered,
 * without portal.keepOriginalsDays: the report says plainly it no longer holds them); with keepOriginalsDays, a
 * delivered study's original comes from the sealed patient-copy store, and another patient asking for it gets 404.
 * Console: roles, CSRF, audited sign-in; the vendor deletion API takes only its token.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SqliteGovernanceStore } from '@veil/store-sqlite';
import { newPortalCode, portalCodeHash, vendorTokenHash } from '../src/governance/cli.ts';
import { hashPassword } from '../src/governance/passwords.ts';
import { PatientCopies } from '../src/governance/patient-copies.ts';
import { patientKey } from '../src/governance/patient-key.ts';
import { loadServerConfig } from '../src/server/config.ts';
import { createObservability } from '../src/server/observe.ts';
import { type ServerHandle, startServer } from '../src/server/server.ts';
import { governanceConfig, PATIENT_A, PATIENT_B, put } from './governance-support.ts';
import { corpusDir, ensureDir, keyFile, runVeil, waitFor } from './server-support.ts';

const root = mkdtempSync(join(tmpdir(), 'veil-portal-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Res {
  status: number;
  json: Record<string, unknown>;
  headers: Headers;
  body: Buffer;
}

describe('patient portal and console: object-level access, CSRF, fixation, brute force', () => {
  const dir = ensureDir(join(root, 'gw'));
  const inbox = ensureDir(join(dir, 'inbox'));
  const held = ensureDir(join(dir, 'held'));
  const { path: keyPath, key } = keyFile(dir);
  let configPath: string;
  let server: ServerHandle;
  let gov: SqliteGovernanceStore;
  let base: string;
  const jobsOf: Record<'A' | 'B', string[]> = { A: [], B: [] };

  const call = async (
    method: string,
    path: string,
    o: { cookie?: string; body?: unknown; csrf?: string; origin?: string; form?: Record<string, string> } = {},
  ): Promise<Res> => {
    const headers: Record<string, string> = {};
    if (o.cookie) headers.cookie = o.cookie;
    if (o.csrf) headers['x-csrf-token'] = o.csrf;
    if (o.origin) headers.origin = o.origin;
    let body: string | undefined;
    if (o.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(o.form).toString();
    } else if (o.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.body);
    }
    const r = await fetch(`${base}${path}`, {
      method,
      headers,
      redirect: 'manual',
      ...(body !== undefined ? { body } : {}),
    });
    const buf = Buffer.from(await r.arrayBuffer());
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
    } catch {
      // not JSON
    }
    return { status: r.status, json, headers: r.headers, body: buf };
  };
  const invite = async (patientId: string): Promise<string> => {
    const code = newPortalCode();
    await gov.createInvite(
      portalCodeHash(code),
      patientKey(key, patientId, patientId === PATIENT_B.id ? PATIENT_B.issuer : ''),
      Date.now() + 600_000,
      'test',
      Date.now(),
    );
    return code;
  };
  const signIn = async (code: string, cookie?: string): Promise<{ cookie: string; csrf: string; raw: string }> => {
    const r = await call('POST', '/portal/api/session', { body: { code }, ...(cookie ? { cookie } : {}) });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const raw = r.headers.get('set-cookie') ?? '';
    return { cookie: raw.split(';')[0]!, csrf: String(r.json.csrfToken), raw };
  };

  before(async () => {
    configPath = governanceConfig(dir, keyPath, {
      ingress: [
        { name: 'inbox', kind: 'folder', path: './inbox', pollMs: 100, settleMs: 50 },
        { name: 'held', kind: 'folder', path: './held', pollMs: 100, settleMs: 50 },
      ],
      routes: [
        { name: 'main', from: ['inbox'], to: ['clinical', 'research'] },
        // Nothing passes this route's policy: its instances stay in quarantine with their originals.
        { name: 'hold', from: ['held'], to: ['clinical'], policy: { sopClasses: ['1.2.3.4'] } },
      ],
    });
    server = await startServer({
      config: loadServerConfig(configPath),
      key,
      role: 'all',
      obs: createObservability({ level: 'warn', role: 'all' }),
    });
    base = `http://127.0.0.1:${server.http!.port}`;
    gov = new SqliteGovernanceStore(join(dir, 'veil.db'));
    await gov.init();
    put(inbox, PATIENT_A.files[0]!, 'a1.dcm');
    put(inbox, PATIENT_B.files[0]!, 'b1.dcm');
    put(held, PATIENT_A.files[1]!, 'a2.dcm');
    await waitFor('two done, one held', async () => {
      const c = await server.store.countJobs();
      return c.done === 2 && c.quarantined === 1 ? c : undefined;
    });
    for (const j of await server.store.listJobs()) {
      if (j.stepState.patientKey === patientKey(key, PATIENT_A.id, PATIENT_A.issuer)) jobsOf.A.push(j.id);
      if (j.stepState.patientKey === patientKey(key, PATIENT_B.id, PATIENT_B.issuer)) jobsOf.B.push(j.id);
    }
    assert.equal(jobsOf.A.length, 2);
    assert.equal(jobsOf.B.length, 1);
  });
  after(async () => {
    await gov?.close();
    await server?.close();
  });

  test('a patient signs in once with a code and sees exactly their own events, in plain language', async () => {
    const cli = await runVeil(['portal', 'invite', '--config', configPath, '--patient-id', PATIENT_A.id]);
    assert.equal(cli.code, 0, cli.stderr);
    const code = cli.stdout.trim().split('\n').at(-1)!;
    assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    const a = await signIn(code);
    assert.match(a.raw, /HttpOnly/);
    assert.match(a.raw, /SameSite=Strict/);
    assert.match(a.raw, /Path=\/portal/);
    assert.doesNotMatch(a.raw, /Secure/, 'plain HTTP on loopback: no Secure flag (set under TLS)');
    assert.equal((await call('POST', '/portal/api/session', { body: { code } })).status, 401, 'used once');

    const events = await call('GET', '/portal/api/events', { cookie: a.cookie });
    assert.equal(events.status, 200);
    const list = events.json.events as { id: string; deliveries: { organisation: string; status: string }[] }[];
    assert.deepEqual(list.map((e) => e.id).sort(), [...jobsOf.A].sort());
    const delivered = list.find((e) => e.deliveries.length > 0)!;
    // research keeps nothing (retentionDays 0): its deletion is overdue until confirmed; clinical-ai's is not due.
    const overdue = Object.fromEntries(
      (delivered.deliveries as unknown as { organisation: string; deletionOverdue: boolean }[]).map((d) => [
        d.organisation,
        d.deletionOverdue,
      ]),
    );
    assert.deepEqual(overdue, { 'Clinical AI Ltd': false, 'Research Institute': true });
    assert.deepEqual(delivered.deliveries.map((d) => [d.organisation, d.status]).sort(), [
      ['Clinical AI Ltd', 'sent'],
      ['Research Institute', 'sent'],
    ]);
    assert.ok(!events.body.toString().includes(PATIENT_A.id), 'no patient id in the response');
    const page = await call('GET', '/portal', { cookie: a.cookie });
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /Research Institute/);
    assert.match(String(page.headers.get('content-security-policy')), /default-src 'none'/);
  });

  test("another patient's event, study and download answer 404, as an unknown id does", async () => {
    const a = await signIn(await invite(PATIENT_A.id));
    const bJob = (await server.store.getJob(jobsOf.B[0]!))!;
    const own = await call('GET', `/portal/api/events/${jobsOf.A[0]}`, { cookie: a.cookie });
    assert.equal(own.status, 200);
    const other = await call('GET', `/portal/api/events/${bJob.id}`, { cookie: a.cookie });
    const unknown = await call('GET', '/portal/api/events/00000000000000000000000000', { cookie: a.cookie });
    assert.equal(other.status, 404);
    assert.deepEqual(other.json, unknown.json);
    assert.deepEqual(other.json, { error: 'NOT_FOUND' });
    assert.equal((await call('GET', `/portal/events/${bJob.id}`, { cookie: a.cookie })).status, 404);
    const dl = await call('GET', `/portal/api/studies/${bJob.studyKey}/download`, { cookie: a.cookie });
    assert.equal(dl.status, 404);
    assert.deepEqual(dl.json, { error: 'NOT_FOUND' });
    // Without a session nothing is served.
    assert.equal((await call('GET', '/portal/api/events')).status, 401);
    assert.equal((await call('GET', `/portal/api/events/${jobsOf.A[0]}`)).status, 401);
  });

  test('the own study downloads as report + originals held; after delivery the report says they are not held', async () => {
    const a = await signIn(await invite(PATIENT_A.id));
    const aJob = (await server.store.getJob(jobsOf.A[0]!))!;
    const dl = await call('GET', `/portal/api/studies/${aJob.studyKey}/download`, { cookie: a.cookie });
    assert.equal(dl.status, 200);
    assert.equal(dl.headers.get('content-type'), 'application/zip');
    assert.equal(dl.body.readUInt32LE(0), 0x04034b50);
    const names = zipNames(dl.body);
    assert.equal(names[0], 'report.html');
    assert.equal(names.filter((n) => n.startsWith('images/')).length, 1, 'the held one only');
    const original = readFileSync(join(corpusDir, PATIENT_A.files[1]!));
    assert.ok(dl.body.indexOf(original) > 0, 'the held original, byte for byte');
    const delivered = readFileSync(join(corpusDir, PATIENT_A.files[0]!));
    assert.equal(dl.body.indexOf(delivered.subarray(0, 4096)), -1, 'the delivered one is gone from the spool');
    const report = zipText(dl.body, 'report.html');
    assert.match(report, /Image 1 of 2/);
    assert.match(report, /Clinical AI Ltd/);
    assert.match(report, /Veil no longer holds the original of this image/);
    assert.ok(!report.includes(PATIENT_A.id), 'no patient id in the report');
    const b = await signIn(await invite(PATIENT_B.id));
    const bJob = (await server.store.getJob(jobsOf.B[0]!))!;
    const gone = await call('GET', `/portal/api/studies/${bJob.studyKey}/download`, { cookie: b.cookie });
    assert.equal(gone.status, 200);
    assert.deepEqual(zipNames(gone.body), ['report.html']);
    assert.match(zipText(gone.body, 'report.html'), /no longer holds the original/);
    const ev = await call('GET', `/portal/api/events/${bJob.id}`, { cookie: b.cookie });
    assert.equal(ev.json.originalsAvailable, false);
    assert.match(String(ev.json.originalsNote), /imaging department/);
    const audit = await gov.listAudit({ event: 'portal.download' });
    assert.deepEqual(
      audit.map((e) => [e.actor, e.detail.files, e.detail.report]),
      [
        ['portal:patient', 1, true],
        ['portal:patient', 0, true],
      ],
    );
  });

  test('CSRF: a consent change needs the token and a same-origin Origin', async () => {
    const b = await signIn(await invite(PATIENT_B.id));
    const put = (o: { csrf?: string; origin?: string }) =>
      call('PUT', '/portal/api/consent/research', { cookie: b.cookie, body: { optOut: true }, ...o });
    assert.deepEqual((await put({})).json, { error: 'CSRF_TOKEN' });
    assert.deepEqual((await put({ csrf: 'x'.repeat(43) })).json, { error: 'CSRF_TOKEN' });
    assert.deepEqual((await put({ csrf: b.csrf, origin: 'http://evil.example' })).json, { error: 'CSRF_ORIGIN' });
    const form = await call('POST', '/portal/consent', {
      cookie: b.cookie,
      origin: base,
      form: { purpose: 'research', choice: 'no' },
    });
    assert.equal(form.status, 403);
    assert.deepEqual(await gov.listConsent(patientKey(key, PATIENT_B.id, PATIENT_B.issuer)), [], 'nothing changed');
    const ok = await put({ csrf: b.csrf, origin: base });
    assert.equal(ok.status, 200);
    const research = (ok.json.purposes as { purpose: string; choice: string; shared: boolean }[]).find(
      (p) => p.purpose === 'research',
    )!;
    assert.deepEqual([research.choice, research.shared], ['opt-out', false]);
    const care = await call('PUT', '/portal/api/consent/clinical-ai', {
      cookie: b.cookie,
      body: { optOut: true },
      csrf: b.csrf,
    });
    assert.deepEqual(care.json, { error: 'CONSENT_OPT_OUT_NOT_ALLOWED' });
    const [changed] = await gov.listAudit({ event: 'consent.changed', desc: true, limit: 1 });
    assert.equal(changed!.actor, 'portal:patient');
    assert.equal(changed!.detail.via, 'portal');
  });

  test('session fixation: a cookie planted before sign-in is replaced and never honoured', async () => {
    const planted = 'veil_portal=attacker-chosen-session-id-0000000000000000000';
    const a = await signIn(await invite(PATIENT_A.id), planted);
    assert.notEqual(a.cookie, planted);
    assert.equal((await call('GET', '/portal/api/events', { cookie: planted })).status, 401);
    // A second sign-in gets yet another id; signing out ends the session.
    const again = await signIn(await invite(PATIENT_A.id), a.cookie);
    assert.notEqual(again.cookie, a.cookie);
    assert.equal((await call('GET', '/portal/api/events', { cookie: a.cookie })).status, 401);
    const out = await call('DELETE', '/portal/api/session', { cookie: again.cookie, csrf: again.csrf });
    assert.equal(out.status, 200);
    assert.equal((await call('GET', '/portal/api/events', { cookie: again.cookie })).status, 401);
  });

  test('console: roles and CSRF; the vendor API takes only its own token', async () => {
    await gov.putAccount(
      { name: 'po', role: 'privacy-officer', passwordHash: await hashPassword('po-pass-123') },
      'test',
      Date.now(),
    );
    const bad = await call('POST', '/console/login', { origin: base, form: { username: 'po', password: 'nope' } });
    assert.equal(bad.status, 401);
    const noOrigin = await call('POST', '/console/login', { form: { username: 'po', password: 'po-pass-123' } });
    assert.equal(noOrigin.status, 403, 'a login form posted from elsewhere is refused');
    const login = await call('POST', '/console/login', {
      origin: base,
      form: { username: 'po', password: 'po-pass-123' },
    });
    assert.equal(login.status, 303);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const home = await call('GET', '/console', { cookie });
    assert.equal(home.status, 200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(home.body.toString())![1]!;
    const heldJob = (await server.store.listQuarantine({ states: ['held'] }))[0]!.jobId;
    const release = (form: Record<string, string>) =>
      call('POST', `/console/quarantine/${heldJob}/release`, { cookie, origin: base, form });
    assert.equal((await release({ reason: 'false-positive' })).status, 403, 'no CSRF token');
    const finding = 'SOP_CLASS_NOT_ALLOWED@(0008,0016)';
    assert.equal(
      (await release({ reason: 'false-positive', csrf, finding })).status,
      403,
      'a privacy officer does not release',
    );
    assert.equal((await server.store.getJob(heldJob))!.state, 'quarantined');
    const events = await gov.listAudit({ event: 'console.login' });
    assert.equal(events.at(-1)!.actor, 'console:po');
    assert.equal((await gov.listAudit({ event: 'console.login_failed' })).length, 1);

    await gov.putVendorToken(vendorTokenHash('research-vendor-token-0123456789abcdef'), 'research', 'test', Date.now());
    const vendor = (token: string, body: unknown) =>
      fetch(`${base}/api/vendor/deletions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal(
      (await vendor('wrong-token-0123456789abcdefghij', { releasedBefore: new Date().toISOString() })).status,
      401,
    );
    const r = await vendor('research-vendor-token-0123456789abcdef', { releasedBefore: new Date().toISOString() });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { destination: 'research', confirmed: 2 });
    const [conf] = await gov.listAudit({ event: 'deletion.confirmed', desc: true, limit: 1 });
    assert.equal(conf!.actor, 'vendor:research');
  });

  test('the consent API for other systems needs the admin bearer token; the ID travels only in the body', async () => {
    const run = JSON.parse(readFileSync(join(dir, 'spool', 'run', 'all.json'), 'utf8')) as { token: string };
    const api = (method: string, path: string, body: unknown, token?: string) =>
      fetch(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
    const change = { patientId: 'API-PATIENT-1', purpose: 'education', choice: 'opt-out' };
    assert.equal((await api('PUT', '/admin/consent', change)).status, 401);
    assert.equal((await api('PUT', '/admin/consent', change, 'not-the-token')).status, 403);
    const ok = await api('PUT', '/admin/consent', change, run.token);
    assert.equal(ok.status, 200);
    const education = ((await ok.json()) as { purposes: { purpose: string; choice: string }[] }).purposes.find(
      (p) => p.purpose === 'education',
    );
    assert.equal(education?.choice, 'opt-out');
    const q = await api('POST', '/admin/consent/query', { patientId: 'API-PATIENT-1' }, run.token);
    assert.equal(q.status, 200);
    assert.equal((await gov.listConsent(patientKey(key, 'API-PATIENT-1')))[0]?.purpose, 'education');
    const [audited] = await gov.listAudit({ event: 'consent.changed', desc: true, limit: 1 });
    assert.deepEqual([audited!.actor, audited!.detail.via], ['api:admin', 'api']);
  });

  test('brute force: after 10 wrong codes even a valid one is refused (429) for a while', async () => {
    const valid = await invite(PATIENT_B.id);
    // The earlier tests' failures count too (one reused code): at most 10 failures per client in 15 minutes.
    let failures = 0;
    for (;;) {
      const r = await call('POST', '/portal/api/session', { body: { code: newPortalCode() } });
      if (r.status === 429) break;
      assert.equal(r.status, 401);
      failures++;
      assert.ok(failures <= 10, 'cut off after 10 failures');
    }
    assert.ok(failures >= 9);
    const blocked = await call('POST', '/portal/api/session', { body: { code: valid } });
    assert.equal(blocked.status, 429);
    assert.deepEqual(blocked.json, { error: 'PORTAL_RATE_LIMITED' });
  });
});

describe('patient portal: originals kept after delivery (portal.keepOriginalsDays)', () => {
  const dir = ensureDir(join(root, 'kept'));
  const inbox = ensureDir(join(dir, 'inbox'));
  const { path: keyPath, key } = keyFile(dir);
  let server: ServerHandle;
  let gov: SqliteGovernanceStore;
  let base: string;

  before(async () => {
    const configPath = governanceConfig(dir, keyPath, { portal: { enabled: true, keepOriginalsDays: 30 } });
    server = await startServer({
      config: loadServerConfig(configPath),
      key,
      role: 'all',
      obs: createObservability({ level: 'warn', role: 'all' }),
    });
    base = `http://127.0.0.1:${server.http!.port}`;
    gov = new SqliteGovernanceStore(join(dir, 'veil.db'));
    await gov.init();
    put(inbox, PATIENT_A.files[0]!, 'a1.dcm');
    put(inbox, PATIENT_B.files[0]!, 'b1.dcm');
    await waitFor('two done', async () => ((await server.store.countJobs()).done === 2 ? true : undefined));
  });
  after(async () => {
    await gov?.close();
    await server?.close();
  });

  const session = async (p: { id: string; issuer: string }): Promise<string> => {
    const code = newPortalCode();
    await gov.createInvite(portalCodeHash(code), patientKey(key, p.id, p.issuer), Date.now() + 60_000, 't', Date.now());
    const r = await fetch(`${base}/portal/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    assert.equal(r.status, 200);
    return (r.headers.get('set-cookie') ?? '').split(';')[0]!;
  };

  test("a delivered study's original downloads from the sealed copy; another patient's answers 404", async () => {
    const [aJob] = (await server.store.listJobs()).filter(
      (j) => j.stepState.patientKey === patientKey(key, PATIENT_A.id, PATIENT_A.issuer),
    );
    assert.ok(aJob);
    const original = readFileSync(join(corpusDir, PATIENT_A.files[0]!));
    // Delivered: gone from the spool's incoming folder, sealed in the patient-copy store (nothing in clear there).
    // The seal is written before its pending original is removed: wait for both (under load they can be seen apart).
    await waitFor('the copy sealed', async () =>
      readdirSync(join(dir, 'spool/patient-copies')).includes(`${aJob.id}.vpc`) &&
      readdirSync(join(dir, 'spool/patient-copies/pending')).length === 0
        ? true
        : undefined,
    );
    const sealed = readFileSync(join(dir, 'spool/patient-copies', `${aJob.id}.vpc`));
    assert.equal(sealed.indexOf(original.subarray(132, 132 + 256)), -1, 'sealed, not in clear');

    const a = await session(PATIENT_A);
    const dl = await fetch(`${base}/portal/api/studies/${aJob.studyKey}/download`, { headers: { cookie: a } });
    assert.equal(dl.status, 200);
    const body = Buffer.from(await dl.arrayBuffer());
    assert.deepEqual(zipNames(body), ['report.html', `images/${aJob.id}.dcm`]);
    assert.ok(body.indexOf(original) > 0, 'the original, byte for byte, after delivery');
    assert.match(zipText(body, 'report.html'), /In this download: <code>images\//);
    const ev = (await (await fetch(`${base}/portal/api/events/${aJob.id}`, { headers: { cookie: a } })).json()) as {
      originalsAvailable: boolean;
      originalsKeptUntil: string;
    };
    assert.equal(ev.originalsAvailable, true);
    const days = (Date.parse(ev.originalsKeptUntil) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `kept ${days} days`);

    // Direct object reference: patient B asking for A's study (its id is not secret) gets what an unknown id gets.
    const b = await session(PATIENT_B);
    const other = await fetch(`${base}/portal/api/studies/${aJob.studyKey}/download`, { headers: { cookie: b } });
    assert.equal(other.status, 404);
    assert.deepEqual(await other.json(), { error: 'NOT_FOUND' });
    const unknown = await fetch(`${base}/portal/api/studies/1.2.3/download`, { headers: { cookie: b } });
    assert.equal(unknown.status, 404);
    const sheet = (await (await fetch(`${base}/privacy.json`)).json()) as { originalsKeptDays: number };
    assert.equal(sheet.originalsKeptDays, 30);
  });

  test('an expired or moved copy is never served; the sweep deletes expired copies', async () => {
    const root2 = ensureDir(join(dir, 'copies-unit'));
    let now = Date.now();
    const copies = new PatientCopies({ root: root2, key, keepDays: 1, clock: () => now });
    const src = join(root2, 'src.dcm');
    writeFileSync(src, 'DICM original bytes');
    const id = '0123456789abcdefghjkmnpqrs';
    copies.keep(id, src);
    await copies.settle();
    assert.equal(Buffer.from(copies.read(id)!).toString(), 'DICM original bytes');
    // Renamed to another job: the job id is in the associated data, so it does not open.
    const other = 'srqpnmkjhgfedcba9876543210';
    copyFileSync(join(root2, `${id}.vpc`), join(root2, `${other}.vpc`));
    assert.equal(copies.read(other), undefined);
    now += 86_400_000 + 1;
    assert.equal(copies.read(id), undefined, 'expired');
    assert.equal(copies.holds(id), false);
    assert.equal(copies.sweep(), 2);
    assert.deepEqual(
      readdirSync(root2).filter((f) => f.endsWith('.vpc')),
      [],
    );

    // A crash between the move and the seal: the sweep seals the pending file once it is surely abandoned, and
    // removes an interrupted seal's temporary.
    const crashed = 'abcdefghjkmnpqrs0123456789';
    mkdirSync(join(root2, 'pending'), { recursive: true });
    writeFileSync(join(root2, 'pending', `${crashed}.dcm`), 'DICM left pending');
    writeFileSync(join(root2, `.${crashed}.vpc.tmp`), 'partial');
    const later = new PatientCopies({ root: root2, key, keepDays: 1, clock: () => Date.now() });
    later.sweep();
    await later.settle();
    assert.equal(later.read(crashed), undefined, 'not touched while it may be another process at work');
    const much = new PatientCopies({ root: root2, key, keepDays: 1, clock: () => Date.now() + 11 * 60_000 });
    much.sweep();
    await much.settle();
    assert.equal(Buffer.from(much.read(crashed)!).toString(), 'DICM left pending');
    assert.deepEqual(readdirSync(join(root2, 'pending')), []);
    assert.ok(!readdirSync(root2).some((f) => f.endsWith('.tmp')));
  });
});

/** The entry names of a stored (uncompressed) zip, from its local headers. */
function zipNames(zip: Buffer): string[] {
  const names: string[] = [];
  for (let at = 0; zip.readUInt32LE(at) === 0x04034b50; ) {
    const size = zip.readUInt32LE(at + 18);
    const nameLen = zip.readUInt16LE(at + 26);
    const extra = zip.readUInt16LE(at + 28);
    names.push(zip.toString('utf8', at + 30, at + 30 + nameLen));
    at += 30 + nameLen + extra + size;
  }
  return names;
}

function zipText(zip: Buffer, name: string): string {
  for (let at = 0; zip.readUInt32LE(at) === 0x04034b50; ) {
    const size = zip.readUInt32LE(at + 18);
    const nameLen = zip.readUInt16LE(at + 26);
    const extra = zip.readUInt16LE(at + 28);
    const start = at + 30 + nameLen + extra;
    if (zip.toString('utf8', at + 30, at + 30 + nameLen) === name) return zip.toString('utf8', start, start + size);
    at = start + size;
  }
  throw new Error(`${name} not in the zip`);
}
