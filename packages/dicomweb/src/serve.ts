/**
 * Serves a DICOMweb app on Node's HTTP server, on 127.0.0.1 unless told otherwise.
 *
 * Example:
 *   const server = await serveDicomweb({ stow: handler, store, root: '/dicom-web' }, { port: 0 });
 *   server.url; // 'http://127.0.0.1:41234/dicom-web'
 *   await server.close();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TlsOptions } from 'node:tls';
import { getRequestListener } from '@hono/node-server';
import { createDicomwebApp, type DicomwebAppOptions } from './app.ts';

/** A request refused before the app sees it: an HTTP status and a stable code (the body is `{"error": code}`). */
export interface GuardRefusal {
  readonly status: number;
  readonly code: string;
}

export interface ListenDicomwebOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1: exposing the service is a deliberate choice. */
  readonly host?: string;
  /** Longest time to receive a whole request (default 1 hour: large uploads are legitimate). */
  readonly requestTimeoutMs?: number;
  /** Longest time to receive the request line and headers (default 30 s). */
  readonly headersTimeoutMs?: number;
  /** Connections open at once (default 256); more are closed by the socket layer. */
  readonly maxConnections?: number;
  /** HTTPS: node:tls server options (cert, key, and ca/requestCert for client certificates). */
  readonly tls?: TlsOptions;
  /**
   * Runs on every request before the app (Host check, credentials): a refusal is answered at once, the body unread
   * and the connection closed.
   */
  readonly guard?: (req: IncomingMessage) => GuardRefusal | undefined;
  /** A refusal happened (for logs and metrics). */
  readonly onRefused?: (refusal: GuardRefusal) => void;
}

export interface DicomwebServer {
  /** The service root URL, e.g. http://127.0.0.1:8080/dicom-web. */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Stops accepting, ends idle connections, and resolves once the server is closed (in-flight requests are cut). */
  close(): Promise<void>;
}

export async function serveDicomweb(
  app: DicomwebAppOptions,
  listen: ListenDicomwebOptions = {},
): Promise<DicomwebServer> {
  const honoApp = createDicomwebApp(app);
  const appListener = getRequestListener(honoApp.fetch, { overrideGlobalObjects: false });
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const refusal = listen.guard?.(req);
    if (refusal) {
      listen.onRefused?.(refusal);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        connection: 'close',
      };
      if (refusal.status === 401) headers['www-authenticate'] = 'Bearer realm="veil"';
      res.writeHead(refusal.status, headers);
      res.end(`${JSON.stringify({ error: refusal.code })}\n`);
      return;
    }
    void appListener(req, res);
  };
  // A TLS handshake counts against the header time (Node's own default would allow 120 s).
  const server: Server = listen.tls
    ? createHttpsServer({ handshakeTimeout: listen.headersTimeoutMs ?? 30_000, ...listen.tls }, listener)
    : createServer(listener);
  server.on('tlsClientError', () => {});
  server.requestTimeout = listen.requestTimeoutMs ?? 3_600_000;
  server.headersTimeout = Math.min(listen.headersTimeoutMs ?? 30_000, server.requestTimeout);
  server.maxConnections = listen.maxConnections ?? 256;
  const host = listen.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  const root = (app.root ?? '').replace(/\/+$/, '');
  return {
    url: `${listen.tls ? 'https' : 'http'}://${hostInUrl}:${port}${root}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
