/**
 * One DICOM association over one transport connection (PS3.8 7, 9): drives the state machine of state-machine.ts,
 * reads PDUs with bounded buffering, sends P-DATA-TF PDUs fragmented to the peer's maximum length, and runs the
 * ARTIM, idle, ACSE and send timers.
 *
 * Backpressure both ways: reading pauses while the user is busy with a P-DATA indication (a C-STORE sink writing to
 * disk), and every write waits for the socket to drain, so a peer that stops reading (or stops sending) costs at most
 * one PDU and a socket buffer, then a timer aborts it.
 *
 * Example (requestor):
 *   const socket = net.connect(port, '127.0.0.1');
 *   const assoc = await Association.request(socket, rq, { user, timeouts });
 *   await assoc.sendMessage(1, commandBytes);
 *   await assoc.release();
 */
import type { Socket } from 'node:net';
import { DimseError } from '../errors.ts';
import { encodeAssociateAc, encodeAssociateRj, encodeAssociateRq } from './associate-pdu.ts';
import { pDataHeader } from './p-data-tf-pdu.ts';
import {
  AbortReason,
  AbortSource,
  type AssociateAcPdu,
  type AssociateRjPdu,
  type AssociateRqPdu,
  ContextResult,
  type PDataTfPdu,
  PDV_HEADER_LENGTH,
  type Pdu,
} from './pdu.ts';
import { decodePdu } from './pdu-codec.ts';
import { PduReader } from './pdu-reader.ts';
import { encodeAbort, encodeReleaseRp, encodeReleaseRq } from './release-abort-pdu.ts';
import { type Action, type Event, eventForPdu, NEXT_STATE, type State, transition } from './state-machine.ts';

export interface AssociationTimeouts {
  /** ARTIM (PS3.8 9.1.5): for the A-ASSOCIATE-RQ after a connection opens, and for the close after RJ/RP/A-ABORT. */
  readonly artimMs: number;
  /** Nothing received for this long while established (and nothing in progress locally): abort. */
  readonly idleMs: number;
  /** A write the peer does not read for this long: abort. */
  readonly sendMs: number;
  /** Requestor: the wait for the A-ASSOCIATE-AC/RJ and for the A-RELEASE-RP. */
  readonly acseMs: number;
  /**
   * Once a PDU's first byte has arrived, its last must arrive within this (0: no limit). Unlike the idle timer, a
   * peer trickling one byte at a time cannot reset it. Time spent paused by Veil's own backpressure does not count.
   */
  readonly pduMs: number;
  /** Longest life of the association from its transport connection, whatever happens on it (0: no limit). */
  readonly maxAssociationMs: number;
}

export const DEFAULT_TIMEOUTS: AssociationTimeouts = {
  artimMs: 30_000,
  idleMs: 120_000,
  sendMs: 60_000,
  acseMs: 30_000,
  pduMs: 120_000,
  maxAssociationMs: 0,
};

/** Veil's default maximum P-DATA-TF length: large enough for throughput, small enough to bound memory. */
export const DEFAULT_MAX_PDU_LENGTH = 256 * 1024;
/** Used to fragment when the peer announces 0 (no limit). */
const UNLIMITED_FRAGMENT = 1024 * 1024;

/** How an association ended. */
export type AssociationEnd =
  | { readonly kind: 'released' }
  | { readonly kind: 'rejected'; readonly result: number; readonly source: number; readonly reason: number }
  | {
      readonly kind: 'aborted';
      readonly by: 'local' | 'peer';
      readonly source: number;
      readonly reason: number;
      /** Why Veil aborted: a protocol error code, 'TIMEOUT_IDLE', 'TIMEOUT_SEND', 'TIMEOUT_ACSE', 'TIMEOUT_ARTIM'... */
      readonly code?: string;
    }
  /** Transport closed without release or abort (an A-P-ABORT); `connectFailed` when it never opened. */
  | { readonly kind: 'closed'; readonly connectFailed?: boolean };

/** The user of an association: the DIMSE layer. */
export interface AssociationUser {
  /** P-DATA indication. Reading pauses until the promise settles; a rejection aborts the association. */
  onPData(pdu: PDataTfPdu): Promise<void>;
  /** A-RELEASE indication: resolve when every pending response has been sent; the A-RELEASE-RP follows. */
  onReleaseRequested(): Promise<void>;
  /** Called once when the association ends, however it ends. */
  onEnd(end: AssociationEnd): void;
}

