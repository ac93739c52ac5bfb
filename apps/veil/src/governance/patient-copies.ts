/**
 * The patient-copy store: the originals a patient may download from the portal after the gateway has delivered
 * (and so removed from its spool) their de-identified copies. Opt-in: `portal.keepOriginalsDays` (default 0: none
 * kept; the portal then says plainly that Veil no longer holds the originals).
 *
 * When a job is done (the Runner's onDone, before the spool removes its files), its received file is moved (a
 * rename, instant) to <spool>/patient-copies/pending/<jobId>.dcm, then sealed in the background to
 * <spool>/patient-copies/<jobId>.vpc and the plain file removed. A sweep (at start and every 10 minutes, in the
 * process that takes data in) seals pending files a crash left behind (untouched for 10 minutes, so never one another
 * process of a scaled-out gateway is sealing) and deletes copies whose time ran out; a copy past its time is never served even before
 * the sweep removes it.
 *
 * A sealed copy: "VPC1", the expiry (8 bytes, ms since 1970, big endian), a 12-byte nonce, the 16-byte GCM tag, then
 * the file encrypted with AES-256-GCM under HKDF-SHA-256(project key, salt: the job id, info
 * 'veil-patient-copy/1'), with "VPC1", the job id and the expiry as associated data: a copy renamed to another job,
 * or its expiry changed, does not open. Files are 0600.
 *
 * Example:
 *   const copies = new PatientCopies({ root: join(spool, 'patient-copies'), key, keepDays: 30 });
 *   copies.keep(jobId, spool.path(job.source.spool)); // in onDone
 *   copies.read(jobId, Date.now());                    // the original, or undefined
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

const MAGIC = Buffer.from('VPC1');
const HEADER = 4 + 8 + 12 + 16;
const DAY = 86_400_000;
const JOB_ID = /^[0-9a-z]{26}$/;

/** Files untouched this long are no live process's work (a seal takes seconds). */
const ABANDONED_MS = 600_000;

function abandoned(path: string, time: 'mtimeMs' | 'ctimeMs', now: number): boolean {
  try {
    return now - statSync(path)[time] >= ABANDONED_MS;
  } catch {
    return false;
  }
}

/** The expiry of a sealed copy (its header), or undefined when it is not one. */
function expiryOf(path: string): number | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(12);
    if (readSync(fd, head, 0, 12, 0) !== 12 || !head.subarray(0, 4).equals(MAGIC)) return undefined;
    return Number(head.readBigUInt64BE(4));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface PatientCopiesOptions {
  readonly root: string;
  readonly key: Uint8Array;
  readonly keepDays: number;
  readonly clock?: () => number;
  readonly onError?: (code: string) => void;
}

