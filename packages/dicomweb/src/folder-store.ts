/**
 * A folder of Part 10 files as a DICOMweb store: the StowHandler writes each instance to
 * `<dir>/<study>/<series>/<SOP instance>.dcm` (temporary file, fsync, rename, fsync of the folder, then the
 * acknowledgement), and the DicomwebStore side lists them for QIDO-RS and streams them for WADO-RS. Files already
 * in the folder are indexed when it opens. For tests, the CLI and small deployments; the server uses the pipeline's
 * stores instead.
 *
 * A SOP instance sent again with identical bytes is a success; with different bytes it fails with 0x0111
 * (Duplicate SOP Instance): the first copy is kept.
 *
 * Example:
 *   const store = await FolderStore.open('/var/lib/veil/inbox');
 *   const server = await serveDicomweb({ stow: store, store });
 */
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import {
  type ByteSource,
  bytesSource,
  type DicomJsonObject,
  findElement,
  readString,
  scanFile,
  toDicomJson,
} from '@veil/core';
import type { DicomwebStore, InstanceContent, InstanceRecord, InstanceScope } from './store.ts';
import type { StowFailed, StowHandler, StowInstance, StowOutcome, StowSink } from './stow/ports.ts';
import { FailureReason } from './stow/reasons.ts';
import { isUid } from './uid.ts';
import { instanceFileName } from './wado/to-folder.ts';

const INCOMING = '.incoming';
const WHOLE_FILE_LIMIT = 64 * 1024 * 1024;

export interface FolderStoreOptions {
  /** fsync files and folders before acknowledging (default true). */
  readonly fsync?: boolean;
}

interface Entry {
  readonly record: InstanceRecord;
  readonly path: string;
}

function safeName(uid: string): string {
  return isUid(uid) ? uid : createHash('sha256').update(uid).digest('hex').slice(0, 32);
}

/** Reads a file whole when small, else in windows on demand (only the header is read when scanning). */
function withFileSource<T>(path: string, fn: (src: ByteSource) => T): T {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size <= WHOLE_FILE_LIMIT) {
      const buf = Buffer.allocUnsafe(size);
      let o = 0;
      while (o < size) {
        const n = readSync(fd, buf, o, size - o, o);
        if (n === 0) break;
        o += n;
      }
      return fn(bytesSource(buf.subarray(0, o)));
    }
    return fn({
      length: size,
      read: (start, end) => {
        const e = Math.min(end, size);
        const buf = Buffer.allocUnsafe(Math.max(0, e - start));
        let o = 0;
        while (o < buf.length) {
          const n = readSync(fd, buf, o, buf.length - o, start + o);
          if (n === 0) break;
          o += n;
        }
        return buf.subarray(0, o);
      },
    });
  } finally {
    closeSync(fd);
  }
}

/** The record of a stored file: its UIDs and its top-level text and number attributes (no sequences, no bulk). */
export function recordOfFile(path: string): InstanceRecord | undefined {
  return withFileSource(path, (src) => {
    const file = scanFile(src);
    const uid = (tag: number, metaTag?: number): string | undefined => {
      const el = findElement(file.dataset, tag) ?? (metaTag && file.meta ? findElement(file.meta, metaTag) : undefined);
      const v = el ? readString(el).replace(/\0+$/, '').trim() : '';
      return v || undefined;
    };
    const study = uid(0x0020000d);
    const series = uid(0x0020000e);
    const sop = uid(0x00080018, 0x00020003);
    const sopClass = uid(0x00080016, 0x00020002);
    if (!study || !series || !sop || !sopClass) return undefined;
    const all = toDicomJson(file.dataset, { bulkDataThreshold: 0, bulkDataUri: () => '' });
    const attributes: DicomJsonObject = {};
    for (const [k, a] of Object.entries(all)) {
      if (a.vr === 'SQ' || a.InlineBinary !== undefined || a.BulkDataURI !== undefined) continue;
      // Private attributes stay out of search results.
      if (Number.parseInt(k.slice(0, 4), 16) % 2 === 1) continue;
      attributes[k] = a;
    }
    return {
      studyInstanceUid: study,
      seriesInstanceUid: series,
      sopInstanceUid: sop,
      sopClassUid: sopClass,
      transferSyntaxUid: file.declaredTransferSyntax,
      attributes,
    };
  });
}

async function sha256OfFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

export class FolderStore implements StowHandler, DicomwebStore {
  private readonly entries = new Map<string, Entry>();
  private readonly fsync: boolean;

  private constructor(
    readonly dir: string,
    options: FolderStoreOptions,
  ) {
    this.fsync = options.fsync ?? true;
  }

