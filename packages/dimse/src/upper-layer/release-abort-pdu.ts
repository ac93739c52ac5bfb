/**
 * A-RELEASE-RQ, A-RELEASE-RP (PS3.8 9.3.6, 9.3.7) and A-ABORT (PS3.8 9.3.8): fixed 4-byte variable fields.
 */
import {
  type AbortPdu,
  type Decoded,
  decodeFail,
  decodeOk,
  PduType,
  type ReleaseRpPdu,
  type ReleaseRqPdu,
} from './pdu.ts';

function fixed(type: number, b2: number, b3: number): Uint8Array {
  return new Uint8Array([type, 0, 0, 0, 0, 4, 0, 0, b2, b3]);
}

export function encodeReleaseRq(): Uint8Array {
  return fixed(PduType.ReleaseRq, 0, 0);
}

export function encodeReleaseRp(): Uint8Array {
  return fixed(PduType.ReleaseRp, 0, 0);
}

export function encodeAbort(source: number, reason: number): Uint8Array {
  return fixed(PduType.Abort, source, reason);
}

export function decodeReleaseRq(_b: Uint8Array, start: number, end: number): Decoded<ReleaseRqPdu> {
  return end - start === 4 ? decodeOk({ type: 'A-RELEASE-RQ' }) : decodeFail('UL_BAD_PDU_LENGTH');
}

export function decodeReleaseRp(_b: Uint8Array, start: number, end: number): Decoded<ReleaseRpPdu> {
  return end - start === 4 ? decodeOk({ type: 'A-RELEASE-RP' }) : decodeFail('UL_BAD_PDU_LENGTH');
}

export function decodeAbort(b: Uint8Array, start: number, end: number): Decoded<AbortPdu> {
  if (end - start !== 4) return decodeFail('UL_BAD_PDU_LENGTH');
  return decodeOk({ type: 'A-ABORT', source: b[start + 2]!, reason: b[start + 3]! });
}
