/**
 * UID remapping (PS3.15 E.1.1 "U"): every instance UID maps to a UUID-derived UID (PS3.5 B.2) computed from the keyed
 * hash of the original, so the same UID gets the same replacement in every file, in every reference to it (Referenced
 * SOP Instance UID, Frame of Reference UID... at any depth) and on every machine holding the key, without a shared
 * map. UIDs under the DICOM root 1.2.840.10008 (SOP classes, transfer syntaxes, coding schemes, well-known
 * instances) identify no one and never change.
 *
 * Example:
 *   remapUID('1.2.826.0.1.3680043.8.498.1', key); // '2.25.2993...' (up to 44 characters)
 *   remapUID('1.2.840.10008.5.1.4.1.1.2', key);   // unchanged: CT Image Storage
 */
import { hmacSha256 } from './hmac.ts';

export const DICOM_UID_ROOT = '1.2.840.10008';

/** Whether the UID is defined by the standard itself (never remapped). */
export function isWellKnownUID(uid: string): boolean {
  return uid === DICOM_UID_ROOT || uid.startsWith(`${DICOM_UID_ROOT}.`);
}

const HEX = '0123456789abcdef';

/**
 * The replacement of one UID: '2.25.' + the decimal value of a version-8 (RFC 9562 custom) UUID made of the first 128
 * bits of HMAC-SHA-256(key, 'uid:' + uid). Padding (trailing NUL or space) and surrounding spaces are ignored; an
 * empty value stays empty.
 */
export function remapUID(uid: string, key: Uint8Array): string {
  const u = uid.replace(/^[ \0]+|[ \0]+$/g, '');
  if (u === '' || isWellKnownUID(u)) return u;
  const mac = hmacSha256(key, `uid:${u}`);
  let hex = '';
  for (let i = 0; i < 16; i++) {
    let b = mac[i]!;
    if (i === 6) b = (b & 0x0f) | 0x80; // version 8
    if (i === 8) b = (b & 0x3f) | 0x80; // variant 10xx
    hex += HEX[b >>> 4]! + HEX[b & 15]!;
  }
  return `2.25.${BigInt(`0x${hex}`).toString(10)}`;
}

/** Remaps each value of a multi-valued UI string (values separated by backslashes). */
export function remapUIDs(value: string, key: Uint8Array): string {
  if (!value.includes('\\')) return remapUID(value, key);
  return value
    .split('\\')
    .map((v) => remapUID(v, key))
    .join('\\');
}
