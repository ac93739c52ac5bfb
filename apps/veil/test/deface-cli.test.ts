/**
 * Proof of `veil deface` through the real executable on ../shared/data: the 160-slice UIH head MR and the Philips
 * head phantom CT are defaced in one run (a lone JPEG CT slice alongside is held back: too few slices to tell); a JPEG
 * Lossless copy of the CT series is defaced to the same pixels. Checks: the report's
 * figures (how far the nose surface moved back), every output byte outside Pixel Data and the two added attributes
 * identical to the input, every changed voxel inside the reported face region, dcmdump parses every output,
 * gdcmconv decodes outputs to the same pixels, the after picture is a PNG, the before picture only on request,
 * a second run recognises its own output, and no identifying value is printed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type DicomFile, findElement, readString, scanFile } from '@veil/core';
import { loadDcmjsCodecs, openPixels } from '@veil/pixels';
import { inFaceRegion, readInstance, readNativeFrames, storedFromBytes } from '@veil/pixels/deface';
import type { DefaceRunReport } from '../src/deface/run.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repoRoot, 'apps/veil/bin/veil.mjs');
const data = join(process.env.VEIL_SHARED_DIR ?? resolve(repoRoot, '..', 'shared'), 'data', 'dicom');
const MR = join(data, 'dcm_qa_uih', 'DTI_132225', 't1_gre_fsp_3d_sag__132750');
const CT = join(data, 'dcm_qa_ct', 'Philips', 'S21570', 'S2010');
const JPEG = join(data, 'dcm4che', 'test-data', 'CT-JPEGLosslessSV1.dcm');

const tmp = mkdtempSync(join(tmpdir(), 'veil-deface-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const out = join(tmp, 'out');
let run: ReturnType<typeof spawnSync>;
let report: DefaceRunReport;

function veil(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
}

function scan(path: string): DicomFile {
  return scanFile(new Uint8Array(readFileSync(path)));
}

const CHANGED = new Set([0x7fe00010, 0x00280302, 0x00120064]);

/** Top-level elements as tag -> raw bytes (header and value), meta included. */
function elements(file: DicomFile): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  const bytes = file.source.bytes!;
  for (const el of [...(file.meta?.elements ?? []), ...file.dataset.elements]) {
    m.set(el.tag, bytes.subarray(el.offset, el.end));
  }
  return m;
}

