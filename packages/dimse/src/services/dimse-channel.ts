/**
 * DIMSE messaging over one association, for both roles at once (a C-GET requestor is also the SCP of the C-STOREs
 * that come back): sends requests and routes their responses by Message ID Being Responded To, hands incoming
 * requests to the service layer, and keeps track of operations still in progress so that a release waits for them.
 */

import { type CommandSet, encodeCommand, isResponse } from '../dimse/command-set.ts';
import { type DatasetSink, MessageAssembler } from '../dimse/message-assembler.ts';
import { statusClass } from '../dimse/status.ts';
import { DimseError } from '../errors.ts';
import { type Association, type AssociationEnd, type AssociationUser, endError } from '../upper-layer/association.ts';
import type { PDataTfPdu } from '../upper-layer/pdu.ts';

export interface DimseMessage {
  readonly contextId: number;
  readonly command: CommandSet;
  /** The response's data set (identifier, failed SOP instance list), collected; absent when none. */
  readonly dataset?: Uint8Array;
}

/** Handles an incoming request command; returns the sink for its data set when it has one. */
export type RequestHandler = (
  contextId: number,
  command: CommandSet,
) => Promise<DatasetSink | undefined> | DatasetSink | undefined;

/** Responses of one request, in arrival order, ending after the final (non-pending) one. */
export class ResponseQueue implements AsyncIterable<DimseMessage> {
  private readonly items: DimseMessage[] = [];
  private waiter: (() => void) | undefined;
  private done = false;
  private error: unknown;

  push(m: DimseMessage): void {
    this.items.push(m);
    this.wake();
  }

  end(): void {
    this.done = true;
    this.wake();
  }

  fail(e: unknown): void {
    if (this.done) return;
    this.error = e;
    this.done = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<DimseMessage> {
    for (;;) {
      const m = this.items.shift();
      if (m) {
        yield m;
        continue;
      }
      if (this.done) {
        if (this.error !== undefined) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }
}

/** Collects a response's data set up to a limit (responses carry identifiers, not images). */
class CollectSink implements DatasetSink {
  private parts: Uint8Array[] = [];
  private size = 0;
  constructor(
    private readonly limit: number,
    private readonly done: (bytes: Uint8Array) => void,
  ) {}
  write(fragment: Uint8Array): void {
    this.size += fragment.length;
    if (this.size > this.limit) throw new DimseError('DIMSE_PROTOCOL_ERROR');
    this.parts.push(fragment);
  }
  end(): void {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    this.parts = [];
    this.done(out);
  }
}

export const DEFAULT_MAX_RESPONSE_DATASET = 16 * 1024 * 1024;

export class DimseChannel implements AssociationUser {
  association!: Association;
  onRequest: RequestHandler = () => {
    throw new DimseError('DIMSE_PROTOCOL_ERROR');
  };
  /** Called once when the association ends. */
  onEndHook: ((end: AssociationEnd) => void) | undefined;
  /** Aborted when the association ends: in-progress operations stop. */
  readonly lifetime = new AbortController();

  private readonly assembler: MessageAssembler;
  private readonly pending = new Map<number, ResponseQueue>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private lastMessageId = 0;

  constructor(private readonly maxResponseDataset = DEFAULT_MAX_RESPONSE_DATASET) {
    this.assembler = new MessageAssembler({ onCommand: (id, cmd) => this.onCommand(id, cmd) }, (id) =>
      this.association.contexts.has(id),
    );
  }

  // ---------------------------------------------------------------------------------------------------------------
  // AssociationUser

  async onPData(pdu: PDataTfPdu): Promise<void> {
    for (const pdv of pdu.pdvs) await this.assembler.push(pdv);
  }

  async onReleaseRequested(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  onEnd(end: AssociationEnd): void {
    const err = endError(end);
    for (const q of this.pending.values()) q.fail(err);
    this.pending.clear();
    this.lifetime.abort();
    void this.assembler.abort().catch(() => {});
    this.onEndHook?.(end);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Messages

  private onCommand(
    contextId: number,
    command: CommandSet,
  ): Promise<DatasetSink | undefined> | DatasetSink | undefined {
    if (!isResponse(command.commandField)) return this.onRequest(contextId, command);
    const id = command.messageIdBeingRespondedTo;
    const queue = id === undefined ? undefined : this.pending.get(id);
    // A response to nothing Veil asked: PS3.7 leaves it to the implementation; it is a peer error.
    if (!queue || id === undefined) throw new DimseError('DIMSE_PROTOCOL_ERROR');
    const final = command.status === undefined || statusClass(command.status) !== 'pending';
    const deliver = (dataset?: Uint8Array): void => {
      queue.push(dataset ? { contextId, command, dataset } : { contextId, command });
      if (final) {
        queue.end();
        this.pending.delete(id);
      }
    };
    if (!command.hasDataset) {
      deliver();
      return undefined;
    }
    return new CollectSink(this.maxResponseDataset, deliver);
  }

  /** A Message ID not in use by a pending request (1..65535). */
  nextMessageId(): number {
    for (let i = 0; i < 0xffff; i++) {
      this.lastMessageId = (this.lastMessageId % 0xffff) + 1;
      if (!this.pending.has(this.lastMessageId)) return this.lastMessageId;
    }
    throw new DimseError('DIMSE_INVALID_STATE');
  }

  /**
   * Sends a request and returns the queue its responses arrive in. The queue is registered before the first byte
   * is sent, so a fast response cannot be missed.
   */
  async request(
    contextId: number,
    command: Omit<CommandSet, 'messageId'>,
    dataset?: Uint8Array | AsyncIterable<Uint8Array>,
  ): Promise<{ messageId: number; responses: ResponseQueue }> {
    const messageId = this.nextMessageId();
    const responses = new ResponseQueue();
    this.pending.set(messageId, responses);
    try {
      await this.send(contextId, { ...command, messageId }, dataset);
    } catch (e) {
      this.pending.delete(messageId);
      throw e;
    }
    return { messageId, responses };
  }

  send(contextId: number, command: CommandSet, dataset?: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    return this.association.sendMessage(contextId, encodeCommand(command), dataset);
  }

  /** Keeps an operation in progress (a C-FIND being answered) so that release waits for it; never rejects. */
  track(work: Promise<unknown>): void {
    const p = this.association.withActivity(work).catch(() => {});
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
