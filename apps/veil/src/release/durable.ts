/**
 * The one durable-file writer: a file is written under a temporary name of its own folder, fsynced, renamed over its
 * final name (atomic: a reader sees the old file or the new one, never half of one), and the folder fsynced (the
 * rename itself survives a power cut). Folders are created the same way: each new folder's parent is fsynced, so a
 * file in a new hierarchy folder is not lost with the folder entry. Every Veil writer that must survive a crash
 * (the spool, the folder destination, the release of `veil deid`, store-scp, the DICOMweb folder store) uses this.
 *
 * Temporary names carry the process and thread id and a counter: two threads of one process never share one.
 *
 * Example:
 *   await writeFileDurableAsync('/out/a/b/c.dcm', bytes);          // makes /out/a/b durably, then the file
 *   writeFileDurable('/out/x.json', text, { fsync: false });         // atomic only (plain CLI output)
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { threadId } from 'node:worker_threads';

let counter = 0;

/** A temporary name beside `path` (same folder, so the rename is atomic), unique to this process and thread. */
export function temporaryName(path: string): string {
  counter = (counter + 1) % 1e9;
  return `${path}.veil-tmp-${process.pid}-${threadId}-${counter}`;
}

/** True for temporary names made by temporaryName (for cleaning up after a crash). */
export function isTemporaryName(name: string): boolean {
  return /\.veil-tmp-\d+-\d+-\d+$/.test(name);
}

/** fsync a file or folder by path (a folder's fsync makes the names created or renamed in it durable). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsyncPath off the event loop: several can wait on the disk at once. */
export async function fsyncPathAsync(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The folders of `dir` (itself first, then up) that do not exist yet, outermost last. */
function missing(dir: string, exists: (p: string) => boolean): string[] {
  const out: string[] = [];
  let d = dir;
  while (!exists(d)) {
    out.push(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return out;
}

function existsSyncDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * mkdir -p, durably: each folder it creates is fsynced, and so is the parent that gained its entry. With
 * `fsync: false` a plain mkdir -p.
 */
export function ensureDirDurable(dir: string, options: { fsync?: boolean } = {}): void {
  if (options.fsync === false) {
    mkdirSync(dir, { recursive: true });
    return;
  }
  const created = missing(dir, existsSyncDir);
  if (created.length === 0) return;
  mkdirSync(dir, { recursive: true });
  // Innermost first: a folder's own entries, then its entry in its parent.
  for (const d of created) {
    fsyncPath(d);
    fsyncPath(dirname(d));
  }
}

export async function ensureDirDurableAsync(dir: string, options: { fsync?: boolean } = {}): Promise<void> {
  if (options.fsync === false) {
    await mkdir(dir, { recursive: true });
    return;
  }
  const created: string[] = [];
  let d = dir;
  for (;;) {
    try {
      if ((await stat(d)).isDirectory()) break;
    } catch {
      // missing
    }
    created.push(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  if (created.length === 0) return;
  await mkdir(dir, { recursive: true });
  for (const c of created) {
    await fsyncPathAsync(c);
    await fsyncPathAsync(dirname(c));
  }
}

export interface DurableOptions {
  /** fsync the file and its folder (default true); false: atomic but not crash-safe (plain CLI copies). */
  readonly fsync?: boolean;
  /** Create the folder (durably) when it is missing (default true). */
  readonly mkdir?: boolean;
  /** File mode of a new file (default 0o666 less the umask); 0o600 for files that hold a secret. */
  readonly mode?: number;
}

/**
 * Renames a finished temporary file over its final name, then fsyncs the folder. The caller fsynced the file.
 */
export function publishDurable(tmp: string, path: string, options: DurableOptions = {}): void {
  renameSync(tmp, path);
  if (options.fsync !== false) fsyncPath(dirname(path));
}

export async function publishDurableAsync(tmp: string, path: string, options: DurableOptions = {}): Promise<void> {
  await rename(tmp, path);
  if (options.fsync !== false) await fsyncPathAsync(dirname(path));
}

/**
 * Runs `write(tmp)` to fill a temporary file (the callback opens and writes it; with fsync on, the file is fsynced
 * after by path), then publishes it under `path`. When the folder is missing (ENOENT), it is made and the write run
 * again: no mkdir per file.
 */
export function writeDurableWith(path: string, write: (tmp: string) => void, options: DurableOptions = {}): void {
  const tmp = temporaryName(path);
  try {
    try {
      write(tmp);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || options.mkdir === false) throw e;
      ensureDirDurable(dirname(path), options);
      write(tmp);
    }
    if (options.fsync !== false) fsyncPath(tmp);
    publishDurable(tmp, path, options);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes bytes (or text) to `path` durably: temporary file, fsync, rename, fsync of the folder. */
export function writeFileDurable(path: string, data: Uint8Array | string, options: DurableOptions = {}): void {
  writeDurableWith(
    path,
    (tmp) => writeFileSync(tmp, data, options.mode === undefined ? {} : { mode: options.mode }),
    options,
  );
}

/** writeFileDurable off the event loop. */
export async function writeFileDurableAsync(
  path: string,
  data: Uint8Array | string | AsyncIterable<Uint8Array>,
  options: DurableOptions = {},
): Promise<void> {
  const tmp = temporaryName(path);
  const put = async (): Promise<void> => {
    const fh = await open(tmp, 'w', options.mode);
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) await fh.writeFile(data);
      else for await (const chunk of data) await fh.write(chunk);
      if (options.fsync !== false) await fh.sync();
    } finally {
      await fh.close();
    }
  };
  try {
    try {
      await put();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || options.mkdir === false) throw e;
      await ensureDirDurableAsync(dirname(path), options);
      await put();
    }
    await publishDurableAsync(tmp, path, options);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
