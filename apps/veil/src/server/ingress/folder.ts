/**
 * Folder ingress: watches a folder (polling, woken early by a file-system watch) and takes every file that has not
 * changed for settleMs. Taking a file is: rename it into the spool (it leaves the folder atomically: no one else takes
 * it, and a crash leaves it either in the folder or in the spool), fsync it, commit its job row, then enqueue the job.
 * The folder itself is the sender's acknowledgement: a file gone from it is durably Veil's.
 *
 * Hidden files (.name) and names ending in .tmp, .part, .partial or .crdownload are skipped: writers should write
 * under such a name and rename when done. Sub-folders are walked; they are left in place (empty) after.
 *
 * After a crash between the rename and the commit a spooled file has no job: recoverOrphans() (at start) creates it.
 *
 * Example:
 *   const ingress = new FolderIngress({ config, spool, receiver, obs });
 *   await ingress.recoverOrphans();
 *   ingress.start();
 */
import { type Dirent, type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { errorCode, type FolderIngressConfig, newJobId } from '@veil/pipeline';
import type { Observability } from '../observe.ts';
import type { Spool } from '../spool.ts';
import type { Receiver } from './receiver.ts';

const SKIP = /^\.|\.(tmp|part|partial|crdownload)$/i;
/** At most this many files are taken per scan, so a full folder does not hold the event loop for long. */
const BATCH = 500;
const CLAIMS_AT_ONCE = 8;

export interface FolderIngressOptions {
  readonly config: FolderIngressConfig;
  readonly spool: Spool;
  /** Commits and enqueues (unrouted: the folder is left alone). */
  readonly receiver: Receiver;
  readonly obs: Observability;
  readonly clock?: () => number;
}

export class FolderIngress {
  readonly #o: FolderIngressOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #watcher: FSWatcher | undefined;
  #scanning: Promise<void> | undefined;
  #busy = false;
  #again = false;
  #stopped = false;

  constructor(options: FolderIngressOptions) {
    this.#o = options;
    this.#now = options.clock ?? Date.now;
  }

  get name(): string {
    return this.#o.config.name;
  }

  /** Creates the jobs of files claimed before a crash whose job row was not committed. */
  recoverOrphans(): Promise<number> {
    return this.#o.receiver.recoverOrphans();
  }

  start(): void {
    if (!this.#o.receiver.routed) {
      this.#o.obs.log.warn({ event: 'ingress.unrouted', ingress: this.name }, 'no route takes this ingress: idle');
      return;
    }
    try {
      this.#watcher = watch(this.#o.config.path, () => this.poke());
      this.#watcher.on('error', () => {
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch {
      // Polling alone will do (a folder created later, or a file system without notifications).
    }
    const tick = (): void => {
      if (this.#stopped) return;
      this.poke();
      this.#timer = setTimeout(tick, this.#o.config.pollMs);
    };
    tick();
  }

  /** Scans soon (coalesced with a scan in progress). */
  poke(): void {
    if (this.#stopped) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    this.#scanning = this.#scan()
      .catch((e: unknown) => {
        this.#o.obs.log.error({ event: 'ingress.error', ingress: this.name, code: errorCode(e) }, 'scan failed');
      })
      .finally(() => {
        this.#busy = false;
        this.#scanning = undefined;
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.poke();
        }
      });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#watcher?.close();
    await this.#scanning;
  }

  /** Files ready to take: regular, not skipped by name, unchanged for settleMs. */
  #ready(): string[] {
    const out: string[] = [];
    const now = this.#now();
    const walk = (dir: string): void => {
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (out.length >= BATCH || this.#stopped) return;
        if (SKIP.test(e.name)) continue;
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile()) {
          try {
            const st = statSync(p);
            if (now - Math.max(st.mtimeMs, st.ctimeMs) >= this.#o.config.settleMs) out.push(p);
          } catch {
            // Taken or removed meanwhile.
          }
        }
      }
    };
    walk(this.#o.config.path);
    return out;
  }

  async #scan(): Promise<void> {
    for (;;) {
      const files = this.#ready();
      // A few at a time: each claim waits on fsyncs and a commit, which overlap well.
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < files.length && !this.#stopped) await this.#take(files[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(CLAIMS_AT_ONCE, files.length) }, lane));
      if (files.length < BATCH || this.#stopped) return;
    }
  }

  async #take(path: string): Promise<void> {
    const jobId = newJobId(this.#now());
    let claimed: { rel: string; size: number };
    try {
      claimed = await this.#o.spool.claim(path, this.name, jobId);
    } catch (e) {
      const code = errorCode(e);
      if (code !== 'ENOENT')
        this.#o.obs.log.error({ event: 'ingress.claim_failed', ingress: this.name, code }, 'claim');
      return;
    }
    await this.#o.receiver.accept(jobId, claimed.rel, claimed.size);
  }
}
