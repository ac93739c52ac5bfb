/**
 * C-FIND / C-MOVE / C-GET identifiers (PS3.4 C.4): small data sets of query keys, encoded in the transfer syntax of
 * the presentation context they travel on. Encoding takes text values by tag (the VR comes from the dictionary);
 * decoding hands back the core's element tree.
 *
 * Example:
 *   const id = encodeIdentifier([[0x00080052, 'STUDY'], [0x0020000d, studyUid]], '1.2.840.10008.1.2.1');
 *   const ds = readIdentifier(bytes, '1.2.840.10008.1.2');
 *   const level = textOf(ds, 0x00080052); // 'STUDY'
 */
import {
  type DicomDataset,
  encodeElement,
  findElement,
  lookupTag,
  readString,
  scanDataset,
  transferSyntax,
} from '@veil/core';
import { DimseError } from '../errors.ts';

function syntaxOf(transferSyntaxUid: string): { explicitVR: boolean; littleEndian: boolean } {
  const ts = transferSyntax(transferSyntaxUid);
  // Veil does not deflate identifiers; a requestor that wants deflate also proposes an uncompressed syntax.
  if (ts.deflated) throw new DimseError('DIMSE_BAD_ARGUMENT');
  return { explicitVR: ts.explicitVR, littleEndian: ts.littleEndian };
}

function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function vrOf(tag: number): string {
  const vr = lookupTag(tag)?.vr ?? 'UN';
  if (vr.length === 2) return vr;
  return vr.startsWith('US') ? 'US' : vr.startsWith('OB') ? 'OB' : 'UN';
}

/**
 * Encodes identifier keys, each [tag, value] (string values; '' for a return key; numbers for US/UL keys), in
 * ascending tag order as PS3.5 requires. A value may be a list: it is joined with backslashes.
 */
export function encodeIdentifier(
  keys: ReadonlyArray<readonly [number, string | number | readonly string[]]>,
  transferSyntaxUid: string,
): Uint8Array {
  const syntax = syntaxOf(transferSyntaxUid);
  const sorted = [...keys].sort((a, b) => a[0] - b[0]);
  const parts: Uint8Array[] = [];
  for (const [tag, value] of sorted) {
    const vr = vrOf(tag);
    let bytes: Uint8Array;
    if (typeof value === 'number') {
      const size = vr === 'UL' || vr === 'SL' ? 4 : 2;
      bytes = new Uint8Array(size);
      const dv = new DataView(bytes.buffer);
      if (size === 4) dv.setUint32(0, value, syntax.littleEndian);
      else dv.setUint16(0, value, syntax.littleEndian);
    } else {
      bytes = latin1(Array.isArray(value) ? value.join('\\') : (value as string));
    }
    parts.push(encodeElement(tag, vr, bytes, syntax));
  }
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Scans an identifier received in a transfer syntax. Throws a VeilError (DICOM_*) if it cannot be walked. */
export function readIdentifier(bytes: Uint8Array, transferSyntaxUid: string): DicomDataset {
  return scanDataset(bytes, syntaxOf(transferSyntaxUid));
}

/** The text of a top-level element of an identifier, trimmed; undefined when absent. */
export function textOf(ds: DicomDataset, tag: number): string | undefined {
  const el = findElement(ds, tag);
  return el ? readString(el) : undefined;
}
