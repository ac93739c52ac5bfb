/**
 * The server's own HTTP endpoint (node:http), bound to 127.0.0.1 unless configured otherwise:
 *   GET  /health                 200 {"status":"ok"} when the store answers, 503 otherwise
 *   GET  /metrics                Prometheus text format
 *   GET  /status                 JSON: jobs and deliveries by state, queue depth, studies, this process's counters
 *   POST /admin/recover?job=ID   enqueue a job's unfinished work (after `veil jobs --replay` or a quarantine release)
 *   /api/pulls, /api/risk/*      pull jobs and batch risk reports (pulls.ts): always behind the bearer token, as /admin/*
 * Responses carry ids, states, counts and codes only.
 *
 * Every request passes the Host check (http.allowedHosts; default the loopback names). /admin/* always needs a
 * bearer token: one of http.auth.tokens, or this run's own token (written to the spool's run file, 0600, for
 * `veil jobs` / `veil quarantine`); /metrics and /status need one when http.auth is set; /health never does.
 * With http.tls the port speaks HTTPS (and, with tls.clientCa and auth.mtls, a verified client certificate counts).
 *
 * Example:
 *   const http = await startHttp({ host: '127.0.0.1', port: 9464, role: 'all', obs, store, queue, runner });
 *   http.port; // the bound port (useful with port 0)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  errorCode,
  type HttpAuthConfig,
  isJobId,
  type JobQueue,
  type JobStore,
  type Runner,
  type TlsConfig,
} from '@veil/pipeline';
import type { WebHandler } from '../web/index.ts';
import { allowedHostsFor, authConfigured, httpGuard, sendRefusal, tlsServerOptions } from './auth.ts';
import { refusals } from './metrics.ts';
import type { Observability, Role } from './observe.ts';

export interface HttpOptions {
  readonly host: string;
  readonly port: number;
  readonly role: Role;
  readonly obs: Observability;
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly runner: Runner;
  /** The privacy fact sheet, portal, console and vendor API (web/index.ts): their own authentication. */
  readonly web?: WebHandler | undefined;
  /** Pull jobs and batch risk reports (pulls.ts). */
  readonly pulls?:
    | { handles(path: string): boolean; handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> }
    | undefined;
  readonly tls?: TlsConfig | undefined;
  readonly auth?: HttpAuthConfig | undefined;
  readonly allowedHosts?: readonly string[] | undefined;
  /** This run's own admin token (plain; the run file holds it for the local CLI). */
  readonly adminToken?: string | undefined;
}

export interface HttpHandle {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? `${JSON.stringify(body)}\n` : String(body);
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(text);
}

export async function status(o: Omit<HttpOptions, 'host' | 'port' | 'runner'>): Promise<Record<string, unknown>> {
  const [jobs, deliveries, queue, open, stable] = await Promise.all([
    o.store.countJobs(),
    o.store.countDeliveries(),
    o.queue.depth(),
    o.store.listStudies({ state: 'open' }),
    o.store.listStudies({ state: 'stable' }),
  ]);
  const c = o.obs.counters;
  return {
    role: o.role,
    jobs,
    deliveries,
    queue,
    studies: { open: open.length, stable: stable.length },
    process: {
      received: c.received(),
      deidentified: c.deidentified(),
      verified: c.verified(),
      quarantined: c.quarantined(),
      exported: c.exported(),
      failed: c.failed(),
      dead: c.dead(),
    },
  };
}

export function startHttp(o: HttpOptions): Promise<HttpHandle> {
  const guard = httpGuard({
    auth: o.auth,
    allowedHosts: allowedHostsFor(o.allowedHosts, o.host),
    ...(o.adminToken !== undefined ? { extraTokens: [o.adminToken] } : {}),
  });
  const authOn = authConfigured(o.auth);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    const web = o.web?.handles(url.pathname) === true;
    const pulls = o.pulls?.handles(url.pathname) === true;
    const refusal = guard(
      req,
      !web && (url.pathname.startsWith('/admin/') || pulls || (authOn && url.pathname !== '/health')),
    );
    if (refusal) {
      // The path is the client's: logged only when it is one of ours.
      const path = ['/health', '/metrics', '/status', '/admin/recover'].includes(url.pathname) ? url.pathname : 'other';
      o.obs.log.warn({ event: 'http.refused', path, code: refusal.code }, 'refused');
      refusals(o.obs.metrics).inc({ listener: 'http', code: refusal.code });
      req.resume();
      sendRefusal(res, refusal);
      return;
    }
    try {
      if (web) {
        await o.web!.handle(req, res, url, o.tls !== undefined);
        return;
      }
      // Consent for systems (behind the /admin/* bearer token checked above): web/index.ts.
      if (o.web?.handlesAdmin(url.pathname)) {
        await o.web.handleAdmin(req, res, url);
        return;
      }
      if (pulls) {
        await o.pulls!.handle(req, res, url);
        return;
      }
      switch (route) {
        case 'GET /health':
          try {
            await o.store.ping();
            send(res, 200, { status: 'ok', role: o.role });
          } catch (e) {
            send(res, 503, { status: 'unavailable', role: o.role, code: errorCode(e) });
          }
          return;
        case 'GET /metrics':
          send(res, 200, await o.obs.metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
          return;
        case 'GET /status':
          send(res, 200, await status(o));
          return;
        case 'POST /admin/recover': {
          const id = url.searchParams.get('job') ?? '';
          if (!isJobId(id)) {
            send(res, 400, { error: 'BAD_JOB_ID' });
            return;
          }
          send(res, 200, { offered: await o.runner.recoverJob(id) });
          return;
        }
        default:
          send(res, 404, { error: 'NOT_FOUND' });
      }
    } catch (e) {
      o.obs.log.error({ event: 'http.error', route, code: errorCode(e) }, 'request failed');
      if (!res.headersSent) send(res, 500, { error: 'INTERNAL', code: errorCode(e) });
      else res.end();
    }
  };
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res);
  };
  const server: Server = o.tls
    ? createHttpsServer(
        {
          ...tlsServerOptions(o.tls, o.auth?.mtls === true && (o.auth.tokens?.length ?? 0) === 0),
          handshakeTimeout: 10_000,
        },
        listener,
      )
    : createServer(listener);
  // Small requests only: a slow or idle peer is cut early and cannot hold many sockets.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.maxConnections = 64;
  server.on('tlsClientError', () => {});
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        host: o.host,
        port,
        tls: o.tls !== undefined,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
