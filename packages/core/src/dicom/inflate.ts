/**
 * Bounded inflation of a Deflated Explicit VR Little Endian data set (PS3.5 A.5). The stream is inflated in small
 * pushes and stops as soon as the output passes the limit (DICOM_INFLATE_LIMIT): a 0.5 MB deflate bomb never gets to
 * allocate the hundreds of megabytes it would inflate to. Bytes after the end of the deflate stream (a second data
 * set, anything) are counted, so the scanner can refuse them instead of letting a copy carry them out.
 *
 * Example:
 *   const { bytes, trailing } = inflateDataset(compressed, 64 * 1024 * 1024);
 */
import { Inflate } from 'fflate';
import { VeilError } from './errors.ts';

export interface Inflated {
  readonly bytes: Uint8Array;
  /** Bytes after the end of the deflate stream (a zlib wrapper's checksum, a matching gzip trailer and one pad byte excluded). */
  readonly trailing: number;
  /** The stream had a zlib header (seen in the wild; not what PS3.5 asks for). */
  readonly zlibWrapped: boolean;
}

/**
 * fflate's stream state (fflate 0.8): `s.f` the last block was read, `s.l` a block is in progress, `s.p` bit position;
 * `p` the input not consumed yet. Private fields: should a new fflate rename them, every deflated file fails with
 * DICOM_DEFLATE_FAILED (closed, and the corpus tests of deflated files say so at once), never silently.
 */
interface InflateInternals {
  readonly s: { f?: number; l?: unknown; p?: number };
  readonly p: Uint8Array;
}

/** Deflate's best case is ~1032:1; pushes sized by what is left of the limit keep the overshoot near 1 MiB. */
const MAX_RATIO = 1040;
const MIN_PUSH = 1024;
const MAX_PUSH = 64 * 1024;

class LimitReached extends Error {}

function inflateRaw(data: Uint8Array, limit: number): { bytes: Uint8Array; trailing: number } {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const inflater = new Inflate((chunk) => {
    total += chunk.length;
    if (total > limit) throw new LimitReached();
    if (chunk.length > 0) chunks.push(chunk);
  });
  const internals = inflater as unknown as InflateInternals;
  let pos = 0;
  let ended = false;
  while (pos < data.length) {
    const push = Math.max(MIN_PUSH, Math.min(MAX_PUSH, Math.floor((limit - total) / MAX_RATIO)));
    const end = Math.min(data.length, pos + push);
    inflater.push(data.subarray(pos, end), end === data.length);
    pos = end;
    if (internals.s.f && !internals.s.l) {
      ended = true;
      break;
    }
  }
  // A stream that never reached its final block: truncated.
  if (!ended && !(internals.s.f && !internals.s.l)) throw new Error('deflate stream not terminated');
  const leftover = internals.p.length - ((internals.s.p ?? 0) & 7 ? 1 : 0);
  const bytes = chunks.length === 1 ? chunks[0]! : concatChunks(chunks, total);
  return { bytes, trailing: Math.max(0, leftover) + (data.length - pos) };
}

function concatChunks(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function isZlibHeader(data: Uint8Array): boolean {
  return data.length >= 2 && (data[0]! & 0x0f) === 8 && ((data[0]! << 8) | data[1]!) % 31 === 0;
}

/**
 * Inflates a raw deflate stream (or, failing that, a zlib-wrapped one), never producing more than `limit` bytes.
 * Throws DICOM_INFLATE_LIMIT past the limit and DICOM_DEFLATE_FAILED on a stream that does not inflate.
 */
export function inflateDataset(data: Uint8Array, limit: number, offset = 0): Inflated {
  try {
    const raw = inflateRaw(data, limit);
    return { ...raw, trailing: padless(data, raw.trailing, raw.bytes), zlibWrapped: false };
  } catch (e) {
    if (e instanceof LimitReached) throw new VeilError('DICOM_INFLATE_LIMIT', { offset });
    if (!isZlibHeader(data)) throw new VeilError('DICOM_DEFLATE_FAILED', { offset });
  }
  try {
    const z = inflateRaw(data.subarray(2), limit);
    // The Adler-32 checksum after the stream belongs to the wrapper.
    return { bytes: z.bytes, trailing: padless(data, Math.max(0, z.trailing - 4), z.bytes), zlibWrapped: true };
  } catch (e) {
    if (e instanceof LimitReached) throw new VeilError('DICOM_INFLATE_LIMIT', { offset });
    throw new VeilError('DICOM_DEFLATE_FAILED', { offset });
  }
}

/**
 * Not trailing data: zero bytes after the stream (one pads it to even length; DCMTK, inside Orthanc, was seen
 * leaving 14 KB of them after its deflate stream: zeros carry nothing, and the rewriter deflates anew, so they are
 * never copied), and a gzip trailer (CRC-32 and size of the inflated bytes, as some writers leave it: dicomParser's
 * test files) that matches the inflated bytes exactly, so it can carry nothing else.
 */
function padless(data: Uint8Array, trailing: number, inflated: Uint8Array): number {
  if (trailing > 0 && allZero(data, data.length - trailing)) return 0;
  if (trailing === 8 || (trailing === 9 && data[data.length - 1] === 0)) {
    const at = data.length - trailing;
    const u32 = (o: number): number =>
      (data[at + o]! | (data[at + o + 1]! << 8) | (data[at + o + 2]! << 16) | (data[at + o + 3]! << 24)) >>> 0;
    if (u32(4) === inflated.length >>> 0 && u32(0) === crc32(inflated)) return 0;
  }
  return trailing;
}

function allZero(data: Uint8Array, from: number): boolean {
  for (let i = from; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

let CRC_TABLE: Uint32Array | undefined;

function crc32(bytes: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
