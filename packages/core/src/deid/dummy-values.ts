/**
 * Dummy values for the D action (PS3.15: "replace with a non-zero length value that may be a dummy value and
 * consistent with the VR"), and the maximum lengths of text VRs (PS3.5 Table 6.2-1) that replacements must respect.
 *
 * The dummies carry no information: a fixed word for text, 1900-01-01 for dates, midnight for times, 0 for numbers.
 * UIDs are not dummies but remapped (pseudonym/uid.ts), so references stay consistent. Binary values of undefined
 * meaning (OB, OW, UN...) become empty: no dummy would be "consistent" with a format only the sender knows.
 *
 * Example:
 *   dummyText('PN'); // 'ANONYMIZED'
 *   dummyText('DA'); // '19000101'
 */

export const DUMMY_TEXT = 'ANONYMIZED';

const TEXT_DUMMIES: Readonly<Record<string, string>> = {
  AE: DUMMY_TEXT,
  AS: '000D',
  CS: DUMMY_TEXT,
  DA: '19000101',
  DS: '0',
  DT: '19000101000000',
  IS: '0',
  LO: DUMMY_TEXT,
  LT: DUMMY_TEXT,
  PN: DUMMY_TEXT,
  SH: DUMMY_TEXT,
  ST: DUMMY_TEXT,
  TM: '000000',
  UC: DUMMY_TEXT,
  UR: 'urn:x-veil:anonymized',
  UT: DUMMY_TEXT,
};

/** The dummy of a text VR (not UI), or undefined for binary VRs. */
export function dummyText(vr: string): string | undefined {
  return TEXT_DUMMIES[vr];
}

const BINARY_SIZE: Readonly<Record<string, number>> = { AT: 4, FD: 8, FL: 4, SL: 4, SS: 2, SV: 8, UL: 4, US: 2, UV: 8 };

/** One zero value of a fixed-size binary VR; empty for OB, OW, OF, OD, OL, OV, UN. */
export function dummyBinary(vr: string): Uint8Array {
  return new Uint8Array(BINARY_SIZE[vr] ?? 0);
}

const MAX_LENGTH: Readonly<Record<string, number>> = {
  AE: 16,
  AS: 4,
  CS: 16,
  DA: 8,
  DS: 16,
  DT: 26,
  IS: 12,
  LO: 64,
  LT: 10240,
  PN: 64,
  SH: 16,
  ST: 1024,
  TM: 16,
  UI: 64,
};

/** Maximum characters of one value of a text VR; Infinity for UC, UT, UR and unknown VRs. */
export function maxLength(vr: string): number {
  return MAX_LENGTH[vr] ?? Number.POSITIVE_INFINITY;
}

/** VRs whose values are free text an operator may type identities into. */
export const FREE_TEXT_VRS: ReadonlySet<string> = new Set(['LO', 'LT', 'SH', 'ST', 'UC', 'UT']);

/** VRs that take a text dummy in a sequence whose action is D. */
export const DUMMY_VRS: ReadonlySet<string> = new Set([
  'AE',
  'AS',
  'DA',
  'DT',
  'LO',
  'LT',
  'PN',
  'SH',
  'ST',
  'TM',
  'UC',
  'UR',
  'UT',
]);
