/**
 * pixels.deface.mode (issue 13, item 2: an optional blur). The section is validated before a run starts; on the UIH
 * head MR from ../shared/data (every 2nd slice: 80 sagittal slices, 2 mm apart), the series pass in `blur` mode
 * defaces it (the 24 mm blur leaves no head voxel and no nose in the region, so the same verification as a removal
 * passes), changes no voxel outside the region, and is compared with `remove` on the same slices (voxels changed,
 * how far the nose surface moved back). On the Philips head CT (a dry skull) the blurred bone stays above the head
 * threshold: the series is held (DEFACE_VERIFY_FAILED), never sent half-blurred.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDeidConfig, scanFile } from '@veil/core';
import { inFaceRegion, readInstance, readNativeFrames } from '@veil/pixels/deface';
import { loadInstances } from '../src/deface/load.ts';
import { checkDefaceOptions, parseDefaceOptions } from '../src/deface/options.ts';
import { type DefaceRunReport, defaceSeries } from '../src/deface/run.ts';
import { CliError } from '../src/deid/cli-error.ts';
import { bin, corpusDir } from './server-support.ts';

const MR = join(corpusDir, 'dcm_qa_uih', 'DTI_132225', 't1_gre_fsp_3d_sag__132750');

test('pixels.deface: mode remove (default) or blur; anything else stops the run (CONFIG_INVALID, exit 3)', () => {
  assert.deepEqual(parseDefaceOptions(undefined), { mode: 'remove' });
  assert.deepEqual(parseDefaceOptions({ cleanRecognizableVisualFeatures: true }), { mode: 'remove' });
  assert.deepEqual(parseDefaceOptions({ deface: { mode: 'blur' } }), { mode: 'blur' });
  // The core lets the section through to the app.
  parseDeidConfig({ pixels: { cleanRecognizableVisualFeatures: true, deface: { mode: 'blur' } } });
  for (const [bad, path] of [
    [{ deface: { mode: 'smudge' } }, 'pixels.deface.mode'],
    [{ deface: { sigma: 3 } }, 'pixels.deface.sigma'],
    [{ deface: 'blur' }, 'pixels.deface'],
  ] as const) {
    assert.throws(
      () => checkDefaceOptions({ pixels: bad }, 'config x.json'),
      (e: unknown) => e instanceof CliError && e.exitCode === 3 && e.message.includes(path),
    );
  }
});

test('UIH head MR, 80 slices: blur defaces it (verified like a removal), nothing outside the region changes', () => {
  const files = readdirSync(MR)
    .filter((n) => n.endsWith('.dcm'))
    .sort()
    .filter((_, i) => i % 2 === 0)
    .map((n) => ({ path: join(MR, n), rel: n }));
  const { instances } = loadInstances(files);
  const figures: string[] = [];
  for (const mode of ['remove', 'blur'] as const) {
    const r = defaceSeries(instances, { mode });
    assert.equal(r.report.outcome, 'defaced', `${mode}: ${r.report.code} ${r.report.reason}`);
    assert.equal(r.report.mode, mode);
    assert.equal(r.report.residualVoxels, 0);
    const plane = r.report.plane!;
    let changed = 0;
    let outside = 0;
    for (const g of instances) {
      const a = scanFile(new Uint8Array(readFileSync(g.path)));
      const b = scanFile(r.outputs!.get(g)!);
      const pa = readNativeFrames(a, readInstance(a))[0]!;
      const pb = readNativeFrames(b, readInstance(b))[0]!;
      const f = g.info.frames[0]!;
      for (let n = 0; n < pa.length; n++) {
        if (pa[n] === pb[n]) continue;
        changed++;
        const i = n % g.info.columns;
        const j = Math.floor(n / g.info.columns);
        const p = [0, 1, 2].map(
          (ax) => f.position[ax]! + i * f.spacing[0] * f.rowDirection[ax]! + j * f.spacing[1] * f.columnDirection[ax]!,
        ) as [number, number, number];
        if (!inFaceRegion(plane, p)) outside++;
      }
    }
    assert.equal(outside, 0);
    assert.ok(changed > 100_000);
    assert.ok((r.report.noseMovedBackMm ?? 0) >= 10, `${mode}: nose moved back ${r.report.noseMovedBackMm} mm`);
    figures.push(
      `${mode}: ${changed} voxels changed (0 outside the region), nose surface moved back ${r.report.noseMovedBackMm?.toFixed(0)} mm`,
    );
  }
  console.log(`# ${figures.join('; ')}`);
});

test('Philips head CT (a dry skull): blurred bone stays above the head threshold, so blur holds the series (fail closed)', () => {
  const CT = join(corpusDir, 'dcm_qa_ct', 'Philips', 'S21570', 'S2010');
  const files = readdirSync(CT)
    .filter((n) => n !== 'DIRFILE')
    .map((n) => ({ path: join(CT, n), rel: n }));
  const { instances } = loadInstances(files);
  const r = defaceSeries(instances, { mode: 'blur' });
  assert.equal(r.report.outcome, 'quarantined');
  assert.equal(r.report.code, 'DEFACE_VERIFY_FAILED');
  assert.equal(r.report.reason, 'RESIDUAL_VOXELS');
  assert.equal(r.outputs, undefined);
});

test('veil deface --blur: the UIH MR (every 4th slice) written blurred, the report says so', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'veil-deface-blur-'));
  try {
    const input = join(tmp, 'in');
    mkdirSync(input);
    readdirSync(MR)
      .filter((n) => n.endsWith('.dcm'))
      .sort()
      .filter((_, i) => i % 4 === 0)
      .forEach((n) => {
        copyFileSync(join(MR, n), join(input, n));
      });
    const out = join(tmp, 'out');
    const r = spawnSync(process.execPath, [bin, 'deface', input, '--out', out, '--blur'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(readFileSync(join(out, 'veil-deface.json'), 'utf8')) as DefaceRunReport;
    assert.equal(report.series.length, 1);
    assert.equal(report.series[0]!.outcome, 'defaced');
    assert.equal(report.series[0]!.mode, 'blur');
    assert.equal(report.series[0]!.residualVoxels, 0);
    assert.equal(readdirSync(out).filter((n) => n.endsWith('.dcm')).length, 40);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
