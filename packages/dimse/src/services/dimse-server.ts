/**
 * DimseServer: a DICOM application entity that accepts associations (PS3.8 acceptor) over TCP or TLS and serves
 * the DIMSE-C services through the application's handlers. Binds 127.0.0.1 unless told otherwise.
 *
 * Association acceptance, in order: called AE title (reject 'called-AE-title-not-recognized'), calling AE allow-list
 * and per-AE policy (reject 'calling-AE-title-not-recognized'), the `authorize` hook (user identity, addresses),
 * the association limit (transient reject, 'local-limit-exceeded'), then presentation contexts per negotiation.ts.
 *
 * Example:
 *   const server = new DimseServer({ aeTitle: 'VEIL', handlers: { store: myStoreHandler } });
 *   const { port } = await server.listen({ port: 0 });
 *   ...
 *   await server.close();
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { DimseError } from '../errors.ts';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../uids.ts';
import {
  type AssociateDecision,
  Association,
  type AssociationEnd,
  type AssociationTimeouts,
  DEFAULT_MAX_PDU_LENGTH,
  DEFAULT_TIMEOUTS,
} from '../upper-layer/association.ts';
import {
  type AssociateRqPdu,
  DICOM_APPLICATION_CONTEXT,
  PROTOCOL_VERSION,
  RejectReason,
  RejectResult,
  RejectSource,
} from '../upper-layer/pdu.ts';
import { DimseChannel } from './dimse-channel.ts';
import type {
  AssociationInfo,
  AssociationPolicy,
  AssociationRequestInfo,
  AuthorizeDecision,
  DimseServiceName,
} from './handlers.ts';
import { negotiateContexts } from './negotiation.ts';
import { type ConnectionRefusalCode, refusalBeforeAssociation, refusalOfTlsHandshake } from './refusals.ts';
import { type ScpHandlers, ServiceClassProvider } from './service-class-provider.ts';

export interface DimseServerTlsOptions {
  readonly key: string | Uint8Array;
  readonly cert: string | Uint8Array;
  /** CA certificates to verify client certificates with (mutual TLS). */
  readonly ca?: string | Uint8Array | readonly (string | Uint8Array)[];
  /** Ask for and require a client certificate signed by `ca`. */
  readonly requireClientCertificate?: boolean;
}

export interface DimseServerOptions {
  /** This AE's title (called AE title the requestors must use). */
  readonly aeTitle: string;
  /** Accept any called AE title instead of only `aeTitle`. */
  readonly acceptAnyCalledAeTitle?: boolean;
  /** Allow-list of calling AE titles; absent = any calling AE (subject to `policies` and `authorize`). */
  readonly callingAeTitles?: readonly string[];
  /** Per-calling-AE policy; an AE not listed gets `defaultPolicy`. */
  readonly policies?: Readonly<Record<string, AssociationPolicy>>;
  readonly defaultPolicy?: AssociationPolicy;
  /**
   * Last word on an association request (e.g. user identity): a rejection, or policy fields that override the
   * calling AE's policy (`{}` keeps it).
   */
  readonly authorize?: (request: AssociationRequestInfo) => AuthorizeDecision | Promise<AuthorizeDecision>;
  readonly handlers: ScpHandlers;
  /** Transfer syntax preference for every AE without its own (default: the requestor's first proposal). */
  readonly transferSyntaxes?: readonly string[];
  /** Maximum P-DATA-TF length announced (default 256 KiB). */
  readonly maxPduLength?: number;
  /** Simultaneous associations (default 100); more are rejected transiently. */
  readonly maxAssociations?: number;
  /** Simultaneous associations from one remote address (default: maxAssociations); more are rejected transiently. */
  readonly maxAssociationsPerPeer?: number;
  /**
   * Open transport connections, negotiating ones included (default 2 x maxAssociations); one more is closed at once,
   * before any PDU (PS3.8 lets an acceptor refuse the transport connection).
   */
  readonly maxConnections?: number;
  /** Open transport connections from one remote address (default: maxConnections). */
  readonly maxConnectionsPerPeer?: number;
  readonly timeouts?: Partial<AssociationTimeouts>;
  readonly tls?: DimseServerTlsOptions;
  /** Events for logs and metrics: AE titles, counts, codes and DIMSE statuses only, never UIDs or values. */
  readonly onEvent?: (event: DimseServerEvent) => void;
}

