/**
 * Writing redacted frames back as edits over the original file.
 *
 * - Native pixel data keeps its transfer syntax, byte order, planar configuration and every byte of the frames (and
 *   pixels) that were not redacted.
 * - A lossless encapsulated input (RLE, Deflated Image Frame, JPEG lossless 14 / SV1, JPEG-LS lossless, JPEG 2000
 *   lossless, HTJ2K lossless) keeps its transfer syntax: only the changed frames are encoded again (RLE and deflate
 *   here, the others through the codec port), each is decoded again and must give exactly the redacted samples
 *   (PIXELS_REENCODE_MISMATCH otherwise), and the fragments of every other frame are copied bit for bit
 *   (core's encapsulatedPixelEdits keeps the offset tables right).
 * - A lossy input is never compressed lossy again. `lossy: 'dct'` (the default) redacts JPEG baseline / extended
 *   (8 or 12 bit, Huffman, sequential) in the DCT domain (jpeg/dct-redact.ts): every MCU holding a changed pixel is
 *   blanked, every other block keeps its coefficients; the frame stays in its transfer syntax. A lossy input that
 *   cannot be redacted that way (JPEG-LS near-lossless, lossy JPEG 2000 / HTJ2K, progressive or arithmetic JPEG) is
 *   refused with PIXELS_LOSSY_REDACTION_UNSUPPORTED, or under `lossy: 'explicit-little-endian'` written decoded as
 *   Explicit VR Little Endian, with Lossy Image Compression (0028,2110) 01 (the pixels were lossy once; method and
 *   ratio, when present, are kept).
 *
 * Example:
 *   const edits = redactionEdits(file, access, changed, { codec, lossy: 'dct' });
 */
import { deflateRawSync } from 'node:zlib';
import {
  type DicomFile,
  type Edit,
  EXPLICIT_VR_LITTLE_ENDIAN,
  encapsulatedPixelEdits,
  type Fragment,
  findElement,
  PIXEL_DATA,
  planRewrite,
  planSource,
  scanFile,
  VeilError,
} from '@veil/core';
import { type FrameCodec, LOSSY, TS } from './codecs/port.ts';
import { openPixels, type PixelAccess } from './decode.ts';
import { fragmentPatchEdits } from './fragments.ts';
import type { DecodedFrame } from './frame.ts';
import { blankJpegBlocks, dctBlankValue, mcuSize } from './jpeg/dct-redact.ts';
import { encodeNative, nativeFrameRange } from './native.ts';
import { encodeRle } from './rle.ts';

export type LossyWriteMode = 'dct' | 'explicit-little-endian' | 'quarantine';

export interface WriteBackOptions {
  /** The codec that encodes the lossless JPEG family (and decodes to check); RLE and deflate need none. */
  readonly codec?: FrameCodec | undefined;
  /** What to do with a lossy input: default 'dct'. */
  readonly lossy?: LossyWriteMode | undefined;
  /**
   * Replace the whole Pixel Data value (one edit holding every frame) instead of patching the changed frames' bytes
   * in place. The output is the same byte for byte; the patches keep memory to the changed frames, whatever the
   * file's size. For comparison and tests.
   */
  readonly whole?: boolean | undefined;
}

const ascii = (s: string, pad: number): Uint8Array => {
  const t = s.length % 2 ? s + String.fromCharCode(pad) : s;
  const out = new Uint8Array(t.length);
  for (let i = 0; i < t.length; i++) out[i] = t.charCodeAt(i);
  return out;
};

const PHOTOMETRIC = 0x00280004;
const PLANAR = 0x00280006;
const EXTENDED_OFFSET_TABLE = 0x7fe00001;
const EXTENDED_OFFSET_TABLE_LENGTHS = 0x7fe00002;
const TRANSFER_SYNTAX = 0x00020010;
const LOSSY_IMAGE_COMPRESSION = 0x00282110;
const TAG = '(7FE0,0010)';

/** The transfer syntaxes written back in themselves after redaction (the codec ones only with a codec). */
export function reencodes(transferSyntax: string, codec: FrameCodec | undefined): boolean {
  if (transferSyntax === TS.rle || transferSyntax === TS.deflatedImageFrame) return true;
  if (transferSyntax === TS.jpegBaseline || transferSyntax === TS.jpegExtended) return false;
  return !LOSSY.has(transferSyntax) && (codec?.canEncodeLossless(transferSyntax) ?? false);
}

