/**
 * What every ingress does with an instance it was given: make its bytes durable in the spool, commit its job row,
 * enqueue it. Only then may the sender be told it was received (the folder's file is gone, the C-STORE-RSP says
 * Success, the STOW-RS response lists it as stored). Network ingresses stream into a writer: a temporary file in
 * spool/tmp, fsynced and renamed into spool/incoming/<ingress>/<jobId>.dcm when complete, discarded when the transfer
 * breaks. A crash after the rename and before the commit leaves a spooled file without a job: recoverOrphans()
 * creates it at the next start (the sender, not told Success, may send it again: a second job for the same instance
 * delivers the same bytes under the same name).
 *
 * With a spool quota, open() and write() throw QuotaError (SPOOL_QUOTA_EXCEEDED) while the disk is nearly full.
 *
 * Example:
 *   const w = await receiver.open();
 *   await w.write(fragment); ...
 *   const jobId = await w.commit(); // durable and enqueued: now answer Success
 */
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type JobStore, newJobId, type Runner } from '@veil/pipeline';
import type { Observability } from '../observe.ts';
import { fsyncPathAsync, type Spool } from '../spool.ts';
import type { SpoolQuota } from './quota.ts';

export interface IncomingWriter {
  readonly jobId: string;
  write(bytes: Uint8Array): Promise<void>;
  /** fsync, move into the spool, commit the job, enqueue it; resolves with the job id. */
  commit(): Promise<string>;
  /** Discards what was written (idempotent; never throws). */
  abort(): Promise<void>;
}

export interface ReceiverOptions {
  readonly ingress: string;
  /** How it arrived, for the job's source facts: folder, dimse, stow. */
  readonly transport: string;
  readonly spool: Spool;
  readonly store: JobStore;
  readonly runner: Runner;
  /** The route its instances take; undefined: none (the ingress refuses instances). */
  readonly routeName: string | undefined;
  readonly obs: Observability;
  readonly clock?: () => number;
  /** Refuses new instances (QuotaError) before the spool's disk fills. */
  readonly quota?: SpoolQuota | undefined;
}

export class Receiver {
  readonly #o: ReceiverOptions;
  readonly #now: () => number;

  constructor(options: ReceiverOptions) {
    this.#o = options;
    this.#now = options.clock ?? Date.now;
  }

  get ingress(): string {
    return this.#o.ingress;
  }

  get routed(): boolean {
    return this.#o.routeName !== undefined;
  }

  /** Commits the job of a file already durable in the spool, then enqueues it. */
  async accept(jobId: string, rel: string, size: number, facts: Record<string, string> = {}): Promise<void> {
    const route = this.#o.routeName;
    if (route === undefined) throw new Error('INGRESS_UNROUTED');
    await this.#o.store.createJob(
      {
        id: jobId,
        ingress: this.#o.ingress,
        route,
        step: this.#o.runner.firstStep,
        source: { spool: rel, size, transport: this.#o.transport, ...facts },
      },
      this.#now(),
    );
    this.#o.obs.received(this.#o.ingress);
    this.#o.obs.log.debug({ event: 'job.received', jobId, ingress: this.#o.ingress, size }, 'received');
    await this.#o.runner.submit(jobId);
  }

  /** A writer for one instance arriving in pieces. */
  async open(facts: Record<string, string> = {}): Promise<IncomingWriter> {
    const quota = this.#o.quota;
    await quota?.check();
    const jobId = newJobId(this.#now());
    const tmp = this.#o.spool.path(`tmp/${jobId}.part`);
    const fh: FileHandle = await open(tmp, 'w');
    let size = 0;
    let closed = false;
    const close = async (): Promise<void> => {
      if (!closed) {
        closed = true;
        await fh.close();
      }
    };
    return {
      jobId,
      write: async (bytes) => {
        await quota?.check(bytes.length);
        let off = 0;
        while (off < bytes.length) {
          const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
          off += bytesWritten;
        }
        size += bytes.length;
      },
      commit: async () => {
        await fh.sync();
        await close();
        const rel = this.#o.spool.incomingRel(this.#o.ingress, jobId);
        const dest = this.#o.spool.path(rel);
        await this.#o.spool.ensureDir(dirname(dest));
        await rename(tmp, dest);
        await fsyncPathAsync(dirname(dest));
        await this.accept(jobId, rel, size, facts);
        return jobId;
      },
      abort: async () => {
        try {
          await close();
        } catch {
          // Closing a broken handle: the file goes anyway.
        }
        await rm(tmp, { force: true }).catch(() => {});
      },
    };
  }

  /** Creates the jobs of spooled files whose job row was not committed before a crash (at start). */
  async recoverOrphans(): Promise<number> {
    if (!this.routed) return 0;
    let n = 0;
    for (const f of this.#o.spool.listIncoming(this.#o.ingress)) {
      if (await this.#o.store.getJob(f.jobId)) continue;
      let size: number;
      try {
        size = this.#o.spool.sizeOf(f.rel);
      } catch {
        continue;
      }
      await this.accept(f.jobId, f.rel, size, { recovered: 'true' });
      n++;
    }
    if (n > 0) this.#o.obs.log.warn({ event: 'ingress.recovered', ingress: this.#o.ingress, jobs: n }, 'recovered');
    return n;
  }
}
