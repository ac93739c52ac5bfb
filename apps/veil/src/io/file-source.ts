/**
 * ByteSources over files: small files are read whole (one syscall, zero-copy scanning); large ones are read in
 * windows on demand so that scanning a 2 GB multi-frame touches only its header.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import type { ByteSource } from '@veil/core';

/** Files up to this size are read into memory whole. */
export const WHOLE_FILE_LIMIT = 64 * 1024 * 1024;

export interface FileSource extends ByteSource {
  readonly fd: number | undefined;
  close(): void;
}

/**
 * Large buffers start this far into their allocation. glibc serves a large malloc with mmap, 16 bytes past a page
 * boundary, and copying page-cache pages into a buffer at that offset hits 4K aliasing: reading a 40 MB file ran at
 * less than half speed on the benchmark machine (bench/). Skipping 4096 - 16 bytes puts the data on a page boundary
 * there; with another allocator it costs 4 KB and nothing else.
 */
const ALIGN_PAD = 4096 - 16;
const ALIGN_FROM = 64 * 1024;

function freshBuffer(size: number): Uint8Array {
  const pad = size >= ALIGN_FROM ? ALIGN_PAD : 0;
  const buf = Buffer.allocUnsafeSlow(size + pad);
  return new Uint8Array(buf.buffer, buf.byteOffset + pad, size);
}

/**
 * Files up to this size may be read into the thread's scratch buffer (see OpenOptions.reuse): a fresh 500 KB buffer
 * per CT slice cost twice the read itself (page faults, then the garbage collector); reading into one that stays
 * mapped is a plain copy from the page cache.
 */
const SCRATCH_LIMIT = 16 * 1024 * 1024;
let scratch: Uint8Array | undefined;

function scratchOf(size: number): Uint8Array {
  if (!scratch || scratch.length < size) {
    // Grown in steps (sizes in a series vary by a few bytes) and page-aligned like a fresh buffer.
    const want = Math.min(SCRATCH_LIMIT, Math.max(size, 2 * (scratch?.length ?? 0), 1 << 20));
    scratch = freshBuffer(want);
  }
  return scratch.subarray(0, size);
}

/**
 * Reads `size` bytes (fewer if the file shrank) straight into one uninitialised buffer: no zero fill, no second
 * copy, no extra fstat (readFileSync does both; on a 500 KB CT slice the copy cost as much as the read).
 */
function readWhole(fd: number, size: number, reuse: boolean): Uint8Array {
  const bytes = reuse && size <= SCRATCH_LIMIT ? scratchOf(size) : freshBuffer(size);
  let o = 0;
  while (o < size) {
    const n = readSync(fd, bytes, o, size - o, o);
    if (n === 0) break;
    o += n;
  }
  return o === size ? bytes : bytes.subarray(0, o);
}

function viewOf(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/**
 * The chunk that small reads of a large (windowed) file are served from: the scanner's window size, so that opening a
 * file to read its header (`veil send` reads only the meta) reads no more than before.
 */
const READ_CACHE = 64 * 1024;

export interface OpenOptions {
  /** Files up to this size are read whole (default WHOLE_FILE_LIMIT). */
  readonly wholeLimit?: number;
  /**
   * Read into this thread's scratch buffer, which the next reusing open overwrites: for a caller that is done with
   * the file, and with everything scanned from it, before it opens the next one (the de-identification loop).
   */
  readonly reuse?: boolean;
}

export function openFileSource(path: string, o: OpenOptions = {}): FileSource {
  const wholeLimit = o.wholeLimit ?? WHOLE_FILE_LIMIT;
  const fd = openSync(path, 'r');
  let size: number;
  try {
    const stat = fstatSync(fd);
    size = stat.size;
    if (size <= wholeLimit) {
      // A pipe or device reports size 0: read it to its end.
      const bytes = stat.isFile() ? readWhole(fd, size, o.reuse === true) : viewOf(readFileSync(fd));
      closeSync(fd);
      return {
        length: bytes.length,
        bytes,
        fd: undefined,
        read: (s, e) => bytes.subarray(s, Math.min(e, bytes.length)),
        close: () => {},
      };
    }
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let open = true;
  const readAt = (start: number, stop: number): Uint8Array => {
    const out = new Uint8Array(Math.max(0, stop - start));
    let o = 0;
    while (o < out.length) {
      const n = readSync(fd, out, o, out.length - o, start + o);
      if (n === 0) break;
      o += n;
    }
    return o === out.length ? out : out.subarray(0, o);
  };
  // Small reads (the scanner's windows, then one per value read: ~10,000 in the header of a 400-frame enhanced
  // multi-frame) are served from a cached chunk instead of a pread each. A refill reads into a fresh buffer, so what
  // an earlier read returned stays valid; large reads (pixel data copied out) go straight to the file.
  let cache: Uint8Array | undefined;
  let cacheStart = 0;
  return {
    length: size,
    fd,
    read(start, end) {
      const stop = Math.min(end, size);
      if (stop - start > READ_CACHE) return readAt(start, stop);
      if (cache === undefined || start < cacheStart || stop > cacheStart + cache.length) {
        cache = readAt(start, Math.min(size, start + READ_CACHE));
        cacheStart = start;
      }
      return cache.subarray(
        start - cacheStart,
        Math.max(start, Math.min(stop, cacheStart + cache.length)) - cacheStart,
      );
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