/** Edits that put the changed frames in the output; frames not in `changed` are copied unchanged. */
export function redactionEdits(
  file: DicomFile,
  px: PixelAccess,
  changed: ReadonlyMap<number, DecodedFrame>,
  options: WriteBackOptions = {},
): Edit[] {
  if (!px.encapsulated) return options.whole ? nativeWholeEdits(px, changed) : nativePatchEdits(px, changed);
  // Nothing redacted: nothing to write (the fragments go out as they came).
  if (changed.size === 0) return [];
  const ts = px.transferSyntax;
  const lossy = options.lossy ?? 'dct';
  if (reencodes(ts, options.codec)) return reencodeEdits(file, px, changed, options);
  if ((ts === TS.jpegBaseline || ts === TS.jpegExtended) && lossy === 'dct') {
    return dctEdits(file, px, changed, options.whole);
  }
  if (LOSSY.has(ts) && lossy !== 'explicit-little-endian') {
    throw new VeilError('PIXELS_LOSSY_REDACTION_UNSUPPORTED', { path: TAG });
  }
  if (!LOSSY.has(ts) && !reencodes(ts, options.codec)) {
    // A lossless syntax without an encoder here: never silently decompressed.
    throw new VeilError('PIXELS_ENCODE_UNSUPPORTED', { path: '(0002,0010)' });
  }
  return explicitLittleEndianEdits(file, px, changed);
}

/** Native: the whole value read, the changed frames written into it (the reference for nativePatchEdits). */
function nativeWholeEdits(px: PixelAccess, changed: ReadonlyMap<number, DecodedFrame>): Edit[] {
  const m = px.module;
  const el = m.pixelData;
  const le = el.parent.syntax.littleEndian;
  const value = el.parent.source.read(el.valueOffset, el.valueOffset + el.length).slice();
  for (const [i, frame] of changed) {
    const r = nativeFrameRange(m, i);
    const stored = value.subarray(r.start, r.end);
    const bytes = encodeNative(frame, m, le, stored, r.bitOffset, el.vr === 'OW');
    value.set(bytes.subarray(0, Math.min(bytes.length, value.length - r.start)), r.start);
  }
  return [{ op: 'replace', element: el, value }];
}

/**
 * Native: one patch per changed frame, covering only the bytes that differ (from the first to the last changed
 * byte), so a 2 GB multi-frame with text in a few frames holds a few frames' bytes, not the value. Frames packed
 * into shared bytes (1 bit) are merged into one patch, the later frame written over the earlier as the whole-value
 * write does.
 */
function nativePatchEdits(px: PixelAccess, changed: ReadonlyMap<number, DecodedFrame>): Edit[] {
  const m = px.module;
  const el = m.pixelData;
  const le = el.parent.syntax.littleEndian;
  const src = el.parent.source;
  const patches: { start: number; bytes: Uint8Array }[] = [];
  for (const i of [...changed.keys()].sort((a, b) => a - b)) {
    const frame = changed.get(i) as DecodedFrame;
    const r = nativeFrameRange(m, i);
    if (r.start >= el.length) continue;
    const end = Math.min(r.end, el.length);
    const original = src.read(el.valueOffset + r.start, el.valueOffset + end).slice();
    const stored = original.slice();
    // A byte shared with the previous (patched) frame carries that frame's new bits.
    const prev = patches[patches.length - 1];
    const overlap = prev ? prev.start + prev.bytes.length - r.start : 0;
    if (prev && overlap > 0) stored.set(prev.bytes.subarray(r.start - prev.start), 0);
    const bytes = encodeNative(frame, m, le, stored, r.bitOffset, el.vr === 'OW');
    const n = Math.min(bytes.length, el.length - r.start);
    let lo = 0;
    while (lo < n && bytes[lo] === original[lo]) lo++;
    let hi = n;
    while (hi > lo && bytes[hi - 1] === original[hi - 1]) hi--;
    if (prev && overlap > 0) {
      // Merged with the previous patch: from its start to the later of the two ends.
      const stop = Math.max(prev.start + prev.bytes.length, r.start + Math.max(hi, overlap));
      const merged = new Uint8Array(stop - prev.start);
      merged.set(prev.bytes);
      merged.set(bytes.subarray(0, stop - r.start), r.start - prev.start);
      patches[patches.length - 1] = { start: prev.start, bytes: merged };
      continue;
    }
    if (hi > lo) patches.push({ start: r.start + lo, bytes: bytes.slice(lo, hi) });
  }
  return patches.map((p) => ({
    op: 'patch',
    element: el,
    start: p.start,
    end: p.start + p.bytes.length,
    value: p.bytes,
  }));
}

