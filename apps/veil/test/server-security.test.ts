/**
 * Authentication, TLS and limits on every listener of a running `veil serve` (embedded server, loopback only):
 *  - DIMSE: unlisted calling AE and wrong called AE refused with the standard's A-ASSOCIATE-RJ; user identity
 *    (username + passcode) required; DICOM TLS with client certificates (a certificate from another CA, or none,
 *    fails the handshake); 100 trickling connections from one peer (127.0.0.2) do not lock DIMSE out: a legitimate
 *    C-ECHO (dcmtk echoscu when installed, else Veil's client) from 127.0.0.1 succeeds meanwhile, and the tricklers
 *    are refused (connection/association limits) or cut (pre-data and per-PDU deadlines, association lifetime).
 *  - STOW-RS over HTTPS: no token 401, wrong token 403, a good token or a verified client certificate 200, a client
 *    certificate from another CA does not count; Host header not allowed 421; an instance over the limit 413.
 *  - the HTTP admin port: /metrics and /status need a token, /health does not, /admin/recover needs one (the run
 *    file's); Host check.
 *  - the spool quota: STOW-RS 507 and C-STORE 0xA700, nothing spooled.
 * Throwaway certificates are made with openssl in a temp folder. No response body names anything but a code.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DimseClient, describePart10, isDimseError } from '@veil/dimse';
import type { OutgoingInstance } from '@veil/pipeline';
import { openFileSource } from '../src/io/file-source.ts';
import { exposureWarnings, generateToken, hashToken } from '../src/server/auth.ts';
import { DimseDestination } from '../src/server/destinations/dimse.ts';
import { refusals } from '../src/server/metrics.ts';
import { runFilePath, type ServerHandle } from '../src/server/server.ts';
import { associateRq, echo, hasOpenssl, makeCerts } from './security-support.ts';
import { bin, corpusDir, metric, repoRoot, sleep, startServerIn, waitFor } from './server-support.ts';

const execFileAsync = promisify(execFile);

const hasEchoscu = spawnSync('echoscu', ['--version'], { stdio: 'ignore' }).status === 0;
const CT = readFileSync(join(repoRoot, 'samples/CT_small.dcm'));
const MR = readFileSync(join(repoRoot, 'samples/MR_small.dcm'));

interface Reply {
  status: number;
  body: string;
}

/** One HTTP(S) request to 127.0.0.1 with full control over Host, credentials and client certificate. */
function call(
  port: number,
  o: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: Uint8Array;
    tls?: { ca: string; cert?: string; key?: string };
  },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port,
      method: o.method ?? 'GET',
      path: o.path,
      headers: { host: `127.0.0.1:${port}`, ...o.headers },
      timeout: 10_000,
    };
    const done = (res: import('node:http').IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const req = o.tls
      ? httpsRequest({ ...options, ca: o.tls.ca, cert: o.tls.cert, key: o.tls.key, servername: 'localhost' }, done)
      : httpRequest(options, done);
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(o.body);
  });
}

