/**
 * The SCP side of the DIMSE-C services on one association (PS3.7 9.1, PS3.4 A, B, C): turns incoming C-ECHO,
 * C-STORE, C-FIND, C-MOVE, C-GET and C-CANCEL requests into calls of the application's handlers and their results
 * into responses. A C-STORE's data set goes to the handler's sink fragment by fragment; its response is sent only
 * after the sink's end() resolves (the instance is durable). C-FIND/C-MOVE/C-GET run beside the reading of the
 * association so that a C-CANCEL can reach them.
 */
import { EXPLICIT_LE, encodeElement, transferSyntax } from '@veil/core';
import { CommandField, type CommandSet, Priority } from '../dimse/command-set.ts';
import type { DatasetSink } from '../dimse/message-assembler.ts';
import { isSuccessful, Status, statusClass } from '../dimse/status.ts';
import type { AcceptedContext } from '../upper-layer/association.ts';
import type { DimseChannel } from './dimse-channel.ts';
import type {
  AssociationInfo,
  DimseResult,
  DimseServiceName,
  EchoHandler,
  FindHandler,
  GetHandler,
  GetInstance,
  MoveHandler,
  QueryRequest,
  StoreHandler,
  StoreSink,
  SuboperationCounts,
} from './handlers.ts';
import { serviceOf } from './negotiation.ts';

export interface ScpHandlers {
  readonly echo?: EchoHandler;
  readonly store?: StoreHandler;
  readonly find?: FindHandler;
  readonly move?: MoveHandler;
  readonly get?: GetHandler;
}

/** What the provider reports per operation (for the server's events): codes and counts only. */
export type OperationReport = (service: DimseServiceName, status: number) => void;

const MAX_IDENTIFIER_LENGTH = 1024 * 1024;

/** Reads and discards a data set, then runs `then` (a response that must follow the whole request). */
function discardSink(then: () => Promise<void>): DatasetSink {
  return { write: () => {}, end: then };
}

/** Collects an identifier (small) and runs `then` with it. */
function collectSink(then: (identifier: Uint8Array) => void, tooLong: () => Promise<void>): DatasetSink {
  const parts: Uint8Array[] = [];
  let size = 0;
  return {
    write(f) {
      size += f.length;
      if (size <= MAX_IDENTIFIER_LENGTH) parts.push(f);
    },
    async end() {
      if (size > MAX_IDENTIFIER_LENGTH) {
        await tooLong();
        return;
      }
      const out = new Uint8Array(size);
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      then(out);
    },
  };
}

function statusOfError(e: unknown, fallback: number): number {
  const s = (e as { status?: unknown } | undefined)?.status;
  return typeof s === 'number' && s >= 0 && s <= 0xffff ? s : fallback;
}

function asResult(r: DimseResult | number): DimseResult {
  return typeof r === 'number' ? { status: r } : r;
}

function trimComment(s: string | undefined): string | undefined {
  return s === undefined ? undefined : s.slice(0, 64);
}

/** Final status of a C-MOVE/C-GET from its sub-operation counts (PS3.4 C.4.2.1.5, C.4.3.1.4). */
export function retrieveFinalStatus(c: SuboperationCounts, cancelled: boolean): number {
  if (cancelled) return Status.Cancel;
  if (c.failed > 0 && c.completed === 0 && c.warning === 0) return Status.RefusedOutOfResourcesSuboperations;
  if (c.failed > 0 || c.warning > 0) return Status.WarningSuboperationsFailed;
  return Status.Success;
}

export class ServiceClassProvider {
  /** Operations that a C-CANCEL-RQ may stop, by Message ID. */
  private readonly cancellable = new Map<number, AbortController>();

  constructor(
    private readonly channel: DimseChannel,
    private readonly info: AssociationInfo,
    private readonly handlers: ScpHandlers,
    private readonly report: OperationReport = () => {},
    /** 'requestor' when Veil requested the association (a C-GET SCU receiving its C-STOREs). */
    private readonly side: 'acceptor' | 'requestor' = 'acceptor',
  ) {}

