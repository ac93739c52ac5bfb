/**
 * Writing a defaced frame back into its file: the edits for the byte-range rewriter of @veil/core that replace
 * only the Pixel Data value (same length, same encoding: every other byte of the file stays as it was), and record
 * what was done: Recognizable Visual Features (0028,0302) NO and code 113102 "Clean Recognizable Visual Features
 * Option" appended to De-identification Method Code Sequence (0012,0064). Only for files whose face was removed.
 *
 * A compressed (encapsulated) input is written back in its own transfer syntax (defaceFrameEdits, through the
 * pixel package's write-back): a lossless one re-encodes only the defaced frames (each decoded again and checked),
 * the other frames' fragments are copied bit-exact; JPEG baseline / extended is defaced in the DCT domain (every
 * MCU holding a defaced pixel is blanked to the minimum, so up to one MCU (8-16 pixels) beside the face plane is
 * blanked too; every other block keeps its coefficients); another lossy input (JPEG 2000, JPEG-LS near-lossless),
 * a JPEG variant the DCT path does not read, or a lossless syntax without an encoder here goes out decoded as
 * Explicit VR Little Endian, as before.
 *
 * Example:
 *   const out = rewrite(file, defaceEdits(file, info, newFrames));
 *   const edits = defaceFrameEdits(file, px, changedFrames, { codec });   // compressed input, own syntax
 */
import {
  CLEAN_VISUAL_FEATURES_CODE,
  concat,
  DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
  type DicomFile,
  type Edit,
  encodeElement,
  encodeItems,
  findElement,
  RECOGNIZABLE_VISUAL_FEATURES,
  readString,
  VeilError,
} from '@veil/core';
import { type FrameCodec, TS } from '../codecs/port.ts';
import type { PixelAccess } from '../decode.ts';
import type { DecodedFrame } from '../frame.ts';
import { explicitLittleEndianEdits, redactionEdits } from '../write-back.ts';
import { encodeNativeFrame, type InstanceInfo, nativePixelElement, type StoredPixels } from './instance.ts';

/** How a compressed input's defaced frames are written: in its own transfer syntax, or decoded. */
export type DefaceWriteBack = 'own-syntax' | 'decoded';

/** Codes after which a compressed input goes out decoded instead (nothing here writes it in its own syntax). */
const DECODED_FALLBACK = new Set(['PIXELS_JPEG_UNSUPPORTED', 'PIXELS_ENCODE_UNSUPPORTED']);

/**
 * The Pixel Data edits for the defaced frames (by frame index, decoded layout) of an encapsulated input: in its own
 * transfer syntax (default) or decoded as Explicit VR Little Endian. No claim edits (defaceClaimEdits).
 * Throws the write-back's codes (PIXELS_REENCODE_MISMATCH, PIXELS_DCT_MISMATCH...) when a re-encoded frame does not
 * decode to the defaced pixels.
 */
export function defaceFrameEdits(
  file: DicomFile,
  px: PixelAccess,
  frames: ReadonlyMap<number, DecodedFrame>,
  options: { readonly codec?: FrameCodec | undefined; readonly writeBack?: DefaceWriteBack } = {},
): Edit[] {
  if (options.writeBack === 'decoded') return explicitLittleEndianEdits(file, px, frames);
  if (frames.size === 0) return [];
  const jpeg = px.transferSyntax === TS.jpegBaseline || px.transferSyntax === TS.jpegExtended;
  try {
    return redactionEdits(file, px, frames, { codec: options.codec, lossy: jpeg ? 'dct' : 'explicit-little-endian' });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code && DECODED_FALLBACK.has(code)) return explicitLittleEndianEdits(file, px, frames);
    throw e;
  }
}

/**
 * The same from the decoded value of every frame (concatenated, as Explicit VR Little Endian holds them: the
 * release path's defaced value): the frames that differ from the input's decoded frames are the defaced ones.
 * DEFACE_PIXELS_MISMATCH when the value does not hold the file's frames.
 */