export interface AcceptedContext {
  readonly id: number;
  readonly abstractSyntax: string;
  readonly transferSyntax: string;
  /** Role selection outcome (PS3.7 D.3.3.4): whether the requestor acts as SCU / SCP for this SOP class. */
  readonly requestorIsScu: boolean;
  readonly requestorIsScp: boolean;
}

/** The acceptor's answer to an A-ASSOCIATE-RQ. */
export type AssociateDecision = { readonly accept: AssociateAcPdu } | { readonly reject: Omit<AssociateRjPdu, 'type'> };

export interface AssociationOptions {
  readonly timeouts?: Partial<AssociationTimeouts>;
  /** The maximum P-DATA-TF length Veil announces (and enforces on receipt). */
  readonly maxPduLength?: number;
  readonly maxAssociatePduLength?: number;
}

export interface AcceptorOptions extends AssociationOptions {
  /** Decides on an A-ASSOCIATE-RQ (AE-6/Evt7/Evt8). May be async; a rejection of the promise aborts. */
  negotiate(rq: AssociateRqPdu, association: Association): Promise<AssociateDecision> | AssociateDecision;
}

const NOOP_USER: AssociationUser = {
  onPData: () => Promise.reject(new DimseError('DIMSE_PROTOCOL_ERROR')),
  onReleaseRequested: () => Promise.resolve(),
  onEnd: () => {},
};

type Inbound = { kind: 'pdu'; pdu: Pdu; size: number } | { kind: 'invalid'; code: string; reason: number };

/**
 * Receive-side backpressure: decoded PDUs waiting for the user may hold this many bytes before reading pauses
 * (one socket read more, and one partial PDU, may come on top). Pausing per PDU instead costs throughput.
 */
const INBOX_HIGH_WATER = 1024 * 1024;
const INBOX_LOW_WATER = 256 * 1024;

export class Association {
  state: State = 'Sta1';
  user: AssociationUser = NOOP_USER;
  readonly timeouts: AssociationTimeouts;
  readonly maxPduLength: number;
  /** The peer's maximum P-DATA-TF length (0 = unlimited), known once established. */
  peerMaxPduLength = 0;
  rq: AssociateRqPdu | undefined;
  ac: AssociateAcPdu | undefined;
  /** Accepted presentation contexts by id. */
  readonly contexts = new Map<number, AcceptedContext>();
  end: AssociationEnd | undefined;

  private readonly reader: PduReader;
  private readonly inbox: Inbound[] = [];
  private pumping = false;
  private paused = false;
  private inboxBytes = 0;
  private writeChain: Promise<void> = Promise.resolve();
  private artimTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private acseTimer: NodeJS.Timeout | undefined;
  private pduTimer: NodeJS.Timeout | undefined;
  private lifeTimer: NodeJS.Timeout | undefined;
  /** Local work in progress (user callbacks, writes): the idle timer does not count it against the peer. */
  private activity = 0;
  private readonly ended: Promise<AssociationEnd>;
  private resolveEnded!: (e: AssociationEnd) => void;
  private establishedWaiter: { resolve: () => void; reject: (e: DimseError) => void } | undefined;
  private releaseWaiter: { resolve: () => void; reject: (e: DimseError) => void } | undefined;
  private pendingEnd: AssociationEnd | undefined;
  private rqBytes: Uint8Array | undefined;

