/**
 * The network ingresses of `veil serve`, end to end on the embedded server: a C-STORE SCP (DIMSE) fed by DCMTK's
 * storescu (a real peer, when installed) and by Veil's own DimseClient, and a STOW-RS endpoint fed by Veil's
 * DicomwebClient. Every instance a sender was told is stored ends de-identified in the destination folder, named by
 * its de-identified SOP Instance UID; C-ECHO answers; the ingress counters count right.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findElement, readString, scanFile } from '@veil/core';
import { DicomwebClient, stowFileFromPath } from '@veil/dicomweb';
import { DimseClient, describePart10 } from '@veil/dimse';
import { loadServerConfig } from '../src/server/config.ts';
import { createObservability } from '../src/server/observe.ts';
import { type ServerHandle, startServer } from '../src/server/server.ts';
import {
  buildCorpus,
  type CorpusFile,
  ensureDir,
  HEADER_ONLY_DEID,
  httpGet,
  keyFile,
  metric,
  pick,
  waitFor,
  writeConfig,
} from './server-support.ts';

const root = mkdtempSync(join(tmpdir(), 'veil-server-protocols-'));
const UNCOMPRESSED = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1']);
const hasStorescu = spawnSync('storescu', ['--version'], { stdio: 'ignore' }).status === 0;

/** Destination files by name; each must be a DICOM file whose SOP Instance UID is its name. */
function delivered(dir: string): Set<string> {
  const names = new Set<string>();
  for (const name of readdirSync(dir)) {
    assert.match(name, /^[0-9.]+\.dcm$/, `unexpected file ${name}`);
    const el = findElement(scanFile(new Uint8Array(readFileSync(join(dir, name)))).dataset, 0x00080018);
    assert.equal(`${el ? readString(el).trim() : ''}.dcm`, name);
    names.add(name);
  }
  return names;
}

const sop = (f: CorpusFile): string => (f.expect.outcome === 'delivered' ? `${f.expect.sopInstanceUid}.dcm` : '');

describe('veil serve: C-STORE and STOW-RS ingress', () => {
  const out = join(root, 'out');
  const { path: keyPath, key } = keyFile(root);
  let server: ServerHandle;
  let corpus: CorpusFile[];

  before(async () => {
    corpus = pick(buildCorpus(key), 60, true);
    const config = writeConfig(root, {
      deid: HEADER_ONLY_DEID,
      spool: './spool',
      store: { kind: 'sqlite', path: './veil.db' },
      key: { file: keyPath },
      ingress: [
        { name: 'modalities', kind: 'dimse', aeTitle: 'VEIL', port: 0 },
        { name: 'web', kind: 'stow', port: 0 },
      ],
      destinations: [{ name: 'out', kind: 'folder', path: './out' }],
      sweepSeconds: 0.2,
      http: { port: 0 },
      log: { level: 'warn' },
    });
    ensureDir(out);
    server = await startServer({
      config: loadServerConfig(config),
      key,
      role: 'all',
      obs: createObservability({ level: 'silent', role: 'all' }),
    });
  });
  after(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('instances stored over DIMSE and STOW-RS are de-identified and delivered', async () => {
    const dimsePort = server.ingressPorts.modalities!;
    const stowPort = server.ingressPorts.web!;
    assert.ok(dimsePort > 0 && stowPort > 0);
    const info = (f: CorpusFile) => describePart10(new Uint8Array(readFileSync(f.path)));
    const plain = corpus.filter((f) => UNCOMPRESSED.has(info(f).transferSyntaxUid));
    const viaStorescu = hasStorescu ? plain.slice(0, 5) : [];
    const viaClient = corpus.filter((f) => !viaStorescu.includes(f)).slice(0, 5);
    const viaStow = corpus.filter((f) => !viaStorescu.includes(f) && !viaClient.includes(f)).slice(0, 5);

    // C-ECHO and C-STORE from Veil's own SCU, each file in its own transfer syntax (byte-faithful).
    const infos = viaClient.map((f) => ({ bytes: new Uint8Array(readFileSync(f.path)), info: info(f) }));
    const client = await DimseClient.connect({
      host: '127.0.0.1',
      port: dimsePort,
      callingAeTitle: 'MODALITY',
      calledAeTitle: 'VEIL',
      contexts: [
        { abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] },
        ...infos.map((x) => ({ abstractSyntax: x.info.sopClassUid, transferSyntaxes: [x.info.transferSyntaxUid] })),
      ],
    });
    try {
      assert.equal(await client.echo(), 0);
      for (const { bytes, info: i } of infos) {
        const { status } = await client.store({ ...i, dataset: bytes.subarray(i.datasetOffset) });
        assert.equal(status, 0, 'C-STORE Success only once durable');
      }
    } finally {
      await client.release();
    }

    if (viaStorescu.length > 0) {
      // Asynchronously: the SCP runs in this process, on this event loop.
      const args = ['-aet', 'DCMTK', '-aec', 'VEIL', '127.0.0.1', String(dimsePort), ...viaStorescu.map((f) => f.path)];
      const child = spawn('storescu', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        stderr += c;
      });
      const code = await new Promise<number | null>((r) => child.once('close', r));
      assert.equal(code, 0, stderr);
    }

    const web = new DicomwebClient({ baseUrl: `http://127.0.0.1:${stowPort}/dicom-web` });
    const result = await web.stow(await Promise.all(viaStow.map((f) => stowFileFromPath(f.path))));
    assert.equal(result.stored, viaStow.length, 'STOW-RS: every instance stored');

    const total = viaClient.length + viaStorescu.length + viaStow.length;
    await waitFor('all delivered', async () => ((await server.store.countJobs()).done === total ? true : undefined));
    const names = delivered(out);
    assert.deepEqual([...names].sort(), [...viaClient, ...viaStorescu, ...viaStow].map(sop).sort());

    const m = (await httpGet(server.http!.port, '/metrics')).text;
    assert.equal(metric(m, 'veil_received_total{ingress="modalities"}'), viaClient.length + viaStorescu.length);
    assert.equal(metric(m, 'veil_received_total{ingress="web"}'), viaStow.length);
    const jobs = await server.store.listJobs();
    assert.ok(jobs.every((j) => j.source.transport === 'dimse' || j.source.transport === 'stow'));
    assert.deepEqual(readdirSync(join(root, 'spool', 'tmp')), [], 'no partial transfer left');
  });
});
