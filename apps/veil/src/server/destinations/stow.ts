/**
 * The STOW-RS destination (`http(s)://host/dicom-web`): sends that arrive together (the gateway delivers several
 * instances at once) share one multipart request of up to `batchSize` instances, after waiting at most `batchWaitMs`
 * for the batch to fill; each send resolves or rejects with its own instance's outcome in the response. A 200 stores
 * all; a 202 (some stored, some failed) and a 409 (none stored) are read per instance: a Failure Reason of out of
 * resources (A7xx) or processing failure (0110) is retried, others (SOP class not supported, data set does not match)
 * are permanent; Duplicate SOP Instance (0111) means the peer already holds it, which is a delivery. A request that
 * gets no response (refused, reset, no byte for `timeoutSeconds`) or a 5xx, 401, 403, 408 or 429 is retried.
 *
 * Authentication: a bearer token (from a file or an environment variable, read once) and, for https, a CA and a
 * client certificate (mutual TLS) through an https.Agent. Errors and receipts never quote the URL's path or a token.
 *
 * Example:
 *   const dest = new StowDestination({ name: 'vendor', kind: 'stow', url: 'https://ai.example/dicom-web', ... });
 *   await dest.send(item); // { peer: 'https://ai.example/dicom-web', acknowledged: { httpStatus: 200, batch: 12 } }
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DicomwebClient, type StowFile, type StowFileOutcome, stowFileFromPath } from '@veil/dicomweb';
import {
  DeliveryError,
  type DeliveryReceipt,
  type Destination,
  type OutgoingInstance,
  type StowDestinationConfig,
  statusMatches,
} from '@veil/pipeline';

interface Waiting {
  readonly file: StowFile;
  resolve(r: DeliveryReceipt): void;
  reject(e: unknown): void;
}

const RETRY_HTTP = new Set([0, 401, 403, 408, 429]);

/** The first line of a token file, or the variable's value; undefined when neither is configured. */
function readToken(auth: StowDestinationConfig['auth']): string | undefined {
  if (!auth) return undefined;
  let token: string | undefined;
  if (auth.tokenFile !== undefined) {
    try {
      token = readFileSync(auth.tokenFile, 'utf8').split(/\r?\n/)[0]?.trim();
    } catch (e) {
      throw new DeliveryError(`DEST_TOKEN_${(e as NodeJS.ErrnoException).code ?? 'UNREADABLE'}`);
    }
  } else if (auth.tokenEnv !== undefined) token = process.env[auth.tokenEnv]?.trim();
  if (!token) throw new DeliveryError('DEST_TOKEN_MISSING');
  if (!/^[\x21-\x7e]+$/.test(token)) throw new DeliveryError('DEST_TOKEN_INVALID', true);
  return token;
}

export class StowDestination implements Destination {
  readonly name: string;
  /** The service root without credentials or query (logs and receipts). */
  readonly peer: string;
  readonly #config: StowDestinationConfig;
  readonly #agent: HttpAgent;
  #client: DicomwebClient | undefined;
  #waiting: Waiting[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** STOW-RS requests sent so far (for the tests of batching). */
  requests = 0;

  constructor(config: StowDestinationConfig) {
    const url = new URL(config.url);
    if (url.username || url.password) throw new DeliveryError('DEST_CREDENTIALS_IN_URL', true);
    this.name = config.name;
    this.#config = config;
    this.peer = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
    const t = config.tls;
    this.#agent =
      url.protocol === 'https:'
        ? new HttpsAgent({
            keepAlive: true,
            minVersion: 'TLSv1.2',
            ...(t?.ca ? { ca: readFileSync(t.ca) } : {}),
            ...(t?.cert ? { cert: readFileSync(t.cert) } : {}),
            ...(t?.key ? { key: readFileSync(t.key) } : {}),
            ...(t?.servername ? { servername: t.servername } : {}),
          })
        : new HttpAgent({ keepAlive: true });
  }

  #clientNow(): DicomwebClient {
    // The token is read on first use (and again after a failure to read it), not at start-up: a token file that is
    // rotated or provisioned later is picked up without a restart.
    if (!this.#client) {
      const token = readToken(this.#config.auth);
      this.#client = new DicomwebClient({
        baseUrl: this.#config.url,
        timeoutMs: this.#config.timeoutSeconds * 1000,
        agent: this.#agent,
        ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      });
    }
    return this.#client;
  }

  async send(item: OutgoingInstance): Promise<DeliveryReceipt> {
    let file: StowFile;
    try {
      file = await stowFileFromPath(item.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES') throw new DeliveryError(`DEST_${code}`);
      throw new DeliveryError('DEST_NOT_DICOM', true);
    }
    return new Promise<DeliveryReceipt>((resolve, reject) => {
      this.#waiting.push({ file, resolve, reject });
      if (this.#waiting.length >= this.#config.batchSize) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#config.batchWaitMs);
    });
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#waiting.splice(0, this.#config.batchSize);
    if (this.#waiting.length > 0) this.#timer = setTimeout(() => this.#flush(), this.#config.batchWaitMs);
    if (batch.length > 0) void this.#post(batch);
  }

  async #post(batch: Waiting[]): Promise<void> {
    let client: DicomwebClient;
    try {
      client = this.#clientNow();
    } catch (e) {
      for (const w of batch) w.reject(e);
      return;
    }
    this.requests++;
    const result = await client.stow(
      batch.map((w) => w.file),
      { maxInstancesPerRequest: batch.length },
    );
    const outcomes = result.outcomes;
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (!o) w.reject(new DeliveryError('DEST_STOW_NO_OUTCOME'));
      else this.#settle(w, o, batch.length);
    });
  }

  #settle(w: Waiting, o: StowFileOutcome, batch: number): void {
    const base = { httpStatus: o.httpStatus, batch };
    if (o.status !== 'failed' || o.failureReason === 0x0111) {
      w.resolve({
        peer: this.peer,
        acknowledged: {
          ...base,
          status: o.status === 'failed' ? 'duplicate' : o.status,
          ...(o.warningReason !== undefined ? { warningReason: o.warningReason } : {}),
        },
      });
      return;
    }
    if (o.failureReason !== undefined) {
      const retry = statusMatches(o.failureReason, ['A7xx', '0110']);
      const hex = o.failureReason.toString(16).toUpperCase().padStart(4, '0');
      w.reject(new DeliveryError(`DEST_STOW_FAILURE_${hex}`, !retry));
      return;
    }
    if (o.httpStatus === 0 || RETRY_HTTP.has(o.httpStatus) || o.httpStatus >= 500) {
      // The client may hold a stale token: read it again on the next try.
      if (o.httpStatus === 401 || o.httpStatus === 403) this.#client = undefined;
      w.reject(
        new DeliveryError(o.httpStatus === 0 ? `DEST_${o.error ?? 'STOW_NO_RESPONSE'}` : `DEST_HTTP_${o.httpStatus}`),
      );
      return;
    }
    w.reject(new DeliveryError(`DEST_HTTP_${o.httpStatus}`, true));
  }

  async close(): Promise<void> {
    if (this.#waiting.length > 0) this.#flush();
    this.#agent.destroy();
  }
}
