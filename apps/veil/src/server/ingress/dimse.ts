/**
 * DIMSE ingress: a C-STORE SCP (and C-ECHO) on @veil/dimse. Each received data set is written as it arrives behind a
 * Part 10 file meta header (SOP class and instance, the accepted transfer syntax, the AE titles) into the spool; the
 * C-STORE-RSP says Success only after the file is fsynced, moved into the spool and its job committed. A transfer cut
 * short is discarded; a failure to make it durable answers 0xA700 (Out of Resources), so the sender keeps it and
 * retries. Bound to 127.0.0.1 unless the configuration says otherwise.
 *
 * Who may associate: the called AE must be `aeTitle`, the calling AE one of `callingAeTitles` (when listed), the user
 * identity (PS3.7 D.3.3.7, username + passcode) one of `userIdentity.users` (when configured), and with `tls.clientCa`
 * the TLS handshake itself needs a certificate signed by that CA. Refusals are A-ASSOCIATE-RJ with the standard's
 * reasons (user identity: rejected-permanent, service-user, no-reason-given). `limits` bound associations and
 * connections (in all and per peer address) and the time a peer may take (see the README's Security section).
 * A spool short of space (spoolQuota) answers 0xA700 before a byte is written.
 *
 * Example:
 *   const ingress = new DimseIngress({ config, receiver, obs });
 *   const port = await ingress.start();
 */
import {
  type AssociationRequestInfo,
  type AuthorizeDecision,
  DimseServer,
  encodeFileMeta,
  type StoreRequest,
  type StoreSink,
} from '@veil/dimse';
import { type DimseIngressConfig, errorCode } from '@veil/pipeline';
import { readTlsFiles, verifyTokenAsync } from '../auth.ts';
import { refusals } from '../metrics.ts';
import type { Observability } from '../observe.ts';
import { isQuotaError } from './quota.ts';
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
    let writer: Awaited<ReturnType<Receiver['open']>>;
    try {
      writer = await receiver.open({ callingAeTitle: rq.association.callingAeTitle });
    } catch (e) {
      if (!isQuotaError(e)) throw e;
      obs.log.warn({ event: 'ingress.quota', ingress: this.name, code: e.code }, 'spool quota: refused');
      refusals(obs.metrics).inc({ listener: this.name, code: e.code });
      return { status: OUT_OF_RESOURCES, errorComment: 'SPOOL_QUOTA_EXCEEDED' };
    }
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

  /** User identity (PS3.7 D.3.3.7): a listed username with its passcode; anything else presented is refused. */
  async #authorize(rq: AssociationRequestInfo): Promise<AuthorizeDecision> {
    const ui = this.#o.config.userIdentity;
    if (!ui) return {};
    const id = rq.userIdentity;
    const refuse = (why: string): AuthorizeDecision => {
      this.#o.obs.log.warn(
        { event: 'dimse.user_identity', ingress: this.name, callingAeTitle: rq.callingAeTitle, reason: why },
        'user identity refused',
      );
      return { reject: 'no-reason' };
    };
    if (id === undefined) return ui.required ? refuse('USER_IDENTITY_REQUIRED') : {};
    // Type 2 only: username alone (1) proves nothing; Kerberos, SAML and JWT are not configured here.
    if (id.type !== 2) return refuse('USER_IDENTITY_TYPE_UNSUPPORTED');
    const username = Buffer.from(id.primaryField).toString('utf8');
    const passcode = Buffer.from(id.secondaryField).toString('utf8');
    let ok = false;
    for (const u of ui.users) ok = (u.username === username && (await verifyTokenAsync(passcode, [u.passcode]))) || ok;
    if (!ok) return refuse('USER_IDENTITY_INVALID');
    // The standard's server response for username/passcode is empty; sent only when asked for.
    return { userIdentityResponse: new Uint8Array(0) };
  }

  /** Listens; resolves with the bound port. */
  async start(): Promise<number> {
    const c = this.#o.config;
    const l = c.limits;
    const tls = c.tls ? readTlsFiles(c.tls) : undefined;
    const server = new DimseServer({
      aeTitle: c.aeTitle,
      ...(c.callingAeTitles ? { callingAeTitles: c.callingAeTitles } : {}),
      ...(c.userIdentity ? { authorize: (rq: AssociationRequestInfo) => this.#authorize(rq) } : {}),
      ...(tls
        ? {
            tls: {
              key: tls.key,
              cert: tls.cert,
              ...(tls.ca ? { ca: tls.ca, requireClientCertificate: true } : {}),
            },
          }
        : {}),
      maxAssociations: l.maxAssociations,
      maxAssociationsPerPeer: l.maxAssociationsPerPeer,
      maxConnections: l.maxConnections,
      maxConnectionsPerPeer: l.maxConnectionsPerPeer,
      timeouts: {
        artimMs: l.associateSeconds * 1000,
        idleMs: l.idleSeconds * 1000,
        pduMs: l.pduSeconds * 1000,
        maxAssociationMs: l.maxAssociationSeconds * 1000,
      },
      handlers: {
        echo: { echo: () => SUCCESS },
        store: { beginStore: (rq) => this.#begin(rq) },
      },
      onEvent: (e) => {
        const log = this.#o.obs.log;
        const refused = (code: string): void => refusals(this.#o.obs.metrics).inc({ listener: this.name, code });
        if (e.type === 'rejected') {
          refused(`REJECTED_${e.reason.toUpperCase().replace(/-/g, '_')}`);
          log.warn(
            { event: 'dimse.rejected', ingress: this.name, callingAeTitle: e.callingAeTitle, reason: e.reason },
            'association rejected',
          );
        } else if (e.type === 'refused') {
          // Every refusal before an association is decided: connection limits, TLS, ARTIM, a bad first PDU.
          refused(e.code);
          log.warn(
            { event: 'dimse.refused', ingress: this.name, reason: e.reason, code: e.code },
            'connection refused',
          );
        } else if (e.type === 'ended' && e.end.kind === 'aborted' && e.end.code?.startsWith('TIMEOUT')) {
          refused(e.end.code);
          log.warn({ event: 'dimse.timeout', ingress: this.name, code: e.end.code }, 'association aborted');
        }
      },
    });
    const { port } = await server.listen({ port: c.port, host: c.host });
    this.#server = server;
    this.#o.obs.log.info(
      { event: 'ingress.listening', ingress: this.name, kind: 'dimse', port, tls: tls !== undefined },
      'listening',
    );
    return port;
  }

  /** Stops accepting associations and waits for open ones to end (a C-STORE in progress completes or is cut). */
  async stop(): Promise<void> {
    await this.#server?.close({ abort: true });
    this.#server = undefined;
  }
}
