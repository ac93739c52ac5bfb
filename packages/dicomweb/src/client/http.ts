/**
 * A small HTTP/1.1 client on node:http(s) for the DICOMweb clients: streamed request bodies with backpressure and
 * an exact Content-Length when known, streamed response bodies, an idle timeout, and errors that carry a code and
 * a status but never the URL (paths hold UIDs).
 *
 * Example:
 *   const res = await httpRequest({ method: 'GET', url, headers: { accept: 'application/dicom+json' } });
 *   const json = JSON.parse(await res.text());
 */
import {
  type Agent,
  type ClientRequest,
  request as httpRequestRaw,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import { request as httpsRequestRaw } from 'node:https';
import { DicomwebError } from '../errors.ts';

export interface HttpRequestOptions {
  readonly method: string;
  readonly url: string | URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | AsyncIterable<Uint8Array>;
  /** Idle time (no bytes either way) before the request fails with DICOMWEB_TIMEOUT; default 120 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** An http(s).Agent: connection reuse, and for https the CA and client certificate (mutual TLS). */
  readonly agent?: Agent;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body stream; read it, or call discard(). */
  readonly body: AsyncIterable<Uint8Array>;
  text(limit?: number): Promise<string>;
  /** Reads and drops the rest of the body (keeps the connection reusable). */
  discard(): void;
  /** Drops the connection (for a body that will not be read to its end). */
  destroy(): void;
}

function waitWritable(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      req.off('drain', done);
      req.off('close', done);
      req.off('error', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
    req.on('error', done);
  });
}

function wrap(res: IncomingMessage): HttpResponse {
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    body: res,
    async text(limit = 64 * 1024 * 1024): Promise<string> {
      const chunks: Buffer[] = [];
      let n = 0;
      for await (const c of res as AsyncIterable<Buffer>) {
        n += c.length;
        if (n > limit) {
          res.destroy();
          throw new DicomwebError('DICOMWEB_BAD_RESPONSE', { status: res.statusCode ?? 0 });
        }
        chunks.push(c);
      }
      return Buffer.concat(chunks).toString('utf8');
    },
    discard(): void {
      res.resume();
    },
    destroy(): void {
      res.destroy();
    },
  };
}

export function httpRequest(options: HttpRequestOptions): Promise<HttpResponse> {
  const url = typeof options.url === 'string' ? new URL(options.url) : options.url;
  const send = url.protocol === 'https:' ? httpsRequestRaw : httpRequestRaw;
  return new Promise<HttpResponse>((resolve, reject) => {
    let responded = false;
    const req = send(
      url,
      {
        method: options.method,
        headers: { ...options.headers },
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.agent ? { agent: options.agent } : {}),
      },
      (res) => {
        responded = true;
        resolve(wrap(res));
      },
    );
    req.setTimeout(options.timeoutMs ?? 120_000, () => req.destroy(new DicomwebError('DICOMWEB_TIMEOUT')));
    req.on('error', (e) => {
      if (responded) return;
      reject(
        e instanceof DicomwebError
          ? e
          : Object.assign(new DicomwebError('DICOMWEB_HTTP_ERROR', { status: 0 }), {
              cause: (e as NodeJS.ErrnoException).code,
            }),
      );
    });
    const body = options.body;
    if (body === undefined) {
      req.end();
      return;
    }
    if (body instanceof Uint8Array) {
      req.end(body);
      return;
    }
    // Stream the body; a response that comes first (an early error status) ends the upload.
    void (async () => {
      try {
        for await (const chunk of body) {
          if (responded || req.destroyed) return;
          if (!req.write(chunk)) await waitWritable(req);
        }
        if (!req.destroyed) req.end();
      } catch (e) {
        req.destroy(e instanceof Error ? e : new Error(String(e)));
      }
    })();
  });
}
