/**
 * A small statistical token tagger for person names and places, run after the rules on the words they left alone:
 * logistic regression (three classes: other, name, place) over hashed features (tagger-features.ts), trained by
 * packages/text/test/tagger-train.ts on the development half of the presidio corpus (its records and its templates
 * refilled with lexicon names and places, as written, in lower case and in capitals) plus clinical frames written
 * for it. It reaches what the rules cannot key on: a name that is also an English word in a lower-case text, a
 * place that is an English word with no cue, a name in a text written all in capitals (read as lower case).
 * It only adds findings. Never scored: a word inside a rule's finding, with a digit, on the medical safe-list, a
 * function word, a label before a colon, a country, an acronym or unit, a word in lower case that no name or place
 * lexicon lists, and an English word after a determiner or pronoun, before a number, on a line in capitals inside
 * mixed text, or at the start of a sentence. A word is marked when the model's probability reaches the
 * class's threshold (a higher one for English words); initials alone are dropped.
 * Opt-in (DetectOptions.tagger): on the presidio corpus's held-out half it found one name more and added seven
 * false positives, so the default engine is the rules alone.
 */
import { TAGGER_META, TAGGER_SCALE, TAGGER_WEIGHTS } from '../lexicon/_generated/tagger-weights.ts';
import { lexicons } from '../lexicon/names.ts';
import { type Token, tokenize } from '../tokens.ts';
import type { Span } from '../types.ts';
import { FUNCTION_WORDS, isEnglishWord } from './names.ts';
import { isClinical, TAGGER_BUCKETS, tokenFeatures, upperLines } from './tagger-features.ts';

/** A decoded model: per bucket, the name and place weights relative to "other" (int8, times `scale`). */
export interface TaggerModel {
  weights: Int8Array;
  scale: number;
  /** the probability a word needs to be marked, per class, and (at least) for an English word */
  thresholds: { name: number; city: number; english: number };
}

/** Decodes the compact form written by the trainer: varint bucket deltas, each followed by two int8 weights. */
export function decodeModel(base64: string, scale: number, thresholds: TaggerModel['thresholds']): TaggerModel {
  const bin = atob(base64);
  const weights = new Int8Array(TAGGER_BUCKETS * 2);
  let pos = 0;
  let bucket = -1;
  while (pos < bin.length) {
    let delta = 0;
    let shift = 0;
    for (;;) {
      const b = bin.charCodeAt(pos++);
      delta |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
    }
    bucket += delta;
    weights[bucket * 2] = (bin.charCodeAt(pos++) << 24) >> 24;
    weights[bucket * 2 + 1] = (bin.charCodeAt(pos++) << 24) >> 24;
  }
  return { weights, scale, thresholds };
}

let model: TaggerModel | undefined;

/** An English word, or a compound of English words ("action-comedy"). */
const english = (lower: string) => lower.split(/[-‐]/).every((w) => w === '' || isEnglishWord(w, lexicons()));

/** The committed model (decoded on first use). */
export function defaultTagger(): TaggerModel {
  model ??= decodeModel(TAGGER_WEIGHTS, TAGGER_SCALE, TAGGER_META.thresholds);
  return model;
}

/** [p(other), p(name), p(place)] for one token's features. */
export function classify(m: TaggerModel, features: readonly number[]): [number, number, number] {
  let zn = 0;
  let zc = 0;
  for (const h of features) {
    zn += m.weights[h * 2]!;
    zc += m.weights[h * 2 + 1]!;
  }
  zn *= m.scale;
  zc *= m.scale;
  const top = Math.max(0, zn, zc);
  const eo = Math.exp(-top);
  const en = Math.exp(zn - top);
  const ec = Math.exp(zc - top);
  const sum = eo + en + ec;
  return [eo / sum, en / sum, ec / sum];
}

/**
 * Words before which an English word is a common noun ("your boss", "this tone", "the royal") or a verb or adverb
 * ("i just", "she will"): subject pronouns, but not "you" ("thank you rose").
 */
const DETERMINERS = new Set(
  'a an the this that these those my your his her our their its some any no every each another such i he she we they it'.split(
    ' ',
  ),
);

/**
 * Words the tagger may mark: letters, no digit, outside every finding of the rules; not clinical vocabulary, not a
 * function word, not a label before a colon ("Phone:"), not an English word after a determiner.
 */
