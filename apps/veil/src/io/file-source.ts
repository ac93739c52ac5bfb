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

export function openFileSource(path: string, wholeLimit = WHOLE_FILE_LIMIT): FileSource {
  const fd = openSync(path, 'r');
  let size: number;
  try {
    size = fstatSync(fd).size;
    if (size <= wholeLimit) {
      const bytes = new Uint8Array(readFileSync(fd));
      closeSync(fd);
      return { length: bytes.length, bytes, fd: undefined, read: (s, e) => bytes.subarray(s, Math.min(e, bytes.length)), close: () => {} };
    }
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let open = true;
  return {
    length: size,
    fd,
    read(start, end) {
      const stop = Math.min(end, size);
      const out = new Uint8Array(Math.max(0, stop - start));
      let o = 0;
      while (o < out.length) {
        const n = readSync(fd, out, o, out.length - o, start + o);
        if (n === 0) break;
        o += n;
      }
      return out;
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
