/**
 * DimseClient: a DICOM application entity that requests one association (PS3.8 requestor) over TCP or TLS and
 * uses the DIMSE-C services as SCU: C-ECHO, C-STORE (the data set bytes as given: never decoded, never converted),
 * C-FIND, C-MOVE and C-GET (the C-STOREs of a C-GET go to a StoreHandler, as on a server).
 *
 * Example:
 *   const client = await DimseClient.connect({ host: '127.0.0.1', port: 11112, callingAeTitle: 'VEIL',
 *     calledAeTitle: 'PACS', contexts: [{ abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT] }] });
 *   const status = await client.echo();
 *   await client.release();
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { type ConnectionOptions, connect as connectTls } from 'node:tls';
import { CommandField, type CommandSet, Priority } from '../dimse/command-set.ts';
import { encodeIdentifier } from '../dimse/identifier.ts';
import { Status, statusClass } from '../dimse/status.ts';
import { DimseError } from '../errors.ts';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, VERIFICATION_SOP_CLASS } from '../uids.ts';
import {
  type AcceptedContext,
  Association,
  type AssociationTimeouts,
  DEFAULT_MAX_PDU_LENGTH,
  DEFAULT_TIMEOUTS,
} from '../upper-layer/association.ts';
import {
  type AssociateRqPdu,
  DICOM_APPLICATION_CONTEXT,
  PROTOCOL_VERSION,
  type RoleSelection,
  type UserIdentityRq,
} from '../upper-layer/pdu.ts';
import { DimseChannel, type DimseMessage } from './dimse-channel.ts';
import type { AssociationInfo, DimseResult, StoreHandler, SuboperationCounts } from './handlers.ts';
import { ServiceClassProvider } from './service-class-provider.ts';

export interface PresentationContextProposal {
  readonly abstractSyntax: string;
  /** Proposed in this order; the acceptor picks one. Propose one per context to learn about each separately. */
  readonly transferSyntaxes: readonly string[];
  /** Propose the SCP role for this SOP class (Veil receives C-STOREs of a C-GET on it). */
  readonly scpRole?: boolean;
  /** With scpRole: keep the SCU role too (default false: SCP only). */
  readonly scuRole?: boolean;
}

export interface DimseClientTlsOptions {
  /** CA certificates the server's certificate must chain to (default: Node's bundled roots). */
  readonly ca?: string | Uint8Array | readonly (string | Uint8Array)[];
  /** Client certificate and key, for servers that require one. */
  readonly cert?: string | Uint8Array;
  readonly key?: string | Uint8Array;
  readonly servername?: string;
  /** Default true. Turning it off makes TLS worthless against an active attacker. */
  readonly rejectUnauthorized?: boolean;
}

export interface DimseClientOptions {
  readonly host: string;
  readonly port: number;
  readonly callingAeTitle: string;
  readonly calledAeTitle: string;
  /** At most 128 contexts (ids 1, 3, ... 255). */
  readonly contexts: readonly PresentationContextProposal[];
  /** Maximum P-DATA-TF length Veil announces for receiving (default 256 KiB). */
  readonly maxPduLength?: number;
  readonly timeouts?: Partial<AssociationTimeouts>;
  readonly tls?: DimseClientTlsOptions;
  readonly userIdentity?: UserIdentityRq;
  /** Receives the C-STOREs of a C-GET (contexts proposed with scpRole). */
  readonly storeHandler?: StoreHandler;
}

export interface StoreArguments {
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  /** The transfer syntax the data set bytes are in; a context with exactly this syntax must have been accepted. */
  readonly transferSyntaxUid: string;
  readonly dataset: Uint8Array | AsyncIterable<Uint8Array>;
  readonly priority?: number;
  /** For C-STOREs performed as sub-operations of a C-MOVE. */
  readonly moveOriginator?: { readonly aeTitle: string; readonly messageId: number };
}

