/**
 * Defacing inside the one release path: the series pass (planDefacing) over the Philips head CT, then each file
 * through @veil/core's releaseFile with the `pixels:deface` stage and pixels.cleanRecognizableVisualFeatures on.
 * Released files carry the defaced Pixel Data, Recognizable Visual Features NO and code 113102 (claims the stage
 * earned); a head without a face is released with RVF NO but no 113102 and its pixels untouched; a file the pass did
 * not see is held back (DEFACE_NOT_PLANNED); a JPEG Lossless copy of the series goes out decoded with the same pixels.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type DicomFile,
  findElement,
  materialize,
  PIXEL_DATA,
  parseDeidConfig,
  type ReleaseStage,
  readString,
  releaseFile,
  scanFile,
  valueBytes,
} from '@veil/core';
import { loadDcmjsCodecs, openPixels } from '@veil/pixels';
import { createDefaceCheckStage, createDefaceStage } from '@veil/pixels/deface';
import { defaceStagesFromPlan, planDefacing } from '../src/deface/prepass.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const data = join(process.env.VEIL_SHARED_DIR ?? resolve(repoRoot, '..', 'shared'), 'data', 'dicom');
const CT = join(data, 'dcm_qa_ct', 'Philips', 'S21570', 'S2010');
const tmp = mkdtempSync(join(tmpdir(), 'veil-deface-release-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const config = parseDeidConfig({ pixels: { cleanPixelData: false, cleanRecognizableVisualFeatures: true } });
const keys = { key: new Uint8Array(32).fill(7) };
const files = readdirSync(CT)
  .filter((f) => f !== 'DIRFILE')
  .map((f) => ({ path: join(CT, f), rel: f }));

function codes(file: DicomFile): string[] {
  const seq = findElement(file.dataset, 0x00120064);
  return (seq?.items ?? []).map((it) => readString(findElement(it, 0x00080100)!));
}

async function release(path: string, stages: readonly ReleaseStage[]) {
  const bytes = new Uint8Array(readFileSync(path));
  const outcome = await releaseFile(bytes, { config, keys, stages });
  return { bytes, outcome };
}

describe('pixels:deface in the release path', () => {
  test('a defaced series: every file released with the defaced pixels, RVF NO and 113102', async () => {
    const plan = await planDefacing(files, join(tmp, 'spool'));
    assert.equal(plan.series[0]?.outcome, 'defaced');
    const stage = defaceStagesFromPlan(plan);
    let changed = 0;
    for (const f of files) {
      const { bytes, outcome } = await release(f.path, stage);
      assert.equal(outcome.kind, 'released', outcome.kind === 'quarantined' ? outcome.code : '');
      if (outcome.kind !== 'released') continue;
      const out = scanFile(materialize(outcome.file.source, outcome.plan.segments));
      assert.equal(readString(findElement(out.dataset, 0x00280302)!), 'NO');
      assert.ok(codes(out).includes('113102'));
      assert.ok(codes(out).includes('113100'));
      const before = valueBytes(findElement(scanFile(bytes).dataset, PIXEL_DATA)!);
      const pixels = valueBytes(findElement(out.dataset, PIXEL_DATA)!);
      assert.equal(pixels.length, before.length);
      if (!Buffer.from(pixels).equals(Buffer.from(before))) changed++;
    }
    console.log(`release path: ${files.length} CT files released defaced, ${changed} with changed pixels`);
    assert.ok(changed >= 5 && changed < files.length);
  });

  test('the check re-reads the planned output: a face left in it is held back (DEFACE_VERIFY_FAILED)', async () => {
    const plan = await planDefacing(files, join(tmp, 'spool-check'));
    const rep = plan.series[0]!;
    const lowest = files.find((f) => f.rel === 'I10')!;
    const original = valueBytes(findElement(scanFile(new Uint8Array(readFileSync(lowest.path))).dataset, PIXEL_DATA)!);
    // A deface stage that "forgets" to remove anything, then the real check.
    const lying = {
      decision: () =>
        ({
          outcome: 'defaced',
          series: rep.series,
          pixelData: () => original.slice(),
          changed: () => new Uint8Array(original.length),
          plane: rep.plane,
          threshold: rep.threshold,
        }) as const,
    };
    const { outcome } = await release(lowest.path, [createDefaceStage(lying), createDefaceCheckStage(lying)]);
    assert.equal(outcome.kind, 'quarantined');
    if (outcome.kind === 'quarantined') assert.equal(outcome.code, 'DEFACE_VERIFY_FAILED');
  });

  test('a JPEG Lossless copy of the series: released in its own transfer syntax, the same pixels', async () => {
    const jpeg = join(tmp, 'jpeg');
    mkdirSync(jpeg);
    for (const f of files) {
      const r = spawnSync('dcmcjpeg', [f.path, join(jpeg, f.rel)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    const native = defaceStagesFromPlan(await planDefacing(files, join(tmp, 'spool-native')));
    const plan = await planDefacing(
      files.map((f) => ({ path: join(jpeg, f.rel), rel: f.rel })),
      join(tmp, 'spool-jpeg'),
    );
    assert.equal(plan.series[0]?.outcome, 'defaced');
    const stage = defaceStagesFromPlan(plan);
    for (const f of files.filter((_, n) => n % 4 === 0)) {
      const a = await release(f.path, native);
      const b = await release(join(jpeg, f.rel), stage);
      assert.equal(b.outcome.kind, 'released', b.outcome.kind === 'quarantined' ? b.outcome.code : '');
      if (a.outcome.kind !== 'released' || b.outcome.kind !== 'released') continue;
      const oa = scanFile(materialize(a.outcome.file.source, a.outcome.plan.segments));
      const ob = scanFile(materialize(b.outcome.file.source, b.outcome.plan.segments));
      assert.equal(ob.transferSyntax.uid, scanFile(new Uint8Array(readFileSync(join(jpeg, f.rel)))).transferSyntax.uid);
      const decoded = openPixels(ob, await loadDcmjsCodecs())?.decodeFrame(0).data;
      assert.deepEqual(decoded, valueBytes(findElement(oa.dataset, PIXEL_DATA)!));
      assert.ok(codes(ob).includes('113102'));
    }
  });

  test('a head without a face in the field of view: released with RVF NO, no 113102, pixels untouched', async () => {
    const upper = files.filter((f) => {
      const ipp = findElement(scanFile(new Uint8Array(readFileSync(f.path))).dataset, 0x00200032)!;
      return Number(readString(ipp).split('\\')[2]) >= 741;
    });
    const plan = await planDefacing(upper, join(tmp, 'spool-upper'));
    assert.equal(plan.series[0]?.outcome, 'no-face');
    const stage = defaceStagesFromPlan(plan);
    const { bytes, outcome } = await release(upper[0]!.path, stage);
    assert.equal(outcome.kind, 'released');
    if (outcome.kind !== 'released') return;
    const out = scanFile(materialize(outcome.file.source, outcome.plan.segments));
    assert.equal(readString(findElement(out.dataset, 0x00280302)!), 'NO');
    assert.ok(!codes(out).includes('113102'));
    assert.deepEqual(
      valueBytes(findElement(out.dataset, PIXEL_DATA)!),
      valueBytes(findElement(scanFile(bytes).dataset, PIXEL_DATA)!),
    );
    // A file of another series, which the pass did not see, is held back.
    const other = join(data, 'dcm_qa_uih', 'DTI_132225', 't1_gre_fsp_3d_sag__132750', '00000001.dcm');
    const held = await release(other, stage);
    assert.equal(held.outcome.kind, 'quarantined');
    if (held.outcome.kind === 'quarantined') assert.equal(held.outcome.code, 'DEFACE_NOT_PLANNED');
  });
});
