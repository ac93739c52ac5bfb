/**
 * The DICOM JSON Model (PS3.18 F.2): a dataset as `{ "GGGGEEEE": { vr, Value | InlineBinary | BulkDataURI } }`.
 *
 * - Text is decoded with the Specific Character Set in force; multi-valued text is split on backslashes; an empty
 *   value inside a multi-valued element is null; an element with no value has no "Value" (F.2.5).
 * - PN values are objects with the non-empty component groups: { Alphabetic, Ideographic, Phonetic } (F.2.2),
 *   trailing empty components dropped (a name of only "^" delimiters is empty).
 * - IS, DS, US, SS, UL, SL, FL, FD, SV, UV are JSON numbers (F.2.3); a DS/IS string that is not a number stays a
 *   string, SV/UV beyond 2^53 are strings, and FL/FD NaN and infinities are the strings "NaN", "Infinity", "-Infinity".
 * - AT values are "GGGGEEEE" strings; SQ values are arrays of item objects.
 * - OB, OD, OF, OL, OV, OW, UN and encapsulated Pixel Data are InlineBinary (base64, little endian byte order) when
 *   their length is at most `bulkDataThreshold`, else a BulkDataURI from `bulkDataUri`. Encapsulated Pixel Data
 *   is OB (PS3.5 A.4) and its InlineBinary is its value field as encoded: the items (offset table and fragments)
 *   and the sequence delimitation item.
 * - A UN element that Veil parsed as an implicit VR sequence stays UN with its bytes (as DCMTK does by default); a
 *   UN or unknown-VR element of undefined length is a sequence (CP-246) and becomes SQ.
 * - Group length elements (gggg,0000) are left out, as DCMTK's dcm2json does: they describe an encoding, not data.
 * - Elements with an unknown VR are UN. When a tag occurs twice in one container, the first occurrence wins.
 *
 * Pure: no I/O. Keys of the returned objects are in stream order, but JavaScript puts keys that look like array
 * indexes (all-digit tags such as "30060020") first: use stringifyDicomJson() for output in tag order.
 *
 * Examples:
 *   const json = toDicomJson(scanFile(bytes).dataset, { bulkDataThreshold: 1024 });
 *   json['00100010']; // { vr: 'PN', Value: [{ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎' }] }
 *   attributeToJson(findElement(dataset, 0x00280030)!); // { vr: 'DS', Value: [0.5, 0.5] }
 *   stringifyDicomJson(json, 2); // JSON text, attributes in tag order
 *   base64(Uint8Array.of(0, 1)); // 'AAE='
 *   shortestFloat32(Math.fround(0.3)); // 0.3
 */
import type { DicomElement, ElementContainer } from './dataset.ts';
import { formatTagJson, UNDEFINED_LENGTH } from './tag.ts';
import { elementPath } from './tag-path.ts';
import { readNumbers, readString, valueBytes } from './value.ts';
import { binaryUnitSize, isKnownVR } from './vr.ts';

export interface DicomJsonOptions {
  /** Binary values longer than this many bytes become BulkDataURI; default: none (everything inline). */
  readonly bulkDataThreshold?: number;
  /** The URI of a bulk value; default: `bulkdata/` and the element's tag path, e.g. "bulkdata/00540016/0/7FE00010". */
  readonly bulkDataUri?: (el: DicomElement) => string;
}

export interface DicomJsonPersonName {
  Alphabetic?: string;
  Ideographic?: string;
  Phonetic?: string;
}

export type DicomJsonValue = string | number | DicomJsonPersonName | DicomJsonObject | null;

export interface DicomJsonAttribute {
  vr: string;
  Value?: DicomJsonValue[];
  InlineBinary?: string;
  BulkDataURI?: string;
}

export type DicomJsonObject = Record<string, DicomJsonAttribute>;

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const SINGLE_VALUED_TEXT = new Set(['LT', 'ST', 'UT', 'UR']);
const DS_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const IS_NUMBER = /^[+-]?\d+$/;

/** The dataset (or item) as a DICOM JSON object. */
export function toDicomJson(container: ElementContainer, options: DicomJsonOptions = {}): DicomJsonObject {
  const threshold = options.bulkDataThreshold ?? Number.POSITIVE_INFINITY;
  const uri = options.bulkDataUri ?? defaultBulkDataUri;
  return containerToJson(container, threshold, uri);
}

