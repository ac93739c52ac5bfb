/**
 * What the STOW-RS client sends: a Part 10 file by length and a way to stream it, with the UIDs from its file meta
 * to match the response. Files are sent as they are on disk: never parsed beyond the meta, never re-encoded.
 *
 * Example:
 *   const file = await stowFileFromPath('/data/ct/1.dcm');
 *   file.sopInstanceUid; // from (0002,0003)
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { DicomwebError } from '../errors.ts';
import { identifyInstance, readPart10Meta } from '../part10.ts';

export interface StowFile {
  readonly length: number;
  /** Opens the bytes (called when the file's part is written). */
  readonly open: () => AsyncIterable<Uint8Array> | Uint8Array;
  readonly sopClassUid: string | undefined;
  /** The data set's SOP Instance UID when the head holds it, else the file meta's: what servers answer with. */
  readonly sopInstanceUid: string | undefined;
  readonly transferSyntaxUid: string | undefined;
  /** The caller's name for the file (e.g. a relative path), for reports. */
  readonly label?: string;
}

const META_PROBE = 64 * 1024;

/** Describes a file on disk; throws DICOMWEB_NOT_PART10 when it is not a Part 10 file. */
export async function stowFileFromPath(path: string, label?: string): Promise<StowFile> {
  const handle = await open(path, 'r');
  let length: number;
  let head: Uint8Array;
  try {
    length = (await handle.stat()).size;
    const buf = Buffer.allocUnsafe(Math.min(length, META_PROBE));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const meta = readPart10Meta(head, true);
  if (meta === 'more') throw new DicomwebError('DICOMWEB_NOT_PART10');
  const id = identifyInstance(head, head.length === length);
  return {
    length,
    open: () => createReadStream(path, { highWaterMark: 1024 * 1024, end: length - 1 }),
    sopClassUid: id.sopClassUid ?? meta.sopClassUid,
    sopInstanceUid: id.sopInstanceUid ?? meta.sopInstanceUid,
    transferSyntaxUid: meta.transferSyntaxUid,
    ...(label !== undefined ? { label } : {}),
  };
}

/** Describes a file held in memory; throws DICOMWEB_NOT_PART10 when it is not a Part 10 file. */
export function stowFileFromBytes(bytes: Uint8Array, label?: string): StowFile {
  const meta = readPart10Meta(bytes, true);
  if (meta === 'more') throw new DicomwebError('DICOMWEB_NOT_PART10');
  const id = identifyInstance(bytes, true);
  return {
    length: bytes.length,
    open: () => bytes,
    sopClassUid: id.sopClassUid ?? meta.sopClassUid,
    sopInstanceUid: id.sopInstanceUid ?? meta.sopInstanceUid,
    transferSyntaxUid: meta.transferSyntaxUid,
    ...(label !== undefined ? { label } : {}),
  };
}
