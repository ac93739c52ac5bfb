/**
 * `veil deid` with pixels.cleanRecognizableVisualFeatures: the series pass defaces the Philips head CT before the
 * per-file release path runs; every output is de-identified (header) and defaced (pixels), with Recognizable Visual
 * Features NO and codes 113100 + 113102; the defacing pictures land in the report folder; the spool is gone.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findElement, PIXEL_DATA, readString, scanFile, valueBytes } from '@veil/core';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repoRoot, 'apps/veil/bin/veil.mjs');
const data = join(process.env.VEIL_SHARED_DIR ?? resolve(repoRoot, '..', 'shared'), 'data', 'dicom');
const CT = join(data, 'dcm_qa_ct', 'Philips', 'S21570', 'S2010');
const tmp = mkdtempSync(join(tmpdir(), 'veil-deface-deid-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /^I\d+$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

test('veil deid defaces the head CT series in its release path', () => {
  const key = join(tmp, 'k.key');
  writeFileSync(key, Buffer.alloc(32, 9).toString('base64'), { mode: 0o600 });
  const cfg = join(tmp, 'deid.json');
  writeFileSync(cfg, JSON.stringify({ pixels: { cleanPixelData: false, cleanRecognizableVisualFeatures: true } }));
  // The series without the folder's DICOMDIR (which veil deid holds back on its own: MEDIA_STORAGE_DIRECTORY).
  const inDir = join(tmp, 'in');
  mkdirSync(inDir);
  for (const f of readdirSync(CT).filter((n) => n !== 'DIRFILE')) copyFileSync(join(CT, f), join(inDir, f));
  const out = join(tmp, 'out');
  const spoolsBefore = readdirSync(tmpdir()).filter(
    (n) => n.startsWith('veil-deface-') && !n.startsWith('veil-deface-deid-'),
  );
  const r = spawnSync(
    process.execPath,
    [bin, 'deid', inDir, '--out', out, '--key-file', key, '--config', cfg, '--no-progress'],
    {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, VEIL_KEY: '' },
    },
  );
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const outputs = filesUnder(out);
  assert.equal(outputs.length, 28);
  // Pixels by Instance Number: the input's and the output's.
  const input = new Map<string, Uint8Array>();
  for (const f of readdirSync(CT).filter((n) => n !== 'DIRFILE')) {
    const file = scanFile(new Uint8Array(readFileSync(join(CT, f))));
    input.set(readString(findElement(file.dataset, 0x00200013)!), valueBytes(findElement(file.dataset, PIXEL_DATA)!));
  }
  let changed = 0;
  for (const o of outputs) {
    const file = scanFile(new Uint8Array(readFileSync(o)));
    assert.equal(readString(findElement(file.dataset, 0x00280302)!), 'NO');
    const codes = findElement(file.dataset, 0x00120064)!.items!.map((it) => readString(findElement(it, 0x00080100)!));
    assert.ok(codes.includes('113100') && codes.includes('113102'), codes.join(','));
    assert.equal(readString(findElement(file.dataset, 0x00100010)!) === 'Anonymized', false);
    const before = input.get(readString(findElement(file.dataset, 0x00200013)!))!;
    const px = valueBytes(findElement(file.dataset, PIXEL_DATA)!);
    if (!Buffer.from(px).equals(Buffer.from(before))) changed++;
  }
  console.log(`veil deid with defacing: 28 CT files released, ${changed} with defaced pixels`);
  assert.equal(changed, 9);
  const pics = readdirSync(join(out, 'veil-deface'));
  assert.equal(pics.length, 1);
  assert.deepEqual(readdirSync(join(out, 'veil-deface', pics[0]!)), ['after.png']);
  const spoolsAfter = readdirSync(tmpdir()).filter(
    (n) => n.startsWith('veil-deface-') && !n.startsWith('veil-deface-deid-'),
  );
  assert.deepEqual(
    spoolsAfter.filter((n) => !spoolsBefore.includes(n) && !n.startsWith('veil-deface-release-')),
    [],
  );
});
