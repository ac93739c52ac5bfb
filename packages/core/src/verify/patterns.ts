/**
 * Identifier patterns in free text that need no original to compare with: telephone numbers, e-mail addresses,
 * SSN-like numbers, a number after a cue word (MRN, Patient ID, Chart #), a person name after a cue word (Dr.,
 * Mrs., Patient:, Name:). Each pattern is tuned against the corpus to stay quiet on what de-identified headers
 * legitimately hold: UIDs and version strings (digits glued to dots are never a telephone number), modality words
 * (MR, MS and DR in capitals are magnetic resonance, multiple sclerosis and digital radiography, not titles).
 *
 * The cue finders also serve extractKnownIdentifiers: a name or MRN typed into a comment of the original becomes a
 * known value searched for everywhere in the output.
 *
 * Example:
 *   findPatterns('Call 555-123-4567 re Dr. Smith'); // [{ detector: 'phone', ... }, { detector: 'name-cue', ... }]
 */
import { maskLength, maskName } from './mask.ts';
import { memoize } from './memo.ts';

export interface PatternHit {
  readonly detector: 'phone' | 'email' | 'ssn' | 'mrn-cue' | 'name-cue';
  readonly code: string;
  /** The matched value (clear: callers mask it). */
  readonly value: string;
  readonly masked: string;
}

// (555) 123-4567, 555-123-4567, 555.123.4567, +1 555 123-4567: the last two groups joined by '-' or '.', never glued to
// digits, dots or letters (UIDs, versions, serial numbers).
const PHONE_NANP = /(?<![\w.+-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-]?)\d{3}[-.]\d{4}(?![\w.-]|\.\d)/g;
// +44 20 7946 0958, +33 1 23 45 67 89: a '+' and country code, then groups; 8 to 15 digits.
const PHONE_INTL = /(?<![\w+])\+\d{1,3}(?:[\s.-]\d{1,4}){2,6}(?![\w.-]|\.\d)/g;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
// Area 001-665, 667-899; group 01-99; serial 0001-9999 (the ranges the SSA issues).
const SSN = /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/g;

