/**
 * Proof of Veil's DICOMweb server and client on loopback (free ports, temporary folders only):
 *  - STOW-RS of 23 varied files from the shared corpus into Veil's server, through Veil's client in two requests:
 *    every stored file is byte-identical to its original;
 *  - QIDO-RS finds them; WADO-RS returns a study and an instance byte for byte; 404 / 406 where due;
 *  - bad requests (wrong media type, no boundary, truncated multipart, non-DICOM part, wrong study, too large)
 *    get the status and Failure Reasons PS3.18 defines, and the server keeps serving after each;
 *  - the CLI end to end: `veil dicomweb-serve`, `veil stow`, `veil dicomweb-pull`, with no UID in their output.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findElement, readString, scanFile } from '@veil/core';
import {
  DicomwebClient,
  type DicomwebServer,
  decodeStowResponse,
  FailureReason,
  FolderStore,
  formatMediaType,
  httpRequest,
  newBoundary,
  retrieveToFolder,
  serveDicomweb,
  stowFileFromPath,
  writeMultipart,
} from '@veil/dicomweb';
import {
  corpusAvailable,
  corpusPaths,
  MR_STUDY_UID,
  repoRoot,
} from '../../../packages/dicomweb/test/support/corpus.ts';

const skip = corpusAvailable() ? false : 'shared test data not found';
const bin = join(repoRoot, 'apps/veil/bin/veil.mjs');
const tmpRoot = mkdtempSync(join(tmpdir(), 'veil-dicomweb-'));
after(() => rmSync(tmpRoot, { recursive: true, force: true }));

/** SOP Instance UID (from the data set) -> original bytes. */
function originals(): Map<string, Buffer> {
  const map = new Map<string, Buffer>();
  for (const p of corpusPaths()) {
    const bytes = readFileSync(p);
    const el = findElement(scanFile(bytes).dataset, 0x00080018)!;
    map.set(readString(el).replace(/[\0 ]+$/, ''), bytes);
  }
  return map;
}

async function raw(
  url: string,
  contentType: string | undefined,
  body: Uint8Array,
  headers: Record<string, string> = {},
) {
  const res = await httpRequest({
    method: 'POST',
    url,
    headers: {
      ...(contentType ? { 'content-type': contentType } : {}),
      'content-length': String(body.length),
      ...headers,
    },
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    warning: String(res.headers.warning ?? ''),
    connection: String(res.headers.connection ?? ''),
    response: decodeStowResponse(text ? JSON.parse(text) : {}),
  };
}

async function multipartBody(parts: Uint8Array[], boundary: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of writeMultipart(
    parts.map((body) => ({ contentType: 'application/dicom', body })),
    boundary,
  ))
    chunks.push(c);
  return Buffer.concat(chunks);
}

