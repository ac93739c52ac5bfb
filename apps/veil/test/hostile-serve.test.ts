/**
 * The generated hostile corpus (packages/core/test/support/hostile.ts) posted to a running `veil serve` (the real
 * executable, under NODE_OPTIONS=--max-old-space-size=1024) over STOW-RS and over C-STORE: the server stays up, none
 * of them is delivered, and a normal file sent afterwards over each ingress is still de-identified and delivered.
 * Nothing Veil logs or delivers holds a hidden value.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DicomwebClient, stowFileFromBytes } from '@veil/dicomweb';
import { DimseClient } from '@veil/dimse';
import { HIDDEN_VALUES, hostileCorpus, normalFile } from '../../../packages/core/test/support/hostile.ts';
import { ensureDir, keyFile, spawnVeil, waitFor, writeConfig } from './server-support.ts';

const root = mkdtempSync(join(tmpdir(), 'veil-hostile-serve-'));
const SC = '1.2.840.10008.5.1.4.1.1.7';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const DEFLATED = '1.2.840.10008.1.2.1.99';

/** part10() writes one Media Storage SOP Instance UID (18 bytes with padding): give each file its own. */
function withInstanceUid(bytes: Uint8Array, k: number): { bytes: Uint8Array; uid: string } {
  const out = bytes.slice();
  const uid = `1.2.3.4.5.6.7.8.${String(10 + k).padStart(2, '0')}`;
  const at = Buffer.from(out.buffer, out.byteOffset, out.length).indexOf('1.2.3.4.5.6.7.8.9\0', 132, 'latin1');
  if (at > 0 && at < 400) out.set(new TextEncoder().encode(uid), at);
  return { bytes: out, uid };
}

function datasetOffset(bytes: Uint8Array): number {
  return 132 + 12 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(140, true);
}

function syntaxOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.subarray(132, datasetOffset(bytes)))
    .toString('latin1')
    .includes(DEFLATED)
    ? DEFLATED
    : EXPLICIT_LE;
}

after(() => rmSync(root, { recursive: true, force: true }));

test('veil serve takes the hostile corpus over STOW-RS and C-STORE, stays up, and still delivers', async () => {
  const { path: keyPath } = keyFile(root);
  const out = ensureDir(join(root, 'out'));
  const config = writeConfig(root, {
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
    log: { level: 'info' },
  });
  const veil = spawnVeil(['serve', '--config', config], { NODE_OPTIONS: '--max-old-space-size=1024' });
  try {
    const started = await veil.waitEvent('server.started', 120_000);
    const ports = started.ports as Record<string, number>;
    const web = new DicomwebClient({ baseUrl: `http://127.0.0.1:${ports.web}/dicom-web` });
    const cases = hostileCorpus().map((c, k) => ({ ...c, ...withInstanceUid(c.bytes, k) }));

    // STOW-RS: one request per file; whatever the answer, the server must still be there.
    for (const c of cases) {
      try {
        await web.stow([stowFileFromBytes(c.bytes, c.name)]);
      } catch {
        // A refusal (or a client that will not send it) is fine; a dead server is not (checked below).
      }
      assert.equal(veil.child.exitCode, null, `veil serve exited after ${c.name} over STOW-RS`);
    }

    // C-STORE: one association, every file in its own syntax.
    const client = await DimseClient.connect({
      host: '127.0.0.1',
      port: ports.modalities!,
      callingAeTitle: 'HOSTILE',
      calledAeTitle: 'VEIL',
      // One context per syntax: an SCP accepts one transfer syntax per presentation context.
      contexts: [
        { abstractSyntax: SC, transferSyntaxes: [DEFLATED] },
        { abstractSyntax: SC, transferSyntaxes: [EXPLICIT_LE] },
      ],
    });
    const statuses: Record<string, number | string> = {};
    try {
      for (const c of cases) {
        try {
          const r = await client.store({
            sopClassUid: SC,
            sopInstanceUid: `${c.uid}.1`,
            transferSyntaxUid: syntaxOf(c.bytes),
            dataset: c.bytes.subarray(datasetOffset(c.bytes)),
          });
          statuses[c.name] = r.status;
        } catch (e) {
          statuses[c.name] = (e as { code?: string }).code ?? 'error';
        }
        assert.equal(veil.child.exitCode, null, `veil serve exited after ${c.name} over C-STORE`);
      }
    } finally {
      await client.release().catch(() => {});
    }
    console.log(`C-STORE statuses: ${JSON.stringify(statuses)}`);

    // Let the jobs run (the bombs are inflated in the steps), then a normal file over each ingress.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(veil.child.exitCode, null, 'veil serve exited while processing the hostile jobs');
    const viaStow = normalFile('1.2.826.0.1.3680043.10.999.101');
    const viaDimse = normalFile('1.2.826.0.1.3680043.10.999.102');
    const stow = await web.stow([stowFileFromBytes(viaStow, 'normal')]);
    assert.equal(stow.stored, 1);
    const after = await DimseClient.connect({
      host: '127.0.0.1',
      port: ports.modalities!,
      callingAeTitle: 'MODALITY',
      calledAeTitle: 'VEIL',
      contexts: [{ abstractSyntax: SC, transferSyntaxes: [EXPLICIT_LE] }],
    });
    try {
      const r = await after.store({
        sopClassUid: SC,
        sopInstanceUid: '1.2.826.0.1.3680043.10.999.102',
        transferSyntaxUid: EXPLICIT_LE,
        dataset: viaDimse.subarray(datasetOffset(viaDimse)),
      });
      assert.equal(r.status, 0);
    } finally {
      await after.release();
    }
    const files = await waitFor(
      'the two normal files delivered',
      () => {
        const names = readdirSync(out, { recursive: true })
          .map(String)
          .filter((n) => n.endsWith('.dcm'));
        return names.length >= 2 ? names : undefined;
      },
      180_000,
      250,
    );
    assert.equal(files.length, 2, `delivered: ${files.join(', ')}`);
    assert.equal(veil.child.exitCode, null);
    const texts = [...veil.raw, ...files.map((f) => readFileSync(join(out, f), 'latin1'))];
    for (const t of texts) for (const v of HIDDEN_VALUES) assert.ok(!t.includes(v), 'a hidden value leaked');
  } finally {
    veil.child.kill('SIGTERM');
    await veil.exited;
  }
});
