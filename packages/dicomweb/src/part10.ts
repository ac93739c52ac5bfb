/**
 * What the DICOMweb layer needs to know about a Part 10 file it relays, read from its first bytes: the file meta
 * (to accept or refuse a part before storing anything) and the identity of the instance (study, series, SOP
 * class and instance UIDs). Nothing here changes a byte: files are relayed as they are.
 *
 * Example:
 *   const meta = readPart10Meta(head, false); // 'more' until the meta is complete
 *   const id = identifyInstance(wholeFileOrPrefix, isWholeFile);
 */
import {
  type DicomFile,
  type FileMeta,
  findElement,
  isVeilError,
  readFileMeta,
  readString,
  scanFile,
} from '@veil/core';
import { DicomwebError } from './errors.ts';

/** The file meta's UIDs and where the data set starts (@veil/core's FileMeta). */
export type Part10Meta = FileMeta;

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

/**
 * Reads the file meta from the first bytes of a file (@veil/core's readFileMeta). Returns 'more' while `head` is too
 * short (and `complete` is false); throws DICOMWEB_NOT_PART10 when the bytes are not a Part 10 file.
 */
export function readPart10Meta(head: Uint8Array, complete: boolean): Part10Meta | 'more' {
  try {
    return readFileMeta(head, complete);
  } catch (e) {
    if (isVeilError(e) && e.code === 'DICOM_NOT_PART10') {
      throw new DicomwebError('DICOMWEB_NOT_PART10', e.offset !== undefined ? { offset: e.offset } : {});
    }
    throw e;
  }
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
