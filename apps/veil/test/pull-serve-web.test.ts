/**
 * The gateway's pull job from a DICOMweb source (QIDO-RS + WADO-RS from `veil dicomweb-serve` over real files of
 * ../shared/data), in process through startServer: the request's refusals (no token, bad source, bad list, C-MOVE
 * without its AE title, unknown ingress), then a pull of two studies and a row that matches nothing, ending `done`
 * with the outputs of `veil deid` (same key and configuration) attribute by attribute, the row not found reported by
 * line, the pull listed, and its risk report served as the latest; then the destination's day batch reported on
 * demand (POST /api/risk/report) over the same instances, once. Run on SQLite and on PostgreSQL (127.0.0.1:5432,
 * VEIL_TEST_PG_URL; skipped when unreachable outside CI), a schema of its own dropped at the end.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { generateToken, hashToken } from '../src/server/auth.ts';
import { loadServerConfig } from '../src/server/config.ts';
import { createObservability } from '../src/server/observe.ts';
import { type ServerHandle, startServer } from '../src/server/server.ts';
import { assertSameOutputs, byUid, dcmFiles, freePorts, run, stageOriginals, WEB_PICKS } from './pull-support.ts';
import { bin, HEADER_ONLY_DEID, keyFile, PG_URL, postgresProblem, waitFor, writeConfig } from './server-support.ts';

const root = mkdtempSync(join(tmpdir(), 'veil-pull-serve-web-'));
const servers: ServerHandle[] = [];
const webs: ChildProcess[] = [];
const schemas: string[] = [];
const pgSkip = await postgresProblem();
if (pgSkip && process.env.CI) throw new Error(`${pgSkip}; CI=true: the service is required`);
after(async () => {
  for (const s of servers) await s.close();
  for (const w of webs) w.kill();
  if (schemas.length > 0) {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await c.end();
  }
  rmSync(root, { recursive: true, force: true });
});

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`POST /api/pulls from a DICOMweb server (${kind}): refusals, then two studies through the gateway, risk report`, {
    skip: kind === 'postgres' ? (pgSkip ?? false) : false,
  }, async () => {
    const tmp = join(root, kind);
    mkdirSync(tmp);
    const schema = `veil_pullweb_${process.pid}_${Date.now().toString(36)}`;
    if (kind === 'postgres') schemas.push(schema);
    const originals = join(tmp, 'originals');
    const uids = stageOriginals(WEB_PICKS, originals);
    const key = keyFile(tmp);
    const deidConfig = join(tmp, 'deid.json');
    writeFileSync(deidConfig, JSON.stringify(HEADER_ONLY_DEID));
    const d = await run(process.execPath, [
      bin,
      'deid',
      originals,
      '--out',
      join(tmp, 'expected'),
      '--key-file',
      key.path,
      '--config',
      deidConfig,
      '--no-progress',
    ]);
    assert.equal(d.code, 0, d.stderr);
    const expected = byUid(dcmFiles(join(tmp, 'expected')));
    assert.equal(uids.length, 2);

    const [webPort] = await freePorts(1);
    // The source asks for a bearer token: the gateway sends the one of server.pulls.dicomweb's token file.
    const sourceToken = generateToken();
    writeFileSync(join(tmp, 'pacs.token'), `${sourceToken}\n`, { mode: 0o600 });
    const web = spawn(
      process.execPath,
      [
        bin,
        'dicomweb-serve',
        '--dir',
        originals,
        '--port',
        String(webPort),
        '--quiet',
        '--token-hash',
        hashToken(sourceToken),
      ],
      {
        stdio: 'ignore',
      },
    );
    webs.push(web);
    const base = `http://127.0.0.1:${webPort}/dicom-web`;
    const authed = { headers: { authorization: `Bearer ${sourceToken}` } };
    await waitFor(
      'dicomweb-serve',
      async () => (await fetch(`${base}/studies`, authed).catch(() => undefined))?.ok,
      30_000,
    );
    assert.equal((await fetch(`${base}/studies`)).status, 401, 'the source refuses a request without its token');

    const config = writeConfig(tmp, {
      deid: HEADER_ONLY_DEID,
      spool: './spool',
      store: kind === 'postgres' ? { kind: 'postgres', url: PG_URL, schema } : { kind: 'sqlite', path: './veil.db' },
      key: { file: key.path },
      ingress: [{ name: 'inbox', kind: 'folder', path: './inbox', pollMs: 200, settleMs: 0 }],
      destinations: [{ name: 'out', kind: 'folder', path: './out' }],
      studies: { stableAfterSeconds: 0.5 },
      sweepSeconds: 0.2,
      http: { port: 0 },
      pulls: { dicomweb: [{ url: `http://127.0.0.1:${webPort}/`, tokenFile: './pacs.token' }] },
      log: { level: 'warn' },
    });
    mkdirSync(join(tmp, 'inbox'));
    const server = await startServer({
      config: loadServerConfig(config),
      key: key.key,
      role: 'all',
      obs: createObservability({ level: 'warn', role: 'all' }),
    });
    servers.push(server);
    const token = (JSON.parse(readFileSync(join(tmp, 'spool', 'run', 'all.json'), 'utf8')) as { token: string }).token;
    const api = async (method: string, path: string, body?: unknown, auth = true) => {
      const r = await fetch(`http://127.0.0.1:${server.http!.port}${path}`, {
        method,
        headers: {
          ...(auth ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const t = await r.text();
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(t) as Record<string, unknown>;
      } catch {}
      return { status: r.status, json, text: t };
    };

    const list = `StudyInstanceUID\n${uids.join('\n')}\n1.2.3.4.5.6.7.8.9.0.1\n`;
    assert.equal((await api('POST', '/api/pulls', { from: base, list }, false)).status, 401);
    assert.equal((await api('GET', '/api/risk/latest', undefined, false)).status, 401);
    const refused = async (body: unknown, code: string) => {
      const r = await api('POST', '/api/pulls', body);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, code);
    };
    await refused({ from: 'not a source', list }, 'PULL_BAD_SOURCE');
    await refused({ from: base }, 'PULL_NO_LIST');
    await refused({ from: base, list: 'Name\nx\n' }, 'PULL_LIST_NO_COLUMNS');
    await refused({ from: 'PACS@127.0.0.1:104', list }, 'PULL_MOVE_AE_REQUIRED');
    await refused({ from: base, list, ingress: 'nope' }, 'PULL_UNKNOWN_INGRESS');
    await refused({ from: base, list, k: 1 }, 'PULL_BAD_K');
    assert.equal((await api('GET', '/api/risk/latest')).status, 404);
    assert.deepEqual((await api('GET', '/api/pulls')).json.pulls, []);

    const created = await api('POST', '/api/pulls', { from: base, list, k: 2 });
    assert.equal(created.status, 202, created.text);
    const id = String(created.json.id);
    const final = await waitFor(
      'the pull done',
      async () => {
        const p = await api('GET', `/api/pulls/${id}`);
        return p.json.state === 'done' ? p.json : undefined;
      },
      120_000,
      200,
    );
    assert.deepEqual(final.notFoundLines, [4]);
    assert.deepEqual(final.failedLines, []);
    assert.equal(final.retrieved, expected.size);
    assert.equal(final.delivered, expected.size);
    assertSameOutputs(dcmFiles(join(tmp, 'out')), expected, 'DICOMweb pull through the gateway');
    const listed = (await api('GET', '/api/pulls')).json.pulls as { id: string; state: string }[];
    assert.deepEqual(
      listed.map((p) => [p.id, p.state]),
      [[id, 'done']],
    );
    const latest = await api('GET', '/api/risk/latest');
    assert.equal(latest.status, 200);
    assert.equal((latest.json.result as { records: number }).records, 2, 'one record per released study');
    const html = await api('GET', '/api/risk/latest.html');
    assert.match(html.text, /<svg/);
    assert.equal((await api('GET', '/api/pulls/0000000000000000000000000a')).status, 404);

    // The destination's day batch: reported on demand (else once the UTC day has ended), then served as the latest.
    const day = `day-${new Date().toISOString().slice(0, 10)}-out`;
    const reported = await api('POST', '/api/risk/report');
    assert.equal(reported.status, 200, reported.text);
    const batches = reported.json.reported as { batch: string; files: number; records: number; k: number }[];
    assert.deepEqual(
      batches.map((b) => [b.batch, b.files, b.records]),
      [[day, expected.size, 2]],
    );
    const dayReport = await api('GET', '/api/risk/latest');
    assert.equal((dayReport.json.result as { files: number }).files, expected.size);
    assert.deepEqual((await api('POST', '/api/risk/report')).json.reported, [], 'nothing new to report');
    const m = await (await fetch(`http://127.0.0.1:${server.http!.port}/metrics`)).text();
    assert.match(m, new RegExp(`veil_risk_batch_k\\{batch="${day}"\\} ${batches[0]!.k}`));
  });
}
