/**
 * Whole-PDU encoding and decoding: the 6-byte header (type, reserved, 32-bit big-endian length) and a dispatch to
 * the codec of each PDU type. `decodePdu` never throws: a malformed PDU is a `PduDecodeError` with the A-ABORT
 * reason to answer it with (PS3.8 9.3.1: unrecognized PDU type -> reason 1, bad parameter -> 4/5/6).
 *
 * Example:
 *   const r = decodePdu(encodePdu({ type: 'A-ABORT', source: 0, reason: 0 }));
 *   if (r.ok) console.log(r.value.type); // 'A-ABORT'
 */
import {
  decodeAssociateAc,
  decodeAssociateRj,
  decodeAssociateRq,
  encodeAssociateAc,
  encodeAssociateRj,
  encodeAssociateRq,
} from './associate-pdu.ts';
import { readU32 } from './byte-io.ts';
import { decodePDataTf, encodePDataTf } from './p-data-tf-pdu.ts';
import { AbortReason, type Decoded, decodeFail, PDU_HEADER_LENGTH, type Pdu, PduType } from './pdu.ts';
import {
  decodeAbort,
  decodeReleaseRp,
  decodeReleaseRq,
  encodeAbort,
  encodeReleaseRp,
  encodeReleaseRq,
} from './release-abort-pdu.ts';

export function encodePdu(pdu: Pdu): Uint8Array {
  switch (pdu.type) {
    case 'A-ASSOCIATE-RQ':
      return encodeAssociateRq(pdu);
    case 'A-ASSOCIATE-AC':
      return encodeAssociateAc(pdu);
    case 'A-ASSOCIATE-RJ':
      return encodeAssociateRj(pdu);
    case 'P-DATA-TF':
      return encodePDataTf(pdu.pdvs);
    case 'A-RELEASE-RQ':
      return encodeReleaseRq();
    case 'A-RELEASE-RP':
      return encodeReleaseRp();
    case 'A-ABORT':
      return encodeAbort(pdu.source, pdu.reason);
  }
}

/** Whether a PDU type byte is one PS3.8 defines. */
export function isKnownPduType(type: number): boolean {
  return type >= PduType.AssociateRq && type <= PduType.Abort;
}

/** Decodes one whole PDU (header included); its declared length must match the bytes exactly. */
export function decodePdu(bytes: Uint8Array): Decoded<Pdu> {
  if (bytes.length < PDU_HEADER_LENGTH) return decodeFail('UL_TRUNCATED_PDU');
  const type = bytes[0]!;
  const length = readU32(bytes, 2);
  if (length !== bytes.length - PDU_HEADER_LENGTH) return decodeFail('UL_BAD_PDU_LENGTH');
  return decodePduBody(type, bytes, PDU_HEADER_LENGTH, bytes.length);
}

/** Decodes the variable field b[start, end) of a PDU of the given type. */
export function decodePduBody(type: number, b: Uint8Array, start: number, end: number): Decoded<Pdu> {
  try {
    switch (type) {
      case PduType.AssociateRq:
        return decodeAssociateRq(b, start, end);
      case PduType.AssociateAc:
        return decodeAssociateAc(b, start, end);
      case PduType.AssociateRj:
        return decodeAssociateRj(b, start, end);
      case PduType.PDataTf:
        return decodePDataTf(b, start, end);
      case PduType.ReleaseRq:
        return decodeReleaseRq(b, start, end);
      case PduType.ReleaseRp:
        return decodeReleaseRp(b, start, end);
      case PduType.Abort:
        return decodeAbort(b, start, end);
      default:
        return decodeFail('UL_UNRECOGNIZED_PDU', AbortReason.UnrecognizedPdu);
    }
  } catch {
    // The decoders check every length before reading; this is the last line of defence against hostile input.
    return decodeFail('UL_MALFORMED_PDU');
  }
}