/**
 * Encapsulated: the changed frames' new fragments written, every other frame's fragments kept. As patches of the
 * value when the stored layout allows (fragments.ts), else (or under `whole`) the whole value re-emitted; the same
 * bytes either way.
 */
function encapsulatedEdits(
  file: DicomFile,
  px: PixelAccess,
  encoded: ReadonlyMap<number, Uint8Array[]>,
  whole: boolean | undefined,
): Edit[] {
  const groups = px.fragmentGroups;
  if (!groups) throw new VeilError('PIXELS_BAD_FRAGMENTS', { path: TAG });
  const offsetTable =
    groups.length > 1 && groups.some((g, i) => (encoded.get(i)?.length ?? g.length) > 1)
      ? { basicOffsetTable: true }
      : {};
  if (!whole) {
    const patches = fragmentPatchEdits(file.dataset, px.module.pixelData, groups, encoded, offsetTable);
    if (patches) return patches;
  }
  const frames: Uint8Array[][] = [];
  for (let i = 0; i < px.frames; i++) frames.push(encoded.get(i) ?? storedFragments(px, i));
  return encapsulatedPixelEdits(file.dataset, px.module.pixelData, frames, offsetTable);
}

/** The fragment values of frame i, as stored. */
function storedFragments(px: PixelAccess, i: number): Uint8Array[] {
  const group = px.fragmentGroups?.[i];
  const frags = px.module.pixelData.fragments as Fragment[] | undefined;
  if (!group || !frags) throw new VeilError('PIXELS_BAD_FRAGMENTS', { path: TAG });
  const src = px.module.pixelData.parent.source;
  return group.map((k) => {
    const f = frags[k] as Fragment;
    return src.read(f.valueOffset, f.valueOffset + f.length).slice();
  });
}

/** One frame encoded in the input's own (lossless) transfer syntax. */
function encodeFrame(ts: string, px: PixelAccess, frame: DecodedFrame, codec: FrameCodec | undefined): Uint8Array {
  if (ts === TS.rle) return encodeRle(frame);
  if (ts === TS.deflatedImageFrame) {
    const m = px.module;
    // 1-bit frames keep the bits the frame does not cover (none: each deflated frame starts on a byte).
    const into =
      m.bitsAllocated === 1 ? new Uint8Array(Math.ceil((m.rows * m.columns * m.samplesPerPixel) / 8)) : undefined;
    return new Uint8Array(deflateRawSync(encodeNative(frame, m, true, into, 0, false), { level: 9 }));
  }
  if (!codec) throw new VeilError('PIXELS_ENCODE_UNSUPPORTED', { path: '(0002,0010)' });
  return codec.encode(ts, frame);
}

/**
 * Encodes a frame and decodes it again: the bytes a decoder gets must be the redacted frame's, exactly (bits outside
 * Bits Stored included). Some files' codestreams are wider than their Bits Stored (a 16-bit JPEG lossless stream
 * under Bits Stored 8): when the first encoding loses bits, the frame is encoded at the full Bits Allocated.
 */
function encodeChecked(ts: string, px: PixelAccess, frame: DecodedFrame, codec: FrameCodec | undefined): Uint8Array {
  const wide: DecodedFrame = { ...frame, bitsStored: frame.bitsAllocated, highBit: frame.bitsAllocated - 1 };
  const tries =
    frame.bitsStored < frame.bitsAllocated && ts !== TS.rle && ts !== TS.deflatedImageFrame ? [frame, wide] : [frame];
  for (const f of tries) {
    let encoded: Uint8Array;
    try {
      encoded = encodeFrame(ts, px, f, codec);
    } catch (e) {
      if (e instanceof VeilError && e.code === 'PIXELS_ENCODE_UNSUPPORTED') throw e;
      continue;
    }
    let back: DecodedFrame;
    try {
      back = px.decodeEncoded(encoded);
    } catch {
      continue;
    }
    if (sameBytes(frame, back)) return encoded;
  }
  // Fail closed: no encoding here gives back exactly the redacted frame.
  throw new VeilError('PIXELS_REENCODE_MISMATCH', { path: TAG });
}

