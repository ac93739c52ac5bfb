/**
 * The features of the statistical name/place tagger (tagger.ts), shared by the engine and by the training script
 * (scripts/codegen/text-tagger.ts) so both read a token the same way. Each feature is a string hashed (FNV-1a) into
 * a fixed table of TAGGER_BUCKETS weights: the word, its shape, prefixes and suffixes, which lexicons hold it (and
 * how frequent it is as a US name), the two words on each side, where it stands in the sentence, and whether the
 * text is written all in lower case or the line all in capitals (the contexts where capitalisation says nothing).
 *
 * Lexicon membership is read from the Debian/faker sources only: the names and places taken from the development
 * corpus (_generated/corpus-dev.ts) are masked out, so the model learns from context and shape what the corpus
 * values taught the lexicons, and a cross-fold check over the development templates is not flattered by them.
 */
import { CORPUS_FIRST_NAMES, CORPUS_LAST_NAMES, CORPUS_PLACES } from '../lexicon/_generated/corpus-dev.ts';
import { LATIN_CLINICAL, SAFE_ACRONYMS, SAFE_PROPER } from '../lexicon/medical.ts';
import { type Lexicons, lexicons } from '../lexicon/names.ts';
import type { Token } from '../tokens.ts';

/** Size of the hashed weight table (per class). */
export const TAGGER_BUCKETS = 1 << 18;

/** The classes, in the order of the weight table. */
export const TAGGER_CLASSES = ['O', 'NAME', 'CITY'] as const;

interface Masked {
  lex: Lexicons;
  first: Set<string>;
  last: Set<string>;
  places: Set<string>;
}

let masked: Masked | undefined;

function lex(): Masked {
  if (masked) return masked;
  const l = lexicons();
  const set = (s: string) => new Set(s.split('|').map((x) => x.toLowerCase()));
  masked = { lex: l, first: set(CORPUS_FIRST_NAMES), last: set(CORPUS_LAST_NAMES), places: set(CORPUS_PLACES) };
  return masked;
}

/** FNV-1a over the feature string, folded into the table. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & (TAGGER_BUCKETS - 1);
}

/** "Smith" -> "Xx", "O'Neil" -> "X'Xx", "4B" -> "dX", "mcd" -> "x". */
function shape(w: string): string {
  let out = '';
  for (const ch of w) {
    const lo = ch.toLowerCase();
    const up = ch.toUpperCase();
    const c = lo !== up ? (ch === up ? 'X' : 'x') : ch >= '0' && ch <= '9' ? 'd' : /\p{N}/u.test(ch) ? 'd' : ch;
    if (out.charAt(out.length - 1) !== c) out += c;
  }
  return out.length > 5 ? out.slice(0, 5) : out;
}

/** A bucket of a name weight (US frequency per million; 0 = listed without frequency). */
function freq(w: number | undefined): string {
  if (w === undefined) return '-';
  if (w === 0) return '0';
  return w < 5 ? 'r' : w < 100 ? 'm' : 'c';
}

/** The lexicons and safe-lists a lower-cased word belongs to, as one short code ("F0L-W" etc.). */
const codeMemo = new Map<string, string>();

export function lexCode(lower: string): string {
  let memo = codeMemo.get(lower);
  if (memo === undefined) {
    memo = lexCodeUncached(lower);
    if (codeMemo.size > 50_000) codeMemo.clear();
    codeMemo.set(lower, memo);
  }
  return memo;
}

function lexCodeUncached(lower: string): string {
  const m = lex();
  const l = m.lex;
  const f = m.first.has(lower) && !l.first.get(lower) ? undefined : l.first.get(lower);
  const s = m.last.has(lower) && !l.last.get(lower) ? undefined : l.last.get(lower);
  const city = l.cities.has(lower) && !m.places.has(lower);
  let code = `F${freq(f)}L${freq(s)}`;
  if (city) code += 'C';
  if (l.words.has(lower)) code += 'W';
  if (l.countries.has(lower)) code += 'N';
  if (l.streetWords.has(lower)) code += 'S';
  if (isClinical(lower)) code += 'M';
  return code;
}

/** Clinical vocabulary of the safe-lists: the tagger never marks these. */
export function isClinical(lower: string): boolean {
  return SAFE_PROPER.has(lower) || LATIN_CLINICAL.has(lower) || SAFE_ACRONYMS.has(lower.toUpperCase());
}

