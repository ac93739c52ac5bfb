/**
 * Cuts a TCP byte stream into PDUs. The length in each PDU header is checked against a limit for its type before a
 * byte of the body is buffered, so a hostile or broken peer cannot make Veil allocate more than one PDU of at most
 * the announced maximum length (P-DATA-TF) or `maxAssociatePduLength` (A-ASSOCIATE-RQ/AC).
 *
 * Example:
 *   const reader = new PduReader({ maxPDataLength: 65536 });
 *   socket.on('data', (chunk) => { reader.push(chunk); for (let r; (r = reader.next()); ) handle(r); });
 */
import { readU32 } from './byte-io.ts';
import { AbortReason, PDU_HEADER_LENGTH, type PduDecodeError, PduType } from './pdu.ts';
import { isKnownPduType } from './pdu-codec.ts';

export interface PduReaderLimits {
  /** Largest P-DATA-TF variable field accepted: the maximum length Veil announced. */
  maxPDataLength: number;
  /** Largest A-ASSOCIATE-RQ/AC variable field accepted (default 256 KiB: 128 contexts with long lists fit easily). */
  maxAssociatePduLength?: number;
}

export type PduReadResult =
  | { readonly type: number; readonly bytes: Uint8Array }
  | { readonly error: PduDecodeError; readonly type: number };

export const DEFAULT_MAX_ASSOCIATE_PDU_LENGTH = 256 * 1024;

export class PduReader {
  private readonly chunks: Uint8Array[] = [];
  private head = 0; // read offset in chunks[0]
  private available = 0;
  private failed = false;

  constructor(readonly limits: PduReaderLimits) {}

  /** Whether a framing error was returned: nothing more is read. */
  get hasFailed(): boolean {
    return this.failed;
  }

  /** Bytes buffered and not yet returned as a PDU. */
  get buffered(): number {
    return this.available;
  }

  push(chunk: Uint8Array): void {
    if (this.failed || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.available += chunk.length;
  }

  private limitFor(type: number): number {
    switch (type) {
      case PduType.PDataTf:
        return this.limits.maxPDataLength === 0 ? 0xffffffff : this.limits.maxPDataLength;
      case PduType.AssociateRq:
      case PduType.AssociateAc:
        return this.limits.maxAssociatePduLength ?? DEFAULT_MAX_ASSOCIATE_PDU_LENGTH;
      default:
        return 4;
    }
  }

  /** The next whole PDU (header included), an error (after which the reader stays failed), or undefined. */
  next(): PduReadResult | undefined {
    if (this.failed || this.available < PDU_HEADER_LENGTH) return undefined;
    const header = this.peek(PDU_HEADER_LENGTH);
    const type = header[0]!;
    const length = readU32(header, 2);
    if (!isKnownPduType(type)) {
      this.failed = true;
      return { type, error: { code: 'UL_UNRECOGNIZED_PDU', abortReason: AbortReason.UnrecognizedPdu } };
    }
    if (length > this.limitFor(type)) {
      this.failed = true;
      return { type, error: { code: 'UL_PDU_TOO_LONG', abortReason: AbortReason.InvalidPduParameterValue } };
    }
    const total = PDU_HEADER_LENGTH + length;
    if (this.available < total) return undefined;
    return { type, bytes: this.take(total) };
  }

  /** The first n bytes without consuming them (n is small: a header). */
  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    const out = new Uint8Array(n);
    let o = 0;
    let off = this.head;
    for (const c of this.chunks) {
      const k = Math.min(n - o, c.length - off);
      out.set(c.subarray(off, off + k), o);
      o += k;
      off = 0;
      if (o === n) break;
    }
    return out;
  }

  /** Consumes n bytes: a view when they lie in one chunk (the usual case), else one copy. */
  private take(n: number): Uint8Array {
    this.available -= n;
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      return out;
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const c = this.chunks[0]!;
      const k = Math.min(n - o, c.length - this.head);
      out.set(c.subarray(this.head, this.head + k), o);
      o += k;
      this.head += k;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    return out;
  }
}