export function defacedValueEdits(
  file: DicomFile,
  px: PixelAccess,
  value: Uint8Array,
  options: { readonly codec?: FrameCodec | undefined; readonly writeBack?: DefaceWriteBack } = {},
): Edit[] {
  const changed = new Map<number, DecodedFrame>();
  let at = 0;
  for (let i = 0; i < px.frames; i++) {
    const original = px.decodeFrame(i);
    const n = original.data.length;
    if (at + n > value.length) throw new VeilError('DEFACE_PIXELS_MISMATCH', { path: '(7FE0,0010)' });
    const bytes = value.subarray(at, at + n);
    at += n;
    let same = true;
    for (let k = 0; k < n; k++) {
      if (bytes[k] !== original.data[k]) {
        same = false;
        break;
      }
    }
    if (!same) changed.set(i, { ...original, data: bytes.slice() });
  }
  if (value.length - at > 1) throw new VeilError('DEFACE_PIXELS_MISMATCH', { path: '(7FE0,0010)' });
  return defaceFrameEdits(file, px, changed, options);
}

const CODE_VALUE = 0x00080100;
const CODING_SCHEME = 0x00080102;
const CODE_MEANING = 0x00080104;

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Whether the file already says its recognizable visual features were cleaned (RVF NO and code 113102). */
export function saysDefaced(file: DicomFile): boolean {
  const rvf = findElement(file.dataset, RECOGNIZABLE_VISUAL_FEATURES);
  if (!rvf || readString(rvf).toUpperCase() !== 'NO') return false;
  const seq = findElement(file.dataset, DEIDENTIFICATION_METHOD_CODE_SEQUENCE);
  return (seq?.items ?? []).some((it) => {
    const v = findElement(it, CODE_VALUE);
    return v !== undefined && readString(v) === CLEAN_VISUAL_FEATURES_CODE.value;
  });
}

/** The edits that write new frames (by frame index) into a native image and record the defacing. */
export function defaceEdits(file: DicomFile, info: InstanceInfo, frames: ReadonlyMap<number, StoredPixels>): Edit[] {
  const el = nativePixelElement(file, info);
  const src = el.parent.source;
  const frameBytes = info.rows * info.columns * (info.bitsAllocated / 8);
  const value = src.read(el.valueOffset, el.valueOffset + el.length).slice();
  for (const [n, pixels] of frames) {
    const at = n * frameBytes;
    value.set(encodeNativeFrame(pixels, value.subarray(at, at + frameBytes), info), at);
  }
  return [{ op: 'replace', element: el, value }, ...defaceClaimEdits(file)];
}

/**
 * The edits that record the defacing in a file of its own (veil deface; in veil deid the release path writes the
 * claims): Recognizable Visual Features NO, and code 113102 appended to De-identification Method Code Sequence.
 */
export function defaceClaimEdits(file: DicomFile): Edit[] {
  const ds = file.dataset;
  const edits: Edit[] = [];
  const put = (tag: number, vr: string, bytes: Uint8Array): void => {
    const old = findElement(ds, tag);
    edits.push(
      old ? { op: 'replace', element: old, value: bytes, vr } : { op: 'insert', container: ds, tag, vr, value: bytes },
    );
  };
  put(RECOGNIZABLE_VISUAL_FEATURES, 'CS', ascii('NO'));
  const code = encodeItems(
    [
      [
        encodeElement(CODE_VALUE, 'SH', ascii(CLEAN_VISUAL_FEATURES_CODE.value), ds.syntax),
        encodeElement(CODING_SCHEME, 'SH', ascii('DCM'), ds.syntax),
        encodeElement(CODE_MEANING, 'LO', ascii(CLEAN_VISUAL_FEATURES_CODE.meaning), ds.syntax),
      ],
    ],
    ds.syntax,
  );
  const seq = findElement(ds, DEIDENTIFICATION_METHOD_CODE_SEQUENCE);
  const items = seq?.items ?? [];
  const has = items.some((it) => {
    const v = findElement(it, CODE_VALUE);
    return v !== undefined && readString(v) === CLEAN_VISUAL_FEATURES_CODE.value;
  });
  if (!has) {
    // The existing items are kept byte for byte (an undefined-length item with its delimiter is valid inside a
    // defined-length sequence); the new item is appended.
    const kept = items.map((it) => it.parent.parent.source.read(it.offset, it.end).slice());
    put(DEIDENTIFICATION_METHOD_CODE_SEQUENCE, 'SQ', concat([...kept, code]));
  }
  return edits;
}
