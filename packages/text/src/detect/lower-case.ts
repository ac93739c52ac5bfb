/**
 * Values written in lower case inside ordinary mixed-case text (all-lowercase text is read truecased instead,
 * src/truecase.ts): the rules that lean on capitals miss them.
 *  - places: one to three lower-case words that the city and region lexicon holds as a phrase ("kristiansund n",
 *    "store merløse", "lycksele"), not English words, not clinical (a clinical ending does not count against a
 *    lexicon place of six letters or more: "castanhal"); a word no lexicon holds after a preposition of place
 *    ("met in vorukala"), shaped as a word and not as an abbreviation or a lab, drug or anatomy word;
 *  - names: a known first name, an optional initial, and a surname the lexicon knows or a word that is not English
 *    ("moira pagan", "john a. leiva", "brad l key"); a first name that is also a word ("john", "mark") needs the
 *    surname to be a real one, and a few clinical words are never first names here ("iris", "gene", "ray").
 */
import { LATIN_CLINICAL, SAFE_ACRONYMS, SAFE_PROPER } from '../lexicon/medical.ts';
import { lexicons } from '../lexicon/names.ts';
import type { Token } from '../tokens.ts';
import { PLACE_CUE_BEFORE } from '../truecase.ts';
import type { Span } from '../types.ts';
import { FUNCTION_WORDS, isEnglishWord, MEDICAL_ENDING } from './names.ts';
import { PLACE_PREFIX } from './place-compounds.ts';

/** Words a first-name list holds that are rarely first names in lower case (clinical, modal, abbreviations). */
export const NOT_FIRST = new Set([
  'iris',
  'gene',
  'ray',
  'major',
  'art',
  'will',
  'may',
  'bill',
  'sue',
  'max',
  'pat',
  'pt',
]);
/** Prepositions of place right before a word (not "to": drugs are switched to). */
const PLACE_PREPOSITIONS = new Set(['in', 'from', 'near', 'around', 'outside', 'inside', 'across']);
/** Words of travel before "to" ("flights to", "moved to"; not "switched to", which drugs follow). */
const TRAVEL_BEFORE_TO = new Set(
  'flight flights flew fly flying flies moved move moving moves travel travels travelled traveled travelling traveling trip trips drive drove driving went go going goes train bus ticket tickets return returned returning back relocated relocating emigrated shipped shipping headed heading commute commutes'.split(
    ' ',
  ),
);
/** Endings of place names ("camerontown", "mitchellstad", "garzaburgh", "ruizfort", "thomaschester"). */
const PLACE_ENDING =
  /(?:town|ville|burgh?|borough|bury|chester|stad|stadt|furt|haven|mouth|shire|port|fort|field|ford|berg|dorf|hausen|heim|ingen|fjord|grad|polis|abad|pur)$/;

/** Two vowels or more and not three consonants first: a word, not an abbreviation. */
const WORD_SHAPED = /^(?![^aeiouyáàâäãåæéèêëíìîïóòôöõøœúùûüýÿ]{3})(?:.*[aeiouyáàâäãåæéèêëíìîïóòôöõøœúùûüýÿ]){2}/u;
/** Endings of lab, drug and anatomy words that the English list lacks. */
const CLINICAL_SHAPE = /(?:ine|in|ase|ide|ate|ol|one|gen|oid|ism|ic|ous|ar|ae)$/;
const MONTHS_DAYS = /^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)/;

/** A token written in lower case (not capitalised, not in capitals, a lower-case letter first). */
function isLowerWord(t: Token | undefined): boolean {
  return t !== undefined && !t.cap && !t.allCaps && /^\p{Ll}/u.test(t.text);
}

/** A word that is no name or place in lower case: English, clinical (Latin or by ending), a safe proper noun or acronym. */
function isPlainWord(t: Token, lex: ReturnType<typeof lexicons>): boolean {
  return (
    isEnglishWord(t.lower, lex) ||
    LATIN_CLINICAL.has(t.lower) ||
    MEDICAL_ENDING.test(t.lower) ||
    SAFE_PROPER.has(t.lower) ||
    SAFE_ACRONYMS.has(t.text.toUpperCase())
  );
}

