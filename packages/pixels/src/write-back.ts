/**
 * Writing redacted frames back as edits over the original file. Native pixel data keeps its transfer syntax, byte
 * order, planar configuration and every byte of the frames (and pixels) that were not redacted. Encapsulated pixel
 * data is written decoded, as Explicit VR Little Endian: the core rewriter has no edit for an undefined-length
 * fragment sequence yet, so a lossless input cannot be re-encoded in its own transfer syntax here (the RLE encoder
 * and the codec port's lossless encoders are ready for it).
 *
 * Example:
 *   const edits = redactionEdits(file, access, changed);   // changed: Map<frame index, DecodedFrame>
 */
import { type DicomFile, type Edit, EXPLICIT_VR_LITTLE_ENDIAN, findElement, VeilError } from '@veil/core';
import type { PixelAccess } from './decode.ts';
import type { DecodedFrame } from './frame.ts';
import { encodeNative, nativeFrameRange } from './native.ts';

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

/** Edits that put the changed frames in the output; frames not in `changed` are copied (or decoded) unchanged. */
export function redactionEdits(file: DicomFile, px: PixelAccess, changed: ReadonlyMap<number, DecodedFrame>): Edit[] {
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
  // Encapsulated: every frame decoded into one native value.
  const frames: Uint8Array[] = [];
  let first: DecodedFrame | undefined;
  for (let i = 0; i < px.frames; i++) {
    const f = changed.get(i) ?? px.decodeFrame(i);
    first ??= f;
    if (f.bitsAllocated === 1) throw new VeilError('PIXELS_UNSUPPORTED_ENCODING', { path: '(7FE0,0010)' });
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
