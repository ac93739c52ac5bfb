/**
 * DIMSE ingress: a C-STORE SCP (and C-ECHO) on @veil/dimse. Each received data set is written as it arrives behind a
 * Part 10 file meta header (SOP class and instance, the accepted transfer syntax, the AE titles) into the spool; the
 * C-STORE-RSP says Success only after the file is fsynced, moved into the spool and its job committed. A transfer cut
 * short is discarded; a failure to make it durable answers 0xA700 (Out of Resources), so the sender keeps it and
 * retries. Bound to 127.0.0.1 unless the configuration says otherwise.
 *
 * Example:
 *   const ingress = new DimseIngress({ config, receiver, obs });
 *   const port = await ingress.start();
 */
import { DimseServer, encodeFileMeta, type StoreRequest, type StoreSink } from '@veil/dimse';
import { type DimseIngressConfig, errorCode } from '@veil/pipeline';
import type { Observability } from '../observe.ts';
import type { Receiver } from './receiver.ts';

const SUCCESS = 0x0000;
const OUT_OF_RESOURCES = 0xa700;

export interface DimseIngressOptions {
  readonly config: DimseIngressConfig;
  readonly receiver: Receiver;
  readonly obs: Observability;
}

export class DimseIngress {
  readonly #o: DimseIngressOptions;
  #server: DimseServer | undefined;

  constructor(options: DimseIngressOptions) {
    this.#o = options;
  }

  get name(): string {
    return this.#o.config.name;
  }

  async #begin(rq: StoreRequest): Promise<StoreSink | { status: number; errorComment: string }> {
    const { receiver, obs } = this.#o;
    if (!receiver.routed) return { status: OUT_OF_RESOURCES, errorComment: 'no route for this AE' };
    const writer = await receiver.open({ callingAeTitle: rq.association.callingAeTitle });
    try {
      await writer.write(
        encodeFileMeta({
          sopClassUid: rq.sopClassUid,
          sopInstanceUid: rq.sopInstanceUid,
          transferSyntaxUid: rq.transferSyntaxUid,
          sourceAeTitle: rq.association.callingAeTitle,
          receivingAeTitle: rq.association.calledAeTitle,
        }),
      );
    } catch (e) {
      await writer.abort();
      throw e;
    }
    return {
      write: (fragment) => writer.write(fragment),
      end: async () => {
        try {
          await writer.commit();
          return SUCCESS;
        } catch (e) {
          await writer.abort();
          obs.log.error({ event: 'ingress.store_failed', ingress: this.name, code: errorCode(e) }, 'not stored');
          return { status: OUT_OF_RESOURCES, errorComment: 'could not store durably' };
        }
      },
      abort: () => writer.abort(),
    };
  }

  /** Listens; resolves with the bound port. */
  async start(): Promise<number> {
    const c = this.#o.config;
    const server = new DimseServer({
      aeTitle: c.aeTitle,
      ...(c.callingAeTitles ? { callingAeTitles: c.callingAeTitles } : {}),
      handlers: {
        echo: { echo: () => SUCCESS },
        store: { beginStore: (rq) => this.#begin(rq) },
      },
      onEvent: (e) => {
        if (e.type === 'rejected') {
          this.#o.obs.log.warn(
            { event: 'dimse.rejected', ingress: this.name, callingAeTitle: e.callingAeTitle, reason: e.reason },
            'association rejected',
          );
        }
      },
    });
    const { port } = await server.listen({ port: c.port, host: c.host });
    this.#server = server;
    this.#o.obs.log.info({ event: 'ingress.listening', ingress: this.name, kind: 'dimse', port }, 'listening');
    return port;
  }

  /** Stops accepting associations and waits for open ones to end (a C-STORE in progress completes or is cut). */
  async stop(): Promise<void> {
    await this.#server?.close({ abort: true });
    this.#server = undefined;
  }
}