export class PatientCopies {
  readonly #o: PatientCopiesOptions;
  readonly #pending: string;
  readonly #sealing = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(o: PatientCopiesOptions) {
    this.#o = o;
    this.#pending = join(o.root, 'pending');
  }

  get enabled(): boolean {
    return this.#o.keepDays > 0;
  }

  #now(): number {
    return (this.#o.clock ?? Date.now)();
  }

  #aesKey(jobId: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#o.key, Buffer.from(jobId), 'veil-patient-copy/1', 32));
  }

  #aad(jobId: string, expiresAt: Buffer): Buffer {
    return Buffer.concat([MAGIC, Buffer.from(jobId), expiresAt]);
  }

  /** Keeps the job's received file (moved out of the spool now, sealed in the background). */
  keep(jobId: string, spooledPath: string): void {
    if (!this.enabled || !JOB_ID.test(jobId)) return;
    const plain = join(this.#pending, `${jobId}.dcm`);
    try {
      mkdirSync(this.#pending, { recursive: true, mode: 0o700 });
      renameSync(spooledPath, plain);
    } catch (e) {
      // Gone already (a replayed onDone), or another file system: nothing kept for this one.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.#o.onError?.('PATIENT_COPY_KEEP_FAILED');
      return;
    }
    this.#seal(jobId, this.#now() + this.#o.keepDays * DAY);
  }

  #seal(jobId: string, expiresAtMs: number): void {
    if (this.#sealing.has(jobId)) return;
    const p = this.#sealAsync(jobId, expiresAtMs)
      .catch(() => this.#o.onError?.('PATIENT_COPY_SEAL_FAILED'))
      .finally(() => this.#sealing.delete(jobId));
    this.#sealing.set(jobId, p);
  }

  async #sealAsync(jobId: string, expiresAtMs: number): Promise<void> {
    const plain = join(this.#pending, `${jobId}.dcm`);
    const out = join(this.#o.root, `${jobId}.vpc`);
    const tmp = join(this.#o.root, `.${jobId}.vpc.tmp`);
    const expires = Buffer.alloc(8);
    expires.writeBigUInt64BE(BigInt(Math.trunc(expiresAtMs)));
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#aesKey(jobId), nonce);
    cipher.setAAD(this.#aad(jobId, expires));
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.write(Buffer.concat([MAGIC, expires, nonce, Buffer.alloc(16)]));
      for await (const chunk of createReadStream(plain, { highWaterMark: 1 << 20 })) {
        const ct = cipher.update(chunk as Buffer);
        if (ct.length) await fh.write(ct);
      }
      const last = cipher.final();
      if (last.length) await fh.write(last);
      await fh.write(cipher.getAuthTag(), 0, 16, 4 + 8 + 12);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, out);
    await rm(plain, { force: true });
  }

  /** The original of a job, while its copy is kept and not expired; undefined otherwise. */
  read(jobId: string): Uint8Array | undefined {
    if (!JOB_ID.test(jobId)) return undefined;
    const p = join(this.#o.root, `${jobId}.vpc`);
    if (!existsSync(p)) return undefined;
    const buf = readFileSync(p);
    if (buf.length < HEADER || !buf.subarray(0, 4).equals(MAGIC)) return undefined;
    const expires = buf.subarray(4, 12);
    if (Number(expires.readBigUInt64BE()) <= this.#now()) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', this.#aesKey(jobId), buf.subarray(12, 24));
    decipher.setAAD(this.#aad(jobId, Buffer.from(expires)));
    decipher.setAuthTag(buf.subarray(24, 40));
    try {
      return new Uint8Array(Buffer.concat([decipher.update(buf.subarray(HEADER)), decipher.final()]));
    } catch {
      this.#o.onError?.('PATIENT_COPY_CORRUPT');
      return undefined;
    }
  }

  /** Whether a copy is held (sealed and unexpired, or being sealed). */
  holds(jobId: string): boolean {
    if (!JOB_ID.test(jobId)) return false;
    if (existsSync(join(this.#pending, `${jobId}.dcm`))) return true;
    const expires = expiryOf(join(this.#o.root, `${jobId}.vpc`));
    return expires !== undefined && expires > this.#now();
  }

  /** When a job's kept copy expires (ms), if one is held. */
  expiresAt(jobId: string): number | undefined {
    if (!JOB_ID.test(jobId)) return undefined;
    if (existsSync(join(this.#pending, `${jobId}.dcm`))) return this.#now() + this.#o.keepDays * DAY;
    const e = expiryOf(join(this.#o.root, `${jobId}.vpc`));
    return e !== undefined && e > this.#now() ? e : undefined;
  }

  /** Waits for the copies being sealed (tests, shutdown). */
  async settle(): Promise<void> {
    await Promise.all([...this.#sealing.values()]);
  }

  /** Seals what a crash left pending; deletes expired copies (all of them when keeping is off). Returns deletions. */
  sweep(): number {
    let removed = 0;
    const now = this.#now();
    if (existsSync(this.#pending)) {
      for (const f of readdirSync(this.#pending)) {
        const id = f.replace(/\.dcm$/, '');
        if (!JOB_ID.test(id)) continue;
        if (!this.enabled) {
          rmSync(join(this.#pending, f), { force: true });
          removed++;
        } else if (!this.#sealing.has(id) && abandoned(join(this.#pending, f), 'ctimeMs', now)) {
          // Left by a crash (or by another process of a scaled-out gateway that died): not one being sealed now.
          // Kept from its arrival in pending (its mtime is the received file's, a lower bound: the safe side).
          this.#seal(id, statSync(join(this.#pending, f)).mtimeMs + this.#o.keepDays * DAY);
        }
      }
    }
    if (existsSync(this.#o.root)) {
      for (const f of readdirSync(this.#o.root)) {
        const p = join(this.#o.root, f);
        if (/^\.[0-9a-z]{26}\.vpc\.tmp$/.test(f)) {
          // A seal a crash interrupted (its pending file is sealed again above), once surely abandoned.
          if (!this.#sealing.has(f.slice(1, 27)) && abandoned(p, 'mtimeMs', now)) rmSync(p, { force: true });
          continue;
        }
        if (!/^[0-9a-z]{26}\.vpc$/.test(f)) continue;
        const expires = expiryOf(p);
        if (!this.enabled || expires === undefined || expires <= now) {
          rmSync(p, { force: true });
          removed++;
        }
      }
    }
    return removed;
  }

  /** Sweeps now and every 10 minutes (the timer does not keep the process alive). */
  start(): void {
    this.sweep();
    this.#timer = setInterval(() => this.sweep(), 600_000);
    this.#timer.unref();
  }

  /** Stops the sweep; copies being sealed finish. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.settle();
  }
}

/** The store for a gateway configuration (root: <spool>/patient-copies); `sweep` starts its periodic sweep. */
export function patientCopiesFor(
  config: { readonly server: { readonly spool: string; readonly portal: { readonly keepOriginalsDays?: number } } },
  key: Uint8Array,
  o: { readonly sweep?: boolean; readonly onError?: (code: string) => void } = {},
): PatientCopies {
  const copies = new PatientCopies({
    root: join(config.server.spool, 'patient-copies'),
    key,
    keepDays: config.server.portal.keepOriginalsDays ?? 0,
    ...(o.onError ? { onError: o.onError } : {}),
  });
  if (o.sweep) copies.start();
  return copies;
}
