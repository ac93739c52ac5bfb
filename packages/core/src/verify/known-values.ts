/**
 * Searching the output's text for the original's identifying values (see known-identifiers.ts for what they are
 * and in which forms). Names, IDs, addresses and institutions are whole-word matches in the word form of each
 * value; telephone numbers are digit matches inside number-like runs; dates are every date written in the text,
 * in any common form, compared with the original's dates; UIDs inside text (a private header quoting the SOP
 * Instance UID) are compared whole.
 *
 * Example:
 *   const search = knownValueSearch(extractKnownIdentifiers(original));
 *   search({ text: 'XR CHEST for Douglas Davidson', binary: false, coded: false }); // [{ detector: 'known-name', code: 'KNOWN_PATIENT_NAME', ... }]
 */
import type { DetectorName } from './finding.ts';
import type { KnownIdentifiers, KnownNeedle } from './known-identifiers.ts';
import { maskLength } from './mask.ts';
import { datesInText, wordForm } from './normalize.ts';

export interface KnownHit {
  readonly detector: DetectorName;
  readonly code: string;
  readonly masked: string;
}

// A run that may be a telephone number: digits with the separators people write numbers with.
const NUMBER_RUN = /\+?\d[\d\s().\-/]{5,}\d/g;
const UID_TOKEN = /(?<![\d.])\d+(?:\.\d+){3,}(?![\d.])/g;

/** A function that returns the known values found in one text value. */
export interface SearchedText {
  readonly text: string;
  /** Printable runs of binary data: whole-value matches do not apply. */
  readonly binary: boolean;
  /** A coded value (CS...): name parts alone are not looked for (ImageType PRIMARY, ValueType TEXT). */
  readonly coded: boolean;
}

/** What most texts give: one frozen empty list (a caller that tried to add to it would throw, not leak). */
const NO_HITS = Object.freeze([]) as unknown as KnownHit[];

/** A word's first character (low 7 bits) and length (63 for longer): a filter, not a key (collisions only cost a lookup). */
function shapeOf(w: string, start: number, end: number): number {
  return (Math.min(end - start, 63) << 7) | (w.charCodeAt(start) & 0x7f);
}

export function knownValueSearch(known: KnownIdentifiers): (value: SearchedText) => KnownHit[] {
  const words: KnownNeedle[] = [];
  const compact: KnownNeedle[] = [];
  const digits: KnownNeedle[] = [];
  const whole: KnownNeedle[] = [];
  for (const n of known.needles) {
    if (n.match === 'words') words.push(n);
    else if (n.match === 'compact') compact.push(n);
    else if (n.match === 'digits') digits.push(n);
    else whole.push(n);
  }
  const dates = new Set(known.dates);
  const uids = new Set(known.uids.filter((u) => u.length >= 10));
  // A 'words' needle (' JOHN DOE ') can only occur in a word form that has its first word (JOHN) as a word: each
  // text is compared with the needles of its own words instead of all of them (a file has ~100 needles and ~100
  // text values).
  const byFirstWord = new Map<string, number[]>();
  // The first character and length of each first word: a word of the text that matches neither is not looked up
  // (most words of most texts), without cutting it out of the text first.
  const shapes = new Uint8Array(64 * 128);
  const unindexed: number[] = [];
  words.forEach((n, i) => {
    const end = n.text.indexOf(' ', 1);
    if (n.text[0] !== ' ' || end <= 1) {
      unindexed.push(i);
      return;
    }
    shapes[shapeOf(n.text, 1, end)] = 1;
    const first = n.text.slice(1, end);
    const list = byFirstWord.get(first);
    if (list) list.push(i);
    else byFirstWord.set(first, [i]);
  });

  return ({ text, binary, coded }) => {
    const hits: KnownHit[] = [];
    const w = wordForm(text);
    if (w !== '') {
      if (words.length > 0) {
        let candidates: number[] = unindexed;
        let start = 1;
        while (start < w.length) {
          const end = w.indexOf(' ', start);
          const list = shapes[shapeOf(w, start, end)] === 1 ? byFirstWord.get(w.slice(start, end)) : undefined;
          if (list) candidates = candidates === unindexed ? [...unindexed, ...list] : candidates.concat(list);
          start = end + 1;
        }
        // In needle order, once each: findings come out as a scan of every needle would give them.
        if (candidates !== unindexed && candidates.length > 1)
          candidates = [...new Set(candidates)].sort((a, b) => a - b);
        for (const i of candidates) {
          const n = words[i]!;
          if (w.includes(n.text) && !(coded && n.detector === 'known-name-part')) hits.push(n);
        }
      }
      if (compact.length > 0) {
        const c = w.replace(/ /g, '');
        for (const n of compact) if (c.includes(n.text)) hits.push(n);
      }
      if (!binary && whole.length > 0 && text.length <= 16) {
        const c = w.replace(/ /g, '');
        for (const n of whole) if (c === n.text) hits.push(n);
      }
    }
    if (digits.length > 0) {
      for (const m of text.matchAll(NUMBER_RUN)) {
        const d = m[0].replace(/\D+/g, '');
        for (const n of digits) if (d.includes(n.text)) hits.push(n);
      }
    }
    if (dates.size > 0) {
      for (const d of datesInText(text)) {
        if (dates.has(d)) hits.push({ detector: 'known-date', code: 'KNOWN_DATE_IN_TEXT', masked: maskLength(d) });
      }
    }
    if (uids.size > 0 && text.includes('.')) {
      for (const m of text.matchAll(UID_TOKEN)) {
        if (uids.has(m[0]))
          hits.push({ detector: 'original-uid', code: 'ORIGINAL_UID_IN_TEXT', masked: maskLength(m[0]) });
      }
    }
    if (hits.length === 0) return NO_HITS;
    // A whole name found: its parts alone add nothing.
    const named = hits.some((h) => h.detector === 'known-name');
    return hits
      .filter((h) => !(named && h.detector === 'known-name-part'))
      .map((h) => ({ detector: h.detector, code: h.code, masked: h.masked }));
  };
}
