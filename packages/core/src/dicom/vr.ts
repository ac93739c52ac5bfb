/**
 * Value representations (PS3.5 6.2): which VRs use the 4-byte explicit length form, which are text,
 * and how values are padded.
 */
export type VR = string;

/** VRs whose explicit VR encoding has 2 reserved bytes and a 32-bit length (PS3.5 7.1.2). */
const LONG_FORM = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/** Every VR of PS3.5 Table 6.2-1. */
export const KNOWN_VRS: readonly string[] = [
  'AE',
  'AS',
  'AT',
  'CS',
  'DA',
  'DS',
  'DT',
  'FD',
  'FL',
  'IS',
  'LO',
  'LT',
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'PN',
  'SH',
  'SL',
  'SQ',
  'SS',
  'ST',
  'SV',
  'TM',
  'UC',
  'UI',
  'UL',
  'UN',
  'UR',
  'US',
  'UT',
  'UV',
];
const KNOWN = new Set(KNOWN_VRS);

/** Text VRs whose bytes are decoded with the Specific Character Set. */
const CHARSET_TEXT = new Set(['LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT']);
/** Text VRs in the default repertoire only. */
const ASCII_TEXT = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'TM', 'UI', 'UR']);

const BINARY_SIZE: Record<string, number> = {
  AT: 4,
  FD: 8,
  FL: 4,
  SL: 4,
  SS: 2,
  SV: 8,
  UL: 4,
  US: 2,
  UV: 8,
  OB: 1,
  OD: 8,
  OF: 4,
  OL: 4,
  OV: 8,
  OW: 2,
};

export function isKnownVR(vr: string): boolean {
  return KNOWN.has(vr);
}

export function hasLongLength(vr: VR): boolean {
  return LONG_FORM.has(vr);
}

export function isTextVR(vr: VR): boolean {
  return CHARSET_TEXT.has(vr) || ASCII_TEXT.has(vr);
}

export function usesCharacterSet(vr: VR): boolean {
  return CHARSET_TEXT.has(vr);
}

/** Byte size of one value for fixed-size binary VRs (for byte swapping), undefined for text, SQ and UN. */
export function binaryUnitSize(vr: VR): number | undefined {
  return BINARY_SIZE[vr];
}

/** Padding byte for an odd-length value: NUL for UI and binary, space for text. */
export function paddingByte(vr: VR): number {
  return vr === 'UI' || BINARY_SIZE[vr] !== undefined || vr === 'UN' ? 0x00 : 0x20;
}

/** Header form of a two-letter VR code read from the stream: 0 unknown, 1 known with a 16-bit length, 2 known with a
 * 32-bit length. Indexed by (first byte << 8 | second byte), so the scanner needs no string per element. */
const VR_FORM = new Uint8Array(65536);
// Filled, not sparse: an array with a few entries set at indices up to 65535 is kept as a dictionary by V8 (a hash
// lookup per element scanned, ~2x the cost of an indexed read).
const VR_NAME: (string | undefined)[] = new Array<string | undefined>(65536).fill(undefined);
for (const vr of KNOWN) {
  const code = (vr.charCodeAt(0) << 8) | vr.charCodeAt(1);
  VR_FORM[code] = LONG_FORM.has(vr) ? 2 : 1;
  VR_NAME[code] = vr;
}

export function vrForm(b0: number, b1: number): number {
  return VR_FORM[(b0 << 8) | b1]!;
}

/** The VR string of a code (interned for known VRs). */
export function vrName(b0: number, b1: number): string {
  return VR_NAME[(b0 << 8) | b1] ?? String.fromCharCode(b0, b1);
}
