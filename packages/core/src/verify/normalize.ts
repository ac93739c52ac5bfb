/**
 * The text forms values are compared in. Names, IDs and addresses are compared as words: accents dropped, upper
 * case, every run of characters that are not letters or digits one space, padded with a space on each side, so that
 * "Davidson, Douglas", "DAVIDSON^DOUGLAS" and "davidson douglas" are one form and a needle ' DOUGLAS DAVIDSON '
 * matches only whole words. Dates are found in text by their written forms and compared as YYYYMMDD.
 *
 * Example:
 *   wordForm('Davidson, Douglas');               // ' DAVIDSON DOUGLAS '
 *   datesInText('DOB 06/16/1976, seen 2013 Jul 13'); // ['19760616', '20130713'] (16/06 is no month: dropped)
 */

import { memoize } from './memo.ts';

// Printable ASCII and the usual whitespace; anything else (accents, other scripts, control bytes) takes the full path.
const ASCII = /^[\t\n\v\f\r -~]*$/;

/** The Unicode path of wordForm, memoised: NFKD and the property classes cost ten times the ASCII path. */
const unicodeWordForm = memoize((text: string): string =>
  padded(
    text
      .normalize('NFKD')
      .replace(/\p{M}+/gu, '')
      .toUpperCase()
      .replace(/[^\p{L}\p{N}]+/gu, ' ')
      .trim(),
  ),
);

function padded(s: string): string {
  return s === '' ? '' : ` ${s} `;
}

/** A UID value without its trailing NUL padding (checked first: most have none). */
export function stripNuls(v: string): string {
  return v.charCodeAt(v.length - 1) === 0 ? v.replace(/\0+$/, '') : v;
}

/** Upper case, accents dropped, separators collapsed to single spaces, padded: ' WORD WORD '; '' when no word. */
export function wordForm(text: string): string {
  // ASCII (most DICOM text) has no accents to drop and no letters outside A-Z: one pass over the text, which costs
  // less than a cache lookup of a fresh string would (and than upper-casing, then replacing by a pattern).
  return asciiWordForm(text) ?? unicodeWordForm(text);
}

/**
 * wordForm of printable ASCII with the usual whitespace (TAB, LF, VT, FF, CR); undefined for any other character
 * (accents, other scripts, control bytes, DEL), which takes the Unicode path.
 */
function asciiWordForm(text: string): string | undefined {
  // Long texts (reports) by patterns: one character code per argument would not fit a call.
  if (text.length > 4096) {
    return ASCII.test(text)
      ? padded(
          text
            .toUpperCase()
            .replace(/[^A-Z0-9]+/g, ' ')
            .trim(),
        )
      : undefined;
  }
  const codes: number[] = [];
  let gap = false;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    else if (c >= 0x7f || (c < 0x20 && (c < 0x09 || c > 0x0d))) return undefined;
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) {
      if (gap || codes.length === 0) codes.push(0x20);
      gap = false;
      codes.push(c);
    } else gap = true;
  }
  if (codes.length === 0) return '';
  codes.push(0x20);
  return String.fromCharCode.apply(null, codes);
}

/** The word form without spaces: for scripts written without spaces between words (山田太郎). */
export function compactForm(text: string): string {
  return wordForm(text).replace(/ /g, '');
}

/** Digits only. */
export function digitsOf(text: string): string {
  return text.replace(/\D+/g, '');
}

/** Month abbreviations and names, upper case, January first: the written date forms the gate and OCR checks read. */
export const MONTHS: readonly string[] = [
  'JAN',
  'FEB',
  'MAR',
  'APR',
  'MAY',
  'JUN',
  'JUL',
  'AUG',
  'SEP',
  'OCT',
  'NOV',
  'DEC',
];
export const MONTH_NAMES: readonly string[] = [
  'JANUARY',
  'FEBRUARY',
  'MARCH',
  'APRIL',
  'MAY',
  'JUNE',
  'JULY',
  'AUGUST',
  'SEPTEMBER',
  'OCTOBER',
  'NOVEMBER',
  'DECEMBER',
];

/** 1-12 for a month name or its 3-letter abbreviation (SEPT too), else 0. */
function monthOf(word: string): number {
  const w = word.toUpperCase().replace(/\.$/, '');
  if (w.length < 3) return 0;
  for (let i = 0; i < 12; i++) {
    if (w === MONTHS[i] || w === MONTH_NAMES[i] || (i === 8 && w === 'SEPT')) return i + 1;
  }
  return 0;
}

/** 'YYYYMMDD' when y/m/d is a calendar date, else undefined. */
export function ymd(y: number, m: number, d: number): string | undefined {
  if (!Number.isInteger(y) || y < 1 || y > 9999 || m < 1 || m > 12 || d < 1) return undefined;
  const dim = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (d > dim[m - 1]!) return undefined;
  return `${String(y).padStart(4, '0')}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}`;
}