function containerToJson(
  container: ElementContainer,
  threshold: number,
  uri: (el: DicomElement) => string,
): DicomJsonObject {
  const out: DicomJsonObject = {};
  for (const el of container.elements) {
    if ((el.tag & 0xffff) === 0) continue;
    const key = formatTagJson(el.tag);
    if (Object.hasOwn(out, key)) continue;
    out[key] = attributeToJson(el, threshold, uri);
  }
  return out;
}

/** One element as a DICOM JSON attribute ({ vr, Value } or { vr, InlineBinary } or { vr, BulkDataURI }). */
export function attributeToJson(
  el: DicomElement,
  threshold = Number.POSITIVE_INFINITY,
  uri: (el: DicomElement) => string = defaultBulkDataUri,
): DicomJsonAttribute {
  const vr = isKnownVR(el.vr) ? el.vr : 'UN';
  if (el.items && (vr === 'SQ' || el.length === UNDEFINED_LENGTH)) {
    const attr: DicomJsonAttribute = { vr: 'SQ' };
    if (el.items.length > 0) attr.Value = el.items.map((item) => containerToJson(item, threshold, uri));
    return attr;
  }
  if (vr === 'SQ') return { vr };
  if (el.fragments) {
    // Encapsulated Pixel Data is OB (PS3.5 A.4), whatever VR a non-conformant writer put in the file.
    const length = el.end - el.valueOffset;
    if (length > threshold) return { vr: 'OB', BulkDataURI: uri(el) };
    return { vr: 'OB', InlineBinary: base64(el.parent.source.read(el.valueOffset, el.end)) };
  }
  if (BINARY_VRS.has(vr)) {
    if (el.length === 0) return { vr };
    if (el.length > threshold) return { vr, BulkDataURI: uri(el) };
    return { vr, InlineBinary: base64(littleEndianBytes(el, vr)) };
  }
  const values = elementValues(el, vr);
  return values.length === 0 ? { vr } : { vr, Value: values };
}

function elementValues(el: DicomElement, vr: string): DicomJsonValue[] {
  switch (vr) {
    case 'US':
    case 'SS':
    case 'UL':
    case 'SL':
    case 'FD':
      return readNumbers(el).map((n) => finiteOrString(n));
    case 'FL':
      return readNumbers(el).map((n) => finiteOrString(shortestFloat32(n)));
    case 'SV':
    case 'UV':
      return readBigInts(el, vr === 'SV');
    case 'AT':
      return readNumbers(el).map((t) => formatTagJson(t));
    default:
      break;
  }
  const text = readString(el);
  if (text === '') return [];
  if (SINGLE_VALUED_TEXT.has(vr)) return [text];
  if (vr === 'PN') {
    const names = text.split('\\').map(personName);
    return names.every((n) => n === null) ? [] : names;
  }
  const parts = text.split('\\');
  const out: DicomJsonValue[] = new Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const v = parts[i]!.trim();
    if (v === '') out[i] = null;
    else if (vr === 'DS') out[i] = DS_NUMBER.test(v) ? finiteOrString(Number(v), v) : v;
    else if (vr === 'IS') out[i] = IS_NUMBER.test(v) ? Number(v) : v;
    else out[i] = v;
  }
  return out;
}

/**
 * A PN value as its component groups, each without trailing empty components (PS3.5 6.2.1: "^^" and "" are the
 * same name); null when nothing is left.
 */
function personName(v: string): DicomJsonPersonName | null {
  const groups = v.trim().split('=');
  const pn: DicomJsonPersonName = {};
  const a = groups[0]?.replace(/\^+$/, '');
  const i = groups[1]?.replace(/\^+$/, '');
  const p = groups[2]?.replace(/\^+$/, '');
  if (a) pn.Alphabetic = a;
  if (i) pn.Ideographic = i;
  if (p) pn.Phonetic = p;
  return a || i || p ? pn : null;
}

