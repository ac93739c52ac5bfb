/**
 * The C-STORE destination (`dicom://AE@host:port`): each instance is sent byte for byte, in the transfer syntax it
 * is stored in (Veil never converts), on an association that is reused while it stays busy and released after
 * `idleSeconds` idle or `maxInstancesPerAssociation` instances. An instance whose SOP class / transfer syntax pair the
 * open association lacks opens a new one that proposes every pair seen so far plus the new one; a pair the peer
 * refuses is a permanent failure (DEST_DIMSE_NO_CONTEXT). One C-STORE at a time (no asynchronous window).
 *
 * Per instance: Success and warnings (0xB000, 0xB006, 0xB007, 0x0001) are delivered, with the status in the receipt;
 * failures matching `retryStatuses` (default A7xx out of resources, C0xx cannot understand) are retried, others are
 * permanent; a connection that fails or a response that does not come within `timeoutSeconds` is retried (the
 * association is aborted first). Storing again an instance the peer holds replaces it (same SOP Instance UID), so a
 * retry after a crash leaves one copy.
 *
 * Example:
 *   const dest = new DimseDestination({ name: 'pacs', kind: 'dimse', url: 'dicom://PACS@127.0.0.1:11112', ... });
 *   const receipt = await dest.send(item); // { peer: 'dicom://PACS@127.0.0.1:11112', acknowledged: { status: '0x0000' } }
 */
import { createReadStream, readFileSync } from 'node:fs';
import { DimseClient, type DimseClientTlsOptions, describePart10, statusClass, type UserIdentityRq } from '@veil/dimse';
import {
  DeliveryError,
  type DeliveryReceipt,
  type Destination,
  type DimseDestinationConfig,
  type OutgoingInstance,
  parseDicomUrl,
  statusMatches,
} from '@veil/pipeline';
import { openFileSource } from '../../io/file-source.ts';

interface Pair {
  readonly sopClassUid: string;
  readonly transferSyntaxUid: string;
}

/**
 * The user identity item of the configuration, its passcode read now (each association: a rotated passcode file
 * takes effect without a restart). DEST_PASSCODE_MISSING (permanent) when the file or variable gives nothing.
 */
function userIdentityOf(config: DimseDestinationConfig): UserIdentityRq | undefined {
  const u = config.userIdentity;
  if (!u) return undefined;
  let passcode: string | undefined;
  if (u.passcodeFile !== undefined) {
    try {
      passcode = readFileSync(u.passcodeFile, 'utf8').split(/\r?\n/)[0];
    } catch {
      passcode = undefined;
    }
  } else if (u.passcodeEnv !== undefined) passcode = process.env[u.passcodeEnv];
  if (!passcode) throw new DeliveryError('DEST_PASSCODE_MISSING', true);
  const utf8 = new TextEncoder();
  return {
    type: 2,
    positiveResponseRequested: true,
    primaryField: utf8.encode(u.username),
    secondaryField: utf8.encode(passcode),
  };
}

const hex = (s: number): string => `0x${s.toString(16).toUpperCase().padStart(4, '0')}`;

function errorCodeOf(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : 'ERROR';
}

export class DimseDestination implements Destination {
  readonly name: string;
  readonly peer: string;
  readonly #config: DimseDestinationConfig;
  readonly #target: { aeTitle: string; host: string; port: number };
  readonly #tls: DimseClientTlsOptions | undefined;
  #client: DimseClient | undefined;
  #sentOnAssociation = 0;
  /** Associations opened so far (for the receipt and the tests of reuse). */
  associations = 0;
  readonly #pairs = new Map<string, Pair>();
  #chain: Promise<unknown> = Promise.resolve();
  #idle: NodeJS.Timeout | undefined;

  constructor(config: DimseDestinationConfig) {
    const target = parseDicomUrl(config.url);
    if (!target) throw new DeliveryError('DEST_BAD_URL', true);
    this.name = config.name;
    this.#config = config;
    this.#target = target;
    this.peer = `dicom://${target.aeTitle}@${target.host}:${target.port}`;
    const t = config.tls;
    this.#tls = t
      ? {
          ...(t.ca ? { ca: readFileSync(t.ca) } : {}),
          ...(t.cert ? { cert: readFileSync(t.cert) } : {}),
          ...(t.key ? { key: readFileSync(t.key) } : {}),
          ...(t.servername ? { servername: t.servername } : {}),
        }
      : undefined;
  }

