/**
 * Round trips and redaction mechanics on real files, with a stand-in detector (fixed boxes) so that no OCR runs:
 * - decode -> encode (no redaction) gives the same stored bytes (native, every syntax in the inventory) or the same
 *   samples (RLE with Veil's encoder; the lossless codecs: JPEG lossless, JPEG-LS, J2K, HTJ2K);
 * - the text stage changes only the pixels inside its boxes, keeps the transfer syntax of native inputs, writes a
 *   lossless input in its own transfer syntax, redacts JPEG baseline in the DCT domain, holds back lossy JPEG 2000
 *   (or writes it decoded when configured), and claims Burned In Annotation NO
 *   with 113101 only when it ran; with the stage off nothing is claimed.
 *
 * Run: node --import tsx --test packages/pixels/test/roundtrip.test.ts
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { bytesSource, findElement, materialize, parseDeidConfig, readString, releaseFile, scanFile } from '@veil/core';
import {
  type Box,
  createPixelStages,
  decodeRle,
  encodeNative,
  encodeRle,
  type FrameCodec,
  loadDcmjsCodecs,
  nativeFrameRange,
  openPixels,
  parsePixelTextConfig,
  samplesOf,
  type TextDetector,
} from '../src/index.ts';

const DATA = join(import.meta.dirname, '../../../../shared/data');
const inventory = readFileSync(join(DATA, 'INVENTORY.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split('\t'))
  .map((c) => ({ path: c[0] as string, size: Number(c[1]), ts: c[3] as string, dims: c[6] as string }))
  .filter((r) => /^\d+x\d+x\d+$/.test(r.dims));

function smallest(ts: string, n = 2) {
  return inventory
    .filter((r) => r.ts === ts)
    .sort((a, b) => a.size - b.size)
    .slice(0, n);
}

const load = (p: string) => scanFile(new Uint8Array(readFileSync(join(DATA, p))));

function sameSamples(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Index of the first differing byte, -1 when equal (assert's own diff of large arrays takes minutes). */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** A detector that reports the same boxes for every frame. */
function fixed(boxes: Box[]): TextDetector {
  return { detect: async () => boxes };
}

describe('round trips', () => {
  let codec: FrameCodec;
  before(async () => {
    codec = await loadDcmjsCodecs();
  });

  for (const ts of ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99']) {
    it(`native ${ts}: decode -> encode gives the stored bytes`, () => {
      for (const r of smallest(ts, 3)) {
        const file = load(r.path);
        const px = openPixels(file);
        assert.ok(px);
        const el = px.module.pixelData;
        for (let i = 0; i < Math.min(2, px.frames); i++) {
          const range = nativeFrameRange(px.module, i);
          const stored = el.parent.source.read(el.valueOffset + range.start, el.valueOffset + range.end);
          const again = encodeNative(
            px.decodeFrame(i),
            px.module,
            el.parent.syntax.littleEndian,
            stored,
            range.bitOffset,
            el.vr === 'OW',
          );
          assert.equal(firstDiff(again.subarray(0, range.end - range.start), stored), -1, `${r.path} frame ${i}`);
        }
      }
    });
  }

  it('RLE: Veil decodes, encodes and decodes again to the same samples', () => {
    for (const r of smallest('1.2.840.10008.1.2.5', 4)) {
      const px = openPixels(load(r.path));
      assert.ok(px);
      for (let i = 0; i < Math.min(2, px.frames); i++) {
        const f = px.decodeFrame(i);
        const again = decodeRle(encodeRle(f), f);
        assert.ok(sameSamples(samplesOf(f), samplesOf(again)), `${r.path} frame ${i}`);
      }
    }
  });

  it('RLE: 32-bit samples and long runs', () => {
    const layout = {
      rows: 3,
      columns: 300,
      samplesPerPixel: 1,
      bitsAllocated: 32,
      bitsStored: 32,
      highBit: 31,
      pixelRepresentation: 0,
      photometric: 'MONOCHROME2',
    };
    const data = new Uint8Array(3 * 300 * 4);
    for (let i = 0; i < 900; i++) new DataView(data.buffer).setUint32(i * 4, i < 400 ? 7 : i * 2654435761, true);
    const f = { ...layout, bytesPerSample: 4 as const, data };
    const back = decodeRle(encodeRle(f), layout);
    assert.equal(firstDiff(back.data, data), -1);
  });

  for (const ts of [
    '1.2.840.10008.1.2.4.57',
    '1.2.840.10008.1.2.4.70',
    '1.2.840.10008.1.2.4.80',
    '1.2.840.10008.1.2.4.90',
  ]) {
    it(`lossless codec ${ts}: decode -> encode -> decode gives the same samples`, () => {
      for (const r of smallest(ts, 2)) {
        const px = openPixels(load(r.path), codec);
        assert.ok(px);
        const f = px.decodeFrame(0);
        const again = codec.decode(ts, codec.encode(ts, f), f);
        assert.ok(sameSamples(samplesOf(f), samplesOf(again)), r.path);
      }
    });
  }
});