const MRN_CUE =
  /\b(?:MRN|MR\s*#|MR\s*No\.?|MR\s*Number|Med(?:ical)?\.?\s*Rec(?:ord)?s?\.?\s*(?:No\.?|Number|Num\.?|#)?|Patient\s*(?:ID|No\.?|Number|#)|Pat\.?\s*ID|Pt\.?\s*(?:ID|No\.?|#)|PID|Chart\s*(?:No\.?|Number|#)|Hospital\s*(?:No\.?|Number|#)|Unit\s*(?:No\.?|Number))\s*[:#=.]?\s*([A-Z]{0,4}-?\d[0-9A-Z-]{2,})(?![\w])/gi;

const NAME_WORD = "[A-Z][a-z'\u2019-]+";
const UPPER_WORD = "[A-Z][A-Z'\u2019-]+";
// A title, then a surname (or given name and surname). Mixed-case titles with or without a period; capital ones
// only with a period (MR, MS, DR alone are modalities and diseases).
const TITLE_CUE = new RegExp(
  `(?<![\\w])(?:(?:Dr|Doctor|Prof|Mr|Mrs|Ms|Miss)\\.?|(?:DR|PROF|MR|MRS|MS)\\.)[ \\t]+(${NAME_WORD}(?:[ \\t]+(?:[A-Z]\\.?[ \\t]+)?${NAME_WORD})?|${UPPER_WORD}(?:[ \\t]+${UPPER_WORD})?)(?![\\w])`,
  'g',
);
// A label with a colon, then a name of two words or more, or a PN-shaped value.
const LABEL_CUE = new RegExp(
  `(?<![\\w])(?:Patient(?:'s)?(?:[ \\t]+Name)?|PATIENT(?:[ \\t]+NAME)?|Pt(?:[ \\t]+Name)?|PT|Name|NAME)[ \\t]*[:=][ \\t]*(${NAME_WORD}(?:[ \\t]+[A-Z]\\.?)?[ \\t]+${NAME_WORD}|${UPPER_WORD},?[ \\t]+${UPPER_WORD}|[A-Z][A-Za-z'-]+\\^[A-Z][A-Za-z'^-]+)(?![\\w])`,
  'g',
);

/** Words that follow a cue without being a name ("Patient: Head First", "Dr. Office"). */
const NOT_NAMES = new Set([
  'ANONYMIZED',
  'ANONYMOUS',
  'UNKNOWN',
  'REDACTED',
  'REMOVED',
  'HEAD',
  'FEET',
  'FIRST',
  'SUPINE',
  'PRONE',
  'LEFT',
  'RIGHT',
  'OFFICE',
  'NOT',
  'NONE',
  'NA',
]);

function plausibleName(value: string): boolean {
  const words = value
    .toUpperCase()
    .split(/[\s,^.]+/)
    .filter((w) => w !== '');
  return words.length > 0 && !words.some((w) => NOT_NAMES.has(w));
}

function digitCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

// Cheap tests that rule a pattern out before its full expression runs (each is a necessary condition of it): the
// start of every title (Dr, Doctor, Prof, Mr, Mrs, Ms, Miss, in either case); a label word and its ':' or '='; the
// start of every MRN cue word (case-insensitive, like MRN_CUE).
const TITLE_START = /D[rRo]|P[rR]|M[rRsSi]/;
const LABEL_MARK = /[:=]/;
const LABEL_WORD = /Pat|PAT|Pt|PT|Name|NAME/;
const MRN_WORD = /mr|med|pat|pt|pid|chart|hospital|unit/i;

/** Person names written after a cue word. */
export function findCuedNames(text: string): readonly string[] {
  const title = TITLE_START.test(text);
  const label = LABEL_MARK.test(text) && LABEL_WORD.test(text);
  return title || label ? cuedNamesCached(text) : NONE;
}

const NONE: readonly string[] = [];

const cuedNamesCached = memoize((text: string): readonly string[] => {
  const out: string[] = [];
  if (TITLE_START.test(text)) for (const m of text.matchAll(TITLE_CUE)) if (plausibleName(m[1]!)) out.push(m[1]!);
  if (LABEL_MARK.test(text) && LABEL_WORD.test(text)) {
    for (const m of text.matchAll(LABEL_CUE)) if (plausibleName(m[1]!)) out.push(m[1]!);
  }
  return out;
});

function cuedIds(text: string, digits: number): string[] {
  const out: string[] = [];
  if (digits < 4 || !MRN_WORD.test(text)) return out;
  for (const m of text.matchAll(MRN_CUE)) if (digitCount(m[1]!) >= 4) out.push(m[1]!);
  return out;
}

/** Identifiers written after a cue word: four digits or more. */
export function findCuedIds(text: string): readonly string[] {
  return MRN_WORD.test(text) ? cuedIdsCached(text) : NONE;
}

const cuedIdsCached = memoize((text: string): readonly string[] => cuedIds(text, digitCount(text)));

/** Every pattern hit in a free-text value. */
export const findPatterns: (text: string) => readonly PatternHit[] = memoize(computePatterns);

function computePatterns(text: string): PatternHit[] {
  const hits: PatternHit[] = [];
  const seen = new Set<string>();
  const add = (detector: PatternHit['detector'], code: string, value: string, masked: string): void => {
    const k = `${detector}\0${value}`;
    if (seen.has(k)) return;
    seen.add(k);
    hits.push({ detector, code, value, masked });
  };
  // An SSN has nine digits, a telephone number ten or more.
  const digits = digitCount(text);
  if (digits >= 9) {
    for (const m of text.matchAll(SSN)) add('ssn', 'SSN_LIKE', m[0], maskLength(m[0]));
    for (const re of [PHONE_NANP, PHONE_INTL]) {
      for (const m of text.matchAll(re)) {
        const n = digitCount(m[0]);
        if (n < 10 || n > 15) continue;
        add('phone', 'PHONE_NUMBER', m[0], maskLength(m[0]));
      }
    }
  }
  if (text.includes('@')) for (const m of text.matchAll(EMAIL)) add('email', 'EMAIL_ADDRESS', m[0], maskLength(m[0]));
  for (const id of cuedIds(text, digits)) add('mrn-cue', 'ID_NEAR_CUE', id, maskLength(id));
  for (const name of findCuedNames(text)) add('name-cue', 'NAME_NEAR_CUE', name, maskName(name));
  return hits;
}