function multipart(files: readonly Uint8Array[]): { body: Uint8Array; type: string } {
  const boundary = 'veil-security-test-boundary';
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
      Buffer.from(f),
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

/** The rejection (result, source, reason) of an association attempt; fails if it was accepted. */
async function rejection(p: Promise<number>): Promise<{ result: number; source: number; reason: number }> {
  try {
    await p;
  } catch (e) {
    assert.ok(isDimseError(e), String(e));
    assert.equal(e.code, 'DIMSE_ASSOCIATION_REJECTED', e.code);
    return { result: e.result ?? -1, source: e.source ?? -1, reason: e.reason ?? -1 };
  }
  assert.fail('the association was accepted');
}

describe('veil serve: authentication, TLS and limits', { skip: !hasOpenssl && 'openssl is not installed' }, () => {
  const root = mkdtempSync(join(tmpdir(), 'veil-server-security-'));
  const token = generateToken();
  const adminToken = generateToken();
  let pem: Record<string, string>;
  let server: ServerHandle;
  let ports: Record<string, number>;

  before(async () => {
    pem = makeCerts(root);
    const tls = { cert: './server.crt', key: './server.key' };
    server = await startServerIn(root, {
      ingress: [
        {
          name: 'modalities',
          kind: 'dimse',
          aeTitle: 'VEIL',
          port: 0,
          callingAeTitles: ['GOODAE', 'TRICKLE'],
          // Totals below what the tricklers attempt: only the per-peer limits keep room for others.
          limits: {
            maxAssociations: 20,
            maxConnections: 40,
            maxAssociationsPerPeer: 4,
            maxConnectionsPerPeer: 8,
            associateSeconds: 1,
            idleSeconds: 30,
            pduSeconds: 1,
            maxAssociationSeconds: 3,
          },
        },
        {
          name: 'identified',
          kind: 'dimse',
          aeTitle: 'VEIL',
          port: 0,
          userIdentity: { users: [{ username: 'modality', passcode: hashToken('s3cret', 'scrypt') }] },
        },
        { name: 'secure', kind: 'dimse', aeTitle: 'VEIL', port: 0, tls: { ...tls, clientCa: './ca.crt' } },
        {
          name: 'web',
          kind: 'stow',
          port: 0,
          tls: { ...tls, clientCa: './ca.crt' },
          auth: { tokens: [hashToken(token)], mtls: true },
          limits: { maxInstanceBytes: 20_000 },
        },
      ],
      sweepSeconds: 0.5,
      http: { port: 0, auth: { tokens: [hashToken(adminToken)] } },
      log: { level: 'silent' },
    });
    ports = server.ingressPorts;
  });
  after(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('DIMSE: unlisted calling AE and unknown called AE refused (A-ASSOCIATE-RJ, permanent, service-user)', async () => {
    assert.equal(await echo(ports.modalities!), 0);
    assert.deepEqual(await rejection(echo(ports.modalities!, { calling: 'INTRUDER' })), {
      result: 1,
      source: 1,
      reason: 3, // calling-AE-title-not-recognized
    });
    assert.deepEqual(await rejection(echo(ports.modalities!, { called: 'OTHER' })), {
      result: 1,
      source: 1,
      reason: 7, // called-AE-title-not-recognized
    });
  });

  test('DIMSE: user identity (username + passcode) required, checked, answered', async () => {
    const refused = { result: 1, source: 1, reason: 1 }; // rejected-permanent, service-user, no-reason-given
    assert.deepEqual(await rejection(echo(ports.identified!)), refused);
    assert.deepEqual(await rejection(echo(ports.identified!, { user: ['modality', 'wrong'] })), refused);
    assert.deepEqual(await rejection(echo(ports.identified!, { user: ['someone', 's3cret'] })), refused);
    assert.equal(await echo(ports.identified!, { user: ['modality', 's3cret'] }), 0);
  });

  test('DIMSE user identity from Veil: veil send --username, and a dicom:// destination with userIdentity', async () => {
    const file = join(corpusDir, 'pydicom-test-files', 'test_files', 'CT_small.dcm');
    const send = (env: NodeJS.ProcessEnv, extra: string[]) =>
      execFileAsync(
        process.execPath,
        [bin, 'send', file, '--to', `VEIL@127.0.0.1:${ports.identified}`, '--aet', 'GOODAE', ...extra],
        { env: { ...process.env, ...env } },
      ).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({
          code: e.code ?? -1,
          out: `${e.stdout ?? ''}${e.stderr ?? ''}`,
        }),
      );
    const good = await send({ VEIL_TEST_PASSCODE: 's3cret' }, [
      '--username',
      'modality',
      '--passcode-env',
      'VEIL_TEST_PASSCODE',
    ]);
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, /1 sent, 0 failed/);
    const wrong = await send({ VEIL_TEST_PASSCODE: 'guess' }, [
      '--username',
      'modality',
      '--passcode-env',
      'VEIL_TEST_PASSCODE',
    ]);
    assert.equal(wrong.code, 1, wrong.out);
    assert.doesNotMatch(wrong.out, /guess/, 'the passcode is never printed');
    assert.equal((await send({}, [])).code, 1, 'no identity: refused');

    const passFile = join(root, 'pacs.passcode');
    writeFileSync(passFile, 's3cret\n', { mode: 0o600 });
    const base = {
      name: 'pacs',
      kind: 'dimse' as const,
      url: `dicom://VEIL@127.0.0.1:${ports.identified}`,
      callingAeTitle: 'GOODAE',
      retryStatuses: ['A7xx'],
      timeoutSeconds: 5,
      idleSeconds: 0,
      maxInstancesPerAssociation: 10,
    };
    const src = openFileSource(file);
    const info = describePart10(src);
    src.close();
    const item: OutgoingInstance = {
      jobId: 'user-identity',
      path: file,
      size: readFileSync(file).length,
      sopInstanceUid: info.sopInstanceUid,
      sopClassUid: info.sopClassUid,
      transferSyntaxUid: info.transferSyntaxUid,
      studyKey: null,
      hierarchy: 'p/s/r',
    };
    const dest = new DimseDestination({ ...base, userIdentity: { username: 'modality', passcodeFile: passFile } });
    try {
      const receipt = await dest.send(item);
      assert.equal((receipt.acknowledged as { status: string }).status, '0x0000');
    } finally {
      await dest.close();
    }
    const refused = new DimseDestination({
      ...base,
      userIdentity: { username: 'modality', passcodeEnv: 'VEIL_UNSET_PASSCODE' },
    });
    await assert.rejects(refused.send(item), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'DEST_PASSCODE_MISSING');
      return true;
    });
    await refused.close();
  });

  test('DIMSE over TLS: a client certificate of the configured CA is needed', async () => {
    const ca = pem['ca.crt']!;
    assert.equal(await echo(ports.secure!, { tls: { ca, cert: pem['client.crt']!, key: pem['client.key']! } }), 0);
    for (const tls of [{ ca }, { ca, cert: pem['intruder.crt']!, key: pem['intruder.key']! }]) {
      await assert.rejects(echo(ports.secure!, { tls }), (e: unknown) => isDimseError(e));
    }
    // Plain DICOM on the TLS port: no association.
    await assert.rejects(echo(ports.secure!), (e: unknown) => isDimseError(e));
  });

  test('DIMSE: 100 trickling connections from one peer do not lock out a legitimate echo', async () => {
    const port = ports.modalities!;
    const sockets: Socket[] = [];
    const closedAt: number[] = [];
    const started = Date.now();
    const rq = associateRq('TRICKLE');
    const timers: NodeJS.Timeout[] = [];
    for (let i = 0; i < 100; i++) {
      const s = netConnect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
      s.on('error', () => {});
      s.on('data', () => {});
      s.on('close', () => closedAt.push(Date.now() - started));
      sockets.push(s);
      if (i % 2 === 0) {
        // Slowloris before the association: the A-ASSOCIATE-RQ one byte every 100 ms.
        let off = 0;
        timers.push(
          setInterval(() => {
            if (off < rq.length && !s.destroyed) s.write(rq.subarray(off, ++off));
          }, 100),
        );
      } else {
        // A whole A-ASSOCIATE-RQ, then (once associated) a P-DATA-TF announcing 64 KiB, trickled.
        s.write(rq);
        s.once('data', () => {
          const header = Buffer.from([0x04, 0, 0, 1, 0, 0]);
          s.write(header);
          timers.push(
            setInterval(() => {
              if (!s.destroyed) s.write(Buffer.from([0]));
            }, 100),
          );
        });
      }
    }
    try {
      await sleep(300);
      // The legitimate peer, from another address, while all of that goes on.
      if (hasEchoscu) {
        // Asynchronously: the server runs in this process.
        const r = await execFileAsync(
          'echoscu',
          ['-aet', 'GOODAE', '-aec', 'VEIL', '-to', '5', '127.0.0.1', String(port)],
          { timeout: 15_000 },
        ).then(
          () => 0,
          (e: { code?: unknown; stderr?: string }) => `${String(e.code)} ${e.stderr ?? ''}`,
        );
        assert.equal(r, 0, 'echoscu');
      }
      assert.equal(await echo(port), 0);
      // Every trickler is gone within the deadlines (pre-data 1 s, per-PDU 1 s, lifetime 3 s; generous margins for a
      // loaded machine), long before the idle timeout (30 s) that each trickled byte resets.
      await waitFor('every trickling connection closed', () => closedAt.length === 100, 15_000);
      assert.ok(Math.max(...closedAt) < 12_000, `last trickler closed after ${Math.max(...closedAt)} ms`);
      // Over the per-peer limit (8 connections from 127.0.0.2), connections were closed at once: the server's count.
      const refused = refusals(server.obs.metrics).get({ listener: 'modalities', code: 'PEER_CONNECTION_LIMIT' });
      assert.ok(refused >= 80, `${refused} connections refused over the per-peer limit`);
    } finally {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
    }
    assert.equal(await echo(port), 0);
  });

  test('STOW-RS over HTTPS: token or verified client certificate, else 401/403; Host check 421', async () => {
    const port = ports.web!;
    const ca = pem['ca.crt']!;
    const { body, type } = multipart([MR]);
    const post = (headers: Record<string, string>, tls: { ca: string; cert?: string; key?: string } = { ca }) =>
      call(port, {
        method: 'POST',
        path: '/dicom-web/studies',
        headers: { 'content-type': type, ...headers },
        body,
        tls,
      });
    const none = await post({});
    assert.equal(none.status, 401);
    assert.deepEqual(JSON.parse(none.body), { error: 'AUTH_REQUIRED' });
    const wrong = await post({ authorization: `Bearer ${generateToken()}` });
    assert.equal(wrong.status, 403);
    assert.deepEqual(JSON.parse(wrong.body), { error: 'AUTH_INVALID_TOKEN' });
    assert.equal((await post({ authorization: `Bearer ${token}` })).status, 200);
    assert.equal((await post({}, { ca, cert: pem['client.crt']!, key: pem['client.key']! })).status, 200);
    const rogue = await post({}, { ca, cert: pem['intruder.crt']!, key: pem['intruder.key']! });
    assert.equal(rogue.status, 401, 'a certificate from another CA is no credential');
    const rebound = await post({ authorization: `Bearer ${token}`, host: 'attacker.example:8080' });
    assert.equal(rebound.status, 421);
    assert.deepEqual(JSON.parse(rebound.body), { error: 'HOST_NOT_ALLOWED' });
    // Plain HTTP on the HTTPS port gets nowhere.
    await assert.rejects(call(port, { method: 'POST', path: '/dicom-web/studies', body }));
  });

  test('STOW-RS: an instance over limits.maxInstanceBytes is refused with 413', async () => {
    const { body, type } = multipart([CT]);
    const r = await call(ports.web!, {
      method: 'POST',
      path: '/dicom-web/studies',
      headers: { 'content-type': type, authorization: `Bearer ${token}` },
      body,
      tls: { ca: pem['ca.crt']! },
    });
    assert.equal(r.status, 413);
    // The PS3.18 response names the failed instance (the sender's own UIDs) with Failure Reason 0xA700.
    const failed = (JSON.parse(r.body) as Record<string, { Value: Record<string, { Value: number[] }>[] }>)['00081198'];
    assert.equal(failed?.Value[0]?.['00081197']?.Value[0], 0xa700);
  });

  test('HTTP port: /metrics and /status need the token, /health does not, /admin needs one; Host check', async () => {
    const port = server.http!.port;
    assert.equal((await call(port, { path: '/health' })).status, 200);
    assert.equal((await call(port, { path: '/metrics' })).status, 401);
    assert.equal((await call(port, { path: '/status', headers: { authorization: 'Bearer nope' } })).status, 403);
    const auth = { authorization: `Bearer ${adminToken}` };
    const metrics = await call(port, { path: '/metrics', headers: auth });
    assert.equal(metrics.status, 200);
    // The refusals of the tests before this one, by listener and code.
    for (const sample of [
      'veil_refused_total{listener="web",code="AUTH_REQUIRED"}',
      'veil_refused_total{listener="web",code="AUTH_INVALID_TOKEN"}',
      'veil_refused_total{listener="web",code="HOST_NOT_ALLOWED"}',
      'veil_refused_total{listener="modalities",code="REJECTED_CALLING_AE_TITLE"}',
      'veil_refused_total{listener="modalities",code="PEER_CONNECTION_LIMIT"}',
      'veil_refused_total{listener="modalities",code="TIMEOUT_PDU"}',
      'veil_refused_total{listener="http",code="AUTH_REQUIRED"}',
    ]) {
      assert.ok((metric(metrics.body, sample) ?? 0) >= 1, sample);
    }
    assert.equal((await call(port, { path: '/metrics', headers: { ...auth, host: 'evil.example' } })).status, 421);
    assert.equal((await call(port, { method: 'POST', path: '/admin/recover?job=x' })).status, 401);
    // The run file's per-run token (0600) is what `veil jobs --replay` uses.
    const run = JSON.parse(readFileSync(runFilePath(join(root, 'spool'), 'all'), 'utf8')) as { token: string };
    const r = await call(port, {
      method: 'POST',
      path: '/admin/recover?job=x',
      headers: { authorization: `Bearer ${run.token}` },
    });
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), { error: 'BAD_JOB_ID' });
  });
});