before(() => {
  const t0 = Date.now();
  run = veil(['deface', MR, CT, JPEG, '--out', out, '--show-before']);
  console.log(`veil deface on 160 MR + 28 CT files + 1 JPEG: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  report = JSON.parse(readFileSync(join(out, 'veil-deface.json'), 'utf8')) as DefaceRunReport;
});

describe('veil deface on the UIH head MR and the Philips head CT', () => {
  test('both series defaced, the lone JPEG CT slice held back as uncertain (exit 1); figures printed', () => {
    assert.equal(run.status, 1, String(run.stderr));
    const defaced = report.series.filter((s) => s.outcome === 'defaced');
    assert.deepEqual(defaced.map((s) => s.modality).sort(), ['CT', 'MR']);
    for (const s of defaced) {
      console.log(
        `${s.modality}: ${s.files} files, ${s.changedFiles} changed, ${s.changedVoxels} voxels; nose surface moved back ` +
          `${s.noseMovedBackMm?.toFixed(0)} mm (max ${s.maxMovedBackMm?.toFixed(0)} mm); residual ${s.residualVoxels}; ${s.seconds.toFixed(1)} s`,
      );
      assert.ok((s.noseMovedBackMm ?? 0) >= 15, `${s.modality} moved back ${s.noseMovedBackMm}`);
      assert.equal(s.residualVoxels, 0);
    }
    // One compressed slice: decoded, but one slice cannot show whether a face is there.
    const q = report.series.find((s) => s.outcome === 'quarantined');
    assert.equal(q?.code, 'DEFACE_UNCERTAIN');
    assert.equal(q?.reason, 'TOO_FEW_SLICES');
    const sidecar = JSON.parse(readFileSync(join(`${out}.quarantine`, 'CT-JPEGLosslessSV1.dcm.veil.json'), 'utf8'));
    assert.equal(sidecar.code, 'DEFACE_UNCERTAIN');
  });

  test('every byte outside Pixel Data identical; RVF NO and code 113102 added; changed voxels only in the face region', () => {
    for (const [dir, name, modality] of [
      [MR, 't1_gre_fsp_3d_sag__132750', 'MR'],
      [CT, 'S2010', 'CT'],
    ] as const) {
      const plane = report.series.find((s) => s.modality === modality)!.plane!;
      let changedOutside = 0;
      let changed = 0;
      for (const f of readdirSync(dir).filter((n) => n !== 'DIRFILE')) {
        const a = scan(join(dir, f));
        const b = scan(join(out, name, f));
        const ea = elements(a);
        const eb = elements(b);
        for (const [tag, bytes] of ea) if (!CHANGED.has(tag)) assert.deepEqual(eb.get(tag), bytes, `${f} ${tag}`);
        for (const tag of eb.keys()) assert.ok(ea.has(tag) || CHANGED.has(tag));
        assert.equal(readString(findElement(b.dataset, 0x00280302)!), 'NO');
        const codes = findElement(b.dataset, 0x00120064)!.items!.map((it) => readString(findElement(it, 0x00080100)!));
        assert.ok(codes.includes('113102'));
        const info = readInstance(a);
        const pa = readNativeFrames(a, info)[0]!;
        const pb = readNativeFrames(b, readInstance(b))[0]!;
        const fr = info.frames[0]!;
        for (let j = 0; j < info.rows; j++) {
          for (let i = 0; i < info.columns; i++) {
            const n = j * info.columns + i;
            if (pa[n] === pb[n]) continue;
            changed++;
            const p = [0, 1, 2].map(
              (ax) =>
                fr.position[ax]! +
                i * fr.spacing[0] * fr.rowDirection[ax]! +
                j * fr.spacing[1] * fr.columnDirection[ax]!,
            ) as [number, number, number];
            if (!inFaceRegion(plane, p)) changedOutside++;
          }
        }
      }
      console.log(
        `${modality}: ${changed} voxels changed in the written files, ${changedOutside} outside the face region`,
      );
      assert.ok(changed > 0);
      assert.equal(changedOutside, 0);
    }
  });

  test('dcmdump parses every output; gdcmconv decodes outputs to the same pixels', () => {
    const files = [
      ...readdirSync(join(out, 't1_gre_fsp_3d_sag__132750')).map((f) => join(out, 't1_gre_fsp_3d_sag__132750', f)),
      ...readdirSync(join(out, 'S2010'))
        .filter((f) => f !== 'DIRFILE')
        .map((f) => join(out, 'S2010', f)),
    ];
    assert.equal(files.length, 188);
    const dump = spawnSync('dcmdump', ['-q', ...files], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(dump.status, 0, dump.stderr);
    assert.equal(dump.stderr, '');
    for (const f of files.filter((_, n) => n % 40 === 0)) {
      const dest = join(tmp, 'gdcm.dcm');
      const r = spawnSync('gdcmconv', ['--raw', f, dest], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const a = scan(f);
      const b = scan(dest);
      assert.deepEqual(readNativeFrames(b, readInstance(b)), readNativeFrames(a, readInstance(a)));
    }
  });

  test('pictures: after.png for each defaced series, before.png only with --show-before; the HTML names them', () => {
    const html = readFileSync(join(out, 'veil-deface.html'), 'utf8');
    for (const s of report.series.filter((x) => x.outcome === 'defaced')) {
      assert.deepEqual(s.pictures, [`veil-deface/${s.series}/after.png`, `veil-deface/${s.series}/before.png`]);
      for (const p of s.pictures!) {
        const png = readFileSync(join(out, p));
        assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
        assert.ok(html.includes(p));
      }
    }
  });

  test('a JPEG Lossless copy of the CT series (dcmcjpeg) is defaced to the same pixels, written back as JPEG Lossless', async () => {
    const jpeg = join(tmp, 'jpeg');
    mkdirSync(jpeg);
    for (const f of readdirSync(CT).filter((n) => n !== 'DIRFILE')) {
      const r = spawnSync('dcmcjpeg', [join(CT, f), join(jpeg, f)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    const jout = join(tmp, 'jpeg-out');
    const codec = await loadDcmjsCodecs();
    const r = veil(['deface', jpeg, '--out', jout]);
    assert.equal(r.status, 0, String(r.stderr));
    for (const f of readdirSync(jpeg)) {
      const a = scan(join(out, 'S2010', f));
      const b = scan(join(jout, f));
      assert.equal(b.transferSyntax.uid, scan(join(jpeg, f)).transferSyntax.uid);
      const px = openPixels(b, codec);
      assert.ok(px);
      const frames = [];
      for (let i = 0; i < px.frames; i++) frames.push(storedFromBytes(px.decodeFrame(i).data, readInstance(b)));
      assert.deepEqual(frames, readNativeFrames(a, readInstance(a)), f);
      assert.equal(readString(findElement(b.dataset, 0x00280302)!), 'NO');
    }
    // GDCM decodes a re-encoded (defaced) slice to the same pixels.
    const changedSlice = readdirSync(jpeg).find((f) => {
      const a = scan(join(out, 'S2010', f));
      const o = scan(join(CT, f));
      return (
        JSON.stringify(readNativeFrames(a, readInstance(a))) !== JSON.stringify(readNativeFrames(o, readInstance(o)))
      );
    });
    assert.ok(changedSlice);
    const raw = join(tmp, 'gdcm-raw.dcm');
    const g = spawnSync('gdcmconv', ['--raw', join(jout, changedSlice), raw], { encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
    const c = scan(raw);
    const a = scan(join(out, 'S2010', changedSlice));
    assert.deepEqual(readNativeFrames(c, readInstance(c)), readNativeFrames(a, readInstance(a)));
  });

  test('the whole Philips study: the single localizer is uncertain, the summary screenshots are held back', () => {
    const study = join(CT, '..');
    const sout = join(tmp, 'study');
    const r = veil(['deface', study, '--out', sout]);
    assert.equal(r.status, 1, String(r.stderr));
    const rep = JSON.parse(readFileSync(join(sout, 'veil-deface.json'), 'utf8')) as DefaceRunReport;
    const outcomes = rep.series.map((s) => `${s.files} ${s.outcome} ${s.code ?? ''} ${s.reason ?? ''}`.trim()).sort();
    assert.deepEqual(outcomes, [
      '1 quarantined DEFACE_UNCERTAIN TOO_FEW_SLICES',
      '28 defaced',
      '3 quarantined DEFACE_DUPLICATE_POSITION',
    ]);
    assert.ok(Object.values(rep.heldBack).reduce((a, b) => a + b, 0) >= 1);
    assert.equal(rep.passedThrough, 4); // the DICOMDIR files
  });

  test('a second run recognises the defaced series (no second cut), and writes no before picture', () => {
    const again = join(tmp, 'again');
    const r = veil(['deface', join(out, 'S2010'), '--out', again]);
    assert.equal(r.status, 0, r.stderr);
    const rep = JSON.parse(readFileSync(join(again, 'veil-deface.json'), 'utf8')) as DefaceRunReport;
    assert.equal(rep.series[0]?.outcome, 'already-defaced');
    assert.equal(existsSync(join(again, 'veil-deface')), false);
  });

  test('no identifying value in the output text or the report', () => {
    const text = `${run.stdout}${run.stderr}${readFileSync(join(out, 'veil-deface.json'), 'utf8')}`;
    for (const dir of [MR, CT]) {
      const f = scan(join(dir, readdirSync(dir).find((n) => n !== 'DIRFILE')!));
      for (const tag of [0x00100010, 0x00100020, 0x0020000e, 0x0020000d, 0x00080018]) {
        const el = findElement(f.dataset, tag);
        const v = el ? readString(el) : '';
        if (v.length >= 4) assert.ok(!text.includes(v), `value of ${tag.toString(16)} printed`);
      }
    }
  });
});