describe('the text stage', () => {
  const key = new Uint8Array(32).fill(7);
  const config = parseDeidConfig({});
  // Not 'detector': a stand-in box is neither grown by the margin nor extended along the line.
  const box: Box = { x0: 10, y0: 12, x1: 60, y1: 30, source: 'fixed', score: 1 };
  const CT = 'dicom/dcm_qa_ct/Philips/S21570/S2010/I10';
  let codec: FrameCodec;
  before(async () => {
    codec = await loadDcmjsCodecs();
  });

  async function run(path: string, boxes: Box[], text: unknown = { verify: false, margin: 0 }) {
    const bytes = new Uint8Array(readFileSync(join(DATA, path)));
    const stages = createPixelStages({ detector: fixed(boxes), codec, config: parsePixelTextConfig(text) });
    const outcome = await releaseFile(bytesSource(bytes), { config, keys: { key }, stages });
    return { bytes, outcome };
  }

  it('redacts only inside the boxes of a native CT and keeps its transfer syntax; claims what it did', async () => {
    const path = CT;
    const { bytes, outcome } = await run(path, [box]);
    assert.equal(outcome.kind, 'released');
    if (outcome.kind !== 'released') return;
    const out = scanFile(materialize(bytesSource(bytes), outcome.plan.segments));
    assert.equal(out.transferSyntax.uid, '1.2.840.10008.1.2.1');
    const a = samplesOf(openPixels(scanFile(bytes))?.decodeFrame(0) as never);
    const b = samplesOf(openPixels(out)?.decodeFrame(0) as never);
    let inside = 0;
    for (let i = 0; i < a.length; i++) {
      const x = i % 512;
      const y = Math.floor(i / 512);
      const within = x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1;
      if (!within) assert.equal(a[i], b[i], `pixel ${x},${y} outside the box changed`);
      else inside += a[i] !== b[i] ? 1 : 0;
    }
    assert.ok(inside > 0, 'nothing inside the box changed');
    const burned = findElement(out.dataset, 0x00280301);
    assert.equal(burned && readString(burned), 'NO');
    assert.deepEqual(outcome.claims.methodCodes, ['113101']);
  });

  it('with no text found nothing changes in the pixels, and the claim is still earned', async () => {
    const path = CT;
    const { bytes, outcome } = await run(path, []);
    assert.equal(outcome.kind, 'released');
    if (outcome.kind !== 'released') return;
    const out = scanFile(materialize(bytesSource(bytes), outcome.plan.segments));
    const pa = openPixels(scanFile(bytes))?.module.pixelData;
    const pb = openPixels(out)?.module.pixelData;
    assert.ok(pa && pb);
    const after = out.source.read(pb.valueOffset, pb.valueOffset + pb.length);
    assert.equal(firstDiff(after, bytesSource(bytes).read(pa.valueOffset, pa.valueOffset + pa.length)), -1);
    assert.equal(outcome.claims.burnedInAnnotationNo, true);
  });

  /** Finds the box while the pixel at its centre is not dark: the stage fills it, the verify stage sees it gone. */
  const untilDark: TextDetector = {
    detect: async (img) => {
      const at = (Math.floor((box.y0 + box.y1) / 2) * img.width + Math.floor((box.x0 + box.x1) / 2)) * 3;
      const dark = (img.rgb[at] as number) < 8 && (img.rgb[at + 1] as number) < 8 && (img.rgb[at + 2] as number) < 8;
      return dark ? [] : [box];
    },
  };

  async function runWith(path: string, detector: TextDetector, text: unknown) {
    const bytes = new Uint8Array(readFileSync(join(DATA, path)));
    const stages = createPixelStages({ detector, codec, config: parsePixelTextConfig(text) });
    const outcome = await releaseFile(bytesSource(bytes), { config, keys: { key }, stages });
    return { bytes, outcome };
  }

  it('a lossless compressed input with text keeps its transfer syntax; the verify stage reads the re-encoded frames', async () => {
    const path = smallest('1.2.840.10008.1.2.4.80', 1)[0]?.path as string;
    const { bytes, outcome } = await runWith(path, untilDark, { margin: 0 });
    assert.equal(outcome.kind, 'released', outcome.kind === 'quarantined' ? outcome.code : '');
    if (outcome.kind !== 'released') return;
    const out = scanFile(materialize(bytesSource(bytes), outcome.plan.segments));
    assert.equal(out.transferSyntax.uid, '1.2.840.10008.1.2.4.80');
    const a = samplesOf(openPixels(scanFile(bytes), codec)?.decodeFrame(0) as never);
    const b = samplesOf(openPixels(out, codec)?.decodeFrame(0) as never);
    const cols = openPixels(out, codec)?.module.columns as number;
    let outside = 0;
    let inside = 0;
    for (let i = 0; i < a.length; i++) {
      const x = i % cols;
      const y = Math.floor(i / cols);
      const within = x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1;
      if (!within && a[i] !== b[i]) outside++;
      if (within && a[i] !== b[i]) inside++;
    }
    assert.equal(outside, 0);
    assert.ok(inside > 0);
    assert.equal(outcome.claims.burnedInAnnotationNo, true);
  });

  it('JPEG baseline with text: redacted in the DCT domain (default), still JPEG baseline; verified', async () => {
    const path = 'dicom/pydicom-test-files/test_files/SC_rgb_jpeg_dcmtk.dcm';
    const { bytes, outcome } = await runWith(path, untilDark, { margin: 0 });
    assert.equal(outcome.kind, 'released', outcome.kind === 'quarantined' ? outcome.code : '');
    if (outcome.kind !== 'released') return;
    const out = scanFile(materialize(bytesSource(bytes), outcome.plan.segments));
    assert.equal(out.transferSyntax.uid, '1.2.840.10008.1.2.4.50');
    assert.equal(outcome.claims.burnedInAnnotationNo, true);
    // With lossy: quarantine it is held back.
    const held = await runWith(path, untilDark, { margin: 0, lossy: 'quarantine' });
    assert.equal(held.outcome.kind, 'quarantined');
    if (held.outcome.kind === 'quarantined') assert.equal(held.outcome.code, 'PIXELS_LOSSY_REDACTION_UNSUPPORTED');
  });

  it('lossy JPEG 2000 with text is held back (PIXELS_LOSSY_REDACTION_UNSUPPORTED), or written decoded when configured', async () => {
    const path = smallest('1.2.840.10008.1.2.4.91', 1)[0]?.path as string;
    const held = await run(path, [box]);
    assert.equal(held.outcome.kind, 'quarantined');
    if (held.outcome.kind === 'quarantined') assert.equal(held.outcome.code, 'PIXELS_LOSSY_REDACTION_UNSUPPORTED');
    const clean = await run(path, []);
    assert.equal(clean.outcome.kind, 'released');
    const ele = await run(path, [box], { verify: false, margin: 0, lossy: 'explicit-little-endian' });
    assert.equal(ele.outcome.kind, 'released');
    if (ele.outcome.kind !== 'released') return;
    const out = scanFile(materialize(bytesSource(ele.bytes), ele.outcome.plan.segments));
    assert.equal(out.transferSyntax.uid, '1.2.840.10008.1.2.1');
    const lossy = findElement(out.dataset, 0x00282110);
    assert.equal(lossy && readString(lossy).trim(), '01');
  });

  it('an encoding Veil cannot decode is held back unless the configuration passes its modality', async () => {
    // 1-bit RLE: Veil's RLE decoder does not unpack single bits (JPEG extended, 8 and 12 bit, decodes now).
    const path = 'dicom/pydicom-data/liver_rle.dcm';
    const held = await run(path, []);
    assert.equal(held.outcome.kind, 'quarantined');
    if (held.outcome.kind === 'quarantined') assert.equal(held.outcome.code, 'PIXELS_UNSUPPORTED_ENCODING');
    const modality = readString(findElement(load(path).dataset, 0x00080060) as never);
    const passed = await run(path, [], { verify: false, pass: { modalities: [modality] } });
    assert.equal(passed.outcome.kind, 'released');
    if (passed.outcome.kind === 'released') assert.notEqual(passed.outcome.claims.burnedInAnnotationNo, true);
  });

  it('the verify stage holds back an output in which the detector still finds text', async () => {
    const path = CT;
    const { outcome } = await run(path, [box], { margin: 0 });
    assert.equal(outcome.kind, 'quarantined');
    if (outcome.kind === 'quarantined') assert.ok(outcome.holds.some((f) => f.code === 'VERIFY_PIXEL_TEXT'));
  });

  it('turned off: no stage, no claim', async () => {
    assert.deepEqual(createPixelStages({ detector: fixed([]), config: parsePixelTextConfig({ enabled: false }) }), []);
  });
});