  handle(contextId: number, cmd: CommandSet): Promise<DatasetSink | undefined> | DatasetSink | undefined {
    const context = this.channel.association.contexts.get(contextId)!;
    const messageId = cmd.messageId ?? 0;
    const service = serviceOf(context.abstractSyntax);
    switch (cmd.commandField) {
      case CommandField.CEchoRq:
        if (service !== 'echo') return this.refuse(contextId, cmd, Status.SopClassNotSupported);
        return this.echo(contextId, cmd, messageId);
      case CommandField.CStoreRq: {
        // The peer may send C-STOREs only in the SCU role negotiated for it (PS3.7 D.3.3.4).
        const peerIsScu = this.side === 'acceptor' ? context.requestorIsScu : context.requestorIsScp;
        if (service !== 'store' || !peerIsScu || cmd.affectedSopClassUid !== context.abstractSyntax) {
          return this.refuse(contextId, cmd, Status.SopClassNotSupported);
        }
        return this.store(contextId, context, cmd, messageId);
      }
      case CommandField.CFindRq:
      case CommandField.CMoveRq:
      case CommandField.CGetRq: {
        const wanted =
          cmd.commandField === CommandField.CFindRq
            ? 'find'
            : cmd.commandField === CommandField.CMoveRq
              ? 'move'
              : 'get';
        if (service !== wanted || !cmd.hasDataset) return this.refuse(contextId, cmd, Status.SopClassNotSupported);
        return collectSink(
          (identifier) => this.startQuery(wanted, contextId, context, cmd, messageId, identifier),
          () => this.respondFinal(contextId, cmd, Status.RefusedOutOfResources),
        );
      }
      case CommandField.CCancelRq: {
        const id = cmd.messageIdBeingRespondedTo;
        if (id !== undefined) this.cancellable.get(id)?.abort();
        return cmd.hasDataset ? discardSink(async () => {}) : undefined;
      }
      default:
        return this.refuse(contextId, cmd, Status.UnrecognizedOperation);
    }
  }

  /** Answers a request Veil does not perform; reads its data set first, if any. */
  private refuse(contextId: number, cmd: CommandSet, status: number): DatasetSink | Promise<undefined> {
    const respond = (): Promise<void> => this.respondFinal(contextId, cmd, status);
    if (cmd.hasDataset) return discardSink(respond);
    return respond().then(() => undefined);
  }