export interface FindResult {
  readonly status: number;
  /** The matching identifier, in `transferSyntaxUid`. */
  readonly identifier: Uint8Array;
  readonly transferSyntaxUid: string;
}

export interface RetrieveResult extends SuboperationCounts {
  readonly status: number;
}

export interface QueryOptions {
  /** Aborting sends a C-CANCEL-RQ; the operation then ends with the peer's Cancel (0xFE00) response. */
  readonly signal?: AbortSignal;
  readonly priority?: number;
}

export interface RetrieveOptions extends QueryOptions {
  /** Called with each pending response's counts. */
  readonly onProgress?: (counts: SuboperationCounts) => void;
}

/** Identifier keys (encoded in the accepted transfer syntax) or identifier bytes (already in it). */
export type Identifier = Uint8Array | ReadonlyArray<readonly [number, string | number | readonly string[]]>;

export class DimseClient {
  private constructor(
    readonly association: Association,
    private readonly channel: DimseChannel,
  ) {}

  static async connect(options: DimseClientOptions): Promise<DimseClient> {
    if (options.contexts.length === 0 || options.contexts.length > 128) throw new DimseError('DIMSE_TOO_MANY_CONTEXTS');
    for (const ae of [options.callingAeTitle, options.calledAeTitle]) {
      if (ae.trim().length === 0 || ae.length > 16) throw new DimseError('DIMSE_BAD_ARGUMENT');
    }
    const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    const roles = new Map<string, RoleSelection>();
    for (const c of options.contexts) {
      if (c.scpRole)
        roles.set(c.abstractSyntax, { sopClassUid: c.abstractSyntax, scuRole: c.scuRole ? 1 : 0, scpRole: 1 });
    }
    const maxPduLength = options.maxPduLength ?? DEFAULT_MAX_PDU_LENGTH;
    const rq: AssociateRqPdu = {
      type: 'A-ASSOCIATE-RQ',
      protocolVersion: PROTOCOL_VERSION,
      calledAeTitle: options.calledAeTitle,
      callingAeTitle: options.callingAeTitle,
      applicationContextName: DICOM_APPLICATION_CONTEXT,
      presentationContexts: options.contexts.map((c, i) => ({
        id: i * 2 + 1,
        abstractSyntax: c.abstractSyntax,
        transferSyntaxes: c.transferSyntaxes,
      })),
      userInformation: {
        maxLength: maxPduLength,
        implementationClassUid: IMPLEMENTATION_CLASS_UID,
        implementationVersionName: IMPLEMENTATION_VERSION_NAME,
        ...(roles.size > 0 ? { roleSelections: [...roles.values()] } : {}),
        ...(options.userIdentity ? { userIdentityRq: options.userIdentity } : {}),
      },
    };
    const socket = openSocket(options);
    // Connecting (TCP and TLS handshake) has the ACSE timeout too; the association's own timer covers the AC wait.
    const connectTimer = setTimeout(() => socket.destroy(), timeouts.acseMs);
    socket.once(options.tls ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    const channel = new DimseChannel();
    let association: Association;
    try {
      association = await Association.request(socket, rq, channel, { timeouts, maxPduLength });
    } finally {
      clearTimeout(connectTimer);
    }
    channel.association = association;
    const client = new DimseClient(association, channel);
    const info: AssociationInfo = {
      id: 0,
      callingAeTitle: options.calledAeTitle,
      calledAeTitle: options.callingAeTitle,
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      implementationClassUid: association.ac?.userInformation.implementationClassUid,
      implementationVersionName: association.ac?.userInformation.implementationVersionName,
      tls: options.tls !== undefined,
    };
    const provider = new ServiceClassProvider(
      channel,
      info,
      options.storeHandler ? { store: options.storeHandler } : {},
      () => {},
      'requestor',
    );
    channel.onRequest = (contextId, command) => provider.handle(contextId, command);
    return client;
  }

  /** The accepted presentation contexts. */
  get acceptedContexts(): AcceptedContext[] {
    return [...this.association.contexts.values()];
  }

  /** An accepted context for this abstract syntax (and transfer syntax, when given). */
  findContext(abstractSyntax: string, transferSyntaxUid?: string): AcceptedContext | undefined {
    for (const c of this.association.contexts.values()) {
      if (c.abstractSyntax !== abstractSyntax || !c.requestorIsScu) continue;
      if (transferSyntaxUid === undefined || c.transferSyntax === transferSyntaxUid) return c;
    }
    return undefined;
  }

  private requireContext(abstractSyntax: string, transferSyntaxUid?: string): AcceptedContext {
    const c = this.findContext(abstractSyntax, transferSyntaxUid);
    if (!c) throw new DimseError('DIMSE_NO_ACCEPTABLE_CONTEXT');
    return c;
  }

  private async finalResponse(responses: AsyncIterable<DimseMessage>): Promise<DimseMessage> {
    let last: DimseMessage | undefined;
    for await (const m of responses) last = m;
    if (!last) throw new DimseError('DIMSE_CONNECTION_CLOSED');
    return last;
  }

  /** C-ECHO; returns the status (0x0000 when the peer is there and well). */
  async echo(): Promise<number> {
    const ctx = this.requireContext(VERIFICATION_SOP_CLASS);
    const { responses } = await this.channel.request(ctx.id, {
      commandField: CommandField.CEchoRq,
      affectedSopClassUid: VERIFICATION_SOP_CLASS,
      hasDataset: false,
    });
    const rsp = await this.finalResponse(responses);
    return rsp.command.status ?? Status.ProcessingFailure;
  }

  /**
   * C-STORE of a data set, sent byte for byte. Throws DIMSE_NO_ACCEPTABLE_CONTEXT when no accepted context carries
   * this SOP class in this transfer syntax: Veil never converts. Returns the peer's status (a failure is a result,
   * not an exception: the caller decides what to do with the instance).
   */
  async store(args: StoreArguments): Promise<DimseResult> {
    const ctx = this.requireContext(args.sopClassUid, args.transferSyntaxUid);
    const command: Omit<CommandSet, 'messageId'> = {
      commandField: CommandField.CStoreRq,
      affectedSopClassUid: args.sopClassUid,
      affectedSopInstanceUid: args.sopInstanceUid,
      priority: args.priority ?? Priority.Medium,
      hasDataset: true,
      ...(args.moveOriginator
        ? { moveOriginatorAeTitle: args.moveOriginator.aeTitle, moveOriginatorMessageId: args.moveOriginator.messageId }
        : {}),
    };
    const { responses } = await this.channel.request(ctx.id, command, args.dataset);
    const rsp = (await this.finalResponse(responses)).command;
    return {
      status: rsp.status ?? Status.ProcessingFailure,
      ...(rsp.errorComment !== undefined ? { errorComment: rsp.errorComment } : {}),
      ...(rsp.offendingElements !== undefined ? { offendingElements: rsp.offendingElements } : {}),
    };
  }

  private encode(identifier: Identifier, transferSyntaxUid: string): Uint8Array {
    return identifier instanceof Uint8Array ? identifier : encodeIdentifier(identifier, transferSyntaxUid);
  }

  private watchCancel(signal: AbortSignal | undefined, contextId: number, messageId: number): () => void {
    if (!signal) return () => {};
    const onAbort = (): void => {
      void this.channel
        .send(contextId, {
          commandField: CommandField.CCancelRq,
          messageIdBeingRespondedTo: messageId,
          hasDataset: false,
        })
        .catch(() => {});
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }

  /**
   * C-FIND in an information model (e.g. QueryRetrieve.StudyRootFind). Yields each match; ends after the final
   * response; throws DIMSE_STATUS_FAILURE (with its status) if the peer ends with a failure.
   */
  async *find(model: string, identifier: Identifier, options: QueryOptions = {}): AsyncGenerator<FindResult, number> {
    const ctx = this.requireContext(model);
    const { messageId, responses } = await this.channel.request(
      ctx.id,
      {
        commandField: CommandField.CFindRq,
        affectedSopClassUid: model,
        priority: options.priority ?? Priority.Medium,
        hasDataset: true,
      },
      this.encode(identifier, ctx.transferSyntax),
    );
    const unwatch = this.watchCancel(options.signal, ctx.id, messageId);
    try {
      for await (const m of responses) {
        const status = m.command.status ?? Status.ProcessingFailure;
        const cls = statusClass(status);
        if (cls === 'pending') {
          if (m.dataset) yield { status, identifier: m.dataset, transferSyntaxUid: ctx.transferSyntax };
          continue;
        }
        if (cls === 'failure') throw new DimseError('DIMSE_STATUS_FAILURE', { status });
        return status;
      }
    } finally {
      unwatch();
    }
    throw new DimseError('DIMSE_CONNECTION_CLOSED');
  }

  private async retrieve(
    commandField: number,
    model: string,
    identifier: Identifier,
    options: RetrieveOptions,
    destination?: string,
  ): Promise<RetrieveResult> {
    const ctx = this.requireContext(model);
    const { messageId, responses } = await this.channel.request(
      ctx.id,
      {
        commandField,
        affectedSopClassUid: model,
        priority: options.priority ?? Priority.Medium,
        hasDataset: true,
        ...(destination !== undefined ? { moveDestination: destination } : {}),
      },
      this.encode(identifier, ctx.transferSyntax),
    );
    const unwatch = this.watchCancel(options.signal, ctx.id, messageId);
    try {
      for await (const m of responses) {
        const c = m.command;
        const counts: SuboperationCounts = {
          ...(c.remainingSuboperations !== undefined ? { remaining: c.remainingSuboperations } : {}),
          completed: c.completedSuboperations ?? 0,
          failed: c.failedSuboperations ?? 0,
          warning: c.warningSuboperations ?? 0,
        };
        const status = c.status ?? Status.ProcessingFailure;
        if (statusClass(status) === 'pending') {
          options.onProgress?.(counts);
          continue;
        }
        return { status, ...counts };
      }
    } finally {
      unwatch();
    }
    throw new DimseError('DIMSE_CONNECTION_CLOSED');
  }

  /**
   * C-MOVE: asks the peer to send the matching instances to `destination` (an AE the peer knows; it may be a
   * DimseServer of this process). Resolves with the final status and counts.
   */
  move(
    model: string,
    destination: string,
    identifier: Identifier,
    options: RetrieveOptions = {},
  ): Promise<RetrieveResult> {
    return this.retrieve(CommandField.CMoveRq, model, identifier, options, destination);
  }

  /**
   * C-GET: the matching instances come back on this association as C-STOREs to the `storeHandler` given at connect;
   * propose their SOP classes and transfer syntaxes with `scpRole: true`.
   */
  get(model: string, identifier: Identifier, options: RetrieveOptions = {}): Promise<RetrieveResult> {
    return this.retrieve(CommandField.CGetRq, model, identifier, options);
  }

  /** A-RELEASE; resolves once the peer confirmed. */
  release(): Promise<void> {
    return this.association.release();
  }

  /** A-ABORT. */
  abort(): void {
    this.association.abort();
  }
}

function openSocket(o: DimseClientOptions): Socket {
  if (!o.tls) return connectTcp({ host: o.host, port: o.port });
  const t = o.tls;
  const opts: ConnectionOptions = {
    host: o.host,
    port: o.port,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: t.rejectUnauthorized !== false,
    ...(t.ca !== undefined ? { ca: t.ca as ConnectionOptions['ca'] } : {}),
    ...(t.cert !== undefined ? { cert: t.cert as ConnectionOptions['cert'] } : {}),
    ...(t.key !== undefined ? { key: t.key as ConnectionOptions['key'] } : {}),
    ...(t.servername !== undefined ? { servername: t.servername } : {}),
  };
  return connectTls(opts);
}