/** Whether each token stands on a line written in capitals (two or more words, none with a lower-case letter). */
export function upperLines(text: string, tokens: readonly Token[]): boolean[] {
  const out = new Array<boolean>(tokens.length).fill(false);
  let i = 0;
  while (i < tokens.length) {
    const lineEnd = text.indexOf('\n', tokens[i]!.start);
    const end = lineEnd < 0 ? text.length : lineEnd;
    let j = i;
    let words = 0;
    let lower = false;
    while (j < tokens.length && tokens[j]!.start < end) {
      const t = tokens[j]!;
      if (/\p{Ll}/u.test(t.text)) lower = true;
      if (/\p{L}{2}/u.test(t.text)) words++;
      j++;
    }
    if (!lower && words >= 2) out.fill(true, i, j);
    i = j;
  }
  return out;
}

export interface FeatureOptions {
  /** the whole text has no capital (isLowercaseText) */
  lowerText: boolean;
  /** training only: tokens whose lexicon features are left out (so context and shape learn to stand alone) */
  dropLexicon?: (i: number) => boolean;
  /** upperLines(text, tokens), when the caller has it already */
  caps?: readonly boolean[];
}

/**
 * The hashed features of tokens[i] for each i in `which` (all tokens when omitted). Codes per token are computed
 * once and shared by the neighbours that read them.
 */
export function tokenFeatures(
  text: string,
  tokens: readonly Token[],
  options: FeatureOptions,
  which?: readonly number[],
): Map<number, number[]> {
  const caps = options.caps ?? upperLines(text, tokens);
  const codes = new Map<number, string>();
  const code = (k: number) => {
    let c = codes.get(k);
    if (c === undefined) {
      c = lexCode(tokens[k]!.lower);
      codes.set(k, c);
    }
    return c;
  };
  const word = (k: number) => (k < 0 ? '<s>' : k >= tokens.length ? '</s>' : tokens[k]!.lower);
  const shp = (k: number) => (k < 0 || k >= tokens.length ? '' : shape(tokens[k]!.text));
  const lc = (k: number) => (k < 0 || k >= tokens.length ? '' : code(k));
  const mode = options.lowerText ? 'low' : 'mix';
  const out = new Map<number, number[]>();
  const idx = which ?? tokens.map((_, k) => k);
  for (const i of idx) {
    const t = tokens[i]!;
    const w = t.lower;
    const sh = shape(t.text);
    const drop = options.dropLexicon?.(i) === true;
    const c = drop ? '?' : code(i);
    const line = caps[i] ? 'U' : mode;
    const gapBefore = i > 0 ? text.slice(tokens[i - 1]!.fullEnd, t.start).replace(/\s+/g, ' ') : '^';
    const gapAfter = i + 1 < tokens.length ? text.slice(t.fullEnd, tokens[i + 1]!.start).replace(/\s+/g, ' ') : '$';
    const f: string[] = [
      'b',
      `w=${w}`,
      `s=${sh}`,
      `sl=${sh}|${line}`,
      `p2=${w.slice(0, 2)}`,
      `p3=${w.slice(0, 3)}`,
      `x2=${w.slice(-2)}`,
      `x3=${w.slice(-3)}`,
      `x4=${w.slice(-4)}`,
      `len=${Math.min(w.length, 12)}`,
      `c=${c}`,
      `cs=${c}|${sh}`,
      `cl=${c}|${line}`,
      `csl=${c}|${sh}|${line}|${t.sentenceStart ? 1 : 0}`,
      `ss=${t.sentenceStart ? 1 : 0}|${sh}`,
      `poss=${t.fullEnd !== t.end && !text.slice(t.end, t.fullEnd).startsWith('.') ? 1 : 0}`,
      `gb=${gapBefore.slice(0, 3)}`,
      `ga=${gapAfter.slice(0, 3)}`,
      `w-1=${word(i - 1)}`,
      `w-2=${word(i - 2)}`,
      `w+1=${word(i + 1)}`,
      `w+2=${word(i + 2)}`,
      `w-2-1=${word(i - 2)}|${word(i - 1)}`,
      `w+1+2=${word(i + 1)}|${word(i + 2)}`,
      `w-1+1=${word(i - 1)}|${word(i + 1)}`,
      `s-1=${shp(i - 1)}|${line}`,
      `s+1=${shp(i + 1)}|${line}`,
      `s-1s+1=${shp(i - 1)}|${sh}|${shp(i + 1)}`,
      `c-1=${lc(i - 1)}`,
      `c+1=${lc(i + 1)}`,
      `c-1s=${lc(i - 1)}|${shp(i - 1)}|${c}`,
      `c+1s=${lc(i + 1)}|${shp(i + 1)}|${c}`,
      `w-1c=${word(i - 1)}|${c}`,
      `w+1c=${word(i + 1)}|${c}`,
      `w-1gb=${word(i - 1)}|${gapBefore.slice(0, 2)}`,
    ];
    out.set(
      i,
      f.map((s) => hash(s)),
    );
  }
  return out;
}
