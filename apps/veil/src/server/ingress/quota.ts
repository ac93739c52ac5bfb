/**
 * The spool quota: network ingress refuses new instances while the spool's file system would keep less than
 * `spoolQuota.minFreeBytes` free, so Veil answers "out of resources" (C-STORE 0xA700, STOW-RS 507) before the disk
 * fills instead of failing half-way or taking the store down with it. Bytes being received count against the free
 * space at once (they are on their way to the disk); the file system's free space is re-read at most every 250 ms.
 *
 * Example:
 *   const quota = new SpoolQuota({ root: spool.root, minFreeBytes: 512 * 1024 ** 2 });
 *   await quota.check(); // throws QuotaError('SPOOL_QUOTA_EXCEEDED')
 */
import { statfs } from 'node:fs/promises';

export class QuotaError extends Error {
  readonly code = 'SPOOL_QUOTA_EXCEEDED';
  /** PS3.18 Failure Reason Out of Resources, for a STOW part cut by the quota while streaming. */
  readonly failureReason = 0xa700;
  constructor() {
    super('SPOOL_QUOTA_EXCEEDED');
    this.name = 'QuotaError';
  }
}

export function isQuotaError(e: unknown): e is QuotaError {
  return e instanceof QuotaError;
}

export interface SpoolQuotaOptions {
  readonly root: string;
  readonly minFreeBytes: number;
  /** Free bytes of the file system holding `root` (default: statfs). */
  readonly freeBytes?: (root: string) => Promise<number>;
}

async function statfsFree(root: string): Promise<number> {
  const s = await statfs(root);
  return Number(s.bavail) * Number(s.bsize);
}

export class SpoolQuota {
  readonly #o: SpoolQuotaOptions;
  #free = 0;
  #at = 0;
  /** Bytes written to open temporaries since the free space was last read. */
  #pending = 0;
  #reading: Promise<void> | undefined;

  constructor(options: SpoolQuotaOptions) {
    this.#o = options;
  }

  async #refresh(): Promise<void> {
    if (Date.now() - this.#at < 250) return;
    this.#reading ??= (async () => {
      try {
        this.#free = await (this.#o.freeBytes ?? statfsFree)(this.#o.root);
        this.#pending = 0;
        this.#at = Date.now();
      } finally {
        this.#reading = undefined;
      }
    })();
    await this.#reading;
  }

  /** Throws QuotaError when `bytes` more would leave less than the minimum free. */
  async check(bytes = 0): Promise<void> {
    this.#pending += bytes;
    if (this.#o.minFreeBytes <= 0) return;
    await this.#refresh();
    if (this.#free - this.#pending < this.#o.minFreeBytes) throw new QuotaError();
  }
}
