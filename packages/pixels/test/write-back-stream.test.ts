/**
 * The redacted write-back streams: the changed frames are patched in place (native: only the bytes that differ;
 * encapsulated: the changed frames' items, the Basic / Extended Offset Table, nothing else) and the output is byte
 * for byte what the whole-value write gives (`whole: true`, the implementation before patches: every frame read
 * into one value, re-emitted by core's encapsulatedPixelEdits). Real multi-frame files of ../shared/data: native
 * little and big endian, RLE, JPEG lossless (14 and SV1, fragmented, no offset table), JPEG baseline (DCT-domain,
 * with and without Basic Offset Table), 1-bit frames sharing bytes. Boxes are filled in the first two frames of each; the patches together hold less than
 * those two frames' stored bytes plus the tables, never the value.
 *
 * Run: node --import tsx --test packages/pixels/test/write-back-stream.test.ts
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { type Edit, PIXEL_DATA, rewrite, scanFile } from '@veil/core';
import {
  type DecodedFrame,
  type FrameCodec,
  fillBoxes,
  loadDcmjsCodecs,
  openPixels,
  type PixelAccess,
  plannedFrames,
  redactionEdits,
  samplesOf,
} from '../src/index.ts';

const DATA = join(import.meta.dirname, '../../../../shared/data/dicom');
const FILES = [
  // native little endian, big endian (OW swapped), 8 frames of implicit little endian
  'dicomParser/testImages/encapsulated/multi-frame/CT0012.explicit_little_endian.dcm',
  'pydicom-data/SC_rgb_expb_16bit_2frame.dcm',
  'dicomParser/testImages/encapsulated/multi-frame/IM00001.implicit_little_endian.dcm',
  'pydicom-data/liver_nonbyte_aligned.dcm',
  // RLE
  'dicomParser/testImages/encapsulated/multi-frame/CT0012.not_fragmented_no_bot_rle.dcm',
  // JPEG lossless 14 and SV1, several fragments per frame, no offset table
  'dicomParser/testImages/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_lossless.57.dcm',
  'dicomParser/testImages/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_lossless.70.dcm',
  // JPEG baseline: DCT-domain redaction
  'dicomParser/testImages/encapsulated/multi-frame/IM00001.fragmented_no_bot_jpeg_baseline.50.dcm',
  'pydicom-test-files/test_files/examples_ybr_color.dcm',
];

function redactTwo(px: PixelAccess): Map<number, DecodedFrame> {
  const changed = new Map<number, DecodedFrame>();
  for (const i of [0, 1]) {
    const f = px.decodeFrame(i);
    const frame = { ...f, data: f.data.slice() };
    // A label at the top left and a band along the bottom: adjacent frames' patches meet where frames share bytes
    // (1-bit frames not a multiple of 8 pixels).
    const top = { x0: 0, y0: 0, x1: Math.min(70, f.columns), y1: Math.min(22, f.rows), source: 'fixed', score: 1 };
    const bottom = { x0: 0, y0: f.rows - 2, x1: f.columns, y1: f.rows, source: 'fixed', score: 1 };
    const value = f.bitsStored === 1 ? 1 : f.bitsStored > 8 ? 1000 : 200;
    fillBoxes(frame, [top, bottom], Array(f.samplesPerPixel).fill(value));
    changed.set(i, frame);
  }
  return changed;
}

const newBytes = (edits: readonly Edit[]): number =>
  edits.reduce((n, e) => n + (e.op === 'remove' ? 0 : e.value.length), 0);

describe('redacted write-back: patches in place, same bytes as the whole-value write', () => {
  let codec: FrameCodec;
  before(async () => {
    codec = await loadDcmjsCodecs();
  });

  for (const rel of FILES) {
    it(rel, () => {
      const file = scanFile(new Uint8Array(readFileSync(join(DATA, rel))));
      const px = openPixels(file, codec) as PixelAccess;
      assert.ok(px.frames >= 2, 'multi-frame');
      const changed = redactTwo(px);
      const whole = redactionEdits(file, px, changed, { codec, whole: true });
      const patched = redactionEdits(file, px, changed, { codec });
      // The whole-value write replaces Pixel Data; the streaming one never does.
      assert.ok(whole.some((e) => e.op === 'replace' && e.element.tag === PIXEL_DATA));
      assert.ok(!patched.some((e) => e.op === 'replace' && e.element.tag === PIXEL_DATA), 'no whole value');
      assert.ok(
        patched.some((e) => e.op === 'patch'),
        'patched',
      );
      const a = rewrite(file, whole);
      const b = rewrite(file, patched);
      assert.equal(b.length, a.length, 'length');
      assert.ok(Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0, 'same bytes as the whole-value write');
      // Memory: the patches hold at most the two frames (as stored or re-encoded) and the offset tables.
      const framesBytes = [...changed.keys()].reduce((n, i) => n + px.encodedFrame(i).length, 0);
      const tables = 16 * px.frames + 64;
      assert.ok(
        newBytes(patched) <= 2 * framesBytes + tables,
        `${newBytes(patched)} bytes patched for frames of ${framesBytes}`,
      );
      // What verification reads from the plan is what the written file holds.
      const planned = plannedFrames(file, patched, codec);
      assert.ok(planned);
      const out = openPixels(scanFile(b), codec) as PixelAccess;
      for (let i = 0; i < px.frames; i++) {
        const p = samplesOf(planned.frame(i));
        const o = samplesOf(out.decodeFrame(i));
        assert.deepEqual(p, o, `frame ${i}`);
      }
      // Unchanged frames come out as they went in.
      const mid = Math.floor(px.frames / 2);
      if (!changed.has(mid)) assert.deepEqual(out.encodedFrame(mid), px.encodedFrame(mid), 'untouched frame');
    });
  }
});
