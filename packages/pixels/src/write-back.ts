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
  VeilError,
} from '@veil/core';
import { type FrameCodec, LOSSY, TS } from './codecs/port.ts';
import type { PixelAccess } from './decode.ts';
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
  const m = px.module;
  const el = m.pixelData;
  if (!px.encapsulated) {
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
  // Nothing redacted: nothing to write (the fragments go out as they came).
  if (changed.size === 0) return [];
  const ts = px.transferSyntax;
  const lossy = options.lossy ?? 'dct';
  if (reencodes(ts, options.codec)) return reencodeEdits(file, px, changed, options.codec);
  if ((ts === TS.jpegBaseline || ts === TS.jpegExtended) && lossy === 'dct') {
    return dctEdits(file, px, changed);
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
  codec: FrameCodec | undefined,
): Edit[] {
  const ts = px.transferSyntax;
  const frames: Uint8Array[][] = [];
  for (let i = 0; i < px.frames; i++) {
    const frame = changed.get(i);
    if (!frame) {
      frames.push(storedFragments(px, i));
      continue;
    }
    frames.push([encodeChecked(ts, px, frame, codec)]);
  }
  return encapsulatedPixelEdits(file.dataset, px.module.pixelData, frames, withOffsetTable(frames));
}

/** JPEG baseline / extended: the MCUs holding changed pixels blanked in the DCT domain, the rest bit-exact. */
function dctEdits(file: DicomFile, px: PixelAccess, changed: ReadonlyMap<number, DecodedFrame>): Edit[] {
  const frames: Uint8Array[][] = [];
  for (let i = 0; i < px.frames; i++) {
    const frame = changed.get(i);
    if (!frame) {
      frames.push(storedFragments(px, i));
      continue;
    }
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
    frames.push([blankJpegBlocks(jpeg, (mx, my) => blank[my * cols + mx] === 1, fill)]);
  }
  return encapsulatedPixelEdits(file.dataset, px.module.pixelData, frames, withOffsetTable(frames));
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

/** The decoded frames of an encapsulated Pixel Data edit, concatenated as Explicit VR Little Endian would hold them. */
export function plannedDecodedValue(px: PixelAccess, edits: readonly Edit[]): Uint8Array | undefined {
  const planned = plannedFrames(px, edits);
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

/**
 * The frames a plan will write, for the checks after the pixel stage (verification, defacing check): from the
 * encapsulated Pixel Data edit (frames in the input's transfer syntax, decoded with its decoder); undefined when
 * there is no such edit (a native edit, or none: the caller reads those). An edit it cannot split into the file's
 * frames is PIXELS_BAD_FRAGMENTS.
 */
export function plannedFrames(
  px: PixelAccess,
  edits: readonly Edit[],
): { frames: number; frame(i: number): DecodedFrame } | undefined {
  const m = px.module;
  let edit: Edit | undefined;
  for (const e of edits) if (e.op === 'replace' && e.element === m.pixelData) edit = e;
  if (edit?.op !== 'replace' || !edit.encapsulated) return undefined;
  // The items of the new value: the offset table, then the fragments, grouped into frames by the table (written
  // whenever a frame has several fragments, see withOffsetTable), else one per frame (or all for one frame).
  const v = edit.value;
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const items: { at: number; bytes: Uint8Array }[] = [];
  let at = 0;
  while (at + 8 <= v.length && dv.getUint16(at + 2, true) === 0xe000) {
    const len = dv.getUint32(at + 4, true);
    items.push({ at, bytes: v.subarray(at + 8, at + 8 + len) });
    at += 8 + len;
  }
  const bot = items[0]?.bytes;
  const fragments = items.slice(1);
  const bad = (): never => {
    throw new VeilError('PIXELS_BAD_FRAGMENTS', { path: TAG });
  };
  if (!bot || fragments.length === 0) return bad();
  const groups: Uint8Array[][] = [];
  if (bot.length >= 4 * px.frames) {
    const first = (fragments[0] as { at: number }).at;
    const starts: number[] = [];
    const b = new DataView(bot.buffer, bot.byteOffset, bot.byteLength);
    for (let i = 0; i < px.frames; i++) starts.push(b.getUint32(4 * i, true));
    for (const f of fragments) {
      let k = 0;
      while (k + 1 < starts.length && f.at - first >= (starts[k + 1] as number)) k++;
      const g = groups[k] ?? [];
      g.push(f.bytes);
      groups[k] = g;
    }
  } else if (px.frames === 1) groups.push(fragments.map((f) => f.bytes));
  else if (fragments.length === px.frames) for (const f of fragments) groups.push([f.bytes]);
  if (groups.length !== px.frames || groups.some((g) => !g)) return bad();
  const join = (parts: Uint8Array[]): Uint8Array => {
    if (parts.length === 1) return parts[0] as Uint8Array;
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  return { frames: px.frames, frame: (i) => px.decodeEncoded(join(groups[i] as Uint8Array[])) };
}

/** A Basic Offset Table is needed to find the frames again when one of several frames has several fragments. */
function withOffsetTable(frames: readonly (readonly Uint8Array[])[]): { basicOffsetTable?: boolean } {
  return frames.length > 1 && frames.some((f) => f.length > 1) ? { basicOffsetTable: true } : {};
}