  send(item: OutgoingInstance): Promise<DeliveryReceipt> {
    // One operation at a time on the shared association: later sends wait their turn.
    const run = this.#chain.then(() => this.#sendOne(item));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #sendOne(item: OutgoingInstance): Promise<DeliveryReceipt> {
    if (this.#idle) clearTimeout(this.#idle);
    let pair: Pair;
    let datasetOffset: number;
    try {
      const src = openFileSource(item.path);
      try {
        const info = describePart10(src);
        pair = { sopClassUid: info.sopClassUid, transferSyntaxUid: info.transferSyntaxUid };
        datasetOffset = info.datasetOffset;
      } finally {
        src.close();
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A missing output may come back (a retry after recovery); bytes that are not DICOM will not.
      if (code === 'ENOENT' || code === 'EACCES') throw new DeliveryError(`DEST_${code}`);
      throw new DeliveryError('DEST_NOT_DICOM', true);
    }
    const client = await this.#associationFor(pair);
    const timeoutMs = this.#config.timeoutSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    let status: number;
    try {
      const result = await Promise.race([
        client.store({
          sopClassUid: pair.sopClassUid,
          sopInstanceUid: item.sopInstanceUid,
          transferSyntaxUid: pair.transferSyntaxUid,
          dataset: createReadStream(item.path, { start: datasetOffset, highWaterMark: 256 * 1024 }),
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new DeliveryError('DEST_DIMSE_TIMEOUT')), timeoutMs);
        }),
      ]);
      status = result.status;
    } catch (e) {
      this.#drop(true);
      if (e instanceof DeliveryError) throw e;
      throw new DeliveryError(`DEST_${errorCodeOf(e)}`);
    } finally {
      clearTimeout(timer);
    }
    this.#sentOnAssociation++;
    this.#armIdle();
    const cls = statusClass(status);
    // Duplicate SOP Instance: the peer already holds this instance (a re-delivery after a crash). Delivered.
    if (cls === 'success' || cls === 'warning' || status === 0x0111) {
      return {
        peer: this.peer,
        acknowledged: {
          status: hex(status),
          statusClass: cls,
          transferSyntaxUid: pair.transferSyntaxUid,
          association: this.associations,
        },
      };
    }
    const retry = statusMatches(status, this.#config.retryStatuses);
    throw new DeliveryError(`DEST_DIMSE_STATUS_${hex(status).slice(2)}`, !retry);
  }

  async #associationFor(pair: Pair): Promise<DimseClient> {
    const key = `${pair.sopClassUid} ${pair.transferSyntaxUid}`;
    const known = this.#pairs.has(key);
    this.#pairs.set(key, pair);
    const current = this.#client;
    if (current?.findContext(pair.sopClassUid, pair.transferSyntaxUid)) {
      if (this.#sentOnAssociation < this.#config.maxInstancesPerAssociation) return current;
    } else if (current && known) {
      // Proposed on this association and refused: the peer does not take this pair.
      throw new DeliveryError('DEST_DIMSE_NO_CONTEXT', true);
    }
    this.#drop(false);
    // Every pair seen so far, newest first, at most 128 contexts (the protocol's limit).
    const pairs = [...this.#pairs.values()].reverse().slice(0, 128);
    const timeoutMs = this.#config.timeoutSeconds * 1000;
    const userIdentity = userIdentityOf(this.#config);
    let client: DimseClient;
    try {
      client = await DimseClient.connect({
        host: this.#target.host,
        port: this.#target.port,
        callingAeTitle: this.#config.callingAeTitle,
        calledAeTitle: this.#target.aeTitle,
        contexts: pairs.map((p) => ({ abstractSyntax: p.sopClassUid, transferSyntaxes: [p.transferSyntaxUid] })),
        timeouts: { acseMs: timeoutMs, idleMs: timeoutMs, sendMs: timeoutMs, artimMs: timeoutMs },
        ...(this.#tls ? { tls: this.#tls } : {}),
        ...(userIdentity ? { userIdentity } : {}),
      });
    } catch (e) {
      throw new DeliveryError(`DEST_${errorCodeOf(e)}`);
    }
    this.#client = client;
    this.#sentOnAssociation = 0;
    this.associations++;
    if (!client.findContext(pair.sopClassUid, pair.transferSyntaxUid)) {
      throw new DeliveryError('DEST_DIMSE_NO_CONTEXT', true);
    }
    return client;
  }

  #armIdle(): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      this.#chain = this.#chain.then(() => this.#drop(false));
    }, this.#config.idleSeconds * 1000);
    this.#idle.unref();
  }

  /** Releases (or aborts) the open association, if any; never throws. */
  #drop(abort: boolean): void {
    const c = this.#client;
    this.#client = undefined;
    if (!c) return;
    if (abort) c.abort();
    else
      void c.release().catch(() => {
        c.abort();
      });
  }

  async close(): Promise<void> {
    if (this.#idle) clearTimeout(this.#idle);
    await this.#chain;
    const c = this.#client;
    this.#client = undefined;
    if (c) await c.release().catch(() => c.abort());
  }
}