describe('Veil DICOMweb server and client (loopback)', { skip }, () => {
  let store: FolderStore;
  let server: DicomwebServer;
  let client: DicomwebClient;
  const byUid = skip ? new Map<string, Buffer>() : originals();

  before(async () => {
    store = await FolderStore.open(join(tmpRoot, 'store'));
    server = await serveDicomweb({ stow: store, store, root: '/dicom-web' });
    client = new DicomwebClient({ baseUrl: server.url });
  });
  after(async () => {
    await server?.close();
  });

  test('STOW-RS of 23 varied files: every stored file is byte-identical', async () => {
    const files = await Promise.all(corpusPaths().map((p, i) => stowFileFromPath(p, `f${i}`)));
    const started = performance.now();
    const result = await client.stow(files, { maxInstancesPerRequest: 12 });
    const ms = performance.now() - started;
    assert.deepEqual(
      result.requests.map((r) => r.httpStatus),
      [200, 200],
    );
    assert.equal(result.stored, files.length, JSON.stringify(result.outcomes.filter((o) => o.status === 'failed')));
    assert.equal(store.size, files.length);
    for (const [uid, bytes] of byUid) {
      const path = store.pathOf(uid);
      assert.ok(path, `instance ${uid} stored`);
      assert.ok(readFileSync(path).equals(bytes), `stored bytes of ${uid} identical`);
    }
    for (const o of result.outcomes)
      assert.match(o.retrieveUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies\//);
    assert.ok(ms < 30_000, `STOW took ${ms} ms`);
  });

  test('QIDO-RS finds the studies, series and instances', async () => {
    const studies = await client.searchStudies();
    const studyUids = new Set([...store.instances({})].map((r) => r.studyInstanceUid));
    assert.equal(studies.length, studyUids.size);
    const mr = await client.searchStudies({ StudyInstanceUID: MR_STUDY_UID });
    assert.equal(mr.length, 1);
    assert.deepEqual(mr[0]!['00201208']?.Value, [4]);
    assert.deepEqual(mr[0]!['00080061']?.Value, ['MR']);
    assert.equal((await client.searchSeries(MR_STUDY_UID)).length, 1);
    assert.equal((await client.searchInstances(MR_STUDY_UID)).length, 4);
    assert.equal((await client.searchInstances(undefined, undefined, { Modality: 'MR', limit: 2 })).length, 2);
  });

  test('WADO-RS returns a study and an instance byte for byte; 404 and 406 where due', async () => {
    const out = join(tmpRoot, 'wado');
    const got = await retrieveToFolder(client, { studyInstanceUid: MR_STUDY_UID }, out);
    assert.equal(got.files.length, 4);
    for (const f of got.files)
      assert.ok(readFileSync(f.path).equals(byUid.get(f.sopInstanceUid!)!), 'retrieved bytes identical');

    const [one] = await client.searchInstances(MR_STUDY_UID);
    const series = one!['0020000E']!.Value![0] as string;
    const sop = one!['00080018']!.Value![0] as string;
    const single = await retrieveToFolder(
      client,
      { studyInstanceUid: MR_STUDY_UID, seriesInstanceUid: series, sopInstanceUid: sop },
      join(tmpRoot, 'one'),
    );
    assert.equal(single.files.length, 1);
    assert.ok(readFileSync(single.files[0]!.path).equals(byUid.get(sop)!));

    await assert.rejects(
      retrieveToFolder(client, { studyInstanceUid: '1.2.3.4.5.6.7' }, join(tmpRoot, 'none')),
      (e: { status?: number }) => e.status === 404,
    );
    await assert.rejects(
      retrieveToFolder(client, { studyInstanceUid: MR_STUDY_UID }, join(tmpRoot, 'ts'), {
        transferSyntax: '1.2.840.10008.1.2.4.50',
      }),
      (e: { status?: number }) => e.status === 406,
    );
  });

  test('bad requests get PS3.18 statuses and Failure Reasons; the server keeps serving', async () => {
    const url = `${server.url}/studies`;
    const ct = new Uint8Array(readFileSync(corpusPaths()[0]!));
    const sr = new Uint8Array(readFileSync(corpusPaths()[6]!));
    const b = newBoundary();
    const mtype = formatMediaType('multipart/related', { type: 'application/dicom', boundary: b });
    const good = await multipartBody([ct], b);

    const wrongType = await raw(url, 'application/dicom', ct);
    assert.equal(wrongType.status, 415);
    assert.match(wrongType.warning, /DICOMWEB_UNSUPPORTED_MEDIA_TYPE/);
    assert.equal((await raw(url, undefined, good)).status, 415);
    assert.equal((await raw(url, 'multipart/related; type="application/dicom"', good)).status, 400);

    const truncated = await raw(url, mtype, good.subarray(0, good.length - 200));
    assert.equal(truncated.status, 400);
    assert.match(truncated.warning, /DICOMWEB_MULTIPART_TRUNCATED/);
    assert.equal(truncated.response.failed[0]?.failureReason, FailureReason.CannotUnderstand);

    const notDicom = await raw(url, mtype, await multipartBody([new TextEncoder().encode('hello, not DICOM')], b));
    assert.equal(notDicom.status, 400);
    assert.equal(notDicom.response.otherFailures[0]?.failureReason, FailureReason.CannotUnderstand);

    const mixed = await raw(url, mtype, await multipartBody([new Uint8Array(256), sr], b));
    assert.equal(mixed.status, 202);
    assert.equal(mixed.response.referenced.length, 1);
    assert.equal(mixed.response.otherFailures.length, 1);

    const wrongStudy = await raw(`${url}/${MR_STUDY_UID}`, mtype, good);
    assert.equal(wrongStudy.status, 409);
    assert.equal(wrongStudy.response.failed[0]?.failureReason, FailureReason.DataSetDoesNotMatchSopClass);

    // A server with a small request limit: 413, and the connection is closed.
    const small = await serveDicomweb({ stow: store, root: '/dicom-web', limits: { maxRequestBytes: 100_000 } });
    try {
      const tooLarge = await raw(`${small.url}/studies`, mtype, good);
      assert.equal(tooLarge.status, 413);
      assert.equal(tooLarge.connection, 'close');
      const fine = await raw(`${small.url}/studies`, mtype, await multipartBody([sr], b));
      assert.equal(fine.status, 200, 'the small server still serves');
    } finally {
      await small.close();
    }

    // A client that goes away mid-upload: the part is discarded, nothing is left in the store's incoming folder.
    const sock = connect(server.port, '127.0.0.1');
    await once(sock, 'connect');
    const path = new URL(url).pathname;
    sock.write(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${mtype}\r\nContent-Length: ${good.length}\r\n\r\n`,
    );
    sock.write(good.subarray(0, 40_000));
    for (let i = 0; i < 50 && readdirSync(join(tmpRoot, 'store', '.incoming')).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(readdirSync(join(tmpRoot, 'store', '.incoming')).length, 1, 'the part is being stored');
    sock.destroy();
    for (let i = 0; i < 50 && readdirSync(join(tmpRoot, 'store', '.incoming')).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(readdirSync(join(tmpRoot, 'store', '.incoming')), [], 'aborted upload discarded');

    // Still serving: a good STOW (a re-sent identical instance is a success) and a QIDO.
    const again = await raw(url, mtype, good);
    assert.equal(again.status, 200);
    assert.ok((await client.searchStudies()).length > 0);
  });
});

describe('veil dicomweb-serve / stow / dicomweb-pull (CLI)', { skip }, () => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  let serve: ChildProcessWithoutNullStreams | undefined;
  let serveErr = '';
  after(() => {
    serve?.kill('SIGKILL');
  });

  test('serve a folder, stow the corpus into it, pull a study back, byte for byte; no UID in any output', async () => {
    const dir = join(tmpRoot, 'cli-store');
    serve = spawn(process.execPath, [bin, 'dicomweb-serve', '--dir', dir, '--port', '0'], { env });
    serve.stderr.on('data', (d: Buffer) => {
      serveErr += d.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      serve!.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      serve!.once('exit', (code) => reject(new Error(`dicomweb-serve exited ${code}: ${serveErr}`)));
    });
    const run = (args: string[]) =>
      spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', timeout: 60_000 });

    const stow = run(['stow', ...corpusPaths(), '--to', url, '--batch', '10']);
    assert.equal(stow.status, 0, stow.stderr);
    assert.match(stow.stdout, /23 stored \(0 with warnings\), 0 failed, 0 skipped \(not DICOM\) in 3 requests/);

    const out = join(tmpRoot, 'cli-pulled');
    const pull = run(['dicomweb-pull', '--from', url, '--query', `StudyInstanceUID=${MR_STUDY_UID}`, '--out', out]);
    assert.equal(pull.status, 0, pull.stderr);
    assert.match(pull.stdout, /1 studies, 4 files/);
    const pulled = readdirSync(out).filter((f) => f.endsWith('.dcm'));
    assert.equal(pulled.length, 4);
    const byUid = originals();
    for (const f of pulled) assert.ok(readFileSync(join(out, f)).equals(byUid.get(f.slice(0, -4))!), `${f} identical`);

    const bad = run(['stow', corpusPaths()[0]!, '--to', url, '--study', MR_STUDY_UID]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /not stored \(Failure Reason 0xA900\)/);

    serve.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => serve!.once('exit', resolve));
    assert.equal(code, 0);
    assert.match(serveErr, /stow 200: 10 stored, 0 failed/);
    assert.match(serveErr, /stow 409: 0 stored, 1 failed/);

    const printed = [stow.stdout, stow.stderr, pull.stdout, pull.stderr, bad.stdout, bad.stderr, serveErr].join('\n');
    for (const uid of byUid.keys()) assert.ok(!printed.includes(uid), 'no SOP Instance UID printed');
    assert.ok(!printed.includes(MR_STUDY_UID), 'no Study Instance UID printed');
  });
});