export function detectLowerCase(text: string, tokens: readonly Token[]): Span[] {
  if (!/\p{Lu}/u.test(text)) return [];
  const lex = lexicons();
  const out: Span[] = [];
  const lower = isLowerWord;
  const plain = (t: Token) => isPlainWord(t, lex);
  /** Plain without the clinical-ending test. */
  const plainWord = (t: Token) =>
    isEnglishWord(t.lower, lex) ||
    LATIN_CLINICAL.has(t.lower) ||
    SAFE_PROPER.has(t.lower) ||
    SAFE_ACRONYMS.has(t.text.toUpperCase());
  const spaced = (a: Token, b: Token) => /^\.?[ \t]$/.test(text.slice(a.end, b.start));
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!lower(t)) continue;
    // Places: the longest lexicon phrase of up to three lower-case words from here.
    let placeEnd = -1;
    let phrase = '';
    for (let k = i; k < Math.min(tokens.length, i + 3); k++) {
      const tk = tokens[k]!;
      if (k > i && (!lower(tk) || !/^[ \t-]$/.test(text.slice(tokens[k - 1]!.end, tk.start)))) break;
      phrase =
        k === i ? tk.lower.replace(/\.$/, '') : `${phrase}${text.slice(tokens[k - 1]!.end, tk.start)}${tk.lower}`;
      if (lex.cities.has(phrase)) placeEnd = k;
    }
    if (placeEnd >= 0) {
      const words = tokens.slice(i, placeEnd + 1);
      const letters = phrase.replace(/[^\p{L}]/gu, '').length;
      // A clinical ending does not outweigh the lexicon for a longer place name ("castanhal", "ankarsrum").
      const plainPlace = (w: Token) => (w.text.length < 6 ? plain(w) : plainWord(w));
      // English words too after a cue of residence or travel ("she lives in hart", "moved here from mill village").
      const cued =
        !MONTHS_DAYS.test(phrase) &&
        !words.every((w) => FUNCTION_WORDS.has(w.lower)) &&
        PLACE_CUE_BEFORE.test(text.slice(Math.max(0, t.start - 28), t.start));
      if (letters >= 4 && (cued || (!words.every(plainPlace) && !lex.first.has(phrase) && !MONTHS_DAYS.test(phrase)))) {
        out.push({
          start: t.start,
          end: words[words.length - 1]!.end,
          type: 'CITY',
          confidence: 0.6,
          rule: 'city.lower',
        });
        i = placeEnd;
        continue;
      }
    }
    // Names: first name, optional initial, surname.
    const fw = lex.first.get(t.lower);
    if (
      fw === undefined ||
      NOT_FIRST.has(t.lower) ||
      LATIN_CLINICAL.has(t.lower) ||
      FUNCTION_WORDS.has(t.lower) ||
      t.lower.length < 3
    )
      continue;
    const firstIsWord = isEnglishWord(t.lower, lex);
    if (firstIsWord && fw < 100) continue;
    let j = i + 1;
    const mid = tokens[j];
    if (mid && lower(mid) && /^\p{Ll}\.?$/u.test(mid.text) && spaced(t, mid)) j++;
    const s = tokens[j];
    if (!s || !lower(s) || !spaced(tokens[j - 1]!, s) || s.text.length < 3 || FUNCTION_WORDS.has(s.lower)) continue;
    if (LATIN_CLINICAL.has(s.lower)) continue;
    const lw = lex.last.get(s.lower);
    const sIsWord = isEnglishWord(s.lower, lex);
    const ok = sIsWord
      ? (lw ?? 0) > 0 && !MEDICAL_ENDING.test(s.lower)
      : !MEDICAL_ENDING.test(s.lower) || lw !== undefined;
    if (!ok || (firstIsWord && sIsWord)) continue;
    out.push({ start: t.start, end: s.end, type: 'NAME', confidence: 0.7, rule: 'name.lowerpair' });
    i = j;
  }
  return out;
}

/**
 * A place no lexicon holds, in lower case, after a preposition of place or a word of travel and "to" ("we met in
 * castanhal", "he grew up near riisa", "flights to sutri", "held in east stephenhaven"; a place prefix may stand
 * between), or without a cue a word of seven letters or more with the ending of a place name ("camerontown",
 * "south mitchellstad"): a word that is neither English nor clinical, of five letters or more, with a second such word or a
 * one-letter district after it ("københavn k"). Written like a word, not an abbreviation ("lvef", "nstemi": two
 * vowels, not three consonants first), not shaped like a clinical or chemical word ("creatinine", "axillae").
 * Used on mixed-case and all-lower-case text alike.
 */
export function detectCuedLowerPlaces(text: string, tokens: readonly Token[]): Span[] {
  const lex = lexicons();
  const out: Span[] = [];
  const lower = isLowerWord;
  const plain = (t: Token) => isPlainWord(t, lex);
  const spaced = (a: Token, b: Token) => /^[ \t]+$/.test(text.slice(a.fullEnd, b.start));
  const cueAt = (k: number): boolean => {
    const p = tokens[k];
    return (
      p !== undefined &&
      (PLACE_PREPOSITIONS.has(p.lower) || (p.lower === 'to' && TRAVEL_BEFORE_TO.has(tokens[k - 1]?.lower ?? '')))
    );
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.text.length < 5 || !lower(t)) continue;
    // The cue right before, or before a place prefix: "in east stephenhaven"; or no cue but the ending of a
    // place name ("camerontown", "south mitchellstad", "garzaburgh").
    let start = i;
    const pre = tokens[i - 1];
    const prefixed = pre !== undefined && lower(pre) && PLACE_PREFIX.has(pre.lower) && spaced(pre, t);
    if (PLACE_ENDING.test(t.lower) && t.text.length >= 7) {
      if (prefixed) start = i - 1;
    } else if (!(i > 0 && cueAt(i - 1) && spaced(tokens[i - 1]!, t))) {
      if (!(prefixed && i >= 2 && cueAt(i - 2) && spaced(tokens[i - 2]!, pre!))) continue;
      start = i - 1;
    }
    if (
      !WORD_SHAPED.test(t.lower) ||
      CLINICAL_SHAPE.test(t.lower) ||
      plain(t) ||
      !/^\p{Ll}+$/u.test(t.text) ||
      lex.first.has(t.lower) ||
      lex.last.has(t.lower) ||
      FUNCTION_WORDS.has(t.lower) ||
      MONTHS_DAYS.test(t.lower)
    )
      continue;
    let end = i;
    const n = tokens[i + 1];
    if (n && lower(n) && spaced(t, n) && (n.text.length === 1 || (!plain(n) && n.text.length >= 3))) end = i + 1;
    out.push({
      start: tokens[start]!.start,
      end: tokens[end]!.end,
      type: 'CITY',
      confidence: 0.6,
      rule: 'city.lower.cue',
    });
    i = end;
  }
  return out;
}
