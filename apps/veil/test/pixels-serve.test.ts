/**
 * `veil serve` with no pixels configuration runs the burned-in text stage in its release worker threads (issue 12,
 * item 3): the ultrasound sample is delivered with its header-bar text filled and the claims the stage earned (Burned
 * In Annotation NO, CID 7050 113101); the CT sample is delivered pixel-identical and claimed clean; a real float
 * Parametric Map Veil cannot scan (../shared/data) is quarantined PIXELS_UNSUPPORTED_ENCODING.
 * One release thread: its detector is loaded once and serves the three files.
 *
 * Run: npm run test:unit -- apps/veil/test/pixels-serve.test.ts   (~15 s)
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type DicomFile, findElement, PIXEL_DATA, scanFile } from '@veil/core';
import type { ServerHandle } from '../src/server/server.ts';
import {
  corpusDir,
  deidMethodCodes,
  ensureDir,
  filesUnder,
  repoRoot,
  startServerIn,
  stringOf,
  waitFor,
} from './server-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'veil-pixels-serve-'));
const FLOAT = join(corpusDir, 'pydicom-data/parametric_map_float.dcm');
const US = readFileSync(join(repoRoot, 'samples/OBXXXX1A_rle.dcm'));
const CT = readFileSync(join(repoRoot, 'samples/CT_small.dcm'));
let server: ServerHandle | undefined;

function put(name: string, bytes: Uint8Array): void {
  const tmp = join(dir, 'inbox', `.${name}.part`);
  writeFileSync(tmp, bytes);
  renameSync(tmp, join(dir, 'inbox', name));
}

function pixelBytes(file: DicomFile): Uint8Array {
  const px = findElement(file.dataset, PIXEL_DATA);
  assert.ok(px);
  return file.source.read(px.valueOffset, px.valueOffset + px.length);
}

before(async () => {
  ensureDir(join(dir, 'inbox'));
  server = await startServerIn(dir, {
    ingress: [{ name: 'inbox', kind: 'folder', path: './inbox', pollMs: 100, settleMs: 50 }],
    // The default de-identification configuration: no pixels section at all.
    deid: {},
    processing: { threads: 1 },
    sweepSeconds: 0.2,
  });
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('default veil serve: text filled and claimed, clean image claimed, undecodable image quarantined', async () => {
  put('us.dcm', US);
  put('ct.dcm', CT);
  const withFloat = existsSync(FLOAT);
  if (withFloat) put('sc.dcm', readFileSync(FLOAT));
  const out = join(dir, 'out');
  const delivered = await waitFor('two deliveries', () => (filesUnder(out).length === 2 ? filesUnder(out) : undefined));
  const files = delivered.map((p) => scanFile(new Uint8Array(readFileSync(p))));
  const modality = (f: DicomFile) => stringOf(f, 0x00080060);
  const us = files.find((f) => modality(f) === 'US');
  const ct = files.find((f) => modality(f) === 'CT');
  assert.ok(us && ct);
  for (const f of [us, ct]) {
    assert.equal(stringOf(f, 0x00280301), 'NO');
    assert.ok(deidMethodCodes(f).includes('113101'), deidMethodCodes(f).join(' '));
  }
  assert.notDeepEqual(pixelBytes(us), pixelBytes(scanFile(new Uint8Array(US))));
  assert.deepEqual(pixelBytes(ct), pixelBytes(scanFile(new Uint8Array(CT))));
  if (withFloat) {
    const held = await waitFor('quarantined', async () => {
      const l = await server!.store.listQuarantine();
      return l.length === 1 ? l : undefined;
    });
    assert.equal(held[0]!.code, 'PIXELS_UNSUPPORTED_ENCODING');
    assert.equal(filesUnder(out).length, 2);
  }
});
