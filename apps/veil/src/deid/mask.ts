/**
 * How a dry run shows values: the old value masked (its first character at most, and its length), the new value
 * as it would be written. Short values show only their length, so that a one-character ID is not revealed.
 */
import { type DicomElement, readString } from '@veil/core';

const TEXT_VRS = new Set([
  'AE',
  'AS',
  'CS',
  'DA',
  'DS',
  'DT',
  'IS',
  'LO',
  'LT',
  'PN',
  'SH',
  'ST',
  'TM',
  'UC',
  'UI',
  'UR',
  'UT',
]);

export function maskText(s: string): string {
  if (s.length === 0) return "''";
  const n = [...s].length;
  if (n < 6) return `<${n} chars>`;
  return `'${[...s][0]}***' <${n} chars>`;
}

export function maskElement(el: DicomElement): string {
  if (el.items) return `<sequence, ${el.items.length} item${el.items.length === 1 ? '' : 's'}>`;
  if (el.length === 0xffffffff) return '<undefined length>';
  if (!TEXT_VRS.has(el.vr)) return `<${el.length} bytes>`;
  return maskText(readString(el));
}

/** The new value of an edit as shown: ASCII text quoted, anything else by its size. */
export function showNewValue(vr: string, value: Uint8Array): string {
  if (!TEXT_VRS.has(vr)) return `<${value.length} bytes>`;
  let s = '';
  for (const b of value) {
    if (b >= 0x80 || (b < 0x20 && b !== 0)) return `<${value.length} bytes of text>`;
    if (b !== 0) s += String.fromCharCode(b);
  }
  s = s.replace(/ +$/, '');
  return s.length > 80 ? `'${s.slice(0, 77)}...'` : `'${s}'`;
}
