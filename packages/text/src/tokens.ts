/**
 * Word tokens with their offsets, and the few facts about each that the rules share: capitalisation, whether the
 * word starts a sentence, and the possessive ending ("Smith's" is the word "Smith").
 */

export interface Token {
  /** the word without a possessive ending */
  text: string;
  lower: string;
  start: number;
  end: number;
  /** end including the possessive ending, when there is one */
  fullEnd: number;
  cap: boolean;
  allCaps: boolean;
  /** the first word of a sentence, a line or a quotation */
  sentenceStart: boolean;
  /** a single letter followed by a period, or a lone capital: "J." / "J" */
  initial: boolean;
}

const WORD_RE = /[\p{L}\p{M}][\p{L}\p{M}\p{N}]*(?:['’-][\p{L}\p{M}]+)*\.?/gu;

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  WORD_RE.lastIndex = 0;
  for (let m = WORD_RE.exec(text); m !== null; m = WORD_RE.exec(text)) {
    let word = m[0];
    const start = m.index;
    const fullEnd = start + word.length;
    let hasDot = false;
    if (word.endsWith('.')) {
      hasDot = true;
      word = word.slice(0, -1);
    }
    // Possessive: Smith's, Smith’s (Graves' is handled by the caller's look at the next char).
    const poss = /['’][sS]$/.exec(word);
    if (poss) word = word.slice(0, -2);
    const end = start + word.length;
    const first = word.charAt(0);
    const cap = first !== first.toLowerCase() && first === first.toUpperCase();
    const letters = word.replace(/[^\p{L}]/gu, '');
    const allCaps = letters.length >= 2 && letters === letters.toUpperCase() && letters !== letters.toLowerCase();
    out.push({
      text: word,
      lower: word.toLowerCase(),
      start,
      end,
      fullEnd: hasDot && !poss ? end : fullEnd,
      cap,
      allCaps,
      sentenceStart: isSentenceStart(text, start),
      initial: cap && letters.length === 1,
    });
  }
  return out;
}

/**
 * The index of the first token whose `key` (start or fullEnd; both grow in text order) is at or after `pos`, by
 * binary search; tokens.length when none.
 */
export function firstTokenFrom(tokens: readonly Token[], pos: number, key: 'start' | 'fullEnd' = 'start'): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]![key] < pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** True when only spaces, quotes or brackets stand between `pos` and the start, a line break or . ! ? : */
export function isSentenceStart(text: string, pos: number): boolean {
  for (let i = pos - 1; i >= 0; i--) {
    const c = text.charAt(i);
    if (c === ' ' || c === '\t' || c === '"' || c === '“' || c === '(' || c === "'" || c === '>' || c === '*') continue;
    return c === '\n' || c === '\r' || c === '.' || c === '!' || c === '?' || c === ':' || c === '-' || c === '•';
  }
  return true;
}
