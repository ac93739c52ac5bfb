/**
 * The bridge between DICOM files (PS3.10) and C-STORE: what a file's meta says a C-STORE needs (SOP class and
 * instance UID, transfer syntax, where the data set starts), and the file meta information Veil writes in front of a
 * received data set. The data set itself is never decoded nor re-encoded on either path.
 *
 * Example:
 *   const info = describePart10(bytes);
 *   await client.store({ ...info, dataset: bytes.subarray(info.datasetOffset) });
 *   const meta = encodeFileMeta({ sopClassUid, sopInstanceUid, transferSyntaxUid, sourceAeTitle: 'MODALITY' });
 */
import {
  type ByteSource,
  type FileMetaFields as CoreFileMetaFields,
  encodeFileMeta as encodeCoreFileMeta,
  findElement,
  readString,
  scanFile,
} from '@veil/core';
import { DimseError } from './errors.ts';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './uids.ts';

export interface Part10Info {
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  /** The transfer syntax the data set is encoded in, as the meta declares it. */
  readonly transferSyntaxUid: string;
  /** Offset of the data set in the file (for a deflated file: of the deflated stream, sent as is). */
  readonly datasetOffset: number;
  /** Length of the file. */
  readonly length: number;
}

function uidOf(s: string | undefined): string | undefined {
  const t = s?.replace(/[\0 ]+$/, '').trim();
  return t ? t : undefined;
}

/**
 * Reads what a C-STORE needs from a Part 10 file. The SOP class and instance UID come from the data set's
 * (0008,0016) and (0008,0018), which the C-STORE must carry (PS3.4 B.2.3); the meta's copies (0002,0002) and
 * (0002,0003) are used when the data set cannot be scanned cheaply (deflated) or lacks them.
 * Throws DICOM_NOT_DICOM (from the core) or DIMSE_BAD_FILE.
 */
export function describePart10(source: ByteSource | Uint8Array): Part10Info {
  const file = scanFile(source, { metaOnly: true });
  let sopClassUid: string | undefined;
  let sopInstanceUid: string | undefined;
  if (!file.transferSyntax.deflated) {
    try {
      // The scanner skips pixel data: this reads the header only, even through a windowed source.
      const full = scanFile(source);
      const c = findElement(full.dataset, 0x00080016);
      const i = findElement(full.dataset, 0x00080018);
      sopClassUid = c ? uidOf(readString(c)) : undefined;
      sopInstanceUid = i ? uidOf(readString(i)) : undefined;
    } catch {
      // A data set the scanner cannot walk is still sent as is; the meta names it.
    }
  }
  if (file.meta) {
    const c = findElement(file.meta, 0x00020002);
    const i = findElement(file.meta, 0x00020003);
    sopClassUid ??= c ? uidOf(readString(c)) : undefined;
    sopInstanceUid ??= i ? uidOf(readString(i)) : undefined;
  }
  if (sopClassUid === undefined || sopInstanceUid === undefined) throw new DimseError('DIMSE_BAD_FILE');
  return {
    sopClassUid,
    sopInstanceUid,
    transferSyntaxUid: file.declaredTransferSyntax ?? file.transferSyntax.uid,
    datasetOffset: file.datasetOffset,
    length: source.length,
  };
}

/** The file meta fields of a received data set; Veil's DIMSE implementation class and version are added. */
export type FileMetaFields = Omit<CoreFileMetaFields, 'implementationClassUid' | 'implementationVersionName'>;

/** The 128-byte preamble, "DICM" and the file meta information group (PS3.10 7.1): @veil/core's encodeFileMeta. */
export function encodeFileMeta(f: FileMetaFields): Uint8Array {
  return encodeCoreFileMeta({
    ...f,
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: IMPLEMENTATION_VERSION_NAME,
  });
}
