/**
 * Writes a rewrite plan to a file: new bytes and ranges of the input, gathered into few writev calls; ranges of
 * a large input are copied in bounded chunks so memory stays bounded by the chunk size, not the file size.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, rmSync, writevSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RewritePlan } from '@veil/core';
import { ensureDirDurable, publishDurable, temporaryName } from '../release/durable.ts';
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
  /**
   * Durable (release/durable.ts): fsync the file before the rename and its folder after, and make a missing folder
   * durably. Off by default: plain CLI copies are atomic (temporary name + rename) but not fsynced.
   */
  readonly fsync?: boolean;
  /** Make the folder when it is missing (default true; checked only when the first open fails: no mkdir per file). */
  readonly mkdir?: boolean;
  /** Compute the SHA-256 of what is written (returned, hex). */
  readonly sha256?: boolean;
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

/** Writes the plan to `path` atomically (temporary name + rename), durably with `fsync` (release/durable.ts). */
export function writePlan(
  source: FileSource,
  plan: RewritePlan,
  path: string,
  options: WriteOptions = {},
): string | undefined {
  const durable = { fsync: options.fsync === true };
  const hash: Hash | undefined = options.sha256 ? createHash('sha256') : undefined;
  const tmp = temporaryName(path);
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || options.mkdir === false) throw e;
    ensureDirDurable(dirname(path), durable);
    fd = openSync(tmp, 'w');
  }
  try {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = (): void => {
      if (hash) for (const p of pending) hash.update(p);
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
          hash?.update(buf.subarray(0, n));
          writeAll(fd, [buf.subarray(0, n)]);
          pos += n;
        }
      }
      if (pendingBytes >= CHUNK) flush();
    }
    flush();
    if (durable.fsync) fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  publishDurable(tmp, path, durable);
  return hash?.digest('hex');
}
