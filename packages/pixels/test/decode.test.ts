/**
 * Pixel decode against DCMTK and GDCM: for every transfer syntax in ../shared/data/INVENTORY.tsv, up to three
 * files (the smallest) and up to three frames each are decoded here and by the reference tool (dcmdjpeg +cn,
 * dcmdjpls, dcmdrle, gdcmconv --raw; dcmconv +te for the native syntaxes, which checks byte order and inflation),
 * and the stored sample values must be equal, sample by sample. What no tool here can decode is skipped with a
 * note; what the tool decodes and Veil does not is a failure, except 12-bit JPEG extended, which Veil reports as
 * PIXELS_UNSUPPORTED_ENCODING (its stage then quarantines the file).
 *
 * Run: node --import tsx --test packages/pixels/test/decode.test.ts
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isVeilError, scanFile } from '@veil/core';
import { type FrameCodec, loadDcmjsCodecs, openPixels, samplesOf } from '../src/index.ts';

const DATA = join(import.meta.dirname, '../../../../shared/data');
const rows = readFileSync(join(DATA, 'INVENTORY.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split('\t'))
  .map((c) => ({ path: c[0] as string, size: Number(c[1]), ts: c[3] as string, dims: c[6] as string }));

const NATIVE = ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99'];

function reference(ts: string): [string, string[]] | undefined {
  if (NATIVE.includes(ts)) return ['dcmconv', ['+te']];
  if (
    ['1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70'].includes(
      ts,
    )
  )
    return ['dcmdjpeg', ['+cn']];
  if (ts === '1.2.840.10008.1.2.4.80' || ts === '1.2.840.10008.1.2.4.81') return ['dcmdjpls', []];
  if (ts === '1.2.840.10008.1.2.5') return ['dcmdrle', []];
  if (ts.startsWith('1.2.840.10008.1.2.4.9') || ts.startsWith('1.2.840.10008.1.2.4.20')) return ['gdcmconv', ['--raw']];
  // Deflated Image Frame Compression: no tool here decodes it; pydicom-data ships the same image uncompressed.
  if (ts === '1.2.840.10008.1.2.8.1') return ['sibling', ['_deflate.dcm', '.dcm']];
  return undefined;
}

/** Up to three image files per transfer syntax, smallest first. */
function sample(): Map<string, typeof rows> {
  const by = new Map<string, typeof rows>();
  for (const r of rows) {
    if (!r.dims || !/^\d+x\d+/.test(r.dims) || !r.ts.startsWith('1.2.840')) continue;
    const list = by.get(r.ts) ?? [];
    list.push(r);
    by.set(r.ts, list);
  }
  for (const [ts, list] of by) by.set(ts, list.sort((a, b) => a.size - b.size).slice(0, 3));
  return by;
}

describe('pixel decode matches DCMTK / GDCM', () => {
  let codec: FrameCodec;
  let dir: string;
  before(async () => {
    codec = await loadDcmjsCodecs();
    dir = mkdtempSync(join(tmpdir(), 'veil-pixels-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [ts, files] of sample()) {
    it(`${ts}: ${files.length} file(s)`, () => {
      const ref = reference(ts);
      assert.ok(ref, `no reference tool for ${ts}`);
      let compared = 0;
      for (const f of files) {
        const src = join(DATA, f.path);
        const out = join(dir, `ref-${compared}-${f.path.replace(/\W/g, '_')}.dcm`);
        let refPath = out;
        const expbTwin = src.replace('_expb', '');
        if (ts === '1.2.840.10008.1.2.2' && expbTwin !== src && existsSync(expbTwin)) {
          // pydicom's big-endian copies of its little-endian files: the twin is the reference. (dcmconv swaps OW by
          // 16-bit words, which for 32-bit samples gives other values than the little-endian original.)
          refPath = expbTwin;
        } else if (ref[0] === 'sibling') {
          refPath = src.replace(ref[1][0] as string, ref[1][1] as string);
        } else {
          try {
            execFileSync(ref[0], [...ref[1], src, out], { stdio: 'ignore' });
          } catch {
            continue; // the reference cannot decode it either
          }
        }
        const refFile = scanFile(new Uint8Array(readFileSync(refPath)));
        const refPx = openPixels(refFile);
        if (!refPx) continue;
        const ours = scanFile(new Uint8Array(readFileSync(src)));
        let px: ReturnType<typeof openPixels>;
        try {
          px = openPixels(ours, codec);
        } catch (e) {
          if (ts === '1.2.840.10008.1.2.4.51' && isVeilError(e) && e.code === 'PIXELS_UNSUPPORTED_ENCODING') continue;
          throw e;
        }
        assert.ok(px, f.path);
        assert.equal(px.frames, refPx.frames, f.path);
        for (let i = 0; i < Math.min(3, px.frames); i++) {
          const a = samplesOf(px.decodeFrame(i));
          const b = samplesOf(refPx.decodeFrame(i));
          assert.equal(a.length, b.length, `${f.path} frame ${i}`);
          let diff = 0;
          for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) diff++;
          assert.equal(diff, 0, `${f.path} frame ${i}: ${diff} samples differ`);
        }
        compared++;
      }
      if (ts !== '1.2.840.10008.1.2.4.51') assert.ok(compared > 0, `nothing compared for ${ts}`);
    });
  }
});
