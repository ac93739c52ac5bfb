import { concat } from '@veil/core';
/**
 * The user information item (PS3.8 Annex D, PS3.7 Annex D.3.3) and its sub-items: maximum length, implementation
 * class UID and version name, asynchronous operations window, SCP/SCU role selection, SOP class extended
 * negotiation, user identity negotiation (RQ and AC). Sub-items Veil does not interpret are kept as raw items.
 */
import {
  asciiBytes,
  asciiText,
  item,
  items,
  lengthPrefixed,
  readU16,
  readU32,
  u16be,
  u32be,
  uidText,
} from './byte-io.ts';
import {
  AbortReason,
  type Decoded,
  decodeFail,
  decodeOk,
  type ExtendedNegotiation,
  ItemType,
  type RawItem,
  type RoleSelection,
  type UserIdentityRq,
  type UserInformation,
} from './pdu.ts';

/** Encodes the user information item (type 0x50) with its sub-items in PS3.7's order. */
export function encodeUserInformation(u: UserInformation): Uint8Array {
  const subs: Uint8Array[] = [];
  if (u.maxLength !== undefined) subs.push(item(ItemType.MaximumLength, u32be(u.maxLength)));
  if (u.implementationClassUid !== undefined) {
    subs.push(item(ItemType.ImplementationClassUid, asciiBytes(u.implementationClassUid)));
  }
  if (u.asyncOperationsWindow !== undefined) {
    const w = u.asyncOperationsWindow;
    subs.push(item(ItemType.AsynchronousOperationsWindow, concat([u16be(w.invoked), u16be(w.performed)])));
  }
  for (const r of u.roleSelections ?? []) {
    subs.push(
      item(
        ItemType.RoleSelection,
        concat([lengthPrefixed(asciiBytes(r.sopClassUid)), new Uint8Array([r.scuRole, r.scpRole])]),
      ),
    );
  }
  if (u.implementationVersionName !== undefined) {
    subs.push(item(ItemType.ImplementationVersionName, asciiBytes(u.implementationVersionName)));
  }
  for (const x of u.extendedNegotiations ?? []) {
    subs.push(item(ItemType.SopClassExtendedNegotiation, concat([lengthPrefixed(asciiBytes(x.sopClassUid)), x.info])));
  }
  for (const x of u.other ?? []) subs.push(item(x.type, x.data));
  if (u.userIdentityRq !== undefined) {
    const id = u.userIdentityRq;
    subs.push(
      item(
        ItemType.UserIdentityRq,
        concat([
          new Uint8Array([id.type, id.positiveResponseRequested ? 1 : 0]),
          lengthPrefixed(id.primaryField),
          lengthPrefixed(id.secondaryField),
        ]),
      ),
    );
  }
  if (u.userIdentityAc !== undefined) subs.push(item(ItemType.UserIdentityAc, lengthPrefixed(u.userIdentityAc)));
  return item(ItemType.UserInformation, concat(subs));
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Decodes the value of a user information item, [start, end) of b. Copies the bytes it keeps. */
export function decodeUserInformation(b: Uint8Array, start: number, end: number): Decoded<UserInformation> {
  const u: Mutable<UserInformation> = {};
  const roles: RoleSelection[] = [];
  const extended: ExtendedNegotiation[] = [];
  const other: RawItem[] = [];
  for (const it of items(b, start, end)) {
    if ('error' in it) return decodeFail('UL_USER_INFO_OVERRUN');
    const { type, start: s, end: e } = it;
    const n = e - s;
    switch (type) {
      case ItemType.MaximumLength:
        if (n !== 4) return decodeFail('UL_BAD_MAX_LENGTH_ITEM');
        u.maxLength ??= readU32(b, s);
        break;
      case ItemType.ImplementationClassUid:
        if (n < 1 || n > 64) return decodeFail('UL_BAD_IMPLEMENTATION_CLASS_UID');
        u.implementationClassUid ??= uidText(b, s, e);
        break;
      case ItemType.ImplementationVersionName:
        if (n < 1 || n > 16) return decodeFail('UL_BAD_IMPLEMENTATION_VERSION_NAME');
        u.implementationVersionName ??= asciiText(b, s, e).replace(/[\0 ]+$/, '');
        break;
      case ItemType.AsynchronousOperationsWindow:
        if (n !== 4) return decodeFail('UL_BAD_ASYNC_WINDOW_ITEM');
        u.asyncOperationsWindow ??= { invoked: readU16(b, s), performed: readU16(b, s + 2) };
        break;
      case ItemType.RoleSelection: {
        if (n < 4) return decodeFail('UL_BAD_ROLE_SELECTION_ITEM');
        const uidLength = readU16(b, s);
        if (2 + uidLength + 2 !== n) return decodeFail('UL_BAD_ROLE_SELECTION_ITEM');
        roles.push({
          sopClassUid: uidText(b, s + 2, s + 2 + uidLength),
          scuRole: b[s + 2 + uidLength]!,
          scpRole: b[s + 3 + uidLength]!,
        });
        break;
      }
      case ItemType.SopClassExtendedNegotiation: {
        if (n < 2) return decodeFail('UL_BAD_EXTENDED_NEGOTIATION_ITEM');
        const uidLength = readU16(b, s);
        if (2 + uidLength > n) return decodeFail('UL_BAD_EXTENDED_NEGOTIATION_ITEM');
        extended.push({ sopClassUid: uidText(b, s + 2, s + 2 + uidLength), info: b.slice(s + 2 + uidLength, e) });
        break;
      }
      case ItemType.UserIdentityRq: {
        if (n < 6) return decodeFail('UL_BAD_USER_IDENTITY_ITEM');
        const primaryLength = readU16(b, s + 2);
        if (4 + primaryLength + 2 > n) return decodeFail('UL_BAD_USER_IDENTITY_ITEM');
        const secondaryLength = readU16(b, s + 4 + primaryLength);
        if (4 + primaryLength + 2 + secondaryLength !== n) return decodeFail('UL_BAD_USER_IDENTITY_ITEM');
        const id: UserIdentityRq = {
          type: b[s]!,
          positiveResponseRequested: b[s + 1] === 1,
          primaryField: b.slice(s + 4, s + 4 + primaryLength),
          secondaryField: b.slice(s + 6 + primaryLength, e),
        };
        u.userIdentityRq ??= id;
        break;
      }
      case ItemType.UserIdentityAc: {
        if (n < 2) return decodeFail('UL_BAD_USER_IDENTITY_ITEM');
        const responseLength = readU16(b, s);
        if (2 + responseLength !== n) return decodeFail('UL_BAD_USER_IDENTITY_ITEM');
        u.userIdentityAc ??= b.slice(s + 2, e);
        break;
      }
      default:
        if (type < 0x51 || type > 0xff)
          return decodeFail('UL_UNEXPECTED_USER_INFO_ITEM', AbortReason.UnexpectedPduParameter);
        other.push({ type, data: b.slice(s, e) });
    }
  }
  if (roles.length > 0) u.roleSelections = roles;
  if (extended.length > 0) u.extendedNegotiations = extended;
  if (other.length > 0) u.other = other;
  return decodeOk(u);
}