/** The YYYYMMDD of a DA value or of the date part of a DT value; undefined for a partial or malformed one. */
export function dateOfValue(value: string, vr: string): string | undefined {
  const v = value.trim();
  const m = vr === 'DA' ? /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec(v) : /^(\d{4})(\d{2})(\d{2})/.exec(v);
  if (!m) return undefined;
  return ymd(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** Every date of a DA/DT value: multiple values and ranges ("A-B") split. */
export function datesOfValue(value: string, vr: string): string[] {
  const out: string[] = [];
  for (const v of value.split('\\')) {
    // A DT range separator is a '-' that does not start a UTC offset: split DA ranges always, DT on '-' followed by 4 digits.
    const parts = vr === 'DA' ? v.split('-') : v.split(/-(?=\d{4})/);
    for (const p of parts) {
      const d = dateOfValue(p, vr);
      if (d !== undefined) out.push(d);
    }
  }
  return out;
}

const NUMERIC_YMD = /(?<!\d)(\d{4})([-/.]?)(\d{1,2})\2(\d{1,2})(?!\d)/g;
const NUMERIC_XY_YEAR = /(?<!\d)(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})(?!\d)/g;
const MONTH_D_Y = /(?<![\p{L}])(\p{L}{3,9}\.?)\s*(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)/giu;
const D_MONTH_Y = /(?<!\d)(\d{1,2})(?:st|nd|rd|th)?[\s-]*(?:of\s+)?(\p{L}{3,9}\.?)[\s,-]*(\d{4})(?!\d)/giu;
const Y_MONTH_D = /(?<!\d)(\d{4})[\s-]*(\p{L}{3,9}\.?)[\s-]*(\d{1,2})(?!\d)/giu;

/**
 * The calendar dates written in a text, as YYYYMMDD: 19620304, 1962-03-04, 1962/3/4, 1962.03.04, 04/03/1962 and
 * 03/04/1962 (both readings), 04.03.1962, 3/4/62 (two-digit years read as 19yy and 20yy), March 4, 1962,
 * Mar 4 1962, 4 March 1962, 4-Mar-1962, 1962 Mar 04. Digits glued to other digits are not dates (a long number is
 * not a date); digits glued to letters are (an accession number that embeds the study date leaks it). Years outside
 * 1800-2199 are not taken as dates.
 */
export function datesInText(text: string): readonly string[] {
  // Every written form has a four-digit year not glued to other digits, or is eight digits alone (19620304), or has
  // a two-digit year after a slash (3/4/62): most text has none of them, and needs no cache lookup (pseudonyms and
  // codes with digits are unique per file: each would be a miss).
  return YEAR_RUN.test(text) || (text.includes('/') && TWO_DIGITS.test(text)) ? datesInTextCached(text) : NO_DATES;
}

const TWO_DIGITS = /\d\d/;
const YEAR_RUN = /(?<!\d)(?:\d{4}|\d{8})(?!\d)/;
const NO_DATES: readonly string[] = [];
const datesInTextCached = memoize(computeDatesInText);

function computeDatesInText(text: string): readonly string[] {
  const out = new Set<string>();
  // Years a person's date falls in; 0017 in "V7.4.0017" is a version, not a date.
  const add = (d: string | undefined): void => {
    if (d !== undefined && d >= '18000101' && d < '22000101') out.add(d);
  };
  for (const m of text.matchAll(NUMERIC_YMD)) {
    // Without separators only the full 8-digit form.
    if (m[2] === '' && (m[3]!.length !== 2 || m[4]!.length !== 2)) continue;
    add(ymd(Number(m[1]), Number(m[3]), Number(m[4])));
  }
  for (const m of text.matchAll(NUMERIC_XY_YEAR)) {
    const a = Number(m[1]);
    const b = Number(m[3]);
    const yText = m[4]!;
    // Two-digit years only with slashes: 1.2.03 is a version number far more often than a date.
    if (yText.length === 2 && m[2] !== '/') continue;
    const years = yText.length === 4 ? [Number(yText)] : [1900 + Number(yText), 2000 + Number(yText)];
    for (const y of years) {
      add(ymd(y, a, b));
      add(ymd(y, b, a));
    }
  }
  for (const m of text.matchAll(MONTH_D_Y)) add(ymd(Number(m[3]), monthOf(m[1]!), Number(m[2])));
  for (const m of text.matchAll(D_MONTH_Y)) add(ymd(Number(m[3]), monthOf(m[2]!), Number(m[1])));
  for (const m of text.matchAll(Y_MONTH_D)) add(ymd(Number(m[1]), monthOf(m[2]!), Number(m[3])));
  return [...out];
}
