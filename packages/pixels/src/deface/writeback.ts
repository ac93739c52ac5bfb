/**
 * Writing a defaced frame back into its file: the edits for the byte-range rewriter of @veil/core that replace
 * only the Pixel Data value (same length, same encoding: every other byte of the file stays as it was), and record
 * what was done: Recognizable Visual Features (0028,0302) NO and code 113102 "Clean Recognizable Visual Features
 * Option" appended to De-identification Method Code Sequence (0012,0064). Only for files whose face was removed.
 *
 * Example:
 *   const out = rewrite(file, defaceEdits(file, info, newFrames));
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
} from '@veil/core';
import { encodeNativeFrame, type InstanceInfo, nativePixelElement, type StoredPixels } from './instance.ts';

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