  private respondFinal(
    contextId: number,
    cmd: CommandSet,
    status: number,
    extra: Partial<CommandSet> = {},
  ): Promise<void> {
    return this.channel.send(contextId, {
      commandField: (cmd.commandField | 0x8000) & 0xffff,
      messageIdBeingRespondedTo: cmd.messageId ?? 0,
      ...(cmd.affectedSopClassUid !== undefined ? { affectedSopClassUid: cmd.affectedSopClassUid } : {}),
      ...(cmd.affectedSopInstanceUid !== undefined && cmd.commandField === CommandField.CStoreRq
        ? { affectedSopInstanceUid: cmd.affectedSopInstanceUid }
        : {}),
      status,
      hasDataset: false,
      ...extra,
    });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // C-ECHO

  private async echo(contextId: number, cmd: CommandSet, _messageId: number): Promise<DatasetSink | undefined> {
    let status: number = Status.Success;
    if (this.handlers.echo) {
      try {
        status = await this.handlers.echo.echo(this.info);
      } catch (e) {
        status = statusOfError(e, Status.ProcessingFailure);
      }
    }
    const respond = async (): Promise<void> => {
      await this.respondFinal(contextId, { ...cmd, affectedSopClassUid: cmd.affectedSopClassUid ?? '' }, status);
      this.report('echo', status);
    };
    if (cmd.hasDataset) return discardSink(respond);
    await respond();
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // C-STORE

  private async store(
    contextId: number,
    context: AcceptedContext,
    cmd: CommandSet,
    messageId: number,
  ): Promise<DatasetSink | undefined> {
    const respond = async (r: DimseResult): Promise<void> => {
      const comment = trimComment(r.errorComment);
      await this.respondFinal(contextId, cmd, r.status, {
        ...(comment !== undefined && !isSuccessful(r.status) ? { errorComment: comment } : {}),
        ...(r.offendingElements !== undefined ? { offendingElements: r.offendingElements } : {}),
      });
      this.report('store', r.status);
    };
    if (!cmd.hasDataset || cmd.affectedSopInstanceUid === undefined) {
      return this.refuse(contextId, cmd, Status.ErrorCannotUnderstand);
    }
    const handler = this.handlers.store;
    if (!handler) return discardSink(() => respond({ status: Status.SopClassNotSupported }));
    let opened: StoreSink | DimseResult;
    try {
      opened = await handler.beginStore({
        association: this.info,
        sopClassUid: cmd.affectedSopClassUid ?? context.abstractSyntax,
        sopInstanceUid: cmd.affectedSopInstanceUid,
        transferSyntaxUid: context.transferSyntax,
        messageId,
        priority: cmd.priority ?? Priority.Medium,
        ...(cmd.moveOriginatorAeTitle !== undefined
          ? { moveOriginator: { aeTitle: cmd.moveOriginatorAeTitle, messageId: cmd.moveOriginatorMessageId ?? 0 } }
          : {}),
      });
    } catch (e) {
      const status = statusOfError(e, Status.RefusedOutOfResources);
      return discardSink(() => respond({ status }));
    }
    if (!('write' in opened)) {
      const refusal = opened;
      return discardSink(() => respond(refusal));
    }
    const sink = opened;
    let failed: number | undefined;
    const fail = async (e: unknown): Promise<void> => {
      failed = statusOfError(e, Status.RefusedOutOfResources);
      try {
        await sink.abort();
      } catch {
        // Nothing more to do: the instance is not acknowledged.
      }
    };
    return {
      write: async (fragment) => {
        if (failed !== undefined) return;
        try {
          await sink.write(fragment);
        } catch (e) {
          await fail(e);
        }
      },
      end: async () => {
        if (failed === undefined) {
          try {
            const result = asResult(await sink.end());
            await respond(result);
            return;
          } catch (e) {
            await fail(e);
          }
        }
        await respond({ status: failed ?? Status.RefusedOutOfResources });
      },
      abort: async () => {
        if (failed === undefined) await sink.abort();
      },
    };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // C-FIND, C-MOVE, C-GET

  private startQuery(
    service: 'find' | 'move' | 'get',
    contextId: number,
    context: AcceptedContext,
    cmd: CommandSet,
    messageId: number,
    identifier: Uint8Array,
  ): void {
    const cancel = new AbortController();
    this.cancellable.set(messageId, cancel);
    const request: QueryRequest = {
      association: this.info,
      sopClassUid: context.abstractSyntax,
      transferSyntaxUid: context.transferSyntax,
      identifier,
      messageId,
      priority: cmd.priority ?? Priority.Medium,
      signal: AbortSignal.any([cancel.signal, this.channel.lifetime.signal]),
    };
    const run = async (): Promise<void> => {
      let status: number;
      try {
        if (service === 'find') status = await this.find(contextId, cmd, request);
        else if (service === 'move') status = await this.move(contextId, context, cmd, request);
        else status = await this.get(contextId, context, cmd, request);
      } finally {
        this.cancellable.delete(messageId);
      }
      this.report(service, status);
    };
    this.channel.track(run());
  }

  private async find(contextId: number, cmd: CommandSet, request: QueryRequest): Promise<number> {
    const handler = this.handlers.find;
    let status: number = Status.Success;
    if (!handler) status = Status.SopClassNotSupported;
    else {
      try {
        for await (const match of handler.find(request)) {
          if (request.signal.aborted) break;
          const identifier = match instanceof Uint8Array ? match : match.identifier;
          const pending = match instanceof Uint8Array ? Status.Pending : (match.status ?? Status.Pending);
          await this.channel.send(
            contextId,
            {
              commandField: CommandField.CFindRsp,
              messageIdBeingRespondedTo: request.messageId,
              affectedSopClassUid: request.sopClassUid,
              status: pending,
              hasDataset: true,
            },
            identifier,
          );
        }
        if (request.signal.aborted) status = Status.Cancel;
      } catch (e) {
        if (this.channel.lifetime.signal.aborted) return Status.Cancel;
        status = statusOfError(e, Status.UnableToProcess);
      }
    }
    if (this.channel.lifetime.signal.aborted) return status;
    await this.respondFinal(contextId, { ...cmd, affectedSopClassUid: request.sopClassUid }, status);
    return status;
  }

  private retrieveResponse(
    contextId: number,
    commandField: number,
    request: QueryRequest,
    status: number,
    c: SuboperationCounts,
  ): Promise<void> {
    const final = statusClass(status) !== 'pending';
    const failedList =
      final && c.failedSopInstanceUids && c.failedSopInstanceUids.length > 0 ? c.failedSopInstanceUids : undefined;
    const dataset = failedList ? this.failedInstanceList(failedList, request.transferSyntaxUid) : undefined;
    return this.channel.send(
      contextId,
      {
        commandField,
        messageIdBeingRespondedTo: request.messageId,
        affectedSopClassUid: request.sopClassUid,
        status,
        hasDataset: dataset !== undefined,
        ...(c.remaining !== undefined && (!final || status === Status.Cancel)
          ? { remainingSuboperations: c.remaining }
          : {}),
        completedSuboperations: c.completed,
        failedSuboperations: c.failed,
        warningSuboperations: c.warning,
      },
      dataset,
    );
  }

  /** (0008,0058) Failed SOP Instance UID List, in the context's syntax (omitted for a deflated one). */
  private failedInstanceList(uids: readonly string[], transferSyntaxUid: string): Uint8Array | undefined {
    const ts = transferSyntax(transferSyntaxUid);
    if (ts.deflated) return undefined;
    const text = uids.join('\\');
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    const syntax =
      ts.explicitVR && ts.littleEndian ? EXPLICIT_LE : { explicitVR: ts.explicitVR, littleEndian: ts.littleEndian };
    return encodeElement(0x00080058, 'UI', bytes, syntax);
  }

  private async move(
    contextId: number,
    _context: AcceptedContext,
    cmd: CommandSet,
    request: QueryRequest,
  ): Promise<number> {
    const handler = this.handlers.move;
    let counts: SuboperationCounts = { completed: 0, failed: 0, warning: 0 };
    let status: number;
    if (!handler) status = Status.SopClassNotSupported;
    else if (!cmd.moveDestination) status = Status.RefusedMoveDestinationUnknown;
    else {
      try {
        for await (const c of handler.move({ ...request, destination: cmd.moveDestination })) {
          counts = c;
          if (request.signal.aborted) break;
          await this.retrieveResponse(contextId, CommandField.CMoveRsp, request, Status.Pending, c);
        }
        status = retrieveFinalStatus(counts, request.signal.aborted);
      } catch (e) {
        if (this.channel.lifetime.signal.aborted) return Status.Cancel;
        status = statusOfError(e, Status.UnableToProcess);
      }
    }
    if (this.channel.lifetime.signal.aborted) return status;
    await this.retrieveResponse(contextId, CommandField.CMoveRsp, request, status, counts);
    return status;
  }

  /** A context on which Veil may send this instance as is: same SOP class and transfer syntax, requestor as SCP. */
  private storageContextFor(inst: GetInstance): AcceptedContext | undefined {
    for (const c of this.channel.association.contexts.values()) {
      if (c.abstractSyntax === inst.sopClassUid && c.transferSyntax === inst.transferSyntaxUid && c.requestorIsScp)
        return c;
    }
    return undefined;
  }

  private async get(
    contextId: number,
    _context: AcceptedContext,
    cmd: CommandSet,
    request: QueryRequest,
  ): Promise<number> {
    const handler = this.handlers.get;
    let status: number;
    let completed = 0;
    let failed = 0;
    let warning = 0;
    const failedUids: string[] = [];
    let total: number | undefined;
    const counts = (): SuboperationCounts => ({
      completed,
      failed,
      warning,
      ...(total !== undefined ? { remaining: Math.max(0, total - completed - failed - warning) } : {}),
      ...(failedUids.length > 0 ? { failedSopInstanceUids: failedUids } : {}),
    });
    if (!handler) status = Status.SopClassNotSupported;
    else {
      try {
        const result = handler.get(request);
        total = result.count;
        for await (const inst of result.instances) {
          if (request.signal.aborted) break;
          const ctx = this.storageContextFor(inst);
          let subStatus: number = Status.RefusedOutOfResources;
          if (ctx) {
            const { responses } = await this.channel.request(
              ctx.id,
              {
                commandField: CommandField.CStoreRq,
                affectedSopClassUid: inst.sopClassUid,
                affectedSopInstanceUid: inst.sopInstanceUid,
                priority: cmd.priority ?? Priority.Medium,
                hasDataset: true,
              },
              inst.dataset,
            );
            for await (const rsp of responses) subStatus = rsp.command.status ?? Status.ProcessingFailure;
          }
          const cls = statusClass(subStatus);
          if (cls === 'success') completed++;
          else if (cls === 'warning') warning++;
          else {
            failed++;
            failedUids.push(inst.sopInstanceUid);
          }
          await this.retrieveResponse(contextId, CommandField.CGetRsp, request, Status.Pending, counts());
        }
        status = retrieveFinalStatus(counts(), request.signal.aborted);
      } catch (e) {
        if (this.channel.lifetime.signal.aborted) return Status.Cancel;
        status = statusOfError(e, Status.UnableToProcess);
      }
    }
    if (this.channel.lifetime.signal.aborted) return status;
    await this.retrieveResponse(contextId, CommandField.CGetRsp, request, status, counts());
    return status;
  }
}
