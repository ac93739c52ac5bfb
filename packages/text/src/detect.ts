/**
 * detectPhi: every rule layer over one text, then overlap resolution. Pure and synchronous; the lexicons are
 * parsed on first use (about 50 ms once per process).
 *
 * Example:
 *   detectPhi('Seen by Dr. Ana Ortiz on 3/4/2021, MRN 4412-889.');
 *   // [{ start: 11, end: 19, type: 'NAME', ... }, { type: 'DATE', ... }, { type: 'ID', ... }]
 */

import { detectAddressBlocks } from './detect/address-block.ts';
import { detectDates } from './detect/dates.ts';
import { detectHouseNumbers } from './detect/house-numbers.ts';
import { compileKnown, detectKnown } from './detect/known.ts';
import { detectCuedLowerPlaces, detectLowerCase } from './detect/lower-case.ts';
import { detectNameMentions } from './detect/name-mentions.ts';
import { detectNames } from './detect/names.ts';
import { detectPatterns } from './detect/patterns.ts';
import { growPlaceCompounds } from './detect/place-compounds.ts';
import { detectPlaces, glueAddressParts } from './detect/places.ts';
import { growStreetParts } from './detect/street-parts.ts';
import { detectModel, type TaggerModel } from './detect/tagger.ts';
import { lexicons } from './lexicon/names.ts';
import { resolveSpans } from './spans.ts';
import { firstTokenFrom, type Token, tokenize } from './tokens.ts';
import { isLowercaseText, truecase } from './truecase.ts';
import type { KnownValue, PhiType, Span } from './types.ts';

export interface DetectOptions {
  /** Values known to be PHI (e.g. from the DICOM header). */
  known?: readonly KnownValue[];
  /** Drop findings under this confidence (default 0.5). */
  threshold?: number;
  /** Report only these types (default: all). */
  types?: readonly PhiType[];
  /**
   * The statistical name/place tagger after the rules (detect/tagger.ts): true runs the committed model, or pass a
   * model. Off by default: on the held-out half of the presidio corpus it found one more name but added seven false
   * positives (recall 0.969 -> 0.970, precision 0.973 -> 0.968), though the development folds showed none.
   */
  tagger?: TaggerModel | boolean;
}

const compiledKnown = new WeakMap<readonly KnownValue[], ReturnType<typeof compileKnown>>();

/**
 * Findings on a truecased copy need more than the raised capital: one word alone by its shape ("periventricular",
 * "asap" in a lowercase prompt) is dropped unless a cue or title found it or it is a known name or city; runs of
 * two or more words and street addresses with numbers stay.
 */
function supported(spans: Span[], tokens: readonly Token[]): Span[] {
  const lex = lexicons();
  return spans.filter((s) => {
    if (
      /^name\.(?:title|cue)$|^address\.(?:street|secondary|cue|numbered|corner)$|^zip|^city\.(?:state|residence)|^state\.abbr|^foreign/.test(
        s.rule,
      )
    )
      return true;
    // The tokens inside the span (tokens are in text order: binary search, not a scan per span, which was
    // quadratic on a long lower-case text with many findings).
    const k = firstTokenFrom(tokens, s.start);
    let n = 0;
    while (k + n < tokens.length && tokens[k + n]!.end <= s.end) n++;
    if (n !== 1) return n > 1;
    const tok = tokens[k]!;
    const w = tok.lower;
    // "max itzlinger": a word right after a known first name (also an English word) is its surname.
    const before = tokens[k - 1];
    if (s.type === 'NAME' && before && before.end + 1 === tok.start && lex.first.has(before.lower)) {
      s.start = before.start;
      return true;
    }
    return lex.first.has(w) || lex.last.has(w) || lex.cities.has(w);
  });
}

export function detectPhi(text: string, options: DetectOptions = {}): Span[] {
  const threshold = options.threshold ?? 0.5;
  const tokens = tokenize(text);
  const lowerText = isLowercaseText(tokens);
  const raw: Span[] = [
    ...detectPatterns(text),
    ...detectDates(text),
    ...detectPlaces(text, tokens, lowerText),
    ...detectNames(text, tokens),
    ...detectHouseNumbers(text),
    ...(lowerText ? [] : detectLowerCase(text, tokens)),
    ...detectCuedLowerPlaces(text, tokens),
  ];
  // All in lower case: the name and place rules also read a copy with the non-English words capitalised.
  const tc = lowerText ? truecase(text, tokens, lexicons()) : undefined;
  if (tc !== undefined) {
    const tcTokens = tokenize(tc);
    raw.push(...supported([...detectPlaces(tc, tcTokens, true), ...detectNames(tc, tcTokens)], tcTokens));
  }
  if (options.known && options.known.length > 0) {
    let c = compiledKnown.get(options.known);
    if (c === undefined && !compiledKnown.has(options.known)) {
      c = compileKnown(options.known);
      compiledKnown.set(options.known, c);
    }
    raw.push(...detectKnown(text, c));
  }
  raw.push(
    ...growStreetParts(
      text,
      raw.filter((s) => s.confidence >= threshold),
      lexicons(),
    ),
  );
  raw.push(
    ...growPlaceCompounds(
      text,
      raw.filter((s) => s.confidence >= threshold),
      lowerText,
    ),
  );
  raw.push(
    ...glueAddressParts(
      tc ?? text,
      raw.filter((s) => s.confidence >= threshold),
      lowerText,
    ),
  );
  raw.push(
    ...detectAddressBlocks(
      text,
      raw.filter((s) => s.confidence >= threshold),
    ),
  );
  raw.push(
    ...detectNameMentions(
      text,
      tokens,
      raw.filter((s) => s.confidence >= threshold),
    ),
  );
  if (options.tagger !== undefined && options.tagger !== false)
    raw.push(
      ...detectModel(
        text,
        tokens,
        lowerText,
        raw.filter((s) => s.confidence >= threshold),
        options.tagger === true ? undefined : options.tagger,
      ),
    );
  let spans = resolveSpans(raw, threshold);
  if (options.types) {
    const allowed = new Set(options.types);
    spans = spans.filter((s) => allowed.has(s.type));
  }
  return spans;
}
