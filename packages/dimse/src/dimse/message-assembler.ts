/**
 * Reassembles DIMSE messages from PDVs (PS3.7 9.1, PS3.8 E.2): command fragments are collected (a command set is
 * small, bounded by `maxCommandLength`) and decoded; data set fragments are not collected but handed one by one to
 * the sink the receiver returns for that message, so that a 2 GB instance streams through in PDU-sized pieces.
 * A violation (data before its command, a context switch inside a message, an unaccepted context) throws a
 * DIMSE_PROTOCOL_ERROR, which the association answers with an A-ABORT.
 */
import { DimseError } from '../errors.ts';
import type { Pdv } from '../upper-layer/pdu.ts';
import { type CommandSet, decodeCommand } from './command-set.ts';

/** Consumer of one message's data set. Writes are awaited in order; reading the socket waits meanwhile. */
export interface DatasetSink {
  /** One fragment; the bytes are not reused by Veil and may be kept. */
  write(fragment: Uint8Array): Promise<void> | void;
  /** The last fragment has been written. */
  end(): Promise<void> | void;
  /** The association ended before the data set was complete. */
  abort?(): Promise<void> | void;
}

export interface MessageReceiver {
  /**
   * A whole command set arrived on an accepted context. When it announces a data set, the returned sink receives
   * it; `undefined` discards it.
   */
  onCommand(contextId: number, command: CommandSet): Promise<DatasetSink | undefined> | DatasetSink | undefined;
}

export const DEFAULT_MAX_COMMAND_LENGTH = 64 * 1024;

export class MessageAssembler {
  private commandParts: Uint8Array[] = [];
  private commandLength = 0;
  private contextId = 0;
  private sink: DatasetSink | undefined;
  private inDataset = false;

  constructor(
    private readonly receiver: MessageReceiver,
    private readonly isAccepted: (contextId: number) => boolean,
    private readonly maxCommandLength = DEFAULT_MAX_COMMAND_LENGTH,
  ) {}

  async push(pdv: Pdv): Promise<void> {
    if (!this.isAccepted(pdv.contextId)) throw new DimseError('DIMSE_PROTOCOL_ERROR');
    if (this.inDataset) {
      if (pdv.isCommand || pdv.contextId !== this.contextId) throw new DimseError('DIMSE_PROTOCOL_ERROR');
      if (this.sink && pdv.data.length > 0) await this.sink.write(pdv.data);
      if (pdv.isLast) {
        const sink = this.sink;
        this.inDataset = false;
        this.sink = undefined;
        if (sink) await sink.end();
      }
      return;
    }
    if (!pdv.isCommand) throw new DimseError('DIMSE_PROTOCOL_ERROR');
    if (this.commandParts.length === 0) this.contextId = pdv.contextId;
    else if (pdv.contextId !== this.contextId) throw new DimseError('DIMSE_PROTOCOL_ERROR');
    this.commandLength += pdv.data.length;
    if (this.commandLength > this.maxCommandLength) throw new DimseError('DIMSE_PROTOCOL_ERROR');
    this.commandParts.push(pdv.data);
    if (!pdv.isLast) return;
    const bytes = this.commandParts.length === 1 ? this.commandParts[0]! : join(this.commandParts, this.commandLength);
    this.commandParts = [];
    this.commandLength = 0;
    const decoded = decodeCommand(bytes);
    if (!decoded.ok) throw new DimseError('DIMSE_BAD_COMMAND');
    const sink = await this.receiver.onCommand(pdv.contextId, decoded.value);
    if (decoded.value.hasDataset) {
      this.inDataset = true;
      this.sink = sink;
    }
  }

  /** The association ended: a data set in progress is aborted. */
  async abort(): Promise<void> {
    const sink = this.sink;
    this.sink = undefined;
    this.inDataset = false;
    if (sink?.abort) await sink.abort();
  }
}

function join(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