/** Whether two frames hold the same sample bytes (the whole sample, bits outside Bits Stored included). */
function sameBytes(a: DecodedFrame, b: DecodedFrame): boolean {
  const n = a.rows * a.columns * a.samplesPerPixel * a.bytesPerSample;
  if (b.bytesPerSample !== a.bytesPerSample || a.data.length < n || b.data.length < n) return false;
  for (let i = 0; i < n; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

function reencodeEdits(
  file: DicomFile,
  px: PixelAccess,
  changed: ReadonlyMap<number, DecodedFrame>,
  options: WriteBackOptions,
): Edit[] {
  const encoded = new Map<number, Uint8Array[]>();
  for (const [i, frame] of changed) encoded.set(i, [encodeChecked(px.transferSyntax, px, frame, options.codec)]);
  return encapsulatedEdits(file, px, encoded, options.whole);
}

/** JPEG baseline / extended: the MCUs holding changed pixels blanked in the DCT domain, the rest bit-exact. */
function dctEdits(
  file: DicomFile,
  px: PixelAccess,
  changed: ReadonlyMap<number, DecodedFrame>,
  whole: boolean | undefined,
): Edit[] {
  const encoded = new Map<number, Uint8Array[]>();
  for (const [i, frame] of changed) {
    const jpeg = px.encodedFrame(i);
    const before = px.decodeFrame(i);
    const mcu = mcuSize(jpeg);
    const cols = Math.ceil(frame.columns / mcu.width);
    const rows = Math.ceil(frame.rows / mcu.height);
    const blank = new Uint8Array(cols * rows);
    const spp = frame.samplesPerPixel;
    const bps = frame.bytesPerSample;
    const stride = spp * bps;
    const a = before.data;
    const b = frame.data;
    for (let y = 0; y < frame.rows; y++) {
      const rowStart = y * frame.columns * stride;
      for (let x = 0; x < frame.columns; x++) {
        const at = rowStart + x * stride;
        for (let k = 0; k < stride; k++) {
          if (a[at + k] !== b[at + k]) {
            blank[Math.floor(y / mcu.height) * cols + Math.floor(x / mcu.width)] = 1;
            break;
          }
        }
      }
    }
    const fill = dctBlankValue(px.module.photometric);
    encoded.set(i, [blankJpegBlocks(jpeg, (mx, my) => blank[my * cols + mx] === 1, fill)]);
  }
  return encapsulatedEdits(file, px, encoded, whole);
}

/**
 * Every frame decoded into one native value, as Explicit VR Little Endian (the transfer syntax, planar
 * configuration, photometric interpretation and offset tables edited to match; Lossy Image Compression 01 for a
 * lossy input), whatever the input's encapsulated transfer syntax.
 */
export function explicitLittleEndianEdits(
  file: DicomFile,
  px: PixelAccess,
  changed: ReadonlyMap<number, DecodedFrame>,
): Edit[] {
  const m = px.module;
  const el = m.pixelData;
  const frames: Uint8Array[] = [];
  let first: DecodedFrame | undefined;
  for (let i = 0; i < px.frames; i++) {
    const f = changed.get(i) ?? px.decodeFrame(i);
    first ??= f;
    if (f.bitsAllocated === 1) throw new VeilError('PIXELS_UNSUPPORTED_ENCODING', { path: TAG });
    frames.push(f.data);
  }
  const total = frames.reduce((n, f) => n + f.length, 0);
  const value = new Uint8Array(total + (total % 2));
  let at = 0;
  for (const f of frames) {
    value.set(f, at);
    at += f.length;
  }
  const edits: Edit[] = [{ op: 'replace', element: el, value, vr: m.bitsAllocated > 8 ? 'OW' : 'OB' }];
  const ts = file.meta ? findElement(file.meta, TRANSFER_SYNTAX) : undefined;
  if (!ts) throw new VeilError('PIXELS_NO_TRANSFER_SYNTAX', { path: '(0002,0010)' });
  edits.push({ op: 'replace', element: ts, value: ascii(EXPLICIT_VR_LITTLE_ENDIAN, 0) });
  // The decoded samples are interleaved; JPEG's YBR_FULL_422 comes out of the decoder at full resolution.
  const planar = findElement(file.dataset, PLANAR);
  if (planar && m.samplesPerPixel > 1) edits.push({ op: 'replace', element: planar, value: new Uint8Array([0, 0]) });
  const pm = findElement(file.dataset, PHOTOMETRIC);
  const outPhotometric = photometricAfterDecode(px.transferSyntax, first?.photometric ?? m.photometric);
  if (pm && outPhotometric !== m.photometric)
    edits.push({ op: 'replace', element: pm, value: ascii(outPhotometric, 0x20) });
  for (const tag of [EXTENDED_OFFSET_TABLE, EXTENDED_OFFSET_TABLE_LENGTHS]) {
    const e = findElement(file.dataset, tag);
    if (e) edits.push({ op: 'remove', element: e });
  }
  // Pixels decoded from a lossy stream stay lossy in the record (PS3.3 C.7.6.1.1.5): Lossy Image Compression 01.
  if (LOSSY.has(px.transferSyntax)) {
    const lic = findElement(file.dataset, LOSSY_IMAGE_COMPRESSION);
    const value = ascii('01', 0x20);
    edits.push(
      lic
        ? { op: 'replace', element: lic, value }
        : { op: 'insert', container: file.dataset, tag: LOSSY_IMAGE_COMPRESSION, vr: 'CS', value },
    );
  }
  return edits;
}

/** What a decoder's output is: JPEG's subsampled YBR comes out full; J2K's YBR_ICT/RCT come out RGB. */
export function photometricAfterDecode(transferSyntax: string, photometric: string): string {
  if (photometric === 'YBR_FULL_422' || photometric === 'YBR_PARTIAL_422' || photometric === 'YBR_PARTIAL_420') {
    return 'YBR_FULL';
  }
  if (photometric === 'YBR_ICT' || photometric === 'YBR_RCT') return 'RGB';
  void transferSyntax;
  return photometric;
}

/** Whether an edit writes Pixel Data (or the transfer syntax its frames are read in). */
function touchesPixels(file: DicomFile, e: Edit): boolean {
  if (e.op === 'insert') return false;
  const tag = e.element.tag;
  return (
    (e.element.parent === file.dataset && (tag === PIXEL_DATA || tag === EXTENDED_OFFSET_TABLE)) ||
    (tag === TRANSFER_SYNTAX && e.element.parent === file.meta)
  );
}

/**
 * The file a plan will write, scanned from the plan itself (a view over the input's ranges and the new bytes:
 * nothing materialised, a frame read at a time) when `edits` write Pixel Data; undefined otherwise (the input's
 * pixels go out as they are).
 */
export function plannedPixelFile(file: DicomFile, edits: readonly Edit[]): DicomFile | undefined {
  if (!edits.some((e) => touchesPixels(file, e))) return undefined;
  return scanFile(planSource(file.source, planRewrite(file, edits)));
}

/**
 * The frames a plan will write, for the checks after the pixel stage (verification, defacing check): the planned
 * output's own Pixel Data, decoded as that output says (its transfer syntax, photometric interpretation, offset
 * tables), a frame at a time. Undefined when no edit writes Pixel Data (the caller reads the input's). A planned
 * output whose frames cannot be found is PIXELS_BAD_FRAGMENTS (or another PIXELS_ code).
 */
export function plannedFrames(
  file: DicomFile,
  edits: readonly Edit[],
  codec?: FrameCodec,
): { frames: number; module: PixelAccess['module']; frame(i: number): DecodedFrame } | undefined {
  const planned = plannedPixelFile(file, edits);
  if (!planned) return undefined;
  const px = openPixels(planned, codec);
  if (!px) throw new VeilError('PIXELS_BAD_FRAGMENTS', { path: TAG });
  return { frames: px.frames, module: px.module, frame: (i) => px.decodeFrame(i) };
}

/** The planned frames decoded and concatenated, as Explicit VR Little Endian would hold them; undefined as above. */
export function plannedDecodedValue(
  file: DicomFile,
  edits: readonly Edit[],
  codec?: FrameCodec,
): Uint8Array | undefined {
  const planned = plannedFrames(file, edits, codec);
  if (!planned) return undefined;
  const frames: Uint8Array[] = [];
  for (let i = 0; i < planned.frames; i++) frames.push(planned.frame(i).data);
  const total = frames.reduce((n, f) => n + f.length, 0);
  const out = new Uint8Array(total + (total % 2));
  let at = 0;
  for (const f of frames) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}

/** The stored Pixel Data value a plan will write (its bytes as they go out); undefined when no edit writes it. */
export function plannedPixelValue(file: DicomFile, edits: readonly Edit[]): Uint8Array | undefined {
  const planned = plannedPixelFile(file, edits);
  if (!planned) return undefined;
  const el = findElement(planned.dataset, PIXEL_DATA);
  if (!el) throw new VeilError('PIXELS_BAD_FRAGMENTS', { path: TAG });
  return planned.source.read(el.valueOffset, el.valueOffset + el.length).slice();
}