function finiteOrString(n: number, text?: string): number | string {
  if (Number.isFinite(n)) return n;
  return text ?? (Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity');
}

/** The shortest decimal that reads back as the same 32-bit float: 0.3, not 0.30000001192092896. */
export function shortestFloat32(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  for (let p = 1; p < 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

function readBigInts(el: DicomElement, signed: boolean): (number | string)[] {
  const bytes = valueBytes(el);
  const le = el.parent.syntax.littleEndian;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: (number | string)[] = [];
  for (let i = 0; i + 8 <= bytes.length; i += 8) {
    const v = signed ? dv.getBigInt64(i, le) : dv.getBigUint64(i, le);
    const n = Number(v);
    out.push(Number.isSafeInteger(n) ? n : v.toString());
  }
  return out;
}

/** Binary value bytes in little endian order (swapped from a big endian dataset by the VR's unit size). */
function littleEndianBytes(el: DicomElement, vr: string): Uint8Array {
  const bytes = valueBytes(el);
  const unit = vr === 'UN' || vr === 'OB' ? 1 : (binaryUnitSize(vr) ?? 1);
  if (el.parent.syntax.littleEndian || unit === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  const whole = bytes.length - (bytes.length % unit);
  for (let i = 0; i < whole; i += unit) for (let k = 0; k < unit; k++) out[i + k] = bytes[i + unit - 1 - k]!;
  out.set(bytes.subarray(whole), whole);
  return out;
}

function defaultBulkDataUri(el: DicomElement): string {
  // "(0054,0016)[0](7FE0,0010)" -> "bulkdata/00540016/0/7FE00010": a relative URI reference with no value in it.
  const path = elementPath(el)
    .replace(/\((\w{4}),(\w{4})\)/g, '/$1$2')
    .replace(/\[(\d+)\]/g, '/$1');
  return `bulkdata${path}`;
}

const TAG_KEY = /^[0-9A-F]{8}$/;

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Two base64 characters for each 12-bit value, as one 16-bit unit in host byte order: 3 bytes -> 2 lookups. */
const PAIRS = new Uint16Array(4096);
for (let i = 0; i < 4096; i++) {
  const c0 = B64.charCodeAt(i >>> 6);
  const c1 = B64.charCodeAt(i & 63);
  PAIRS[i] = LITTLE_ENDIAN_HOST ? c0 | (c1 << 8) : (c0 << 8) | c1;
}
const ascii = new TextDecoder('latin1');

/** RFC 4648 base64 with padding; pure (no Buffer, no btoa), about as fast as a JS encoder gets. */
export function base64(bytes: Uint8Array): string {
  const n = bytes.length;
  const out = new Uint8Array(Math.ceil(n / 3) * 4);
  const out16 = new Uint16Array(out.buffer);
  const whole = n - (n % 3);
  let o = 0;
  for (let i = 0; i < whole; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out16[o++] = PAIRS[v >>> 12]!;
    out16[o++] = PAIRS[v & 4095]!;
  }
  const rest = n - whole;
  if (rest > 0) {
    const v = (bytes[whole]! << 16) | (rest === 2 ? bytes[whole + 1]! << 8 : 0);
    const p = o * 2;
    out[p] = B64.charCodeAt(v >>> 18);
    out[p + 1] = B64.charCodeAt((v >>> 12) & 63);
    out[p + 2] = rest === 2 ? B64.charCodeAt((v >>> 6) & 63) : 61;
    out[p + 3] = 61;
  }
  return ascii.decode(out);
}

/**
 * JSON text of a DICOM JSON object with attributes in tag order (JSON.stringify would put all-digit keys first).
 * `indent` as in JSON.stringify's space argument.
 */
export function stringifyDicomJson(json: DicomJsonObject, indent = 0): string {
  const pad = ' '.repeat(indent);
  const write = (value: unknown, depth: number): string => {
    if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
    const nl = indent > 0 ? `\n${pad.repeat(depth + 1)}` : '';
    const close = indent > 0 ? `\n${pad.repeat(depth)}` : '';
    const sep = indent > 0 ? ': ' : ':';
    if (Array.isArray(value)) {
      if (value.length === 0) return '[]';
      return `[${value.map((v) => nl + write(v, depth + 1)).join(',')}${close}]`;
    }
    const keys = Object.keys(value);
    if (keys.every((k) => TAG_KEY.test(k))) keys.sort();
    if (keys.length === 0) return '{}';
    const rec = value as Record<string, unknown>;
    return `{${keys.map((k) => `${nl}${JSON.stringify(k)}${sep}${write(rec[k], depth + 1)}`).join(',')}${close}}`;
  };
  return write(json, 0);
}