  private constructor(
    readonly socket: Socket,
    readonly role: 'requestor' | 'acceptor',
    private readonly options: AssociationOptions & Partial<Pick<AcceptorOptions, 'negotiate'>>,
  ) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.maxPduLength = options.maxPduLength ?? DEFAULT_MAX_PDU_LENGTH;
    this.reader = new PduReader({
      maxPDataLength: this.maxPduLength,
      ...(options.maxAssociatePduLength !== undefined ? { maxAssociatePduLength: options.maxAssociatePduLength } : {}),
    });
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {
      // 'close' follows and raises Evt17; the error text is not interesting to anyone.
    });
    socket.on('close', () => this.onTransportClosed());
    if (this.timeouts.maxAssociationMs > 0) {
      this.lifeTimer = setTimeout(() => this.onLifeExpired(), this.timeouts.maxAssociationMs);
    }
  }

  /** Accepts an incoming transport connection (Evt5, AE-5): starts ARTIM and waits for the A-ASSOCIATE-RQ. */
  static accept(socket: Socket, options: AcceptorOptions): Association {
    const a = new Association(socket, 'acceptor', options);
    a.apply('Evt5');
    return a;
  }

  /**
   * Requests an association over a socket that is connecting or connected (Evt1 .. Evt3). Resolves once the
   * A-ASSOCIATE-AC arrives; rejects with DIMSE_ASSOCIATION_REJECTED, DIMSE_ABORTED, DIMSE_TIMEOUT or
   * DIMSE_CONNECTION_CLOSED.
   */
  static async request(
    socket: Socket,
    rq: AssociateRqPdu,
    user: AssociationUser,
    options: AssociationOptions = {},
  ): Promise<Association> {
    let rqBytes: Uint8Array;
    try {
      rqBytes = encodeAssociateRq(rq);
    } catch {
      socket.destroy();
      throw new DimseError('DIMSE_BAD_ARGUMENT');
    }
    const a = new Association(socket, 'requestor', options);
    a.user = user;
    a.rq = rq;
    a.rqBytes = rqBytes;
    const established = new Promise<void>((resolve, reject) => {
      a.establishedWaiter = { resolve, reject };
    });
    a.apply('Evt1');
    // A TLS socket is usable after its handshake ('secureConnect'); a plain one after 'connect'.
    const tls = 'encrypted' in socket;
    if (!tls && !socket.connecting && socket.readyState === 'open') a.apply('Evt2');
    else socket.once(tls ? 'secureConnect' : 'connect', () => a.apply('Evt2'));
    await established;
    return a;
  }

  get callingAeTitle(): string {
    return this.rq?.callingAeTitle ?? '';
  }

  get calledAeTitle(): string {
    return this.rq?.calledAeTitle ?? '';
  }

  /** Resolves when the association has ended (never rejects). */
  whenEnded(): Promise<AssociationEnd> {
    return this.ended;
  }

  /** The association no longer exists (idle, or waiting for the transport to close). */
  private get gone(): boolean {
    return this.state === 'Sta1' || this.state === 'Sta13';
  }

  get isEstablished(): boolean {
    return this.state === 'Sta6' || this.state === 'Sta8';
  }

  /** Marks local work (a handler running) so that the idle timer does not abort meanwhile. */
  async withActivity<T>(work: Promise<T>): Promise<T> {
    this.activity++;
    try {
      return await work;
    } finally {
      this.activity--;
      this.touch();
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Local primitives

  /**
   * P-DATA request for one DIMSE message (Evt9): the command set, then the data set if any, each fragmented into
   * P-DATA-TF PDUs of one PDV at most the peer's maximum length. The data set may be an async iterable of chunks of
   * any size (a file read stream): it is never held whole. Messages are sent one after the other, never interleaved.
   */
  sendMessage(contextId: number, command: Uint8Array, dataset?: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    const run = async (): Promise<void> => {
      this.checkCanSend();
      await this.sendFragments(contextId, true, [command]);
      if (dataset !== undefined) {
        await this.sendFragments(contextId, false, dataset instanceof Uint8Array ? [dataset] : dataset);
      }
    };
    return this.serialize(run);
  }

  /** A-RELEASE request (Evt11, requestor). Resolves on the A-RELEASE-RP. */
  release(): Promise<void> {
    if (this.end) return Promise.reject(this.endError());
    if (this.state !== 'Sta6') return Promise.reject(new DimseError('DIMSE_INVALID_STATE'));
    const done = new Promise<void>((resolve, reject) => {
      this.releaseWaiter = { resolve, reject };
    });
    this.apply('Evt11');
    return done;
  }

  /**
   * A-ABORT request (Evt15): sends an A-ABORT (service-user) and closes. An association already waiting for the
   * transport to close (Sta13) is closed at once. Never throws.
   */
  abort(code = 'LOCAL_ABORT'): void {
    if (this.state === 'Sta13') {
      this.socket.destroy();
      return;
    }
    if (this.state === 'Sta1') return;
    this.localAbort(AbortSource.ServiceUser, AbortReason.NotSpecified, code);
  }

  // -------------------------------------------------------------------------------------------------------------
  // State machine

  private apply(event: Event, pdu?: Pdu, invalid?: { code: string; reason: number }): void {
    const action = transition(this.state, event);
    if (action === undefined) throw new DimseError('DIMSE_INVALID_STATE');
    this.perform(action, event, pdu, invalid);
  }

  private to(action: Action, which = 0): void {
    const next = NEXT_STATE[action];
    this.state = typeof next === 'string' ? next : next[which]!;
  }

  private perform(
    action: Action,
    event: Event,
    pdu: Pdu | undefined,
    invalid: { code: string; reason: number } | undefined,
  ): void {
    switch (action) {
      case 'AE-1':
        this.to(action);
        return;
      case 'AE-2':
        this.to(action);
        this.startAcseTimer();
        this.write([this.rqBytes!]);
        return;
      case 'AE-3':
        this.stopAcseTimer();
        this.established(pdu as AssociateAcPdu);
        this.to(action);
        this.touch();
        this.establishedWaiter?.resolve();
        this.establishedWaiter = undefined;
        return;
      case 'AE-4': {
        this.stopAcseTimer();
        const rj = pdu as AssociateRjPdu;
        this.to(action);
        this.finish({ kind: 'rejected', result: rj.result, source: rj.source, reason: rj.reason });
        this.socket.destroy();
        return;
      }
      case 'AE-5':
        this.to(action);
        this.startArtim();
        return;
      case 'AE-6':
        this.stopArtim();
        this.rq = pdu as AssociateRqPdu;
        this.to(action, 0);
        void this.negotiate();
        return;
      case 'AE-7':
        this.to(action);
        this.touch();
        return;
      case 'AE-8':
        this.to(action);
        this.startArtim();
        this.endAfterWrites();
        return;
      case 'DT-1':
      case 'AR-7':
        this.to(action);
        return;
      case 'DT-2':
      case 'AR-6':
        this.to(action);
        return;
      case 'AR-1':
        this.to(action);
        this.startAcseTimer();
        this.write([encodeReleaseRq()]);
        return;
      case 'AR-2':
        this.to(action);
        void this.answerRelease();
        return;
      case 'AR-3':
        this.stopAcseTimer();
        this.to(action);
        this.finish({ kind: 'released' });
        this.releaseWaiter?.resolve();
        this.releaseWaiter = undefined;
        this.endAfterWrites();
        return;
      case 'AR-4':
        this.write([encodeReleaseRp()]);
        this.to(action);
        this.startArtim();
        this.pendingEnd = { kind: 'released' };
        this.endAfterWrites();
        return;
      case 'AR-5':
        this.stopArtim();
        this.to(action);
        this.finish(this.pendingEnd ?? { kind: 'closed' });
        return;
      case 'AR-8':
        // Release collision: the requestor answers at once (Sta9 -> AR-9); the acceptor waits for the RP.
        if (this.role === 'requestor') {
          this.to(action, 0);
          this.apply('Evt14');
        } else {
          this.to(action, 1);
        }
        return;
      case 'AR-9':
        this.write([encodeReleaseRp()]);
        this.to(action);
        return;
      case 'AR-10':
        this.to(action);
        this.apply('Evt14');
        return;
      case 'AA-1': {
        // PS3.8 Table 9-9: AA-1 sends the A-ABORT with the service-user source, whose reason is not significant
        // (sent as 0), also when it answers an unexpected or invalid PDU before the association exists (Sta2).
        const source = AbortSource.ServiceUser;
        const reason = AbortReason.NotSpecified;
        this.write([encodeAbort(source, reason)]);
        this.to(action);
        this.pendingEnd ??= {
          kind: 'aborted',
          by: 'local',
          source,
          reason,
          code: invalid?.code ?? (event === 'Evt15' ? 'LOCAL_ABORT' : 'UNEXPECTED_PDU'),
        };
        this.failWaiters(this.pendingEnd);
        this.startArtim();
        this.endAfterWrites();
        return;
      }
      case 'AA-2':
        this.stopArtim();
        this.to(action);
        this.finish(
          this.pendingEnd ?? {
            kind: 'aborted',
            by: 'local',
            source: 0,
            reason: 0,
            code: event === 'Evt18' ? 'TIMEOUT_ARTIM' : 'LOCAL_ABORT',
          },
        );
        this.socket.destroy();
        return;
      case 'AA-3': {
        const ab = pdu as { source: number; reason: number };
        this.to(action);
        this.finish({ kind: 'aborted', by: 'peer', source: ab.source, reason: ab.reason });
        this.socket.destroy();
        return;
      }
      case 'AA-4': {
        const connectFailed = this.state === 'Sta4';
        this.to(action);
        this.finish(this.pendingEnd ?? (connectFailed ? { kind: 'closed', connectFailed } : { kind: 'closed' }));
        return;
      }
      case 'AA-5':
        this.stopArtim();
        this.to(action);
        this.finish({ kind: 'closed' });
        return;
      case 'AA-6':
        this.to(action);
        return;
      case 'AA-7':
        this.write([encodeAbort(AbortSource.ServiceProvider, invalid?.reason ?? AbortReason.UnexpectedPdu)]);
        this.to(action);
        return;
      case 'AA-8': {
        const reason = invalid?.reason ?? AbortReason.UnexpectedPdu;
        this.write([encodeAbort(AbortSource.ServiceProvider, reason)]);
        this.to(action);
        this.pendingEnd ??= {
          kind: 'aborted',
          by: 'local',
          source: AbortSource.ServiceProvider,
          reason,
          code: invalid?.code ?? 'UNEXPECTED_PDU',
        };
        this.failWaiters(this.pendingEnd);
        this.startArtim();
        this.endAfterWrites();
        return;
      }
    }
  }

  /** Records the accepted contexts of an A-ASSOCIATE-AC (requestor) or of the AC Veil sends (acceptor). */
  private established(ac: AssociateAcPdu): void {
    this.ac = ac;
    const rq = this.rq!;
    const peer = this.role === 'requestor' ? ac : rq;
    this.peerMaxPduLength = peer.userInformation.maxLength ?? 0;
    const proposed = new Map(rq.presentationContexts.map((pc) => [pc.id, pc]));
    const roles = new Map((ac.userInformation.roleSelections ?? []).map((r) => [r.sopClassUid, r]));
    const proposedRoles = new Map((rq.userInformation.roleSelections ?? []).map((r) => [r.sopClassUid, r]));
    for (const pc of ac.presentationContexts) {
      const p = proposed.get(pc.id);
      if (!p || pc.result !== ContextResult.Acceptance || pc.transferSyntax === undefined) continue;
      // A transfer syntax that was not proposed is not a usable agreement.
      if (!p.transferSyntaxes.includes(pc.transferSyntax)) continue;
      const role = roles.get(p.abstractSyntax);
      const asked = proposedRoles.get(p.abstractSyntax);
      // PS3.7 D.3.3.4: without a role selection item, the requestor is SCU only.
      const requestorIsScu = role && asked ? role.scuRole === 1 && asked.scuRole === 1 : true;
      const requestorIsScp = role && asked ? role.scpRole === 1 && asked.scpRole === 1 : false;
      this.contexts.set(pc.id, {
        id: pc.id,
        abstractSyntax: p.abstractSyntax,
        transferSyntax: pc.transferSyntax,
        requestorIsScu,
        requestorIsScp,
      });
    }
  }

  private async negotiate(): Promise<void> {
    let decision: AssociateDecision;
    try {
      decision = await this.options.negotiate!(this.rq!, this);
    } catch {
      if (this.state === 'Sta3')
        this.localAbort(AbortSource.ServiceProvider, AbortReason.NotSpecified, 'NEGOTIATION_FAILED');
      return;
    }
    if (this.state !== 'Sta3') return; // aborted or closed meanwhile
    if ('accept' in decision) {
      let ac: Uint8Array;
      try {
        ac = encodeAssociateAc(decision.accept);
      } catch {
        this.localAbort(AbortSource.ServiceProvider, AbortReason.NotSpecified, 'NEGOTIATION_FAILED');
        return;
      }
      this.established(decision.accept);
      this.write([ac]);
      this.apply('Evt7');
    } else {
      this.pendingEnd = { kind: 'rejected', ...decision.reject };
      this.write([encodeAssociateRj(decision.reject)]);
      this.apply('Evt8');
    }
  }

  private async answerRelease(): Promise<void> {
    try {
      await this.withActivity(this.user.onReleaseRequested());
    } catch {
      // The user could not finish its work: still release, as the requestor asked.
    }
    // Wait for every queued write (responses) before the A-RELEASE-RP.
    await this.writeChain;
    if (this.state === 'Sta8' || this.state === 'Sta12') this.apply('Evt14');
  }

  private localAbort(source: number, reason: number, code: string): void {
    this.pendingEnd ??= { kind: 'aborted', by: 'local', source, reason, code };
    if (this.state === 'Sta4') {
      this.apply('Evt15');
      return;
    }
    if (this.state === 'Sta2') {
      // No association yet: PS3.8 has no abort primitive here; close the transport (as on ARTIM expiry).
      this.apply('Evt18');
      return;
    }
    if (this.state === 'Sta1' || this.state === 'Sta13') return;
    this.write([encodeAbort(source, reason)]);
    this.state = 'Sta13';
    this.failWaiters(this.pendingEnd);
    this.startArtim();
    this.endAfterWrites();
  }

  /**
   * Half-closes once every queued PDU is written, and destroys the socket if the peer has not closed its side
   * within ARTIM (a peer that never closes must not hold a connection).
   */
  private endAfterWrites(): void {
    const s = this.socket;
    void this.writeChain.then(() => {
      if (!s.destroyed) s.end();
      setTimeout(() => s.destroy(), this.timeouts.artimMs).unref();
    });
  }

  private finish(end: AssociationEnd): void {
    if (this.end) return;
    this.end = end;
    this.stopArtim();
    this.stopAcseTimer();
    this.stopPduTimer();
    if (this.lifeTimer) clearTimeout(this.lifeTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.failWaiters(end);
    try {
      this.user.onEnd(end);
    } catch {
      // The user's bookkeeping must not break the transport's.
    }
    this.resolveEnded(end);
  }

  private failWaiters(end: AssociationEnd): void {
    const err = endError(end);
    this.establishedWaiter?.reject(err);
    this.establishedWaiter = undefined;
    if (end.kind !== 'released') {
      this.releaseWaiter?.reject(err);
      this.releaseWaiter = undefined;
    }
  }

  private endError(): DimseError {
    return endError(this.end ?? this.pendingEnd ?? { kind: 'closed' });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Reading

  private onData(chunk: Buffer): void {
    this.touch();
    this.reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    let completed = 0;
    for (;;) {
      const r = this.reader.next();
      if (r === undefined) break;
      completed++;
      if ('error' in r) {
        this.inbox.push({ kind: 'invalid', code: r.error.code, reason: r.error.abortReason });
        this.socket.pause(); // nothing after a framing error is worth reading
        this.paused = true;
        break;
      }
      const d = decodePdu(r.bytes);
      if (d.ok) {
        this.inbox.push({ kind: 'pdu', pdu: d.value, size: r.bytes.length });
        this.inboxBytes += r.bytes.length;
      } else {
        this.inbox.push({ kind: 'invalid', code: d.error.code, reason: d.error.abortReason });
      }
    }
    // A PDU begun and not finished: its remaining bytes are due within pduMs, however slowly they trickle. The clock
    // restarts only when a PDU completes (a steady stream rarely leaves the buffer empty at a chunk's end).
    if (this.reader.buffered === 0 || completed > 0) this.stopPduTimer();
    if (this.reader.buffered > 0 && this.pduTimer === undefined && this.timeouts.pduMs > 0 && !this.end) {
      this.pduTimer = setTimeout(() => this.onPduExpired(), this.timeouts.pduMs);
    }
    // The user is slower than the peer: stop reading until the backlog drains (the peer's TCP window closes).
    if (this.inboxBytes > INBOX_HIGH_WATER && !this.paused) {
      this.socket.pause();
      this.paused = true;
    }
    if (this.inbox.length > 0) void this.pump();
  }

  private clearInbox(): void {
    this.inbox.length = 0;
    this.inboxBytes = 0;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.inbox.length > 0) {
        const next = this.inbox.shift()!;
        if (next.kind === 'pdu') {
          this.inboxBytes -= next.size;
          if (this.paused && this.inboxBytes < INBOX_LOW_WATER && !this.reader.hasFailed && this.state !== 'Sta1') {
            this.paused = false;
            this.socket.resume();
          }
        }
        if (this.state === 'Sta1') {
          this.clearInbox();
          break;
        }
        if (next.kind === 'invalid') {
          this.apply('Evt19', undefined, { code: next.code, reason: next.reason });
          this.clearInbox();
          break;
        }
        const pdu = next.pdu;
        const event = eventForPdu(pduTypeCode(pdu));
        const action = transition(this.state, event);
        if (action === 'DT-2' || action === 'AR-6') {
          this.perform(action, event, pdu, undefined);
          try {
            await this.withActivity(this.user.onPData(pdu as PDataTfPdu));
          } catch (e) {
            const code = e instanceof DimseError ? e.code : 'USER_ERROR';
            if (!this.gone) {
              this.localAbort(AbortSource.ServiceProvider, AbortReason.NotSpecified, code);
            }
            this.clearInbox();
            break;
          }
        } else if (action === undefined) {
          this.apply('Evt19', undefined, { code: 'UNEXPECTED_PDU', reason: AbortReason.UnexpectedPdu });
        } else {
          this.perform(
            action,
            event,
            pdu,
            event === 'Evt6' ||
              event === 'Evt3' ||
              event === 'Evt4' ||
              event === 'Evt10' ||
              event === 'Evt12' ||
              event === 'Evt13'
              ? { code: 'UNEXPECTED_PDU', reason: AbortReason.UnexpectedPdu }
              : undefined,
          );
        }
      }
    } catch {
      // A state-machine invariant broke (a bug, not the peer's input): drop the connection rather than hang.
      this.clearInbox();
      this.socket.destroy();
    } finally {
      this.pumping = false;
      if (this.paused && this.state !== 'Sta1' && this.inbox.length === 0 && !this.reader.hasFailed) {
        this.paused = false;
        this.socket.resume();
      }
    }
  }

  private onTransportClosed(): void {
    if (this.state === 'Sta1') {
      this.finish(this.pendingEnd ?? { kind: 'closed' });
      return;
    }
    this.apply('Evt17');
  }

  // -------------------------------------------------------------------------------------------------------------
  // Writing

  private checkCanSend(): void {
    if (this.end) throw this.endError();
    const action = transition(this.state, 'Evt9');
    if (action === undefined) throw this.state === 'Sta13' ? this.endError() : new DimseError('DIMSE_INVALID_STATE');
    this.perform(action, 'Evt9', undefined, undefined);
  }

  private serialize(run: () => Promise<void>): Promise<void> {
    const p = this.writeChain.then(run);
    this.writeChain = p.catch(() => {});
    return p;
  }

  /** Queues raw PDU bytes (control PDUs); never rejects. */
  private write(parts: readonly Uint8Array[]): void {
    void this.serialize(() => this.writeNow(parts)).catch(() => {});
  }

  private async writeNow(parts: readonly Uint8Array[]): Promise<void> {
    const s = this.socket;
    if (s.destroyed || !s.writable) throw this.endError();
    s.cork();
    for (const p of parts) s.write(p);
    s.uncork();
    if (s.writableNeedDrain) await this.drain();
  }

  private drain(): Promise<void> {
    const s = this.socket;
    return new Promise<void>((resolve, reject) => {
      this.activity++;
      const done = (err?: DimseError): void => {
        clearTimeout(timer);
        s.off('drain', onDrain);
        s.off('close', onClose);
        this.activity--;
        this.touch();
        if (err) reject(err);
        else resolve();
      };
      const onDrain = (): void => done();
      const onClose = (): void => done(this.endError());
      const timer = setTimeout(() => {
        // The peer stopped reading: nothing more can be sent, not even an A-ABORT. Close (A-P-ABORT).
        this.pendingEnd ??= {
          kind: 'aborted',
          by: 'local',
          source: AbortSource.ServiceProvider,
          reason: 0,
          code: 'TIMEOUT_SEND',
        };
        done(new DimseError('DIMSE_TIMEOUT'));
        s.destroy();
      }, this.timeouts.sendMs);
      s.on('drain', onDrain);
      s.on('close', onClose);
    });
  }

  /** Writes one command set or data set as PDVs of at most the peer's maximum length. */
  private async sendFragments(
    contextId: number,
    isCommand: boolean,
    chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  ): Promise<void> {
    const max = (this.peerMaxPduLength === 0 ? UNLIMITED_FRAGMENT : this.peerMaxPduLength) - PDV_HEADER_LENGTH;
    const maxData = Math.max(max, 1);
    let parts: Uint8Array[] = [];
    let size = 0;
    const flush = async (isLast: boolean, n: number): Promise<void> => {
      // Emit the first n bytes of the pending parts as one PDV.
      const out: Uint8Array[] = [pDataHeader(contextId, isCommand, isLast, n)];
      let need = n;
      while (need > 0) {
        const p = parts[0]!;
        if (p.length <= need) {
          out.push(p);
          need -= p.length;
          parts.shift();
        } else {
          out.push(p.subarray(0, need));
          parts[0] = p.subarray(need);
          need = 0;
        }
      }
      size -= n;
      if (this.end || this.state === 'Sta13' || this.state === 'Sta1') throw this.endError();
      await this.writeNow(out);
    };
    for await (const chunk of chunks) {
      if (chunk.length === 0) continue;
      parts.push(chunk);
      size += chunk.length;
      // Keep at least one byte back so that the last PDV can carry the 'last' flag.
      while (size > maxData) await flush(false, maxData);
    }
    await flush(true, size);
    parts = [];
  }

  // -------------------------------------------------------------------------------------------------------------
  // Timers

  private startArtim(): void {
    this.stopArtim();
    this.artimTimer = setTimeout(() => {
      this.artimTimer = undefined;
      if (this.state === 'Sta2' || this.state === 'Sta13') this.apply('Evt18');
    }, this.timeouts.artimMs);
  }

  private stopArtim(): void {
    if (this.artimTimer) clearTimeout(this.artimTimer);
    this.artimTimer = undefined;
  }

  private startAcseTimer(): void {
    this.stopAcseTimer();
    this.acseTimer = setTimeout(() => {
      this.acseTimer = undefined;
      if (this.state === 'Sta5' || this.state === 'Sta7') {
        this.localAbort(AbortSource.ServiceUser, AbortReason.NotSpecified, 'TIMEOUT_ACSE');
      }
    }, this.timeouts.acseMs);
  }

  private stopAcseTimer(): void {
    if (this.acseTimer) clearTimeout(this.acseTimer);
    this.acseTimer = undefined;
  }

  private stopPduTimer(): void {
    if (this.pduTimer) clearTimeout(this.pduTimer);
    this.pduTimer = undefined;
  }

  private onPduExpired(): void {
    this.pduTimer = undefined;
    if (this.end) return;
    // Paused by Veil itself (a busy sink): the peer is not the slow one.
    if (this.paused || this.activity > 0) {
      this.pduTimer = setTimeout(() => this.onPduExpired(), this.timeouts.pduMs);
      return;
    }
    this.expire('TIMEOUT_PDU');
  }

  private onLifeExpired(): void {
    this.lifeTimer = undefined;
    if (!this.end) this.expire('TIMEOUT_ASSOCIATION');
  }

  /** A deadline passed: no association yet, close the transport (as ARTIM); else A-ABORT. */
  private expire(code: string): void {
    if (this.state === 'Sta13') this.socket.destroy();
    else this.localAbort(AbortSource.ServiceUser, AbortReason.NotSpecified, code);
  }

  /** Restarts the idle timer (on every byte received or written). */
  private touch(): void {
    if (this.end) return;
    if (this.idleTimer) {
      this.idleTimer.refresh();
      return;
    }
    this.idleTimer = setTimeout(() => this.onIdle(), this.timeouts.idleMs);
  }

  private onIdle(): void {
    if (this.end) return;
    if (this.activity > 0 || !(this.isEstablished || this.state === 'Sta7' || this.state === 'Sta3')) {
      if (this.state !== 'Sta13') this.idleTimer?.refresh();
      return;
    }
    this.localAbort(AbortSource.ServiceUser, AbortReason.NotSpecified, 'TIMEOUT_IDLE');
  }
}

function pduTypeCode(pdu: Pdu): number {
  switch (pdu.type) {
    case 'A-ASSOCIATE-RQ':
      return 1;
    case 'A-ASSOCIATE-AC':
      return 2;
    case 'A-ASSOCIATE-RJ':
      return 3;
    case 'P-DATA-TF':
      return 4;
    case 'A-RELEASE-RQ':
      return 5;
    case 'A-RELEASE-RP':
      return 6;
    case 'A-ABORT':
      return 7;
  }
}

/** The error an operation pending on an association that ended this way fails with. */
export function endError(end: AssociationEnd): DimseError {
  switch (end.kind) {
    case 'released':
      return new DimseError('DIMSE_CONNECTION_CLOSED');
    case 'rejected':
      return new DimseError('DIMSE_ASSOCIATION_REJECTED', {
        result: end.result,
        source: end.source,
        reason: end.reason,
      });
    case 'aborted':
      if (end.code?.startsWith('TIMEOUT'))
        return new DimseError('DIMSE_TIMEOUT', { source: end.source, reason: end.reason });
      if (end.by === 'local' && end.code && /^(UL_|UNEXPECTED_PDU|DIMSE_PROTOCOL|DIMSE_BAD_COMMAND)/.test(end.code)) {
        return new DimseError('DIMSE_PROTOCOL_ERROR', { source: end.source, reason: end.reason });
      }
      return new DimseError('DIMSE_ABORTED', { source: end.source, reason: end.reason });
    case 'closed':
      return new DimseError(end.connectFailed ? 'DIMSE_CONNECT_FAILED' : 'DIMSE_CONNECTION_CLOSED');
  }
}
