import { concat } from '@veil/core';
/**
 * A-ASSOCIATE-RQ, A-ASSOCIATE-AC and A-ASSOCIATE-RJ PDUs (PS3.8 9.3.2 - 9.3.4) with their application context,
 * presentation context (RQ and AC), abstract/transfer syntax and user information items.
 *
 * Example:
 *   const bytes = encodeAssociateRq({ type: 'A-ASSOCIATE-RQ', protocolVersion: 1, calledAeTitle: 'PACS', ... });
 *   const r = decodePdu(bytes); // { ok: true, value: { type: 'A-ASSOCIATE-RQ', ... } }
 */
import { aeTitleText, asciiBytes, item, items, readU16, u16be, u32be, uidText, writeAeTitle } from './byte-io.ts';
import {
  AbortReason,
  type AssociateAcPdu,
  type AssociateRjPdu,
  type AssociateRqPdu,
  type Decoded,
  decodeFail,
  decodeOk,
  ItemType,
  PduType,
  type PresentationContextAc,
  type PresentationContextRq,
  type UserInformation,
} from './pdu.ts';
import { decodeUserInformation, encodeUserInformation } from './user-information.ts';

/** Fixed part of the RQ/AC variable field: version, reserved, called AE, calling AE, 32 reserved bytes. */
const FIXED = 68;

export function pduHeader(type: number, length: number): Uint8Array {
  const h = new Uint8Array(6);
  h[0] = type;
  h.set(u32be(length), 2);
  return h;
}

function withHeader(type: number, body: Uint8Array): Uint8Array {
  return concat([pduHeader(type, body.length), body]);
}

function fixedPart(protocolVersion: number, calledAeTitle: string, callingAeTitle: string): Uint8Array {
  const f = new Uint8Array(FIXED);
  f.set(u16be(protocolVersion), 0);
  writeAeTitle(f, 4, calledAeTitle);
  writeAeTitle(f, 20, callingAeTitle);
  return f;
}

export function encodeAssociateRq(pdu: AssociateRqPdu): Uint8Array {
  const parts: Uint8Array[] = [
    fixedPart(pdu.protocolVersion, pdu.calledAeTitle, pdu.callingAeTitle),
    item(ItemType.ApplicationContext, asciiBytes(pdu.applicationContextName)),
  ];
  for (const pc of pdu.presentationContexts) {
    const subs = [item(ItemType.AbstractSyntax, asciiBytes(pc.abstractSyntax))];
    for (const ts of pc.transferSyntaxes) subs.push(item(ItemType.TransferSyntax, asciiBytes(ts)));
    parts.push(item(ItemType.PresentationContextRq, concat([new Uint8Array([pc.id, 0, 0, 0]), ...subs])));
  }
  parts.push(encodeUserInformation(pdu.userInformation));
  return withHeader(PduType.AssociateRq, concat(parts));
}

export function encodeAssociateAc(pdu: AssociateAcPdu): Uint8Array {
  const parts: Uint8Array[] = [
    fixedPart(pdu.protocolVersion, pdu.calledAeTitle, pdu.callingAeTitle),
    item(ItemType.ApplicationContext, asciiBytes(pdu.applicationContextName)),
  ];
  for (const pc of pdu.presentationContexts) {
    // PS3.8 9.3.3.2: the transfer syntax sub-item is always present; not tested when the context is rejected.
    const ts = item(ItemType.TransferSyntax, asciiBytes(pc.transferSyntax ?? ''));
    parts.push(item(ItemType.PresentationContextAc, concat([new Uint8Array([pc.id, 0, pc.result, 0]), ts])));
  }
  parts.push(encodeUserInformation(pdu.userInformation));
  return withHeader(PduType.AssociateAc, concat(parts));
}

export function encodeAssociateRj(pdu: Omit<AssociateRjPdu, 'type'>): Uint8Array {
  return withHeader(PduType.AssociateRj, new Uint8Array([0, pdu.result, pdu.source, pdu.reason]));
}

interface AssociateCommon {
  protocolVersion: number;
  calledAeTitle: string;
  callingAeTitle: string;
  applicationContextName: string;
  userInformation: UserInformation;
}

/**
 * Decodes the variable field of an A-ASSOCIATE-RQ or -AC, b[start, end). `contexts` reads one presentation context
 * item's value; items of the other PDU's kind are unexpected parameters.
 */
