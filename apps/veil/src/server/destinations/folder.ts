/**
 * The folder destination: each de-identified instance becomes <SOPInstanceUID>.dcm (flat) or
 * <patient>/<study>/<series>/<SOPInstanceUID>.dcm (hierarchy), names made of de-identified values only.
 *
 * Idempotent, for exactly-once delivery under crashes: the bytes are copied to a hidden temporary name of this job
 * (.<name>.<jobId>.veil-tmp), fsynced, renamed over the final name (atomic), and the folder fsynced. A reader never
 * sees a partial file. If the process dies before the pipeline records the delivery, the retry writes the same bytes
 * under the same temporary name and renames them over the same final name: the folder ends with one complete copy.
 *
 * Example:
 *   const dest = new FolderDestination({ name: 'research', kind: 'folder', path: '/data/out', layout: 'flat' });
 *   await dest.send(item);
 */
import { copyFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  DeliveryError,
  type DeliveryReceipt,
  type Destination,
  type FolderDestinationConfig,
  type OutgoingInstance,
} from '@veil/pipeline';
import { ensureDirDurableAsync, fsyncPathAsync } from '../../release/durable.ts';

const SAFE = /^[A-Za-z0-9._-]+$/;

export class FolderDestination implements Destination {
  readonly name: string;
  readonly #config: FolderDestinationConfig;

  constructor(config: FolderDestinationConfig) {
    this.name = config.name;
    this.#config = config;
  }

  /** The path of an instance relative to the folder. */
  relativePath(item: OutgoingInstance): string {
    const uid = item.sopInstanceUid;
    const file = `${SAFE.test(uid) ? uid : `unknown-${item.jobId}`}${item.version ? `.v${item.version}` : ''}.dcm`;
    return this.#config.layout === 'hierarchy' ? `${item.hierarchy}/${file}` : file;
  }

  /** Sends to the same name in progress: a second one waits (both would use one temporary name). */
  readonly #busy = new Map<string, Promise<unknown>>();

  send(item: OutgoingInstance): Promise<DeliveryReceipt> {
    const rel = this.relativePath(item);
    const run = (this.#busy.get(rel) ?? Promise.resolve()).then(() => this.#write(item, rel));
    const settled = run.catch(() => {});
    this.#busy.set(rel, settled);
    void settled.then(() => {
      if (this.#busy.get(rel) === settled) this.#busy.delete(rel);
    });
    return run;
  }

  async #write(item: OutgoingInstance, rel: string): Promise<DeliveryReceipt> {
    const dest = join(this.#config.path, rel);
    const dir = dirname(dest);
    const tmp = join(dir, `.${rel.split('/').pop()}.${item.jobId}.veil-tmp`);
    try {
      // A new hierarchy folder is made durably (each new folder's parent fsynced): the file must not outlive its name.
      await ensureDirDurableAsync(dir);
      await copyFile(item.path, tmp);
      await fsyncPathAsync(tmp);
      await rename(tmp, dest);
      await fsyncPathAsync(dir);
      return { peer: this.#config.path, acknowledged: { file: rel, bytes: item.size, fsynced: true } };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (typeof code !== 'string') throw e; // a bug, not the folder: the pipeline records its class
      try {
        await rm(tmp, { force: true });
      } catch {
        // The folder refuses even that; the next attempt overwrites the temporary file.
      }
      // Nothing here is permanent: a full disk, a read-only mount or missing rights can be fixed; the retries and
      // then the dead letter state (replayable) cover the time until then.
      throw new DeliveryError(`DEST_${code}`);
    }
  }
}