export type DimseServerEvent =
  | { readonly type: 'associated'; readonly association: AssociationInfo; readonly acceptedContexts: number }
  | {
      readonly type: 'rejected';
      readonly callingAeTitle: string;
      readonly calledAeTitle: string;
      readonly remoteAddress: string | undefined;
      readonly reason:
        | 'called-ae-title'
        | 'calling-ae-title'
        | 'no-reason'
        | 'busy'
        | 'busy-peer'
        | 'application-context'
        | 'protocol-version';
    }
  | { readonly type: 'ended'; readonly association: AssociationInfo; readonly end: AssociationEnd }
  /**
   * A connection refused or cut before any association was decided, with a stable code (refusals.ts): closed at
   * once, too many open (in all, or from this address); its TLS handshake failed; or no valid A-ASSOCIATE-RQ came in
   * time (ARTIM, a trickled PDU) or its first PDU was not one (malformed, oversized, unexpected).
   */
  | {
      readonly type: 'refused';
      readonly remoteAddress: string | undefined;
      readonly reason: 'connections' | 'peer-connections' | 'tls-handshake' | 'before-association';
      readonly code: string;
    }
  | {
      readonly type: 'operation';
      readonly association: AssociationInfo;
      readonly service: DimseServiceName;
      readonly status: number;
    };

export interface ListenOptions {
  /** TCP port; 0 picks a free one (read it from the result). */
  readonly port: number;
  /** Interface to bind (default 127.0.0.1: loopback only). */
  readonly host?: string;
}

const ALL_SERVICES: readonly DimseServiceName[] = ['echo', 'store', 'find', 'move', 'get'];

export class DimseServer {
  private server: Server | undefined;
  private readonly active = new Set<Association>();
  /** Associations accepted and not yet ended (the limit counts these, not connections still negotiating). */
  private accepted = 0;
  /** Accepted associations and open connections by remote address. */
  private readonly acceptedByPeer = new Map<string, number>();
  private readonly connectionsByPeer = new Map<string, number>();
  private connections = 0;
  private nextId = 1;

  constructor(readonly options: DimseServerOptions) {
    if (options.aeTitle.trim().length === 0 || options.aeTitle.length > 16) throw new DimseError('DIMSE_BAD_ARGUMENT');
  }

  /** Associations currently open. */
  get activeAssociations(): number {
    return this.active.size;
  }