describe('veil serve: spool quota', () => {
  const root = mkdtempSync(join(tmpdir(), 'veil-server-quota-'));
  let server: ServerHandle;

  before(async () => {
    server = await startServerIn(root, {
      ingress: [
        { name: 'modalities', kind: 'dimse', aeTitle: 'VEIL', port: 0 },
        { name: 'web', kind: 'stow', port: 0 },
      ],
      // More free space than any disk has: every new instance is refused.
      spoolQuota: { minFreeBytes: 2 ** 52 },
      http: false,
      log: { level: 'silent' },
    });
  });
  after(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('STOW-RS answers 507 and C-STORE 0xA700; nothing is spooled', async () => {
    const { body, type } = multipart([MR]);
    const r = await call(server.ingressPorts.web!, {
      method: 'POST',
      path: '/dicom-web/studies',
      headers: { 'content-type': type },
      body,
    });
    assert.equal(r.status, 507);
    const info = describePart10(new Uint8Array(MR));
    const client = await DimseClient.connect({
      host: '127.0.0.1',
      port: server.ingressPorts.modalities!,
      callingAeTitle: 'SCU',
      calledAeTitle: 'VEIL',
      contexts: [{ abstractSyntax: info.sopClassUid, transferSyntaxes: [info.transferSyntaxUid] }],
    });
    try {
      const { status } = await client.store({ ...info, dataset: new Uint8Array(MR).subarray(info.datasetOffset) });
      assert.equal(status, 0xa700);
    } finally {
      await client.release();
    }
    const spooled = readdirSync(join(root, 'spool'), { recursive: true, withFileTypes: true }).filter(
      (e) => e.isFile() && e.name.endsWith('.dcm'),
    );
    assert.deepEqual(spooled, []);
    const jobs = await server.store.countJobs();
    assert.equal(
      Object.values(jobs).reduce((a, b) => a + b, 0),
      0,
      'no job was created',
    );
  });
});

test('start-up warning: a listener off loopback without TLS or authentication', () => {
  const w = exposureWarnings([
    { name: 'web', host: '0.0.0.0', tls: false, auth: false },
    { name: 'modalities', host: '10.1.2.3', tls: true, auth: false },
    { name: 'local', host: '127.0.0.1', tls: false, auth: false },
    { name: 'safe', host: '0.0.0.0', tls: true, auth: true },
  ]);
  assert.equal(w.length, 2);
  assert.match(w[0]!, /web binds 0\.0\.0\.0.*without TLS and authentication/);
  assert.match(w[1]!, /modalities .*without authentication/);
});
