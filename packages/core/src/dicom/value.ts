/**
 * Reading element values: raw bytes, decoded text (with the Specific Character Set in force), numbers.
 *
 * Example:
 *   const name = readString(findElement(file.dataset, 0x00100010)!);
 */
import { type CharacterSet, decodeText, parseSpecificCharacterSet } from './charset/specific-character-set.ts';
import type { DicomElement, ElementContainer } from './dataset.ts';
import { UNDEFINED_LENGTH } from './tag.ts';
import { usesCharacterSet } from './vr.ts';

/** The value bytes of a defined-length element (a copy when the source is not in memory). */
export function valueBytes(el: DicomElement): Uint8Array {
  if (el.length === UNDEFINED_LENGTH) return new Uint8Array(0);
  const src = el.parent.source;
  const end = el.valueOffset + el.length;
  if (src.bytes) return src.bytes.subarray(el.valueOffset, end);
  return src.read(el.valueOffset, end).slice();
}

const charsetCache = new Map<string, CharacterSet>();

export function characterSetOf(container: ElementContainer): CharacterSet {
  const raw = container.characterSet ?? '';
  let cs = charsetCache.get(raw);
  if (!cs) {
    cs = parseSpecificCharacterSet(raw);
    if (charsetCache.size < 256) charsetCache.set(raw, cs);
  }
  return cs;
}

/** Bytes as ISO 8859-1 code points: one call per 4 KB chunk, not one string per byte (UIDs, dates, numbers). */
function latin1(bytes: Uint8Array): string {
  if (bytes.length <= 4096) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  }
  return s;
}

/**
 * The value as text, decoded with the character set in force; trailing padding (space, or NUL for UI) removed,
 * and leading spaces too for VRs where they are not significant. Multiple values stay joined by backslashes.
 */
export function readString(el: DicomElement): string {
  const bytes = valueBytes(el);
  const vr = el.vr;
  const s = usesCharacterSet(vr) ? decodeText(bytes, characterSetOf(el.parent), vr) : latin1(bytes);
  // Trailing NULs and spaces, then (but for LT, ST, UT) leading spaces: by index, not by regular expression (this
  // runs for nearly every element the de-identifier and the verifier look at).
  let end = s.length;
  for (let c = s.charCodeAt(end - 1); end > 0 && (c === 0 || c === 0x20); c = s.charCodeAt(--end - 1));
  let start = 0;
  if (vr !== 'LT' && vr !== 'ST' && vr !== 'UT') while (start < end && s.charCodeAt(start) === 0x20) start++;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** Values of a multi-valued text element, each trimmed (PS3.5 6.2: leading/trailing spaces are not significant). */
export function readStrings(el: DicomElement): string[] {
  const s = readString(el);
  if (s === '') return [];
  if (el.vr === 'LT' || el.vr === 'ST' || el.vr === 'UT') return [s];
  return s.split('\\').map((v) => v.trim());
}

/** Numbers of a binary-valued element (US, SS, UL, SL, FL, FD, SV, UV, AT, OW, OF, OD, OL, OV...). */
export function readNumbers(el: DicomElement): number[] {
  const bytes = valueBytes(el);
  const le = el.parent.syntax.littleEndian;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  switch (el.vr) {
    case 'US':
    case 'OW':
      for (let i = 0; i + 2 <= bytes.length; i += 2) out.push(dv.getUint16(i, le));
      break;
    case 'SS':
      for (let i = 0; i + 2 <= bytes.length; i += 2) out.push(dv.getInt16(i, le));
      break;
    case 'UL':
    case 'OL':
      for (let i = 0; i + 4 <= bytes.length; i += 4) out.push(dv.getUint32(i, le));
      break;
    case 'SL':
      for (let i = 0; i + 4 <= bytes.length; i += 4) out.push(dv.getInt32(i, le));
      break;
    case 'AT':
      for (let i = 0; i + 4 <= bytes.length; i += 4)
        out.push(((dv.getUint16(i, le) << 16) | dv.getUint16(i + 2, le)) >>> 0);
      break;
    case 'FL':
    case 'OF':
      for (let i = 0; i + 4 <= bytes.length; i += 4) out.push(dv.getFloat32(i, le));
      break;
    case 'FD':
    case 'OD':
      for (let i = 0; i + 8 <= bytes.length; i += 8) out.push(dv.getFloat64(i, le));
      break;
    case 'SV':
      for (let i = 0; i + 8 <= bytes.length; i += 8) out.push(Number(dv.getBigInt64(i, le)));
      break;
    case 'UV':
    case 'OV':
      for (let i = 0; i + 8 <= bytes.length; i += 8) out.push(Number(dv.getBigUint64(i, le)));
      break;
    default:
      for (let i = 0; i < bytes.length; i++) out.push(bytes[i]!);
  }
  return out;
}

/** The first element with this tag directly in the container (elements are in tag order, but be lenient). */
export function findElement(container: ElementContainer, tag: number): DicomElement | undefined {
  const els = container.elements;
  for (let i = 0; i < els.length; i++) {
    const el = els[i]!;
    if (el.tag === tag) return el;
  }
  return undefined;
}

/** Visits every element at every depth, depth first, in stream order. Return false from fn to skip children. */
export function walkElements(container: ElementContainer, fn: (el: DicomElement) => unknown): void {
  for (const el of container.elements) {
    if (fn(el) === false) continue;
    if (el.items) for (const item of el.items) walkElements(item, fn);
  }
}
