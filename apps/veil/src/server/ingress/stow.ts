/**
 * STOW-RS ingress on @veil/dicomweb: each part of a request is written to the spool as it streams in; the response
 * lists an instance as stored only after its file is fsynced, moved into the spool and its job committed (a failure
 * answers Processing failure 0x0110 for that instance, and the client keeps it). Only STOW is served: no QIDO or WADO
 * of what the gateway holds. Bound to 127.0.0.1 unless the configuration says otherwise.
 *
 * Every request passes the Host check (allowedHosts) and, when `auth` is set, needs a listed bearer token or (with
 * auth.mtls and tls.clientCa) a verified client certificate: 401 AUTH_REQUIRED, 403 AUTH_INVALID_TOKEN, 421
 * HOST_NOT_ALLOWED, JSON bodies with the code only. `limits` bound connections, header and request time, instance
 * and request size (413); a spool short of space (spoolQuota) answers 507 before storing.
 *
 * Example:
 *   const ingress = new StowIngress({ config, receiver, obs });
 *   const port = await ingress.start(); // POST http://127.0.0.1:<port>/dicom-web/studies
 */
import {
  type DicomwebServer,
  type StowFailed,
  type StowHandler,
  type StowOutcome,
  type StowSink,
  serveDicomweb,
} from '@veil/dicomweb';
import { errorCode, type StowIngressConfig } from '@veil/pipeline';
import { allowedHostsFor, authConfigured, httpGuard, tlsServerOptions } from '../auth.ts';
import { refusals } from '../metrics.ts';
import type { Observability } from '../observe.ts';
import { isQuotaError } from './quota.ts';
import type { Receiver } from './receiver.ts';

/** PS3.18 Failure Reason: Out of Resources. */
const OUT_OF_RESOURCES = 0xa700;

/** PS3.18 Failure Reason: Processing failure. */
const PROCESSING_FAILURE = 0x0110;

export interface StowIngressOptions {
  readonly config: StowIngressConfig;
  readonly receiver: Receiver;
  readonly obs: Observability;
}

export class StowIngress {
  readonly #o: StowIngressOptions;
  #server: DicomwebServer | undefined;

  constructor(options: StowIngressOptions) {
    this.#o = options;
  }

  get name(): string {
    return this.#o.config.name;
  }

  readonly #handler: StowHandler = {
    begin: async (): Promise<StowSink | StowFailed> => {
      const { receiver, obs } = this.#o;
      if (!receiver.routed) return { failureReason: PROCESSING_FAILURE };
      let writer: Awaited<ReturnType<Receiver['open']>>;
      try {
        writer = await receiver.open();
      } catch (e) {
        if (!isQuotaError(e)) throw e;
        obs.log.warn({ event: 'ingress.quota', ingress: this.name, code: e.code }, 'spool quota: refused');
        refusals(obs.metrics).inc({ listener: this.name, code: e.code });
        return { failureReason: OUT_OF_RESOURCES, insufficientStorage: true, code: e.code };
      }
      return {
        write: (chunk) => writer.write(chunk),
        end: async (): Promise<StowOutcome | undefined> => {
          try {
            await writer.commit();
            return undefined; // stored
          } catch (e) {
            await writer.abort();
            obs.log.error({ event: 'ingress.store_failed', ingress: this.name, code: errorCode(e) }, 'not stored');
            return { failureReason: PROCESSING_FAILURE };
          }
        },
        abort: () => writer.abort(),
      };
    },
  };

  async start(): Promise<number> {
    const c = this.#o.config;
    const l = c.limits;
    const guard = httpGuard({ auth: c.auth, allowedHosts: allowedHostsFor(c.allowedHosts, c.host) });
    const server = await serveDicomweb(
      {
        stow: this.#handler,
        root: c.root,
        limits: { maxInstanceBytes: l.maxInstanceBytes, maxRequestBytes: l.maxRequestBytes },
      },
      {
        port: c.port,
        host: c.host,
        requestTimeoutMs: l.requestSeconds * 1000,
        headersTimeoutMs: l.headersSeconds * 1000,
        maxConnections: l.maxConnections,
        ...(c.tls ? { tls: tlsServerOptions(c.tls, c.auth?.mtls === true && (c.auth.tokens?.length ?? 0) === 0) } : {}),
        guard: (req) => guard(req, authConfigured(c.auth)),
        onRefused: (r) => {
          refusals(this.#o.obs.metrics).inc({ listener: this.name, code: r.code });
          this.#o.obs.log.warn({ event: 'http.refused', ingress: this.name, code: r.code }, 'request refused');
        },
      },
    );
    this.#server = server;
    this.#o.obs.log.info(
      { event: 'ingress.listening', ingress: this.name, kind: 'stow', port: server.port },
      'listening',
    );
    return server.port;
  }

  async stop(): Promise<void> {
    await this.#server?.close();
    this.#server = undefined;
  }
}
