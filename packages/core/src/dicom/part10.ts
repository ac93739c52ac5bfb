/**
 * The Part 10 file meta information (PS3.10 7.1), in one place: reading it from the first bytes of a file as they
 * arrive (to accept or refuse an upload before storing anything), and writing the 128-byte preamble, "DICM" and the
 * group 0002 elements in front of a data set received over the network. @veil/dimse and @veil/dicomweb use these;
 * the data set itself is never decoded nor re-encoded here.
 *
 * Example:
 *   const meta = readFileMeta(head, false);                  // 'more' until the meta is complete
 *   const bytes = encodeFileMeta({ sopClassUid, sopInstanceUid, transferSyntaxUid,
 *     implementationClassUid: '2.25.1', implementationVersionName: 'VEIL' });
 */

import { EXPLICIT_LE } from './dataset.ts';
import { VeilError } from './errors.ts';
import { encodeElement } from './rewriter.ts';

export interface FileMeta {
  /** (0002,0002) Media Storage SOP Class UID. */
  readonly sopClassUid: string | undefined;
  /** (0002,0003) Media Storage SOP Instance UID. */
  readonly sopInstanceUid: string | undefined;
  /** (0002,0010) Transfer Syntax UID. */
  readonly transferSyntaxUid: string | undefined;
  /** Offset of the data set (the end of the file meta). */
  readonly datasetOffset: number;
}

/** A file meta larger than this is not a file meta (a guard: the reader buffers the head until it has it all). */
export const MAX_FILE_META_BYTES = 64 * 1024;

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function trimUid(bytes: Uint8Array): string {
  return latin1(bytes)
    .replace(/[\0 ]+$/, '')
    .trim();
}

/**
 * Reads the file meta from the first bytes of a file. Returns 'more' while `head` is too short (and `complete` is
 * false); throws VeilError DICOM_NOT_PART10 (with the offset) when the bytes are not a Part 10 file: no "DICM" at 128,
 * or a meta that does not parse as explicit VR little endian group 0002.
 */
export function readFileMeta(head: Uint8Array, complete: boolean): FileMeta | 'more' {
  const need = (n: number): boolean => {
    if (head.length >= n) return false;
    if (complete) throw new VeilError('DICOM_NOT_PART10', { offset: head.length });
    return true;
  };
  if (need(132 + 8)) return 'more';
  if (head[128] !== 0x44 || head[129] !== 0x49 || head[130] !== 0x43 || head[131] !== 0x4d) {
    throw new VeilError('DICOM_NOT_PART10', { offset: 128 });
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const values = new Map<number, string>();
  let pos = 132;
  for (;;) {
    if (head.length < pos + 2) {
      if (complete) break;
      return 'more';
    }
    if (view.getUint16(pos, true) !== 0x0002) break;
    if (need(pos + 8)) return 'more';
    const tag = view.getUint32(pos, true);
    const element = tag >>> 16;
    const vr = String.fromCharCode(head[pos + 4]!, head[pos + 5]!);
    if (!/^[A-Z]{2}$/.test(vr)) throw new VeilError('DICOM_NOT_PART10', { offset: pos });
    let valueOffset: number;
    let length: number;
    if (LONG_VRS.has(vr)) {
      if (need(pos + 12)) return 'more';
      valueOffset = pos + 12;
      length = view.getUint32(pos + 8, true);
    } else {
      valueOffset = pos + 8;
      length = view.getUint16(pos + 6, true);
    }
    const end = valueOffset + length;
    if (length === 0xffffffff || end > MAX_FILE_META_BYTES) throw new VeilError('DICOM_NOT_PART10', { offset: pos });
    if (need(end)) return 'more';
    if (element === 0x0002 || element === 0x0003 || element === 0x0010) {
      values.set(element, trimUid(head.subarray(valueOffset, end)));
    }
    pos = end;
  }
  if (pos === 132) throw new VeilError('DICOM_NOT_PART10', { offset: pos });
  return {
    sopClassUid: values.get(0x0002) || undefined,
    sopInstanceUid: values.get(0x0003) || undefined,
    transferSyntaxUid: values.get(0x0010) || undefined,
    datasetOffset: pos,
  };
}

export interface FileMetaFields {
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly transferSyntaxUid: string;
  /** (0002,0012) and (0002,0013): the writing application. */
  readonly implementationClassUid: string;
  readonly implementationVersionName: string;
  /** (0002,0016) Source Application Entity Title: the calling AE of the association the data set came on. */
  readonly sourceAeTitle?: string | undefined;
  /** (0002,0018) Receiving Application Entity Title. */
  readonly receivingAeTitle?: string | undefined;
}

function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** The 128-byte preamble (zeros), "DICM" and the file meta information group, explicit VR little endian. */
export function encodeFileMeta(f: FileMetaFields): Uint8Array {
  const els: Uint8Array[] = [
    encodeElement(0x00020001, 'OB', new Uint8Array([0x00, 0x01]), EXPLICIT_LE),
    encodeElement(0x00020002, 'UI', ascii(f.sopClassUid), EXPLICIT_LE),
    encodeElement(0x00020003, 'UI', ascii(f.sopInstanceUid), EXPLICIT_LE),
    encodeElement(0x00020010, 'UI', ascii(f.transferSyntaxUid), EXPLICIT_LE),
    encodeElement(0x00020012, 'UI', ascii(f.implementationClassUid), EXPLICIT_LE),
    encodeElement(0x00020013, 'SH', ascii(f.implementationVersionName), EXPLICIT_LE),
  ];
  if (f.sourceAeTitle) els.push(encodeElement(0x00020016, 'AE', ascii(f.sourceAeTitle), EXPLICIT_LE));
  if (f.receivingAeTitle) els.push(encodeElement(0x00020018, 'AE', ascii(f.receivingAeTitle), EXPLICIT_LE));
  let groupLength = 0;
  for (const e of els) groupLength += e.length;
  const gl = new Uint8Array(4);
  new DataView(gl.buffer).setUint32(0, groupLength, true);
  const parts = [encodeElement(0x00020000, 'UL', gl, EXPLICIT_LE), ...els];
  let n = 132;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  out.set(ascii('DICM'), 128);
  let o = 132;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
