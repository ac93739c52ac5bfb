/**
 * The pieces of the DIMSE commands that run without dcmtk: peer address parsing, instance file names, and the
 * store-scp file sink's promise: an instance is on disk, complete, when its C-STORE-RSP (Success) arrives, and an
 * aborted transfer leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DimseClient, DimseServer, describePart10 } from '@veil/dimse';
import { parsePeerAddress } from '../src/commands/echo.ts';
import { fileStoreHandler, instanceFileName } from '../src/commands/store-scp.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sharedDir = process.env.VEIL_SHARED_DIR
  ? path.resolve(process.env.VEIL_SHARED_DIR)
  : path.resolve(repoRoot, '..', 'shared');
const SAMPLE = path.join(sharedDir, 'data', 'dicom/dcm4che/test-data/NM-MONO2-16-13x-heart');

describe('veil DIMSE commands', () => {
  it('parses AET@host:port', () => {
    assert.deepEqual(parsePeerAddress('PACS@127.0.0.1:104'), { aeTitle: 'PACS', host: '127.0.0.1', port: 104 });
    assert.deepEqual(parsePeerAddress('A B@[::1]:11112'), { aeTitle: 'A B', host: '::1', port: 11112 });
    for (const bad of ['PACS@127.0.0.1', '@h:1', 'X@h:0', 'X@h:70000', 'TOOLONGAETITLE1234@h:1']) {
      assert.throws(() => parsePeerAddress(bad), bad);
    }
  });

  it('names instance files by UID, hashing anything that is not a plain UID', () => {
    assert.equal(instanceFileName('1.2.840.1'), '1.2.840.1.dcm');
    assert.match(instanceFileName('../../etc/passwd'), /^[0-9a-f]{32}\.dcm$/);
    assert.match(instanceFileName(`1.${'2'.repeat(80)}`), /^[0-9a-f]{32}\.dcm$/);
  });

  it('has the Part 10 file on disk when Success arrives, meta from the association, data set verbatim', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'veil-scp-'));
    const server = new DimseServer({ aeTitle: 'VEIL', handlers: { store: fileStoreHandler(out) } });
    const { port } = await server.listen({ port: 0 });
    try {
      const bytes = new Uint8Array(readFileSync(SAMPLE));
      const info = describePart10(bytes);
      const dataset = bytes.subarray(info.datasetOffset);
      const c = await DimseClient.connect({
        host: '127.0.0.1',
        port,
        callingAeTitle: 'MODALITY',
        calledAeTitle: 'VEIL',
        contexts: [{ abstractSyntax: info.sopClassUid, transferSyntaxes: [info.transferSyntaxUid] }],
      });
      const r = await c.store({ ...info, dataset });
      assert.equal(r.status, 0);
      // Checked synchronously on the response: the file was renamed into place before Success was sent.
      const file = path.join(out, instanceFileName(info.sopInstanceUid));
      assert.ok(existsSync(file));
      const written = new Uint8Array(readFileSync(file));
      const back = describePart10(written);
      assert.deepEqual(
        [back.sopClassUid, back.sopInstanceUid, back.transferSyntaxUid],
        [info.sopClassUid, info.sopInstanceUid, info.transferSyntaxUid],
      );
      assert.ok(Buffer.from(written.subarray(back.datasetOffset)).equals(Buffer.from(dataset)));
      assert.ok(Buffer.from(written).includes(Buffer.from('MODALITY')), '(0002,0016) source AE title');
      // An aborted transfer leaves no file and no temporary file.
      async function* half(): AsyncGenerator<Uint8Array> {
        yield dataset.subarray(0, 4096);
        c.abort();
        await new Promise((r) => setTimeout(r, 20));
        yield dataset.subarray(4096);
      }
      await assert.rejects(c.store({ ...info, sopInstanceUid: '1.2.3.999', dataset: half() }));
      const until = Date.now() + 2000;
      while (readdirSync(path.join(out, '.incoming')).length > 0 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual(readdirSync(path.join(out, '.incoming')), []);
      assert.ok(!existsSync(path.join(out, '1.2.3.999.dcm')));
    } finally {
      await server.close({ abort: true });
      rmSync(out, { recursive: true, force: true });
    }
  });
});
