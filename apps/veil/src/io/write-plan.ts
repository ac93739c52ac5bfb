/**
 * Writes a rewrite plan to a file: new bytes and ranges of the input, gathered into few writev calls; ranges of
 * a large input are copied in bounded chunks so memory stays bounded by the chunk size, not the file size.
 */
import { closeSync, fsyncSync, openSync, readSync, renameSync, writevSync } from 'node:fs';
import type { RewritePlan } from '@veil/core';
import type { FileSource } from './file-source.ts';

const CHUNK = 4 * 1024 * 1024;
const MAX_IOV = 1024;

let copyBuffer: Uint8Array | undefined;

/**
 * The buffer that ranges of a windowed (large) source are copied through: one per process, reused (writePlan is
 * synchronous and the buffer never escapes), and page-aligned. Alignment matters: a fresh large ArrayBuffer comes
 * from malloc's mmap, 16 bytes past a page boundary, and copying page-cache pages into it hits 4K aliasing: the
 * 200 MB copy ran at half speed on the benchmark machine (bench/). WebAssembly memory is page-aligned; a plain
 * buffer is the fallback where WebAssembly is off (--jitless).
 */
function copyChunk(): Uint8Array {
  if (!copyBuffer) {
    try {
      copyBuffer = new Uint8Array(new WebAssembly.Memory({ initial: CHUNK / 65536, maximum: CHUNK / 65536 }).buffer);
    } catch {
      copyBuffer = new Uint8Array(CHUNK);
    }
  }
  return copyBuffer;
}

export interface WriteOptions {
  /** fsync the file before the rename (durable pipelines); off for plain CLI copies. */
  readonly fsync?: boolean;
}

function writeAll(fd: number, parts: Uint8Array[]): void {
  let batch = parts;
  while (batch.length > 0) {
    const head = batch.slice(0, MAX_IOV);
    let want = 0;
    for (const p of head) want += p.length;
    let written = writevSync(fd, head);
    if (written === want) {
      batch = batch.slice(MAX_IOV);
      continue;
    }
    // Short write: resume after what was written.
    const rest: Uint8Array[] = [];
    for (const p of head) {
      if (written >= p.length) {
        written -= p.length;
        continue;
      }
      rest.push(p.subarray(written));
      written = 0;
    }
    batch = rest.concat(batch.slice(MAX_IOV));
  }
}

/** Writes the plan to `path` atomically (temp file + rename). */
export function writePlan(source: FileSource, plan: RewritePlan, path: string, options: WriteOptions = {}): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = (): void => {
      if (pending.length) writeAll(fd, pending);
      pending = [];
      pendingBytes = 0;
    };
    for (const seg of plan.segments) {
      if (seg instanceof Uint8Array) {
        pending.push(seg);
        pendingBytes += seg.length;
      } else if (source.bytes) {
        pending.push(source.bytes.subarray(seg.start, seg.end));
        pendingBytes += seg.end - seg.start;
      } else {
        flush();
        const buf = copyChunk();
        for (let pos = seg.start; pos < seg.end; ) {
          const n = readSync(source.fd!, buf, 0, Math.min(buf.length, seg.end - pos), pos);
          if (n === 0) throw new Error('input shrank while copying');
          writeAll(fd, [buf.subarray(0, n)]);
          pos += n;
        }
      }
      if (pendingBytes >= CHUNK) flush();
    }
    flush();
    if (options.fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