  /** Opens (creating it if needed) and indexes a folder. Files that are not DICOM, or lack UIDs, are ignored. */
  static async open(dir: string, options: FolderStoreOptions = {}): Promise<FolderStore> {
    const store = new FolderStore(dir, options);
    await mkdir(join(dir, INCOMING), { recursive: true });
    for (const path of await store.walk(dir)) {
      try {
        const record = recordOfFile(path);
        if (record) store.entries.set(record.sopInstanceUid, { record, path });
      } catch {
        // Not a DICOM file, or a broken one: not served.
      }
    }
    return store;
  }

  private async walk(dir: string): Promise<string[]> {
    const out: string[] = [];
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (relative(this.dir, p) === INCOMING) continue;
        out.push(...(await this.walk(p)));
      } else if (e.isFile()) out.push(p);
    }
    return out;
  }

  /** How many instances the folder holds. */
  get size(): number {
    return this.entries.size;
  }

  /** The path of a stored instance, if any. */
  pathOf(sopInstanceUid: string): string | undefined {
    return this.entries.get(sopInstanceUid)?.path;
  }

  // ---------------------------------------------------------------------------------------------- StowHandler

  async begin(): Promise<StowSink | StowFailed> {
    const tmp = join(this.dir, INCOMING, `${randomBytes(12).toString('hex')}.part`);
    const handle = await open(tmp, 'wx');
    return new FolderSink(this, handle, tmp);
  }

  /** @internal Files a completed temporary file. */
  async commit(tmp: string, hash: string, instance: StowInstance): Promise<StowOutcome> {
    let record: InstanceRecord | undefined;
    try {
      record = recordOfFile(tmp);
    } catch {
      record = undefined;
    }
    if (!record || record.sopInstanceUid !== instance.sopInstanceUid) {
      await unlink(tmp).catch(() => undefined);
      return { failureReason: FailureReason.CannotUnderstand };
    }
    const existing = this.entries.get(record.sopInstanceUid);
    if (existing) {
      const same =
        (await stat(existing.path).then(
          (s) => s.size,
          () => -1,
        )) === instance.length && (await sha256OfFile(existing.path).catch(() => '')) === hash;
      await unlink(tmp).catch(() => undefined);
      return same ? {} : { failureReason: FailureReason.DuplicateSopInstance };
    }
    const folder = join(this.dir, safeName(record.studyInstanceUid), safeName(record.seriesInstanceUid));
    await this.makeFolder(folder);
    const path = join(folder, instanceFileName(record.sopInstanceUid));
    await rename(tmp, path);
    if (this.fsync) await fsyncDir(folder);
    this.entries.set(record.sopInstanceUid, { record, path });
    return {};
  }

  // ---------------------------------------------------------------------------------------------- DicomwebStore

  instances(scope: InstanceScope): Iterable<InstanceRecord> {
    const out: InstanceRecord[] = [];
    if (scope.sopInstanceUid !== undefined) {
      const e = this.entries.get(scope.sopInstanceUid);
      if (e) out.push(e.record);
      return out;
    }
    for (const e of this.entries.values()) {
      if (scope.studyInstanceUid !== undefined && e.record.studyInstanceUid !== scope.studyInstanceUid) continue;
      if (scope.seriesInstanceUid !== undefined && e.record.seriesInstanceUid !== scope.seriesInstanceUid) continue;
      out.push(e.record);
    }
    return out;
  }

  async open(record: InstanceRecord): Promise<InstanceContent | undefined> {
    const e = this.entries.get(record.sopInstanceUid);
    if (!e) return undefined;
    let size: number;
    try {
      size = (await stat(e.path)).size;
    } catch {
      return undefined;
    }
    return { length: size, body: createReadStream(e.path, { highWaterMark: 1024 * 1024, end: Math.max(0, size - 1) }) };
  }

  get fsyncEnabled(): boolean {
    return this.fsync;
  }

  /** mkdir -p; with fsync, each folder it creates and the parent that gained its name are fsynced (durable names). */
  private async makeFolder(folder: string): Promise<void> {
    const created: string[] = [];
    for (let d = folder; d !== dirname(d); d = dirname(d)) {
      const exists = await stat(d).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (exists) break;
      created.push(d);
    }
    if (created.length === 0) return;
    await mkdir(folder, { recursive: true });
    if (!this.fsync) return;
    for (const d of created) {
      await fsyncDir(d);
      await fsyncDir(dirname(d));
    }
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

class FolderSink implements StowSink {
  private readonly hash: Hash = createHash('sha256');
  private closed = false;

  constructor(
    private readonly store: FolderStore,
    private readonly handle: FileHandle,
    private readonly tmp: string,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    this.hash.update(chunk);
    let o = 0;
    while (o < chunk.length) o += (await this.handle.write(chunk, o, chunk.length - o)).bytesWritten;
  }

  async end(instance: StowInstance): Promise<StowOutcome> {
    if (this.store.fsyncEnabled) await this.handle.sync();
    await this.close();
    return this.store.commit(this.tmp, this.hash.digest('hex'), instance);
  }

  async abort(): Promise<void> {
    await this.close();
    await unlink(this.tmp).catch(() => undefined);
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}