function candidates(
  text: string,
  tokens: readonly Token[],
  covered: readonly Span[],
  lowerText: boolean,
  caps: readonly boolean[],
): number[] {
  const out: number[] = [];
  const lex = lexicons();
  const sorted = [...covered].sort((a, b) => a.start - b.start);
  let j = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    while (j < sorted.length && sorted[j]!.end <= t.start) j++;
    let inside = false;
    for (let k = j; k < sorted.length && sorted[k]!.start < t.end; k++) if (sorted[k]!.end > t.start) inside = true;
    if (inside || (t.text.length < 2 && !t.initial) || /\d/.test(t.text) || isClinical(t.lower)) continue;
    if (FUNCTION_WORDS.has(t.lower) || /^[ \t]*:/.test(text.slice(t.fullEnd, t.fullEnd + 3))) continue;
    // Countries are not PHI; acronyms (PCP, LVEF, CTDIvol), units (mGy) and words of another script (TNF-α) are not names.
    if (lex.countries.has(t.lower) || (t.allCaps && !caps[i] && !lowerText)) continue;
    if (/\p{Ll}\p{Lu}|\p{Lu}{2}\p{Ll}/u.test(t.text) || /[^\p{Script=Latin}\p{M}'’.\-‐]/u.test(t.text)) continue;
    // A word in lower case has no capital to go by: only a listed name or place ("lvef", "ards" are not).
    if (!t.cap && !t.allCaps && !lex.first.has(t.lower) && !lex.last.has(t.lower) && !lex.cities.has(t.lower)) continue;
    const prev = tokens[i - 1];
    // An English word after a determiner is a common noun, after a pronoun a verb, before a number a label
    // ("Ward 5B"); on a line in capitals its capital says nothing, and at the start of a sentence (where the
    // model, trained on templates that often open with a name, is least reliable) it is left to the rules.
    const next = tokens[i + 1];
    if (
      english(t.lower) &&
      (caps[i] ||
        /^[ \t]*\d/.test(text.slice(t.fullEnd, t.fullEnd + 3)) ||
        (next && /\d/.test(next.text) && /^[ \t]+$/.test(text.slice(t.fullEnd, next.start))) ||
        t.sentenceStart ||
        (prev && DETERMINERS.has(prev.lower) && /^[ \t]+$/.test(text.slice(prev.fullEnd, t.start))))
    )
      continue;
    out.push(i);
  }
  return out;
}

/**
 * The tagger's findings on the words outside `ruleSpans`: runs of words of one class (joined across spaces, a
 * hyphen or an initial's period, never across a line break), rule `name.model` / `city.model`, with the mean
 * probability of their words as confidence.
 */
export function detectModel(
  text: string,
  tokens: readonly Token[],
  lowerText: boolean,
  ruleSpans: readonly Span[],
  m: TaggerModel = defaultTagger(),
): Span[] {
  // A text all in capitals says no more than one all in lower case, which the model knows far better: read its
  // lower-case copy (same offsets).
  if (!lowerText && !/\p{Ll}/u.test(text) && /\p{Lu}/u.test(text)) {
    const lower = text.toLowerCase();
    if (lower.length === text.length) return detectModel(lower, tokenize(lower), true, ruleSpans, m);
  }
  const caps = upperLines(text, tokens);
  const which = candidates(text, tokens, ruleSpans, lowerText, caps);
  if (which.length === 0) return [];
  const feats = tokenFeatures(text, tokens, { lowerText, caps }, which);
  const marks: { i: number; cls: 1 | 2; p: number }[] = [];
  for (const i of which) {
    const p = classify(m, feats.get(i)!);
    const floor = english(tokens[i]!.lower) ? m.thresholds.english : 0;
    if (p[1] >= Math.max(m.thresholds.name, floor) && p[1] >= p[2]) marks.push({ i, cls: 1, p: p[1] });
    else if (p[2] >= Math.max(m.thresholds.city, floor)) marks.push({ i, cls: 2, p: p[2] });
  }
  const out: Span[] = [];
  let run: { start: number; end: number; cls: 1 | 2; ps: number[]; last: number } | undefined;
  const flush = () => {
    if (!run) return;
    // Initials alone ("31 Y/O") are not a name.
    if (run.cls === 1 && run.ps.every((_, k) => tokens[run!.last - k]!.text.length < 2)) {
      run = undefined;
      return;
    }
    const conf = run.ps.reduce((a, b) => a + b, 0) / run.ps.length;
    out.push({
      start: run.start,
      end: run.end,
      type: run.cls === 1 ? 'NAME' : 'CITY',
      confidence: Math.min(0.95, conf),
      rule: run.cls === 1 ? 'name.model' : 'city.model',
    });
    run = undefined;
  };
  for (const k of marks) {
    const t = tokens[k.i]!;
    if (run && run.cls === k.cls && run.last === k.i - 1 && /^[ .\-‐]{1,3}$/.test(text.slice(run.end, t.start))) {
      run.end = t.end;
      run.ps.push(k.p);
      run.last = k.i;
      continue;
    }
    flush();
    run = { start: t.start, end: t.end, cls: k.cls, ps: [k.p], last: k.i };
  }
  flush();
  return out;
}
