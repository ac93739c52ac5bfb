/**
 * `veil deid` with pixels.cleanRecognizableVisualFeatures: the series pass defaces the Philips head CT before the
 * per-file release path runs; every output is de-identified (header) and defaced (pixels), with Recognizable Visual
 * Features NO and codes 113100 + 113102; the defacing pictures land in the report folder; the spool is gone.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
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
  const spools = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('veil-deface-spool-'));
  const spoolsBefore = spools();
  const r = spawnSync(
    process.execPath,
    [bin, 'deid', inDir, '--out', out, '--key-file', key, '--config', cfg, '--no-progress'],
    {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, VEIL_KEY: '' },
    },
  );
  assert.ok(r.status === 0 || r.status === 1, `${r.stdout}\n${r.stderr}`);
  const outputs = filesUnder(out);
  // Every file is released, or held back by a check that is not the defacing's (the burned-in text verifier, when
  // it runs, has its own false positives); the defacing itself holds nothing back here.
  const held = r.status === 0 ? [] : readdirSync(`${out}.quarantine`).filter((n) => n.endsWith('.veil.json'));
  for (const h of held) {
    const code = JSON.parse(readFileSync(join(`${out}.quarantine`, h), 'utf8')).code as string;
    assert.ok(!/^DEFACE_|^PIXELS_NOT_CLEANED|^PIXELS_STAGE_UNAVAILABLE/.test(code), `${h}: ${code}`);
  }
  assert.equal(outputs.length + held.length, 28);
  assert.ok(outputs.length >= 20);
  // Pixels by Instance Number: the input's and the output's.
  const input = new Map<string, Uint8Array>();
  for (const f of readdirSync(CT).filter((n) => n !== 'DIRFILE')) {
    const file = scanFile(new Uint8Array(readFileSync(join(CT, f))));
    input.set(readString(findElement(file.dataset, 0x00200013)!), valueBytes(findElement(file.dataset, PIXEL_DATA)!));
  }
  let changed = 0;
  let inFace = 0;
  for (const o of outputs) {
    const file = scanFile(new Uint8Array(readFileSync(o)));
    assert.equal(readString(findElement(file.dataset, 0x00280302)!), 'NO');
    const codes = findElement(file.dataset, 0x00120064)!.items!.map((it) => readString(findElement(it, 0x00080100)!));
    assert.ok(codes.includes('113100') && codes.includes('113102'), codes.join(','));
    assert.equal(readString(findElement(file.dataset, 0x00100010)!) === 'Anonymized', false);
    const instance = readString(findElement(file.dataset, 0x00200013)!);
    // Instances 1-9 are the slices at and below the brow: the face region.
    if (Number(instance) > 9) continue; // above the cut (pixels may still change by burned-in text redaction)
    inFace++;
    const before = input.get(instance)!;
    const px = valueBytes(findElement(file.dataset, PIXEL_DATA)!);
    if (!Buffer.from(px).equals(Buffer.from(before))) changed++;
  }
  console.log(
    `veil deid with defacing: ${outputs.length} CT files released (${held.length} held by other checks), ${changed} of the ${inFace} released slices below the brow defaced`,
  );
  assert.equal(changed, inFace);
  assert.ok(changed >= 5);
  const rep = JSON.parse(readFileSync(join(out, 'veil-deface.json'), 'utf8'));
  assert.equal(rep.series[0].outcome, 'defaced');
  // The series is named by a keyed hash of its UID: the plain hash, which anyone holding the originals could
  // compute, appears in no report, picture folder or output line.
  const seriesUid = readString(
    findElement(scanFile(new Uint8Array(readFileSync(join(inDir, readdirSync(inDir)[0]!)))).dataset, 0x0020000e)!,
  );
  const plain = createHash('sha256').update(seriesUid).digest('hex').slice(0, 16);
  const keyed = createHmac('sha256', Buffer.alloc(32, 9))
    .update('veil-deface-series\0')
    .update(seriesUid)
    .digest('hex');
  assert.equal(rep.series[0].series, keyed.slice(0, 16));
  assert.ok(!`${readFileSync(join(out, 'veil-deface.json'), 'utf8')}${r.stdout}${r.stderr}`.includes(plain));
  const pics = readdirSync(join(out, 'veil-deface'));
  assert.equal(pics.length, 1);
  assert.ok(!pics[0]!.includes(plain));
  assert.deepEqual(readdirSync(join(out, 'veil-deface', pics[0]!)), ['after.png']);
  // The spool of defaced pixels is gone (another run at the same time could leave its own: only new ones count).
  assert.deepEqual(
    spools().filter((n) => !spoolsBefore.includes(n)),
    [],
  );
});
