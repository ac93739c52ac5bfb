/**
 * The spool: Veil's own durable folder. Received bytes wait in incoming/<ingress>/<jobId>.dcm, de-identified outputs
 * in output/<jobId>.dcm, until every delivery of the job is recorded (then both go); quarantined jobs keep theirs
 * until an operator releases or purges them. File names are job ids: nothing a sender named or wrote. In a scaled-out
 * deployment every process must see the same spool (a shared volume).
 *
 * Durability: a claimed file is fsynced, and so is the folder entry of its rename, before the job row is committed;
 * outputs are written to a temporary name, fsynced, renamed, and their folder fsynced.
 *
 * Example:
 *   const spool = new Spool('/var/lib/veil/spool');
 *   spool.init();
 *   const { rel, size } = await spool.claim('/inbox/a.dcm', 'inbox', jobId); // rename: the inbox no longer has it
 */
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { copyFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  ensureDirDurable,
  ensureDirDurableAsync,
  fsyncPath,
  fsyncPathAsync,
  temporaryName,
  writeFileDurable,
} from '../release/durable.ts';

// One durable-file writer for the whole app (release/durable.ts); re-exported for the spool's callers.
export { fsyncPath, fsyncPathAsync } from '../release/durable.ts';

/** What claimUid found: a new UID, the same output again (idempotent), or another output under the same UID. */
export type UidClaim = 'new' | 'same' | 'conflict';

export interface SpooledFile {
  readonly jobId: string;
  readonly ingress: string;
  /** Relative to the spool root. */
  readonly rel: string;
}

export class Spool {
  readonly root: string;
  /** Folders known to exist (and be durable). */
  readonly #dirs = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  init(): void {
    for (const d of ['incoming', 'output', 'tmp']) mkdirSync(join(this.root, d), { recursive: true });
    fsyncPath(this.root);
  }

  path(rel: string): string {
    return join(this.root, rel);
  }

  incomingRel(ingress: string, jobId: string): string {
    return `incoming/${ingress}/${jobId}.dcm`;
  }

  outputRel(jobId: string): string {
    return `output/${jobId}.dcm`;
  }

  /**
   * Takes a file out of an ingress folder into the spool: an atomic rename on the same file system (a copy, fsync and
   * unlink across file systems), then fsync of the file and of the spool folder. Rejects with ENOENT when it vanished.
   */
  async claim(source: string, ingress: string, jobId: string): Promise<{ rel: string; size: number }> {
    const rel = this.incomingRel(ingress, jobId);
    const dest = this.path(rel);
    const dir = dirname(dest);
    await this.ensureDir(dir);
    try {
      await rename(source, dest);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      // Another file system: copy under a temporary name, make it durable, then take its place and drop the source.
      // A crash before the unlink leaves the source to be claimed again: a second job for the same instance, which
      // delivers the same bytes under the same name.
      const tmp = this.path(`tmp/${jobId}.claim`);
      await copyFile(source, tmp);
      await fsyncPathAsync(tmp);
      await rename(tmp, dest);
      // The copy's name must be durable before the original goes: a power cut between the unlink and a later fsync
      // of this folder would otherwise lose both.
      await fsyncPathAsync(dir);
      await unlink(source);
      return { rel, size: (await stat(dest)).size };
    }
    await fsyncPathAsync(dest);
    await fsyncPathAsync(dir);
    return { rel, size: (await stat(dest)).size };
  }

  /** Creates a folder of the spool (durably) once per process. */
  async ensureDir(dir: string): Promise<void> {
    if (this.#dirs.has(dir)) return;
    await ensureDirDurableAsync(dir);
    this.#dirs.add(dir);
  }

  /**
   * Records that the de-identified SOP Instance UID `uid` goes out as the output whose SHA-256 is `sha256`, for job
   * `jobId`; durable, exclusive across the processes and threads that share this spool (a hard link of a finished
   * file: created whole or not at all). 'same': this UID already goes out with these very bytes (an identical
   * re-send, or this job again after a crash); 'conflict': another job's different bytes already hold it.
   */
  claimUid(uid: string, sha256: string, jobId: string): UidClaim {
    const h = createHash('sha256').update(uid).digest('hex');
    const dir = this.path(`uids/${h.slice(0, 2)}`);
    const dest = join(dir, `${h}.json`);
    const body = `${JSON.stringify({ sha256, jobId })}\n`;
    ensureDirDurable(dir);
    const tmp = temporaryName(dest);
    writeFileDurable(tmp, body, { mkdir: false });
    try {
      linkSync(tmp, dest);
      fsyncPath(dir);
      return 'new';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      rmSync(tmp, { force: true });
    }
    const held = JSON.parse(readFileSync(dest, 'utf8')) as { sha256?: string; jobId?: string };
    if (held.sha256 === sha256) return 'same';
    if (held.jobId === jobId) {
      // This job again, with other bytes (re-run under a changed configuration): it still holds the UID.
      writeFileDurable(dest, body);
      return 'same';
    }
    return 'conflict';
  }

  sizeOf(rel: string): number {
    return statSync(this.path(rel)).size;
  }

  /** Files in incoming/ (for the recovery of claims whose job row was never committed). */
  listIncoming(ingress?: string): SpooledFile[] {
    const out: SpooledFile[] = [];
    const base = this.path('incoming');
    if (!existsSync(base)) return out;
    const dirs = ingress !== undefined ? [ingress] : readdirSync(base);
    for (const name of dirs) {
      const dir = join(base, name);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) {
        const m = /^([0-9a-z]{26})\.dcm$/.exec(f);
        if (m) out.push({ jobId: m[1]!, ingress: name, rel: `incoming/${name}/${f}` });
      }
    }
    return out;
  }

  /** Job ids with an output file. */
  listOutputs(): string[] {
    const dir = this.path('output');
    if (!existsSync(dir)) return [];
    const ids: string[] = [];
    for (const f of readdirSync(dir)) {
      const m = /^([0-9a-z]{26})\.dcm$/.exec(f);
      if (m) ids.push(m[1]!);
    }
    return ids;
  }

  /** Removes leftovers of interrupted writes (temporary names) older than maxAgeMs. */
  removeStaleTemporaries(now: number, maxAgeMs: number): number {
    let removed = 0;
    for (const d of ['output', 'tmp']) {
      const dir = this.path(d);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) {
        if (/^[0-9a-z]{26}\.dcm$/.test(f)) continue;
        const p = join(dir, f);
        try {
          if (now - statSync(p).mtimeMs >= maxAgeMs) {
            rmSync(p, { force: true });
            removed++;
          }
        } catch {
          // Gone already.
        }
      }
    }
    return removed;
  }

  /** Deletes a file of the spool if present (after its job's fate is durably recorded). */
  remove(rel: string): void {
    try {
      unlinkSync(this.path(rel));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  static jobIdOf(rel: string): string {
    return basename(rel).replace(/\.dcm$/, '');
  }
}
