/**
 * What the DICOMweb layer needs to know about a Part 10 file it relays, read from its first bytes: the file meta
 * (to accept or refuse a part before storing anything) and the identity of the instance (study, series, SOP
 * class and instance UIDs). Nothing here changes a byte: files are relayed as they are.
 *
 * Example:
 *   const meta = readPart10Meta(head, false); // 'more' until the meta is complete
 *   const id = identifyInstance(wholeFileOrPrefix, isWholeFile);
 */
import { type DicomFile, findElement, isVeilError, readString, scanFile } from '@veil/core';
import { DicomwebError } from './errors.ts';

export interface Part10Meta {
  /** (0002,0002) Media Storage SOP Class UID. */
  readonly sopClassUid: string | undefined;
  /** (0002,0003) Media Storage SOP Instance UID. */
  readonly sopInstanceUid: string | undefined;
  /** (0002,0010) Transfer Syntax UID. */
  readonly transferSyntaxUid: string | undefined;
  /** Offset of the data set (the end of the file meta). */
  readonly datasetOffset: number;
}

export interface InstanceIdentity {
  /** From the data set (0008,0016), else the file meta. */
  readonly sopClassUid: string | undefined;
  /** From the data set (0008,0018), else the file meta. */
  readonly sopInstanceUid: string | undefined;
  readonly studyInstanceUid: string | undefined;
  readonly seriesInstanceUid: string | undefined;
  readonly transferSyntaxUid: string | undefined;
  /** Why the file is refused (a VeilError code), when it is. */
  readonly error?: string;
  /** True when only the file meta could be read (a prefix too short to reach the data set's UIDs). */
  readonly metaOnly?: boolean;
}

const MAX_META = 64 * 1024;
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

function trimUid(bytes: Uint8Array): string {
  let s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  s = s.replace(/[\0 ]+$/, '').trim();
  return s;
}

/**
 * Reads the file meta from the first bytes of a file. Returns 'more' while `head` is too short (and `complete` is
 * false); throws DICOMWEB_NOT_PART10 when the bytes are not a Part 10 file (no "DICM" at 128, a meta that does not
 * parse as explicit VR little endian group 0002).
 */
export function readPart10Meta(head: Uint8Array, complete: boolean): Part10Meta | 'more' {
  const need = (n: number): boolean => {
    if (head.length >= n) return false;
    if (complete) throw new DicomwebError('DICOMWEB_NOT_PART10', { offset: head.length });
    return true;
  };
  if (need(132 + 8)) return 'more';
  if (head[128] !== 0x44 || head[129] !== 0x49 || head[130] !== 0x43 || head[131] !== 0x4d) {
    throw new DicomwebError('DICOMWEB_NOT_PART10', { offset: 128 });
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
    if (!/^[A-Z]{2}$/.test(vr)) throw new DicomwebError('DICOMWEB_NOT_PART10', { offset: pos });
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
    if (length === 0xffffffff || end > MAX_META) throw new DicomwebError('DICOMWEB_NOT_PART10', { offset: pos });
    if (need(end)) return 'more';
    if (element === 0x0002 || element === 0x0003 || element === 0x0010) {
      values.set(element, trimUid(head.subarray(valueOffset, end)));
    }
    pos = end;
  }
  if (pos === 132) throw new DicomwebError('DICOMWEB_NOT_PART10', { offset: pos });
  return {
    sopClassUid: values.get(0x0002) || undefined,
    sopInstanceUid: values.get(0x0003) || undefined,
    transferSyntaxUid: values.get(0x0010) || undefined,
    datasetOffset: pos,
  };
}

const TOP_LEVEL_PATH = /^\([0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\)$/;

function fromFile(file: DicomFile): InstanceIdentity {
  const ds = file.dataset;
  const meta = file.meta;
  const str = (container: typeof ds | undefined, tag: number): string | undefined => {
    const el = container ? findElement(container, tag) : undefined;
    if (!el) return undefined;
    const v = readString(el).replace(/\0+$/, '').trim();
    return v || undefined;
  };
  const metaClass = str(meta, 0x00020002);
  const metaInstance = str(meta, 0x00020003);
  const dsClass = str(ds, 0x00080016);
  const dsInstance = str(ds, 0x00080018);
  // A meta whose SOP Instance UID differs from the data set's is seen in the wild: the data set's wins. A SOP class
  // mismatch is refused: the file does not say what it is.
  const error = metaClass && dsClass && metaClass !== dsClass ? 'DICOMWEB_SOP_CLASS_MISMATCH' : undefined;
  return {
    sopClassUid: dsClass ?? metaClass,
    sopInstanceUid: dsInstance ?? metaInstance,
    studyInstanceUid: str(ds, 0x0020000d),
    seriesInstanceUid: str(ds, 0x0020000e),
    transferSyntaxUid: file.declaredTransferSyntax,
    ...(error ? { error } : {}),
  };
}

/**
 * The identity of an instance from its bytes: the whole file (`complete`), which is also checked to parse, or a
 * prefix of it (a large file whose head alone is kept), read up to the last element the prefix holds whole.
 */
export function identifyInstance(bytes: Uint8Array, complete: boolean): InstanceIdentity {
  if (complete) {
    try {
      return fromFile(scanFile(bytes));
    } catch (e) {
      const meta = safeMeta(bytes);
      return { ...meta, error: isVeilError(e) ? e.code : 'DICOM_NOT_DICOM' };
    }
  }
  // A prefix: the scanner stops at the element the prefix cuts; scan again up to that element's start.
  let end = bytes.length;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return fromFile(scanFile(bytes.subarray(0, end)));
    } catch (e) {
      if (
        !isVeilError(e) ||
        !e.code.startsWith('DICOM_TRUNCATED') ||
        e.offset === undefined ||
        e.path === undefined ||
        !TOP_LEVEL_PATH.test(e.path) ||
        e.offset >= end ||
        e.offset < 132
      ) {
        break;
      }
      end = e.offset;
    }
  }
  return { ...safeMeta(bytes), metaOnly: true };
}

function safeMeta(bytes: Uint8Array): Omit<InstanceIdentity, 'error' | 'metaOnly'> {
  let meta: Part10Meta | 'more' | undefined;
  try {
    meta = readPart10Meta(bytes, true);
  } catch {
    meta = undefined;
  }
  const m = meta === 'more' ? undefined : meta;
  return {
    sopClassUid: m?.sopClassUid,
    sopInstanceUid: m?.sopInstanceUid,
    studyInstanceUid: undefined,
    seriesInstanceUid: undefined,
    transferSyntaxUid: m?.transferSyntaxUid,
  };
}
