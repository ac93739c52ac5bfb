/**
 * Serves a DICOMweb app on Node's HTTP server, on 127.0.0.1 unless told otherwise.
 *
 * Example:
 *   const server = await serveDicomweb({ stow: handler, store, root: '/dicom-web' }, { port: 0 });
 *   server.url; // 'http://127.0.0.1:41234/dicom-web'
 *   await server.close();
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { createDicomwebApp, type DicomwebAppOptions } from './app.ts';

export interface ListenDicomwebOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1: exposing the service is a deliberate choice. */
  readonly host?: string;
  /** Longest time to receive a whole request (default 1 hour: large uploads are legitimate). */
  readonly requestTimeoutMs?: number;
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
  const server = createAdaptorServer({ fetch: honoApp.fetch, overrideGlobalObjects: false }) as Server;
  server.requestTimeout = listen.requestTimeoutMs ?? 3_600_000;
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
    url: `http://${hostInUrl}:${port}${root}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
