/**
 * Big-endian building blocks of the upper layer's PDUs (PS3.8 9.3.1: PDU and item lengths are big endian), and the
 * ASCII text of UIDs and AE titles.
 */
import { concat } from '@veil/core';

export function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

export function asciiText(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** A UID as found in an item: some implementations pad it with a NUL or a space; the padding is not part of it. */
export function uidText(b: Uint8Array, start: number, end: number): string {
  return asciiText(b, start, end).replace(/[\0 ]+$/, '');
}

/** An AE title field: 16 bytes, space padded; leading and trailing spaces are not significant (PS3.5 6.2). */
export function aeTitleText(b: Uint8Array, start: number): string {
  return asciiText(b, start, start + 16)
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
}

export function writeAeTitle(out: Uint8Array, offset: number, ae: string): void {
  for (let i = 0; i < 16; i++) out[offset + i] = i < ae.length ? ae.charCodeAt(i) & 0xff : 0x20;
}

/** An item: type, reserved byte, 16-bit length, value. */
export function item(type: number, value: Uint8Array): Uint8Array {
  if (value.length > 0xffff) throw new RangeError('item too long');
  const out = new Uint8Array(4 + value.length);
  out[0] = type;
  out[2] = value.length >>> 8;
  out[3] = value.length & 0xff;
  out.set(value, 4);
  return out;
}

export function u16be(n: number): Uint8Array {
  return new Uint8Array([(n >>> 8) & 0xff, n & 0xff]);
}

export function u32be(n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

export function readU16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

/** A 16-bit-length-prefixed field (user identity, role selection UIDs). */
export function lengthPrefixed(value: Uint8Array): Uint8Array {
  return concat([u16be(value.length), value]);
}

/** Iterates the items of [start, end): yields type, value start and value end, or an error if one overruns. */
export function* items(
  b: Uint8Array,
  start: number,
  end: number,
): Generator<{ type: number; start: number; end: number } | { error: 'overrun' }> {
  let o = start;
  while (o < end) {
    if (o + 4 > end) {
      yield { error: 'overrun' };
      return;
    }
    const type = b[o]!;
    const length = readU16(b, o + 2);
    if (o + 4 + length > end) {
      yield { error: 'overrun' };
      return;
    }
    yield { type, start: o + 4, end: o + 4 + length };
    o += 4 + length;
  }
}
