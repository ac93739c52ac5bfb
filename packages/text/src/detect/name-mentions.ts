/**
 * Names found once, used again: evidence from the other findings of the same text.
 *  - repeated mentions: a word of a confident name found elsewhere in the text is that name again wherever it
 *    stands ("directed by Brad L Key and starring Key", "Mr. nijito asano ... asano said"), in capitals or
 *    written as that name was; an English word ("Key", "White") only when capitalised and not starting a sentence;
 *  - lists: a word standing as an item of a list beside a found name is a name too when a name lexicon knows it
 *    ("our founders: Brad, Chise T. Horiguchi and Katrine Jørgensen", "White, eric g. samoylova and Zizi Kónya");
 *  - a first name before a lower-case name: a known first name that is also a word, which the name rules leave
 *    out in lower case, right before a found name ("ester garay lebrón").
 * Never a function word, a calendar word, a clinical safe-list word or a credential; never before a number
 * ("Ward 5").
 */
import { SAFE_ACRONYMS, SAFE_PROPER } from '../lexicon/medical.ts';
import { lexicons } from '../lexicon/names.ts';
import { firstTokenFrom, type Token } from '../tokens.ts';
import type { Span } from '../types.ts';
import { CALENDAR } from './dates.ts';
import { NOT_FIRST } from './lower-case.ts';
import { FUNCTION_WORDS, isEnglishWord, MEDICAL_ENDING, SUFFIXES, TITLES } from './names.ts';

/** A list separator right after an item, and right before one. */
const SEP_AFTER = /^(?:,[ \t]+(?:and[ \t]+|or[ \t]+|&[ \t]+)?|[ \t]+(?:and|or|&)[ \t]+)/;
const SEP_BEFORE = /(?:,[ \t]*|[ \t](?:and|or|&))[ \t]+$/;

export function detectNameMentions(text: string, tokens: readonly Token[], spans: readonly Span[]): Span[] {
  const names = spans.filter((s) => s.type === 'NAME' && s.confidence >= 0.7);
  if (names.length === 0) return [];
  const lex = lexicons();
  const cover = new Uint8Array(text.length + 1);
  for (const s of spans) if (s.confidence >= 0.5) cover.fill(1, s.start, s.end);
  const inName = new Uint8Array(text.length + 1);
  for (const s of names) inName.fill(1, s.start, s.end);
  const covered = (t: Token) => cover[t.start] === 1 || cover[t.end - 1] === 1;
  const never = (t: Token) =>
    t.text.length < 3 ||
    /\d/.test(t.text) ||
    FUNCTION_WORDS.has(t.lower) ||
    CALENDAR.has(t.lower) ||
    TITLES.has(t.lower) ||
    SUFFIXES.has(t.lower) ||
    SAFE_PROPER.has(t.lower) ||
    SAFE_ACRONYMS.has(t.text.toUpperCase()) ||
    lex.countries.has(t.lower) ||
    /^[ \t]*\d/.test(text.slice(t.fullEnd, t.fullEnd + 4));
  const out: Span[] = [];
  // Words of the confident names, by their lowercase form.
  const nameWords = new Set<string>();
  for (const t of tokens) {
    if (inName[t.start] !== 1 || inName[t.end - 1] !== 1 || t.initial || nameWords.has(t.lower) || never(t)) continue;
    nameWords.add(t.lower);
  }
  for (const t of tokens) {
    if (!nameWords.has(t.lower) || covered(t)) continue;
    const english = isEnglishWord(t.lower, lex);
    if (english && (!(t.cap || t.allCaps) || t.sentenceStart)) continue;
    if (!english && !(t.cap || t.allCaps) && MEDICAL_ENDING.test(t.lower)) continue;
    out.push({ start: t.start, end: t.end, type: 'NAME', confidence: 0.75, rule: 'name.mention' });
  }
  // List items beside a found name: one word between list separators (or the list's start or end).
  // The token starting (ending) at a position: tokens are in text order, so a binary search finds it.
  const find = (pos: number, key: 'start' | 'fullEnd'): number | undefined => {
    const i = firstTokenFrom(tokens, pos, key);
    return tokens[i]?.[key] === pos ? i : undefined;
  };
  const listItem = (i: number): boolean => {
    const t = tokens[i];
    if (t === undefined || covered(t) || never(t)) return false;
    if (!lex.first.has(t.lower) && !lex.last.has(t.lower)) return false;
    if (!(t.cap || t.allCaps) && (isEnglishWord(t.lower, lex) || MEDICAL_ENDING.test(t.lower))) return false;
    return true;
  };
  for (const s of names) {
    // Right: "<name>, Brad and ...", "<name> and White."
    const right = SEP_AFTER.exec(text.slice(s.end, s.end + 8));
    if (right) {
      const i = find(s.end + right[0].length, 'start');
      const t = i === undefined ? undefined : tokens[i];
      if (
        t &&
        listItem(i!) &&
        /^(?:[ \t]*(?:[,;.!?)]|and\b|or\b|&)|[ \t]*(?:\r?\n|$))/.test(text.slice(t.fullEnd, t.fullEnd + 6))
      )
        out.push({ start: t.start, end: t.end, type: 'NAME', confidence: 0.7, rule: 'name.list' });
    }
    // Left: "founders: Brad, <name>", "White and <name>".
    const left = SEP_BEFORE.exec(text.slice(Math.max(0, s.start - 8), s.start));
    if (left) {
      const at = s.start - left[0].length;
      const i = find(at, 'fullEnd');
      const t = i === undefined ? undefined : tokens[i];
      if (t && listItem(i!) && /(?:^|[,:;(]|\n|\band|\bor)[ \t]*$/.test(text.slice(Math.max(0, t.start - 6), t.start)))
        out.push({ start: t.start, end: t.end, type: 'NAME', confidence: 0.7, rule: 'name.list' });
    }
    // A lower-case name's first name, when it is also a word that the rules left out: "ester garay lebrón".
    if (/^\p{Ll}/u.test(text.charAt(s.start)) && text.charAt(s.start - 1) === ' ') {
      const i = find(s.start - 1, 'fullEnd');
      const t = i === undefined ? undefined : tokens[i];
      if (
        t &&
        !covered(t) &&
        !never(t) &&
        /^\p{Ll}+$/u.test(t.text) &&
        lex.first.has(t.lower) &&
        !NOT_FIRST.has(t.lower)
      )
        out.push({ start: t.start, end: s.end, type: 'NAME', confidence: s.confidence, rule: 'name.first-before' });
    }
  }
  return out;
}
