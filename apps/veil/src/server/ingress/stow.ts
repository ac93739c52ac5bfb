/**
 * STOW-RS ingress on @veil/dicomweb: each part of a request is written to the spool as it streams in; the response
 * lists an instance as stored only after its file is fsynced, moved into the spool and its job committed (a failure
 * answers Processing failure 0x0110 for that instance, and the client keeps it). Only STOW is served: no QIDO or WADO
 * of what the gateway holds. Bound to 127.0.0.1 unless the configuration says otherwise.
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
import type { Observability } from '../observe.ts';
import type { Receiver } from './receiver.ts';

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
      const writer = await receiver.open();
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
    const server = await serveDicomweb({ stow: this.#handler, root: c.root }, { port: c.port, host: c.host });
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
