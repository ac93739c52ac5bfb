/**
 * Write-back in the input's transfer syntax, on every encapsulated transfer syntax in ../shared/data:
 * - lossless (RLE, deflated image frames, JPEG lossless 14 / SV1, JPEG-LS, JPEG 2000 lossless): with nothing
 *   changed the file comes out byte-identical; with every frame re-encoded and nothing redacted the output decodes
 *   to the same samples; with a box filled in frame 0 the output keeps the transfer syntax, changes only the box's
 *   pixels, keeps the other frames' fragments bit-exact, and DCMTK / GDCM (dcmdrle, dcmdjpeg, dcmdjpls,
 *   gdcmconv --raw) decode it to the same samples as Veil;
 * - JPEG baseline (and 12-bit extended, straight on its fragments): DCT-domain redaction blanks the MCUs under the
 *   box, every other block's coefficients stay identical, and dcmdjpeg decodes the output to pixels identical to
 *   the original's outside the blanked MCUs (outside a one-MCU ring for subsampled chroma, whose upsampling reads the
 *   neighbouring block); the blanked MCUs are black.
 *
 * Run: node --import tsx --test packages/pixels/test/write-back.test.ts
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type DicomFile,
  encapsulatedPixelEdits,
  type Fragment,
  findElement,
  readString,
  rewrite,
  scanFile,
} from '@veil/core';
import { defaceFrameEdits } from '../src/deface/writeback.ts';
import {
  type DecodedFrame,
  encapsulatedFrame,
  type FrameCodec,
  fillBoxes,
  frameFragments,
  loadDcmjsCodecs,
  openPixels,
  type PixelAccess,
  plannedFrames,
  readPixelModule,
  redactionEdits,
  samplesOf,
} from '../src/index.ts';
import { blankJpegBlocks, dctBlankValue, jpegCoefficients, mcuSize } from '../src/jpeg/dct-redact.ts';

const DATA = join(import.meta.dirname, '../../../../shared/data');
const rows = readFileSync(join(DATA, 'INVENTORY.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split('\t'))
  .map((c) => ({ path: c[0] as string, size: Number(c[1]), ts: c[3] as string, dims: c[6] as string }))
  .filter((r) => /^\d+x\d+x\d+$/.test(r.dims));
const byTs = (ts: string, n: number) =>
  rows
    .filter((r) => r.ts === ts)
    .sort((a, b) => a.size - b.size)
    .slice(0, n);

const tmp = mkdtempSync(join(tmpdir(), 'veil-wb-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const load = (p: string) => scanFile(new Uint8Array(readFileSync(join(DATA, p))));

function copy(f: DecodedFrame): DecodedFrame {
  return { ...f, data: f.data.slice() };
}

/** Decodes a file with an external tool into native pixels; undefined when the tool refuses it. */
function external(tool: string[], bytes: Uint8Array, name: string): DicomFile | undefined {
  const input = join(tmp, `${name}.in.dcm`);
  const output = join(tmp, `${name}.out.dcm`);
  writeFileSync(input, bytes);
  const r = spawnSync(tool[0] as string, [...tool.slice(1), input, output], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return scanFile(new Uint8Array(readFileSync(output)));
}

function diffCount(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

function fragmentsOf(file: DicomFile, px: PixelAccess, i: number): Uint8Array[] {
  const frags = px.module.pixelData.fragments as Fragment[];
  return (px.fragmentGroups?.[i] ?? []).map((k) => {
    const f = frags[k] as Fragment;
    return file.source.read(f.valueOffset, f.valueOffset + f.length).slice();
  });
}

const LOSSLESS: [string, string[][]][] = [
  ['1.2.840.10008.1.2.5', [['dcmdrle'], ['gdcmconv', '--raw']]],
  ['1.2.840.10008.1.2.8.1', []],
  ['1.2.840.10008.1.2.4.57', [['dcmdjpeg'], ['gdcmconv', '--raw']]],
  ['1.2.840.10008.1.2.4.70', [['dcmdjpeg'], ['gdcmconv', '--raw']]],
  ['1.2.840.10008.1.2.4.80', [['dcmdjpls'], ['gdcmconv', '--raw']]],
  ['1.2.840.10008.1.2.4.90', [['gdcmconv', '--raw']]],
];

describe('lossless inputs are written back in their own transfer syntax', () => {
  let codec: FrameCodec;
  before(async () => {
    codec = await loadDcmjsCodecs();
  });

  for (const [ts, tools] of LOSSLESS) {
    it(`${ts}: round trip, redaction inside the box only, DCMTK/GDCM agree`, () => {
      let tested = 0;
      let checked = 0;
      const skipped: string[] = [];
      for (const r of byTs(ts, 3)) {
        const file = load(r.path);
        let px: PixelAccess | undefined;
        try {
          px = openPixels(file, codec);
          px?.decodeFrame(0);
        } catch {
          continue; // 1-bit RLE: not decoded here (the decode test covers what is)
        }
        if (!px) continue;
        tested++;
        const input = file.source.read(0, file.source.length);
        // Nothing changed: the file, byte for byte.
        assert.deepEqual(redactionEdits(file, px, new Map(), { codec }), [], `${r.path}: edits for nothing`);
        // Every frame encoded again, nothing redacted: the same samples.
        const all = new Map<number, DecodedFrame>();
        for (let i = 0; i < px.frames; i++) all.set(i, copy(px.decodeFrame(i)));
        const again = scanFile(rewrite(file, redactionEdits(file, px, all, { codec })));
        assert.equal(again.transferSyntax.uid, ts);
        const pa = openPixels(again, codec) as PixelAccess;
        for (let i = 0; i < px.frames; i++) {
          assert.equal(diffCount(samplesOf(pa.decodeFrame(i)), samplesOf(px.decodeFrame(i))), 0, `${r.path} ${i}`);
        }
        // A box filled in frame 0: only its pixels change; other frames' fragments bit-exact.
        const f0 = copy(px.decodeFrame(0));
        const box = {
          x0: 2,
          y0: 3,
          x1: Math.min(40, f0.columns),
          y1: Math.min(20, f0.rows),
          source: 'fixed',
          score: 1,
        };
        fillBoxes(f0, [box], [0]);
        const edits = redactionEdits(file, px, new Map([[0, f0]]), { codec });
        const out = scanFile(rewrite(file, edits));
        assert.equal(out.transferSyntax.uid, ts);
        const po = openPixels(out, codec) as PixelAccess;
        // What the verify stage reads from the plan is what the written file holds.
        const planned = plannedFrames(file, edits, codec);
        assert.ok(planned);
        for (const i of new Set([0, px.frames - 1])) {
          assert.equal(diffCount(samplesOf(planned.frame(i)), samplesOf(po.decodeFrame(i))), 0, `${r.path} plan ${i}`);
        }
        const a = samplesOf(px.decodeFrame(0));
        const b = samplesOf(po.decodeFrame(0));
        const spp = f0.samplesPerPixel;
        let inside = 0;
        for (let i = 0; i < a.length; i++) {
          const p = Math.floor(i / spp);
          const x = p % f0.columns;
          const y = Math.floor(p / f0.columns);
          const within = x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1;
          if (!within) assert.equal(a[i], b[i], `${r.path}: pixel ${x},${y} outside the box changed`);
          else {
            assert.equal(b[i], 0);
            inside += a[i] !== b[i] ? 1 : 0;
          }
        }
        void inside;
        for (let i = 1; i < px.frames; i++) {
          const x = fragmentsOf(file, px, i);
          const y = fragmentsOf(out, po, i);
          assert.equal(x.length, y.length);
          x.forEach((f, k) => {
            assert.equal(Buffer.compare(f, y[k] as Uint8Array), 0, `${r.path} frame ${i} fragment`);
          });
        }
        // DCMTK and GDCM decode the output to Veil's samples.
        const bytes = out.source.read(0, out.source.length);
        for (const tool of tools) {
          // A tool that does not decode the input as Veil does (gdcmconv on 16-bit RGB RLE) proves nothing here.
          const ref = external(tool, input, `${basename(r.path)}-${tool[0]}-in`);
          const pr = ref && (openPixels(ref) as PixelAccess);
          if (!pr || diffCount(samplesOf(pr.decodeFrame(0)), samplesOf(px.decodeFrame(0))) !== 0) {
            skipped.push(`${tool[0]}:${basename(r.path)}`);
            continue;
          }
          const ext = external(tool, bytes, `${basename(r.path)}-${tool[0]}`);
          assert.ok(ext, `${tool.join(' ')} could not decode ${r.path}`);
          checked++;
          const pe = openPixels(ext) as PixelAccess;
          for (let i = 0; i < px.frames; i++) {
            const n = diffCount(samplesOf(pe.decodeFrame(i)), samplesOf(po.decodeFrame(i)));
            assert.equal(n, 0, `${tool[0]}: ${r.path} frame ${i}: ${n} samples differ`);
          }
        }
      }
      assert.ok(tested > 0, `no ${ts} file tested`);
      if (tools.length) assert.ok(checked > 0, `no external decoder checked ${ts}`);
      console.log(
        `${ts}: ${tested} files, ${checked} external decodes equal${skipped.length ? `; tool disagrees with the input already: ${skipped.join(' ')}` : ''}`,
      );
    });
  }
});

describe('HTJ2K lossless (none in the inventory: a CT slice encoded here)', () => {
  it('1.2.840.10008.1.2.4.201: redaction re-encodes in HTJ2K, only the box changes', async () => {
    const codec = await loadDcmjsCodecs();
    const native = load('dicom/dcm_qa_ct/Philips/S21570/S2010/I10');
    const npx = openPixels(native) as PixelAccess;
    const frame = npx.decodeFrame(0);
    const ts = '1.2.840.10008.1.2.4.201';
    const el = findElement(native.dataset, 0x7fe00010);
    const tsEl = native.meta && findElement(native.meta, 0x00020010);
    assert.ok(el && tsEl);
    const uid = new TextEncoder().encode(`${ts}\0`);
    const htj2k = scanFile(
      rewrite(native, [
        ...encapsulatedPixelEdits(native.dataset, el, [[codec.encode(ts, frame)]]),
        { op: 'replace', element: tsEl, value: uid },
      ]),
    );
    assert.equal(htj2k.transferSyntax.uid, ts);
    const px = openPixels(htj2k, codec) as PixelAccess;
    assert.equal(diffCount(samplesOf(px.decodeFrame(0)), samplesOf(frame)), 0);
    const f0 = copy(px.decodeFrame(0));
    const box = { x0: 100, y0: 50, x1: 200, y1: 90, source: 'fixed', score: 1 };
    fillBoxes(f0, [box], [0]);
    const out = scanFile(rewrite(htj2k, redactionEdits(htj2k, px, new Map([[0, f0]]), { codec })));
    assert.equal(out.transferSyntax.uid, ts);
    assert.equal(diffCount(samplesOf((openPixels(out, codec) as PixelAccess).decodeFrame(0)), samplesOf(f0)), 0);
  });
});

describe('deflated datasets and defacing write-back', () => {
  let codec: FrameCodec;
  before(async () => {
    codec = await loadDcmjsCodecs();
  });

  it('Deflated Explicit VR Little Endian (native pixels in a deflated dataset) stays deflated; dcmconv agrees', () => {
    for (const r of byTs('1.2.840.10008.1.2.1.99', 2)) {
      const file = load(r.path);
      const px = openPixels(file) as PixelAccess;
      const f0 = copy(px.decodeFrame(0));
      const box = { x0: 5, y0: 5, x1: 30, y1: 20, source: 'fixed', score: 1 };
      fillBoxes(f0, [box], [0]);
      const bytes = rewrite(file, redactionEdits(file, px, new Map([[0, f0]]), { codec }));
      const out = scanFile(bytes);
      assert.equal(out.transferSyntax.uid, '1.2.840.10008.1.2.1.99');
      const a = samplesOf(px.decodeFrame(0));
      const b = samplesOf((openPixels(out) as PixelAccess).decodeFrame(0));
      const ext = external(['dcmconv', '+te'], bytes, `${basename(r.path)}-dfl`);
      assert.ok(ext, r.path);
      const c = samplesOf((openPixels(ext) as PixelAccess).decodeFrame(0));
      for (let i = 0; i < a.length; i++) {
        const x = i % f0.columns;
        const y = Math.floor(i / f0.columns);
        const within = x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1;
        assert.equal(b[i], within ? 0 : a[i], `${r.path}: ${x},${y}`);
        assert.equal(c[i], b[i], `dcmconv: ${r.path}: ${x},${y}`);
      }
    }
  });

  it('defacing: a lossless input keeps its syntax, lossy JPEG 2000 goes out decoded with Lossy Image Compression 01', () => {
    const cases: [string, string][] = [
      [byTs('1.2.840.10008.1.2.4.80', 1)[0]?.path as string, '1.2.840.10008.1.2.4.80'],
      [byTs('1.2.840.10008.1.2.5', 1)[0]?.path as string, '1.2.840.10008.1.2.5'],
      [byTs('1.2.840.10008.1.2.4.91', 1)[0]?.path as string, '1.2.840.10008.1.2.1'],
      [byTs('1.2.840.10008.1.2.4.50', 1)[0]?.path as string, '1.2.840.10008.1.2.4.50'],
    ];
    for (const [path, want] of cases) {
      const file = load(path);
      const px = openPixels(file, codec) as PixelAccess;
      const f0 = copy(px.decodeFrame(0));
      fillBoxes(f0, [{ x0: 0, y0: 0, x1: 8, y1: 8, source: 'fixed', score: 1 }], Array(f0.samplesPerPixel).fill(0));
      const out = scanFile(rewrite(file, defaceFrameEdits(file, px, new Map([[0, f0]]), { codec })));
      assert.equal(out.transferSyntax.uid, want, path);
      if (want === '1.2.840.10008.1.2.1') {
        assert.equal(readString(findElement(out.dataset, 0x00282110) as never).trim(), '01');
      }
      const decoded = (openPixels(out, codec) as PixelAccess).decodeFrame(0);
      if (want !== '1.2.840.10008.1.2.4.50') {
        assert.equal(diffCount(samplesOf(decoded), samplesOf(f0)), 0, path);
      }
    }
  });
});

/** MCU-grid pixels of a blanked region, and the ring around it (chroma upsampling reaches into it). */
function mcuMask(cols: number, rows: number, mcu: { width: number; height: number }, blank: Set<string>) {
  return (x: number, y: number, ring: number): boolean => {
    const mx = Math.floor(x / mcu.width);
    const my = Math.floor(y / mcu.height);
    for (let dy = -ring; dy <= ring; dy++) {
      for (let dx = -ring; dx <= ring; dx++) if (blank.has(`${mx + dx},${my + dy}`)) return true;
    }
    void cols;
    void rows;
    return false;
  };
}

/** Whether (x, y) lies two pixels or more inside the blanked region. */
function deep(near: (x: number, y: number, ring: number) => boolean, x: number, y: number): boolean {
  for (const [dx, dy] of [
    [-2, 0],
    [2, 0],
    [0, -2],
    [0, 2],
  ] as const) {
    if (!near(x + dx, y + dy, 0)) return false;
  }
  return true;
}

describe('JPEG baseline / extended: DCT-domain redaction', () => {
  let codec: FrameCodec;
  before(async () => {
    codec = await loadDcmjsCodecs();
  });

  it('nothing blanked: every JPEG frame in the inventory comes out byte-identical (the Huffman coder is exact)', () => {
    let n = 0;
    for (const r of [...byTs('1.2.840.10008.1.2.4.50', 20), ...byTs('1.2.840.10008.1.2.4.51', 10)]) {
      const file = load(r.path);
      const jpeg = jpegFrame(file, 0);
      let out: Uint8Array;
      try {
        out = blankJpegBlocks(jpeg, () => false, { level: 'min' });
      } catch (e) {
        // One inventory file holds zeros, not a JPEG (fo-dicom genFile.dcm).
        assert.equal((e as { code?: string }).code, 'PIXELS_JPEG_CORRUPT', r.path);
        continue;
      }
      // The stream may end with padding after EOI: compared up to the input's length.
      assert.equal(Buffer.compare(out, jpeg), 0, r.path);
      n++;
    }
    assert.ok(n >= 15, `only ${n} JPEG files`);
  });

  it('baseline and extended: blanks the MCUs under a box, other blocks identical (coefficients, dcmdjpeg pixels)', () => {
    let tested = 0;
    // The smallest, and a multi-frame one whose frames span several fragments and no offset table.
    const multi = rows.filter((r) => r.path.endsWith('IM00001.fragmented_no_bot_jpeg_baseline.50.dcm'));
    for (const r of [...byTs('1.2.840.10008.1.2.4.50', 12), ...multi, ...byTs('1.2.840.10008.1.2.4.51', 4)]) {
      const file = load(r.path);
      let px: PixelAccess | undefined;
      try {
        px = openPixels(file, codec);
        px?.decodeFrame(0);
      } catch {
        continue;
      }
      if (!px) continue;
      const f0 = copy(px.decodeFrame(0));
      const box = { x0: 17, y0: 9, x1: Math.min(45, f0.columns), y1: Math.min(30, f0.rows), source: 'fixed', score: 1 };
      if (fillBoxes(f0, [box], Array(f0.samplesPerPixel).fill(0)) === 0) continue;
      tested++;
      const edits = redactionEdits(file, px, new Map([[0, f0]]), { codec });
      const out = scanFile(rewrite(file, edits));
      assert.equal(out.transferSyntax.uid, r.ts, r.path);
      const po = openPixels(out, codec) as PixelAccess;
      const planned = plannedFrames(file, edits, codec);
      assert.ok(planned);
      for (const i of new Set([0, px.frames - 1])) {
        assert.equal(diffCount(samplesOf(planned.frame(i)), samplesOf(po.decodeFrame(i))), 0, `${r.path} plan ${i}`);
      }
      const jpeg = px.encodedFrame(0);
      const mcu = mcuSize(jpeg);
      const blank = new Set<string>();
      for (let y = box.y0; y < box.y1; y++) {
        for (let x = box.x0; x < box.x1; x++) blank.add(`${Math.floor(x / mcu.width)},${Math.floor(y / mcu.height)}`);
      }
      // Coefficients: every block outside the blanked MCUs identical.
      const ca = jpegCoefficients(jpeg);
      const cb = jpegCoefficients(po.encodedFrame(0));
      ca.frame.components.forEach((c, ci) => {
        const A = ca.coeffs[ci] as Int32Array;
        const B = cb.coeffs[ci] as Int32Array;
        for (let blk = 0; blk < c.bw * c.bh; blk++) {
          const bx = blk % c.bw;
          const by = Math.floor(blk / c.bw);
          const inBlank = blank.has(`${Math.floor(bx / c.h)},${Math.floor(by / c.v)}`);
          for (let k = 0; k < 64; k++) {
            if (!inBlank) assert.equal(A[blk * 64 + k], B[blk * 64 + k], `${r.path}: block ${bx},${by} changed`);
            else if (k > 0) assert.equal(B[blk * 64 + k], 0);
          }
        }
      });
      for (let i = 1; i < px.frames; i++) {
        assert.equal(Buffer.compare(px.encodedFrame(i), po.encodedFrame(i)), 0, `${r.path} frame ${i} not copied`);
      }
      // Pixels, decoded by DCMTK: identical outside the blanked MCUs (and their ring when chroma is subsampled).
      const subsampled = mcu.width > 8 || mcu.height > 8;
      const ea = external(['dcmdjpeg'], file.source.read(0, file.source.length), `${basename(r.path)}-a`);
      const eb = external(['dcmdjpeg'], out.source.read(0, out.source.length), `${basename(r.path)}-b`);
      assert.ok(ea && eb, `dcmdjpeg could not decode ${r.path}`);
      const a = samplesOf((openPixels(ea) as PixelAccess).decodeFrame(0));
      const b = samplesOf((openPixels(eb) as PixelAccess).decodeFrame(0));
      const spp = f0.samplesPerPixel;
      const near = mcuMask(f0.columns, f0.rows, mcu, blank);
      let blackInside = 0;
      let inside = 0;
      for (let i = 0; i < a.length; i++) {
        const p = Math.floor(i / spp);
        const x = p % f0.columns;
        const y = Math.floor(p / f0.columns);
        if (near(x, y, 0)) {
          if (subsampled && !deep(near, x, y)) continue;
          inside++;
          if ((b[i] as number) <= 2) blackInside++;
        } else if (!near(x, y, subsampled ? 1 : 0)) {
          assert.equal(a[i], b[i], `${r.path}: pixel ${x},${y} outside the blanked MCUs changed`);
        }
      }
      // RGB output of a YCbCr JPEG: black is (0,0,0) give or take the colour conversion's rounding.
      assert.ok(blackInside === inside, `${r.path}: blanked MCUs not black (${blackInside}/${inside})`);
    }
    assert.ok(tested >= 10, `only ${tested} JPEG files`);
  });

  it('extended (process 2/4, 8 and 12 bit): blanked blocks, the rest identical as dcmdjpeg decodes it', () => {
    let tested = 0;
    for (const r of byTs('1.2.840.10008.1.2.4.51', 10)) {
      const file = load(r.path);
      const el = findElement(file.dataset, 0x7fe00010);
      const m = readPixelModule(file);
      if (!el || !m || m.frames !== 1) continue; // one frame: written straight back below
      const jpeg = jpegFrame(file, 0);
      const { frame } = jpegCoefficients(jpeg);
      const mcu = mcuSize(jpeg);
      const blank = new Set(['1,1', '2,1']);
      const out = blankJpegBlocks(jpeg, (mx, my) => blank.has(`${mx},${my}`), dctBlankValue(m.photometric));
      const edited = rewrite(file, [
        { op: 'replace', element: el!, encapsulated: true, value: encapsulated(out), vr: 'OB' },
      ]);
      const ea = external(['dcmdjpeg'], file.source.read(0, file.source.length), `${basename(r.path)}-a`);
      const eb = external(['dcmdjpeg'], edited, `${basename(r.path)}-b`);
      assert.ok(ea && eb, r.path);
      const a = samplesOf((openPixels(ea) as PixelAccess).decodeFrame(0));
      const b = samplesOf((openPixels(eb) as PixelAccess).decodeFrame(0));
      const near = mcuMask(frame.width, frame.height, mcu, blank);
      const spp = m.samplesPerPixel;
      const subsampled = mcu.width > 8 || mcu.height > 8;
      for (let i = 0; i < a.length; i++) {
        const x = Math.floor(i / spp) % frame.width;
        const y = Math.floor(i / spp / frame.width);
        if (near(x, y, subsampled ? 1 : 0) && !near(x, y, 0)) continue;
        // Upsampled chroma of the neighbouring blocks reaches two pixels into a blanked MCU.
        if (subsampled && near(x, y, 0) && !deep(near, x, y)) continue;
        if (near(x, y, 0)) assert.equal(b[i], 0, `${r.path}: ${x},${y} not black`);
        else assert.equal(a[i], b[i], `${r.path}: ${x},${y} changed`);
      }
      tested++;
      assert.ok(readString(findElement(ea.dataset, 0x00280101)!) !== '', 'bits stored');
    }
    assert.ok(tested >= 3, `only ${tested} extended files`);
  });
});

/** The codestream of frame i, without a decoder. */
function jpegFrame(file: DicomFile, i: number): Uint8Array {
  const m = readPixelModule(file);
  assert.ok(m);
  return encapsulatedFrame(m, frameFragments(file, m)[i] as number[]);
}

/** One fragment as encapsulated items (empty offset table). */
function encapsulated(frag: Uint8Array): Uint8Array {
  const len = frag.length + (frag.length % 2);
  const out = new Uint8Array(8 + 8 + len + 8);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xfffe, true);
  dv.setUint16(2, 0xe000, true);
  dv.setUint16(8, 0xfffe, true);
  dv.setUint16(10, 0xe000, true);
  dv.setUint32(12, len, true);
  out.set(frag, 16);
  dv.setUint16(16 + len, 0xfffe, true);
  dv.setUint16(18 + len, 0xe0dd, true);
  return out;
}