  listen(listen: ListenOptions): Promise<{ address: string; port: number }> {
    const tls = this.options.tls;
    const server = tls
      ? createTlsServer(
          {
            key: tls.key as TlsOptions['key'],
            cert: tls.cert as TlsOptions['cert'],
            ...(tls.ca !== undefined ? { ca: tls.ca as TlsOptions['ca'] } : {}),
            requestCert: tls.requireClientCertificate === true,
            rejectUnauthorized: tls.requireClientCertificate === true,
            minVersion: 'TLSv1.2',
            // A handshake is part of the time before the A-ASSOCIATE-RQ: ARTIM bounds it too.
            handshakeTimeout: this.options.timeouts?.artimMs ?? DEFAULT_TIMEOUTS.artimMs,
          },
          (socket) => this.onConnection(socket, true),
        )
      : createTcpServer((socket) => this.onConnection(socket, false));
    // A failed TLS handshake is the client's problem; it must not reach the process, only the refusal count. The
    // socket is closed here: node:tls only reports a handshake timeout, and a silent peer would keep its connection.
    server.on('tlsClientError', (error: unknown, socket: Socket & { authorizationError?: unknown }) => {
      const code = refusalOfTlsHandshake(error, socket.authorizationError);
      if (code) this.refused(socket.remoteAddress, 'tls-handshake', code);
      socket.destroy();
    });
    // The socket layer's own cap also counts connections still in their TLS handshake (onConnection sees them after);
    // the connections it drops are refusals like those onConnection closes.
    server.maxConnections = this.options.maxConnections ?? 2 * (this.options.maxAssociations ?? 100);
    server.on('drop', (data?: { remoteAddress?: string }) =>
      this.refused(data?.remoteAddress, 'connections', 'CONNECTION_LIMIT'),
    );
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        const addr = server.address();
        if (addr && typeof addr === 'object') resolve({ address: addr.address, port: addr.port });
        else reject(new Error('no address'));
      });
    });
  }

  /** Stops accepting connections; waits for open associations to end, or aborts them when `abort` is set. */
  async close(options: { abort?: boolean } = {}): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    if (options.abort) for (const a of this.active) a.abort();
    await Promise.all([closed, ...[...this.active].map((a) => a.whenEnded())]);
  }

  private onConnection(socket: Socket, tls: boolean): void {
    const o = this.options;
    const peer = peerKey(socket.remoteAddress);
    const maxConnections = o.maxConnections ?? 2 * (o.maxAssociations ?? 100);
    const fromPeer = this.connectionsByPeer.get(peer) ?? 0;
    if (this.connections >= maxConnections || fromPeer >= (o.maxConnectionsPerPeer ?? maxConnections)) {
      const all = this.connections >= maxConnections;
      const code: ConnectionRefusalCode = all ? 'CONNECTION_LIMIT' : 'PEER_CONNECTION_LIMIT';
      this.refused(socket.remoteAddress, all ? 'connections' : 'peer-connections', code);
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    this.connections++;
    this.connectionsByPeer.set(peer, fromPeer + 1);
    socket.once('close', () => {
      this.connections--;
      decrement(this.connectionsByPeer, peer);
    });
    const id = this.nextId++;
    const channel = new DimseChannel();
    // Once negotiation decides, the 'rejected' or 'associated' / 'ended' events tell the rest.
    let decided = false;
    const association = Association.accept(socket, {
      ...(this.options.timeouts !== undefined ? { timeouts: this.options.timeouts } : {}),
      maxPduLength: this.options.maxPduLength ?? DEFAULT_MAX_PDU_LENGTH,
      negotiate: async (rq) => {
        const decision = await this.negotiate(rq, channel, { id, socket, tls });
        decided = true;
        return decision;
      },
    });
    channel.association = association;
    association.user = channel;
    this.active.add(association);
    const remoteAddress = socket.remoteAddress;
    void association.whenEnded().then((end) => {
      this.active.delete(association);
      const code = decided ? undefined : refusalBeforeAssociation(end);
      if (code) this.refused(remoteAddress, 'before-association', code);
    });
  }

  private refused(
    remoteAddress: string | undefined,
    reason: Extract<DimseServerEvent, { type: 'refused' }>['reason'],
    code: string,
  ): void {
    try {
      this.options.onEvent?.({ type: 'refused', remoteAddress, reason, code });
    } catch {
      // A listener's bookkeeping must not break the server's.
    }
  }

  private reject(
    rq: AssociateRqPdu,
    socket: Socket,
    reason: Extract<DimseServerEvent, { type: 'rejected' }>['reason'],
  ): AssociateDecision {
    this.options.onEvent?.({
      type: 'rejected',
      callingAeTitle: rq.callingAeTitle,
      calledAeTitle: rq.calledAeTitle,
      remoteAddress: socket.remoteAddress,
      reason,
    });
    switch (reason) {
      case 'called-ae-title':
        return {
          reject: {
            result: RejectResult.Permanent,
            source: RejectSource.ServiceUser,
            reason: RejectReason.CalledAeTitleNotRecognized,
          },
        };
      case 'calling-ae-title':
        return {
          reject: {
            result: RejectResult.Permanent,
            source: RejectSource.ServiceUser,
            reason: RejectReason.CallingAeTitleNotRecognized,
          },
        };
      case 'application-context':
        return {
          reject: {
            result: RejectResult.Permanent,
            source: RejectSource.ServiceUser,
            reason: RejectReason.ApplicationContextNameNotSupported,
          },
        };
      case 'protocol-version':
        return {
          reject: {
            result: RejectResult.Permanent,
            source: RejectSource.ServiceProviderAcse,
            reason: RejectReason.ProtocolVersionNotSupported,
          },
        };
      case 'busy':
      case 'busy-peer':
        return {
          reject: {
            result: RejectResult.Transient,
            source: RejectSource.ServiceProviderPresentation,
            reason: RejectReason.LocalLimitExceeded,
          },
        };
      default:
        return {
          reject: {
            result: RejectResult.Permanent,
            source: RejectSource.ServiceUser,
            reason: RejectReason.NoReasonGiven,
          },
        };
    }
  }

  private async negotiate(
    rq: AssociateRqPdu,
    channel: DimseChannel,
    conn: { id: number; socket: Socket; tls: boolean },
  ): Promise<AssociateDecision> {
    const o = this.options;
    const { socket } = conn;
    if ((rq.protocolVersion & PROTOCOL_VERSION) === 0) return this.reject(rq, socket, 'protocol-version');
    if (rq.applicationContextName !== DICOM_APPLICATION_CONTEXT) return this.reject(rq, socket, 'application-context');
    if (!o.acceptAnyCalledAeTitle && rq.calledAeTitle !== o.aeTitle) return this.reject(rq, socket, 'called-ae-title');
    if (o.callingAeTitles && !o.callingAeTitles.includes(rq.callingAeTitle))
      return this.reject(rq, socket, 'calling-ae-title');
    let policy: AssociationPolicy | undefined = o.policies?.[rq.callingAeTitle] ?? o.defaultPolicy ?? {};
    let userIdentityResponse: Uint8Array | undefined;
    if (o.authorize) {
      const decision = await o.authorize({
        callingAeTitle: rq.callingAeTitle,
        calledAeTitle: rq.calledAeTitle,
        remoteAddress: socket.remoteAddress,
        tls: conn.tls,
        userIdentity: rq.userInformation.userIdentityRq,
      });
      if ('reject' in decision) {
        return this.reject(
          rq,
          socket,
          decision.reject === 'calling-ae-title'
            ? 'calling-ae-title'
            : decision.reject === 'called-ae-title'
              ? 'called-ae-title'
              : decision.reject === 'busy'
                ? 'busy'
                : 'no-reason',
        );
      }
      // The hook's fields override the AE's policy; an empty answer keeps it.
      const { userIdentityResponse: response, ...overrides } = decision as AssociationPolicy & {
        userIdentityResponse?: Uint8Array;
      };
      policy = { ...policy, ...overrides };
      userIdentityResponse = response;
    }
    if (this.accepted >= (o.maxAssociations ?? 100)) return this.reject(rq, socket, 'busy');
    const peer = peerKey(socket.remoteAddress);
    const fromPeer = this.acceptedByPeer.get(peer) ?? 0;
    if (fromPeer >= (o.maxAssociationsPerPeer ?? o.maxAssociations ?? 100)) return this.reject(rq, socket, 'busy-peer');
    this.accepted++;
    this.acceptedByPeer.set(peer, fromPeer + 1);
    void channel.association.whenEnded().then(() => {
      this.accepted--;
      decrement(this.acceptedByPeer, peer);
    });

    const handlers = o.handlers;
    const available = new Set<DimseServiceName>(['echo']);
    if (handlers.store) available.add('store');
    if (handlers.find) available.add('find');
    if (handlers.move) available.add('move');
    if (handlers.get) available.add('get');
    const allowed = new Set((policy.services ?? ALL_SERVICES).filter((s) => available.has(s)));
    const preference = policy.transferSyntaxes ?? o.transferSyntaxes;
    const negotiated = negotiateContexts(rq.presentationContexts, rq.userInformation.roleSelections ?? [], {
      services: allowed,
      ...(preference !== undefined ? { transferSyntaxes: preference } : {}),
    });

    const info: AssociationInfo = {
      id: conn.id,
      callingAeTitle: rq.callingAeTitle,
      calledAeTitle: rq.calledAeTitle,
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      implementationClassUid: rq.userInformation.implementationClassUid,
      implementationVersionName: rq.userInformation.implementationVersionName,
      tls: conn.tls,
    };
    const provider = new ServiceClassProvider(channel, info, handlers, (service, status) =>
      o.onEvent?.({ type: 'operation', association: info, service, status }),
    );
    channel.onRequest = (contextId, command) => provider.handle(contextId, command);
    channel.onEndHook = (end) => o.onEvent?.({ type: 'ended', association: info, end });
    const accepted = negotiated.presentationContexts.filter((pc) => pc.result === 0).length;
    o.onEvent?.({ type: 'associated', association: info, acceptedContexts: accepted });

    const identity = rq.userInformation.userIdentityRq;
    return {
      accept: {
        type: 'A-ASSOCIATE-AC',
        protocolVersion: PROTOCOL_VERSION,
        calledAeTitle: rq.calledAeTitle,
        callingAeTitle: rq.callingAeTitle,
        applicationContextName: DICOM_APPLICATION_CONTEXT,
        presentationContexts: negotiated.presentationContexts,
        userInformation: {
          maxLength: o.maxPduLength ?? DEFAULT_MAX_PDU_LENGTH,
          implementationClassUid: IMPLEMENTATION_CLASS_UID,
          implementationVersionName: IMPLEMENTATION_VERSION_NAME,
          ...(negotiated.roleSelections.length > 0 ? { roleSelections: negotiated.roleSelections } : {}),
          ...(identity?.positiveResponseRequested && userIdentityResponse !== undefined
            ? { userIdentityAc: userIdentityResponse }
            : {}),
        },
      },
    };
  }
}

/** One key per remote host: an IPv4 peer seen as ::ffff:a.b.c.d counts as a.b.c.d. */
function peerKey(address: string | undefined): string {
  if (address === undefined) return '?';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 1) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