function decodeAssociate<C>(
  b: Uint8Array,
  start: number,
  end: number,
  contextItemType: number,
  readContext: (b: Uint8Array, s: number, e: number) => Decoded<C>,
): Decoded<AssociateCommon & { presentationContexts: C[] }> {
  if (end - start < FIXED) return decodeFail('UL_ASSOCIATE_TOO_SHORT');
  const protocolVersion = readU16(b, start);
  const calledAeTitle = aeTitleText(b, start + 4);
  const callingAeTitle = aeTitleText(b, start + 20);
  let applicationContextName: string | undefined;
  let userInformation: UserInformation | undefined;
  const presentationContexts: C[] = [];
  for (const it of items(b, start + FIXED, end)) {
    if ('error' in it) return decodeFail('UL_ITEM_OVERRUN');
    if (it.type === ItemType.ApplicationContext) {
      if (applicationContextName !== undefined) return decodeFail('UL_DUPLICATE_APPLICATION_CONTEXT');
      if (it.end - it.start < 1 || it.end - it.start > 64) return decodeFail('UL_BAD_APPLICATION_CONTEXT');
      applicationContextName = uidText(b, it.start, it.end);
    } else if (it.type === contextItemType) {
      const pc = readContext(b, it.start, it.end);
      if (!pc.ok) return pc;
      presentationContexts.push(pc.value);
    } else if (it.type === ItemType.UserInformation) {
      if (userInformation !== undefined) return decodeFail('UL_DUPLICATE_USER_INFORMATION');
      const u = decodeUserInformation(b, it.start, it.end);
      if (!u.ok) return u;
      userInformation = u.value;
    } else {
      return decodeFail('UL_UNEXPECTED_ITEM', AbortReason.UnexpectedPduParameter);
    }
  }
  if (applicationContextName === undefined) return decodeFail('UL_MISSING_APPLICATION_CONTEXT');
  return decodeOk({
    protocolVersion,
    calledAeTitle,
    callingAeTitle,
    applicationContextName,
    userInformation: userInformation ?? {},
    presentationContexts,
  });
}

function readContextRq(b: Uint8Array, s: number, e: number): Decoded<PresentationContextRq> {
  if (e - s < 4) return decodeFail('UL_BAD_PRESENTATION_CONTEXT');
  const id = b[s]!;
  if (id % 2 === 0) return decodeFail('UL_BAD_PRESENTATION_CONTEXT_ID');
  let abstractSyntax: string | undefined;
  const transferSyntaxes: string[] = [];
  for (const sub of items(b, s + 4, e)) {
    if ('error' in sub) return decodeFail('UL_ITEM_OVERRUN');
    const n = sub.end - sub.start;
    if (sub.type === ItemType.AbstractSyntax) {
      if (abstractSyntax !== undefined || n < 1 || n > 64) return decodeFail('UL_BAD_ABSTRACT_SYNTAX');
      abstractSyntax = uidText(b, sub.start, sub.end);
    } else if (sub.type === ItemType.TransferSyntax) {
      if (n < 1 || n > 64) return decodeFail('UL_BAD_TRANSFER_SYNTAX');
      transferSyntaxes.push(uidText(b, sub.start, sub.end));
    } else {
      return decodeFail('UL_UNEXPECTED_ITEM', AbortReason.UnexpectedPduParameter);
    }
  }
  if (abstractSyntax === undefined || transferSyntaxes.length === 0)
    return decodeFail('UL_INCOMPLETE_PRESENTATION_CONTEXT');
  return decodeOk({ id, abstractSyntax, transferSyntaxes });
}

function readContextAc(b: Uint8Array, s: number, e: number): Decoded<PresentationContextAc> {
  if (e - s < 4) return decodeFail('UL_BAD_PRESENTATION_CONTEXT');
  const id = b[s]!;
  const result = b[s + 2]!;
  if (result > 4) return decodeFail('UL_BAD_PRESENTATION_CONTEXT_RESULT');
  let transferSyntax: string | undefined;
  for (const sub of items(b, s + 4, e)) {
    if ('error' in sub) return decodeFail('UL_ITEM_OVERRUN');
    if (sub.type !== ItemType.TransferSyntax || transferSyntax !== undefined) {
      return decodeFail('UL_UNEXPECTED_ITEM', AbortReason.UnexpectedPduParameter);
    }
    if (sub.end - sub.start > 64) return decodeFail('UL_BAD_TRANSFER_SYNTAX');
    transferSyntax = uidText(b, sub.start, sub.end);
  }
  if (result === 0 && !transferSyntax) return decodeFail('UL_INCOMPLETE_PRESENTATION_CONTEXT');
  return decodeOk({ id, result, transferSyntax: result === 0 ? transferSyntax : undefined });
}

export function decodeAssociateRq(b: Uint8Array, start: number, end: number): Decoded<AssociateRqPdu> {
  const r = decodeAssociate(b, start, end, ItemType.PresentationContextRq, readContextRq);
  if (!r.ok) return r;
  const ids = new Set(r.value.presentationContexts.map((pc) => pc.id));
  if (ids.size !== r.value.presentationContexts.length) return decodeFail('UL_DUPLICATE_PRESENTATION_CONTEXT_ID');
  return decodeOk({ type: 'A-ASSOCIATE-RQ', ...r.value });
}

export function decodeAssociateAc(b: Uint8Array, start: number, end: number): Decoded<AssociateAcPdu> {
  const r = decodeAssociate(b, start, end, ItemType.PresentationContextAc, readContextAc);
  if (!r.ok) return r;
  return decodeOk({ type: 'A-ASSOCIATE-AC', ...r.value });
}

export function decodeAssociateRj(b: Uint8Array, start: number, end: number): Decoded<AssociateRjPdu> {
  if (end - start !== 4) return decodeFail('UL_BAD_PDU_LENGTH');
  return decodeOk({ type: 'A-ASSOCIATE-RJ', result: b[start + 1]!, source: b[start + 2]!, reason: b[start + 3]! });
}
