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
import { type ByteSource, EXPLICIT_LE, encodeElement, findElement, readString, scanFile } from '@veil/core';
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

export interface FileMetaFields {
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly transferSyntaxUid: string;
  /** (0002,0016) Source Application Entity Title: the calling AE of the association the data set came on. */
  readonly sourceAeTitle?: string;
  /** (0002,0018) Receiving Application Entity Title. */
  readonly receivingAeTitle?: string;
}

function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** The 128-byte preamble, "DICM" and the file meta information group (PS3.10 7.1), explicit VR little endian. */
export function encodeFileMeta(f: FileMetaFields): Uint8Array {
  const els: Uint8Array[] = [
    encodeElement(0x00020001, 'OB', new Uint8Array([0x00, 0x01]), EXPLICIT_LE),
    encodeElement(0x00020002, 'UI', ascii(f.sopClassUid), EXPLICIT_LE),
    encodeElement(0x00020003, 'UI', ascii(f.sopInstanceUid), EXPLICIT_LE),
    encodeElement(0x00020010, 'UI', ascii(f.transferSyntaxUid), EXPLICIT_LE),
    encodeElement(0x00020012, 'UI', ascii(IMPLEMENTATION_CLASS_UID), EXPLICIT_LE),
    encodeElement(0x00020013, 'SH', ascii(IMPLEMENTATION_VERSION_NAME), EXPLICIT_LE),
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
