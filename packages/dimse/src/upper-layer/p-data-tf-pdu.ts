import { concat } from '@veil/core';
/**
 * The P-DATA-TF PDU (PS3.8 9.3.5) and its presentation data value items (PS3.8 E.2): each PDV carries a fragment
 * of a command set or data set for one presentation context, flagged command/data and last/not last.
 *
 * Example:
 *   const head = pDataHeader(1, true, true, command.length); // write head then command: one PDU, one PDV
 */
import { readU32, u32be } from './byte-io.ts';
import { AbortReason, type Decoded, decodeFail, decodeOk, type PDataTfPdu, PduType, type Pdv } from './pdu.ts';

/** Message control header bits (PS3.8 E.2). */
const MCH_COMMAND = 0x01;
const MCH_LAST = 0x02;

/** PDU header and PDV header of a P-DATA-TF that holds one PDV of `dataLength` bytes (12 bytes, zero copy). */
export function pDataHeader(contextId: number, isCommand: boolean, isLast: boolean, dataLength: number): Uint8Array {
  const h = new Uint8Array(12);
  h[0] = PduType.PDataTf;
  h.set(u32be(dataLength + 6), 2);
  h.set(u32be(dataLength + 2), 6);
  h[10] = contextId;
  h[11] = (isCommand ? MCH_COMMAND : 0) | (isLast ? MCH_LAST : 0);
  return h;
}

/** A whole P-DATA-TF PDU (copies; for small PDUs and tests). */
export function encodePDataTf(pdvs: readonly Pdv[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let length = 0;
  for (const pdv of pdvs) {
    const h = new Uint8Array(6);
    h.set(u32be(pdv.data.length + 2), 0);
    h[4] = pdv.contextId;
    h[5] = (pdv.isCommand ? MCH_COMMAND : 0) | (pdv.isLast ? MCH_LAST : 0);
    parts.push(h, pdv.data);
    length += 6 + pdv.data.length;
  }
  const head = new Uint8Array(6);
  head[0] = PduType.PDataTf;
  head.set(u32be(length), 2);
  return concat([head, ...parts]);
}

/** Decodes the variable field b[start, end). PDV data are views into b, not copies. */
export function decodePDataTf(b: Uint8Array, start: number, end: number): Decoded<PDataTfPdu> {
  const pdvs: Pdv[] = [];
  let o = start;
  while (o < end) {
    if (o + 6 > end) return decodeFail('UL_PDV_OVERRUN');
    const length = readU32(b, o);
    if (length < 2 || o + 4 + length > end) return decodeFail('UL_PDV_OVERRUN');
    const contextId = b[o + 4]!;
    const mch = b[o + 5]!;
    if (contextId % 2 === 0) return decodeFail('UL_BAD_PDV_CONTEXT_ID');
    if ((mch & ~(MCH_COMMAND | MCH_LAST)) !== 0) return decodeFail('UL_BAD_MESSAGE_CONTROL_HEADER');
    pdvs.push({
      contextId,
      isCommand: (mch & MCH_COMMAND) !== 0,
      isLast: (mch & MCH_LAST) !== 0,
      data: b.subarray(o + 6, o + 4 + length),
    });
    o += 4 + length;
  }
  if (pdvs.length === 0) return decodeFail('UL_EMPTY_P_DATA', AbortReason.InvalidPduParameterValue);
  return decodeOk({ type: 'P-DATA-TF', pdvs });
}
