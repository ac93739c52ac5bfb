/**
 * Places: street addresses (US "1668 Glyn St", European "Koskikatu 25", "Via Franscini 71", "Rue de Piétrain
 * 371"), secondary units (Apt., Suite, PO Box, military APO/FPO/DPO), cities (lexicon of many countries), US states
 * (names; abbreviations after "City,"), ZIP and postal codes next to an address, and hospitals and clinics.
 * "Room 4" and "Bed 12" are locations inside a hospital, not addresses: they are left alone.
 */

import { SAFE_ACRONYMS, SAFE_PROPER } from '../lexicon/medical.ts';
import { type Lexicons, lexicons } from '../lexicon/names.ts';
import type { Token } from '../tokens.ts';
import type { Span } from '../types.ts';
import { CALENDAR } from './dates.ts';
import { LineIndex } from './line-index.ts';
import { FUNCTION_WORDS, isEnglishWord } from './names.ts';

/** Street words written before the street's name ("Rue X", "Via X", "ul. X"). */
const PREFIX_STREET = new Set(
  'rue via viale vicolo piazza calle avenida avda rua travessa largo praça praca ul ulica al aleja plac avenue av bd boulevard chemin allée allee route rambla paseo carrer camino strada str'.split(
    ' ',
  ),
);
/** English street words (also from the lexicon) that may end a street name: "Crown Street", "Glyn St". */
const US_STREET = new Set(
  'street st avenue ave road rd lane ln drive dr boulevard blvd court ct place pl way terrace ter circle cir parkway pkwy highway hwy square sq trail trl alley crescent close grove gardens mews row walk loop path pike plaza run turnpike expressway freeway route estate estates heights park view hill hills ridge point crossing commons green'.split(
    ' ',
  ),
);
const SECONDARY_RE =
  /\b(?:(?:Apt|Apartment|Suite|Ste|Flat)\.?\s*#?\s*\d{1,5}[A-Za-z]?|Unit\s+#?\d{2,5}[A-Za-z]?(?:\s+Box\s+\d{1,5})?|P\.?\s?O\.?\s*Box\s+\d{1,6}|(?:Postbox|Postbus|Postboks|Postfach|Postfack|Apartado(?:\s+de\s+correos)?|Caixa\s+postal|Casilla|Bo[iî]te\s+postale|Skrytka(?:\s+pocztowa)?|Casella\s+postale)\.?\s+\d{1,6}|PSC\s+\d{1,5},?\s+Box\s+\d{1,5}|Box\s+\d{2,6}|(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+\d{5})\b/gi;
const HOSPITAL_RE =
  /\b(?:(?:St\.?|Saint|Mount|Mt\.?)\s+)?(?:[\p{Lu}][\p{L}'’&-]{0,40}\s+(?:(?:of|the|and|for|de|du|la)\s+)?){1,5}(?:Hospital|Hospitals|Clinic|Clinics|Medical\s+Cent(?:er|re)|Health\s+(?:System|Cent(?:er|re)|Services)|Healthcare|Infirmary|Hospice|Sanatorium|Nursing\s+Home|Rehabilitation\s+Cent(?:er|re)|Cancer\s+Cent(?:er|re)|Surgical\s+Cent(?:er|re)|Imaging\s+Cent(?:er|re)|Radiology|Polyclinic|Klinik|Klinikum|Hôpital|Hopital|Ospedale|Sjukhus|Sygehus|Sairaala|Kórház)\b/gu;
const HOSPITAL_OF_RE =
  /\b(?:Hospital|Clinic|Infirmary|Klinikum|Hôpital)\s+(?:of|de|du)\s+(?:the\s+)?(?:[\p{Lu}][\p{L}'’.-]*\s?){1,4}/gu;
const ADDRESS_CUE_RE =
  /\b(?:lives?|living|resides?|residing|located|enter|entrance|situated)\s+(?:on|at|in)\s+((?:the\s+)?(?:[\p{L}\p{N}'’./-]+[ \t]+){0,6}?\d{1,5}[A-Za-z]?\b\.?)|\b(?:address(?:\s+is)?\s*:?|(?:sen[dt]|send(?:s|ing)|ship(?:s|ped|ping)?|deliver(?:s|ed|ing)?|mail(?:s|ed|ing)?|post(?:ed)?|return(?:s|ed|ing)?|forward(?:s|ed|ing)?|bring|take)(?:\s+(?:it|them|this|that|these|everything|(?:the|my|our|your)\s+\p{L}+))?\s+to|(?:office|store|shop|house|home|restaurant|place|building|hotel|apartment|flat|caf[eé]|bar|pharmacy|bakery|school|church|clinic)\s+(?:is\s+)?(?:on|at)|office\s+is\s+at|meet\s+(?:me|you|us)\s+at|drops?\s+you\s+off\s+at|refers\s+to)\s+((?:[\p{L}\p{N}'’./-]+[ \t]+){0,6}?\d{1,5}[A-Za-z]?\b\.?)/giu;
const ADDRESS_LABEL_RE =
  /\b(?:(?:street|residence|domicile|addr)\.?[ \t]*:[ \t]*(?=\S)|address(?<!(?:e-?mail|ip|web|mac|url|email|internet|return)[ \t]?address)(?:[ \t]+(?:is|was|will[ \t]+be|(?:has[ \t]+)?changed[ \t]+to|is[ \t]+now)[ \t]*:?|[ \t]*:)[ \t]*(?=\S))/gi;
const CORNER_RE = /\b((?:the\s+)?corner\s+of\s+(?:[\p{L}\p{N}'’./-]+\s){1,6}?and\s+(?:[\p{L}'’.-]+\s?){1,4})/giu;
const POSTCODE_RE =
  /^(?:\d{5}(?:-\d{4})?|\d{4,5}-\d{3}|\d{2}-\d{3}|\d{3}\s\d{2}|\d{2}\s\d{3}|[A-Z]{1,2}-\d{4,5}|\d{4}\s?[A-Z]{2}|[A-Z]\d[A-Z]\s?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|\d{3,5})/;

const STREET_PARTICLE =
  /^(?:de|del|della|dei|degli|di|da|do|dos|das|du|des|la|le|les|el|al|e|y|van|der|den|dem|ten|op)$/;
const GERMAN_STREET_PREPOSITION = new Set(['am', 'im', 'zum', 'zur', 'beim', 'unter', 'hinter']);
/**
 * After a German preposition: an article (unter and hinter need one), a capitalised name, a house number that is
 * not a year ("Im Jahr 2019").
 */
const GERMAN_STREET_AFTER =
  /^[ \t]+((?:der|dem|den)[ \t]+)?([\p{Lu}][\p{Ll}äöüß-]+)[ \t]+(?!(?:19|20)\d\d(?!\d))\d{1,4}[a-z]?(?![\p{L}\d])/u;

function isStreetWord(
  t: Token,
  lex: Lexicons,
  next: Token | undefined,
  gapAfter = '',
  houseNumberBefore = false,
  text = '',
): 'prefix' | 'suffix' | 'compound' | undefined {
  const l = t.lower.replace(/\.$/, '');
  // German streets named with a preposition ("Am Märchen 12", "Im Bruch 598", "Unter dem Schildchen 54b"):
  // capitalised, a capitalised word that is not English (an article between) and a house number after.
  if (GERMAN_STREET_PREPOSITION.has(l)) {
    const m = t.cap ? GERMAN_STREET_AFTER.exec(textAfter(text, t)) : null;
    const ok =
      m !== null &&
      (m[1] !== undefined || (l !== 'unter' && l !== 'hinter')) &&
      !isEnglishWord(m[2]!.toLowerCase(), lex);
    return ok ? 'prefix' : undefined;
  }
  // "Rue X" is a prefix; "Pentelis Str." (no name after) is a suffix.
  if (PREFIX_STREET.has(l)) {
    // "Rue X", "Avenue du Golf", "rue du centre 320" are prefixes; "Pentelis Str." (nothing after) is a suffix.
    // Nothing after on its line ("Iroon Polytechniou Avenue\n Apt. 683"): a suffix. A lowercase word that is not
    // English may be the name ("Rue tachkent"; a number must then stand by, checked by the caller).
    const after =
      next !== undefined &&
      !/[\n,;]/.test(gapAfter) &&
      (next.cap || next.allCaps || STREET_PARTICLE.test(next.lower) || !t.cap || !lex.words.has(next.lower));
    return after ? 'prefix' : 'suffix';
  }
  // "PCP Dr. Nguyen", "St. Mary's": a title before a name, not a street ("1668 Glyn St. Springfield" has a house
  // number before it, "Thornton St Suite 451" no full stop).
  if (
    (l === 'dr' || l === 'st') &&
    next !== undefined &&
    (next.cap || next.allCaps) &&
    /^\.\s+$/.test(gapAfter) &&
    !houseNumberBefore
  ) {
    return undefined;
  }
  if (US_STREET.has(l)) return 'suffix';
  // Hungarian "u." (utca) between a street's name and its number: "Király u. 15."
  if (l === 'u') return /^\.\s{1,2}\d/.test(gapAfter) ? 'suffix' : undefined;
  // A street word of the lexicon that is not English, capitalised, before the street's name and its house number
  // on its line: the prefix layout of Italian, Spanish and French streets ("Incrocio Dolce 44", "Salida Rubén
  // Orozco 2", "Quai des Grands Augustins 12").
  if (
    lex.streetWords.has(l) &&
    t.cap &&
    !lex.words.has(l) &&
    (prefixLayoutAfter(lex, textAfter(text, t)) ||
      (numberRightBefore(text, t) &&
        /^[ \t]+(?:\p{Lu}|(?:de|des|du|la|le|da|do|del|di)[ \t])/u.test(textAfter(text, t))))
  )
    return 'prefix';
  if (lex.streetWords.has(l)) return 'suffix';
  // The same endings as words of their own, before a house number: "Lundgrens Väg 68", "Ole Rømers Vej 3".
  if (SHORT_STREET_WORD.test(l) && SHORT_STREET_NUMBER.test(textAfter(text, t))) return 'suffix';
  if (l.length >= 6 && !lex.words.has(l)) {
    const suffixes = suffixSet(lex);
    for (let n = 4; n <= Math.min(10, l.length - 3); n++) {
      if (suffixes.has(l.slice(-n))) return 'compound';
    }
    // Short endings, with the house number right after: "Elmevej 5", "Hauptstr. 69c", "Lundgrensväg 68".
    if (SHORT_STREET_ENDING.test(l) && SHORT_STREET_NUMBER.test(textAfter(text, t))) return 'compound';
  }
  return undefined;
}

/** Endings of street names too short for the lexicon's compound test, trusted only before a house number. */
const SHORT_STREET_ENDING = /(?:vej|gade|stræde|väg|veg|vei|str|tie|tee|park)$/;
const SHORT_STREET_WORD = /^(?:vej|gade|väg|veg|vei)$/;
/** A house number right after (a letter allowed: "68A"), not a decimal, a time or a fraction. */
const SHORT_STREET_NUMBER = /^\.?[ \t]{1,2}\d{1,5}[A-Za-z]?(?![\p{L}\d:/]|[.,]\d)/u;

/** The text after a token, as far as a street's name and number reach (read only by the rules that need it). */
function textAfter(text: string, t: Token): string {
  return text.slice(t.end, t.end + 64);
}

/** A house number (a letter allowed, a comma after) right before a token: "356 Quai", "12, Rue". */
function numberRightBefore(text: string, t: Token): boolean {
  return /(?<![\d.,:/])\d{1,5}[A-Za-z]?,?[ \t]+$/.test(text.slice(Math.max(0, t.start - 10), t.start));
}

/** One to three capitalised words or particles, then a house number, on the line after a street word. */
function prefixLayoutAfter(lex: Lexicons, afterText: string): boolean {
  const m =
    /^[ \t]+((?:[\p{Lu}][\p{L}'’.-]*,?[ \t]+|(?:de|del|della|dei|di|da|do|dos|das|du|des|la|le|les|el|y)[ \t]+){1,3})\d{1,5}[A-Za-z]?(?![\p{L}\d])/u.exec(
      afterText,
    );
  if (m === null) return false;
  // The name holds a word that is not English: "Salida Rubén Orozco 2", "Incrocio Dolce 44".
  const words = m[1]!.match(/\p{L}[\p{L}'’-]*/gu) ?? [];
  return words.some((w) => !lex.words.has(w.toLowerCase()));
}

/** Start of the line holding `pos`, looking back at most 160 characters (an address line is shorter). */
function lineStartNear(text: string, pos: number): number {
  const floor = Math.max(0, pos - 160);
  for (let i = pos - 1; i >= floor; i--) if (text.charCodeAt(i) === 10) return i + 1;
  return floor;
}

/**
 * The words of "lives on X 12" / "address: X 12" name a street: each is capitalised, a street word, a particle
 * or not English, and one at least is a street word or not English ("Sludevej 13", "Via dei Fiorentini 17",
 * "trg revolucije 17"); "lives at home with her husband and 2 dogs" and "return to clinic in 2 weeks" are not.
 */
function looksLikeStreet(phrase: string, lex: Lexicons): boolean {
  const words = (phrase.match(/[\p{L}][\p{L}'’-]*/gu) ?? []).filter((w) => w !== 'and');
  // A sentence ends inside: not one street. A dot after an abbreviation does not end it ("Alkenrather Str. 82c",
  // "os. Bochenek 37", "Theodor-Storm-Str. 47").
  for (const m of phrase.matchAll(/([\p{L}-]*)[.!?]\s/gu)) {
    const w = m[1]!.toLowerCase();
    if (!(w.length <= 4 || lex.streetWords.has(w) || /str$/.test(w))) return false;
  }
  if (words.length === 0) return /^\d{3,}/.test(phrase.trim()); // a house number alone: "at 8116 ..."
  if (/^\p{Ll}/u.test(words[0]!) && lex.words.has(words[0]!)) return false;
  let strong = false;
  for (const w of words) {
    const l = w.toLowerCase();
    const street = US_STREET.has(l) || PREFIX_STREET.has(l) || lex.streetWords.has(l);
    const english = lex.words.has(l) || SAFE_ACRONYMS.has(w.toUpperCase());
    if (street || !english) strong = true;
    if (!(street || !english || STREET_PARTICLE.test(l) || /^\p{Lu}/u.test(w))) return false;
  }
  return strong;
}

let stateFirstWords: Set<string> | undefined;
let cityFirstWords: Set<string> | undefined;

let suffixCache: Set<string> | undefined;
function suffixSet(lex: Lexicons): Set<string> {
  suffixCache ??= new Set(lex.streetSuffixes);
  return suffixCache;
}

export function detectPlaces(text: string, tokens: readonly Token[], lowerText = false): Span[] {
  const lex = lexicons();
  const out: Span[] = [];
  detectStreets(text, tokens, lex, out, lowerText);
  for (const m of text.matchAll(SECONDARY_RE))
    out.push({
      start: m.index,
      end: m.index + m[0].length,
      type: 'ADDRESS',
      confidence: 0.9,
      rule: 'address.secondary',
    });
  for (const m of text.matchAll(HOSPITAL_RE)) {
    let s = m.index;
    let v = m[0];
    const lead = /^(?:The|A|An|At|In|To|From|Our|Your|His|Her|Their)\s+/.exec(v);
    if (lead) {
      s += lead[0].length;
      v = v.slice(lead[0].length);
    }
    const generic = v.split(/\s+/).every((w) => lex.words.has(w.toLowerCase().replace(/[.'’]/g, '')));
    out.push({ start: s, end: s + v.length, type: 'HOSPITAL', confidence: generic ? 0.6 : 0.92, rule: 'hospital' });
  }
  for (const m of text.matchAll(HOSPITAL_OF_RE))
    out.push({
      start: m.index,
      end: m.index + m[0].trimEnd().length,
      type: 'HOSPITAL',
      confidence: 0.9,
      rule: 'hospital.of',
    });
  // After an address cue, the words up to a house number: "lives on Sludevej 13", "address:\n947 trg revolucije 17".
  for (const m of text.matchAll(ADDRESS_CUE_RE)) {
    let v = m[1] ?? m[2]!;
    let s = m.index + m[0].length - v.length;
    // Leading plain words are not the street: "the north side of Joaquin Suarez 2906", "with Serenade Opus 420".
    const lead = /^(?:\p{Ll}+\s+)+/u.exec(v);
    if (
      lead?.[0]
        .trim()
        .split(/\s+/)
        .every((w) => lex.words.has(w))
    ) {
      v = v.slice(lead[0].length);
      s += lead[0].length;
    }
    // "Hanne and ul. Miła 53": the number belongs to the last of two things.
    const and = v.lastIndexOf(' and ');
    if (and >= 0) {
      s += and + 5;
      v = v.slice(and + 5);
    }
    if (!looksLikeStreet(v, lex)) continue;
    out.push({ start: s, end: s + v.trimEnd().length, type: 'ADDRESS', confidence: 0.85, rule: 'address.cue' });
  }
  // After an address label ("My new address is ...", "Billing address: ..."), the value up to the end of its line
  // or sentence is the address, whatever its layout ("286 Agrippine des Francs-Bourgeois", "Bijldijk 211 II",
  // "1丁目9番8号"), when it holds a number.
  for (const m of text.matchAll(ADDRESS_LABEL_RE)) {
    const s = m.index + m[0].length;
    const v = labelValue(text.slice(s, s + 90));
    if (v.length < 3 || !/\p{N}/u.test(v) || /^(?:on file|unknown|not|none|n\/a)\b/i.test(v)) continue;
    out.push({ start: s, end: s + v.length, type: 'ADDRESS', confidence: 0.8, rule: 'address.label' });
  }
  // "the corner of X and Y": both streets.
  for (const m of text.matchAll(CORNER_RE)) {
    const s = m.index + m[0].length - m[1]!.length;
    out.push({ start: s, end: s + m[1]!.trimEnd().length, type: 'ADDRESS', confidence: 0.85, rule: 'address.corner' });
  }
  for (const m of text.matchAll(
    /\b(?:USS|USNS|USNV|USCGC)\s+[\p{Lu}][\p{L}'’-]+|\bC\/\s?(?:[\p{Lu}][\p{L}'’.-]*\s){1,4}\d{1,5}\b/gu,
  )) {
    out.push({ start: m.index, end: m.index + m[0].length, type: 'ADDRESS', confidence: 0.85, rule: 'address.other' });
  }
  // "20789 Allika 46", "5049 Harjukuja 54": a house or postal number, capitalised words, a number.
  for (const m of text.matchAll(
    /(?<![\w.,-])\d{3,6}[ \t]+[\p{Lu}][\p{L}'’-]+(?:[ \t]+(?:[\p{L}'’-]+|\p{L}{1,3}\.)){0,3}[ \t]+\d{1,5}[A-Za-z]?\b\.?/gu,
  )) {
    out.push({
      start: m.index,
      end: m.index + m[0].length,
      type: 'ADDRESS',
      confidence: 0.8,
      rule: 'address.numbered',
    });
  }
  /** The postal code m[1] after `words` (lower case), when their last one to all of them name a country. */
  const zipAfterCountry = (m: RegExpExecArray, words: readonly string[]): void => {
    if (!words.some((_, k) => lex.countries.has(words.slice(k).join(' ')))) return;
    const s = m.index + m[0].length - m[1]!.length;
    out.push({ start: s, end: s + m[1]!.length, type: 'ZIP', confidence: 0.85, rule: 'zip.country' });
  };
  // A postal code after a country name ends an address block: "Estonia 62488". The number is found first and the
  // last one to six capitalised words before it are read (one regex over the whole capitalised run rescanned it
  // from every word: quadratic on a long run of capitals with no number after it); any of their last words may
  // name the country ("Tartu Estonia 62488").
  for (const m of text.matchAll(/(?<=[\p{L})])[ \t]+(\d{3,6}(?:[ -]\d{2,4})?)\b/gu)) {
    const before = /([\p{Lu}][\p{L}]+(?: [\p{Lu}][\p{L}]+){0,5})(?: \([\p{L}]+\))?$/u.exec(
      text.slice(Math.max(0, m.index - 120), m.index),
    );
    if (before === null) continue;
    zipAfterCountry(m, before[1]!.toLowerCase().split(' '));
  }
  // The same in lower case inside mixed-case text ("tawastintie 6, sé, portugal 41086"): the last one to three
  // words before the number name a country.
  for (const m of text.matchAll(/[a-z)][ \t]+(\d{3,6}(?:[ -]\d{2,4})?)\b/g)) {
    if (/^(?:19|20)\d\d$/.test(m[1]!)) continue; // "spain 2020" is a year
    const before = /(\p{Ll}+(?: \p{Ll}+){0,2})(?: \(\p{L}+\))?$/u.exec(
      text.slice(Math.max(0, m.index - 40), m.index + 1),
    );
    if (!before) continue;
    zipAfterCountry(m, before[1]!.split(' '));
  }
  detectCitiesStates(text, tokens, lex, out);
  detectResidence(text, lex, out);
  detectForeignScript(text, lex, out);
  return out;
}

/** Where someone lives, comes from or travels to: the capitalised words after are a place. */
const RESIDENCE_CUE_RE =
  /\b(?:originally\s+from|(?:i\s+am|i['’]m|we\s+are|we['’]re|he\s+is|he['’]s|she\s+is|she['’]s|they\s+are|comes?|came)\s+from|(?:moved|moving|relocated|came|come|travell?ed|flew|drove|arrived|emigrated|immigrated)\s+(?:here\s+|over\s+|down\s+|up\s+|back\s+|in\s+)?from|(?:live|lives|living|lived|reside|resides|residing|resided|born|raised|grew\s+up|based|settled|stationed|staying)\s+(?:(?:alone|together|nearby|now|still|here|there|mostly)\s+)?in|(?:greetings|visiting|visitors?|postcards?|flights?|transferred|transfers?|shipped|imported|returned|returning|evacuated)\s+from|(?:flights?|trains?|buses|delayed|departing|departed|leaving|left)\s+(?:out\s+of|from)|(?:commutes?|commuting|travels?|shuttles?)\s+between|(?:moved|moving|move|relocated|relocating|emigrated|immigrated|travell?ed|travell?ing|trip|vacation|holiday|flew|fly|flying|drove|driving|returned|returning|went|going|headed|heading|back|commute|commuting|transferred|transfer)\s+to|(?:arrived|arriving|located|visiting|stuck|stranded|vacationing|working|work|works|worked|studied|studying)\s+in|visit(?:ed|ing)?|(?:city|town|village|municipality)\s+of|(?:city|town|village|municipality|birthplace|place\s+of\s+birth|hometown)\s*:|(?:weather|office|offices|branch|currently|now)\s+in|native\s+of|resident\s+of|hometown\s+(?:is\s+)?|(?:i\s+am|i['’]m|we\s+are|we['’]re)\s+in)\s+(?:the\s+)?/giu;
const PLACE_WORDS_RE =
  /^(?:[\p{Lu}][\p{L}\p{M}'’.-]*)(?:[ -](?:[\p{Lu}][\p{L}\p{M}'’.-]*|(?:u|nad|pod|na|de|do|da|la|le|am|an|im|sur|en|di|del|of|on|upon)(?=[ -][\p{Lu}])))*(?:[ \t]\d{1,2}(?=[,.;:!?)]|\s*$))?/u;

/** A month or weekday inside the words after a cue of residence (with "on", "of" or "in" before it). */
const CALENDAR_AFTER_PLACE = new RegExp(`[ -](?:(?:on|of|in)[ -])?(?:${[...CALENDAR].join('|')})\\b`, 'i');

/**
 * "originally from PORT O' WARREN", "I am in Store Merløse", "lives in Cheb 2": the capitalised words after a cue
 * of residence or travel name a place. Months, weekdays, countries' own rules and clinical acronyms are left out.
 */
function detectResidence(text: string, lex: Lexicons, out: Span[]): void {
  for (const m of text.matchAll(RESIDENCE_CUE_RE)) {
    const s = m.index + m[0].length;
    const v = PLACE_WORDS_RE.exec(text.slice(s, s + 64));
    if (v === null) continue;
    let value = v[0].replace(/[.!?]\s.*$/su, '').replace(/[.'’-]+$/, '');
    // A date after the place is not part of it: "transferred from Massachusetts General Hospital on March 3rd".
    const calendar = CALENDAR_AFTER_PLACE.exec(value);
    if (calendar) value = value.slice(0, calendar.index);
    const words = value.split(/[ -]/).filter((w) => /\p{L}/u.test(w));
    if (words.length === 0 || words.length > 5) continue;
    const first = words[0]!.toLowerCase();
    if (
      /^(?:january|february|march|april|may|june|july|august|september|october|november|december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|i)$/.test(
        first,
      )
    )
      continue;
    if (words.every((w) => SAFE_ACRONYMS.has(w.toUpperCase()) || SAFE_PROPER.has(w.toLowerCase()))) continue;
    const plain = words.every((w) => lex.words.has(w.toLowerCase()));
    // Plain English words ("Mill Village", but also "Oncology") only after a cue of where someone lives or was born.
    // ...or when the last word names a kind of place ("returned to Mill Village").
    if (
      plain &&
      !/^(?:originally|born|raised|grew|native|resident|hometown|lives?|living|lived|resid)/i.test(m[0].trim()) &&
      !/^(?:village|falls|springs|heights|beach|harbou?r|creek|valley|city|town|township|bay|junction|mills|hills)$/i.test(
        words[words.length - 1]!,
      )
    )
      continue;
    // A place's own lower-case ending up to the end of the clause ("Settimo Ludano umbro",
    // "Agostina terme", "Colle sul mare"): a word that is not English, or a particle and any word.
    let end = s + value.length;
    const tail =
      /^[ \t]((?:(?:sul|al|di|de|do|da|del|sur|am|an|im|nel|na)[ \t])?\p{Ll}[\p{Ll}'’]{2,})(?=[ \t]*(?:[,.;!?)]|$)|[ \t]+(?:for|last|next|this|today|tomorrow|yesterday|now|and|but|with|since|until)\b)/u.exec(
        text.slice(end, end + 32),
      );
    if (
      tail &&
      value.length === v[0].length &&
      (/^(?:sul|al|di|de|do|da|del|sur|am|an|im|nel|na)[ \t]/.test(tail[1]!) || !isEnglishWord(tail[1]!, lex))
    )
      end += tail[0].length;
    out.push({
      start: s,
      end,
      type: 'CITY',
      confidence: plain ? 0.6 : 0.8,
      rule: 'city.residence',
    });
  }
}

const NON_LATIN =
  '\\p{Script=Greek}\\p{Script=Cyrillic}\\p{Script=Armenian}\\p{Script=Georgian}\\p{Script=Hebrew}\\p{Script=Arabic}\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}\\p{Script=Thai}\\p{Script=Devanagari}\\p{Script=Thaana}\\p{Script=Bengali}\\p{Script=Tamil}\\p{Script=Telugu}\\p{Script=Gujarati}\\p{Script=Gurmukhi}\\p{Script=Kannada}\\p{Script=Malayalam}\\p{Script=Sinhala}\\p{Script=Khmer}\\p{Script=Lao}\\p{Script=Myanmar}\\p{Script=Ethiopic}\\u2206';
const FOREIGN_RUN_RE = new RegExp(
  `(?<![\\p{L}-])[${NON_LATIN}](?:[${NON_LATIN}\\p{M}'’.-]|[A-Za-z0-9]+(?=[${NON_LATIN}]))*(?:[ \\t]+(?:\\([${NON_LATIN}\\p{M} ]+\\)|[${NON_LATIN}](?:[${NON_LATIN}\\p{M}'’.-]|[A-Za-z0-9]+(?=[${NON_LATIN}]))*))*(?![\\p{L}]|-\\p{L})`,
  'gu',
);

/**
 * The value after an address label: up to a line end, a semicolon or a full stop that ends a sentence (not the dot
 * of an abbreviation: "ქ. 37", "Seifertstr. 182", "r. macedo"), at most 80 characters, trimmed.
 */
function labelValue(rest: string): string {
  const line = /^[^\n;]{0,80}/.exec(rest)![0];
  for (const m of line.matchAll(/\.(?=\s|$)/g)) {
    const before = line.slice(0, m.index);
    if (/(?:^|[\s.])(?:\p{L}{1,3}|\p{L}*str)$/iu.test(before)) continue;
    return before.trimEnd();
  }
  return line.trimEnd();
}

/**
 * In a text written in the Latin script, words of another script ("ΚΑΤΩ ΠΟΛΕΜΙ∆ΙΑ", "πεντέλης", "Москва") are
 * proper nouns: names of people, streets or places. Runs of three letters or more are reported (a lone α, β or
 * μ is a clinical symbol); "∆" (the increment sign, used for a Greek capital delta) counts as a letter. A text
 * mostly in another script is that script's own language and is left to the other rules.
 */
function detectForeignScript(text: string, lex: Lexicons, out: Span[]): void {
  if (!/[\u0250-\uffff]/.test(text)) return; // fast path: Latin only
  const latin = (text.match(/\p{Script=Latin}/gu) ?? []).length;
  const letters = (text.match(/\p{L}/gu) ?? []).length;
  // A short English sentence around a long foreign value ("I live at Λεωφόρος Κηφισίας 45") is still English:
  // two English words of two letters or more are enough.
  // So is a label before a short one ("Address: Πλατεία Συντάγματος 204", "City: يافا"): the only Latin word.
  if (latin < letters * 0.6) {
    let english = 0;
    let label = false;
    let words = 0;
    for (const w of text.matchAll(/(?<![\p{L}])[A-Za-z]{2,}(?![\p{L}])/gu)) {
      words++;
      if (!lex.words.has(w[0].toLowerCase())) continue;
      if (++english >= 2) break;
      label = /^[ \t]*:/.test(text.slice(w.index + w[0].length, w.index + w[0].length + 3));
    }
    if (english < 2 && !(label && words === 1 && letters - latin <= 40)) return;
  }
  for (const m of text.matchAll(FOREIGN_RUN_RE)) {
    const v = m[0].replace(/[.'’-]+$/, '');
    // Greek letters alone are symbols (α, β, μg, TNF-α): three or more; other scripts' words may be two ("樹区").
    // One Han or Hangul letter is a surname after a title or a name label ("Ms. 김", "Surname: 穆").
    const min = /[\p{Script=Greek}\u2206]/u.test(v)
      ? 3
      : /^[\p{Script=Han}\p{Script=Hangul}]$/u.test(v) &&
          /(?:\b(?:mr|mrs|ms|miss|dr|prof)\.?|name)[ \t]*:?[ \t]*$/i.test(
            text.slice(Math.max(0, m.index - 16), m.index),
          )
        ? 1
        : 2;
    if ((v.match(/[\p{L}\u2206]/gu) ?? []).length < min) continue;
    const caps = v === v.toUpperCase();
    // A house number beside it makes it a street: "Λεωφόρος Κηφισίας 45", "ул. Ленина, 15", "0605 πεντέλης".
    let start = m.index;
    let end = m.index + v.length;
    const after = /^[ \t]*,?[ \t]*(?:(?:№|д\.|дом|бул\.|κτ\.)[ \t]*)?\d{1,5}[\p{L}]?(?:[/-]\d{1,4})?(?![\p{N}])/u.exec(
      text.slice(end, end + 16),
    );
    const before = /(?<![\p{L}\p{N}])\d{1,5}[ \t]+$/u.exec(text.slice(Math.max(0, start - 8), start));
    if (after) end += after[0].length;
    if (before) start -= before[0].length;
    out.push({
      start,
      end,
      type: after || before ? 'ADDRESS' : caps && min > 1 ? 'CITY' : 'NAME',
      confidence: 0.75,
      rule: 'foreign-script',
    });
  }
}

/**
 * All in lower case: "3911 fourth avenue" (a house number of two digits or more, one to three words, the street
 * word) starts at the number; not "a 6 minute walk" nor "10 minute drive". -1 when there is none.
 */
function lowerHouseNumber(text: string, lineStart: number, t: Token): number {
  const low = /(\d{2,6}[a-z]?)\s+((?:\p{Ll}[\p{Ll}'’.-]*\s+){1,3})$/u.exec(
    text.slice(Math.max(lineStart, t.start - 48), t.start),
  );
  if (
    low === null ||
    /\b(?:minutes?|mins?|hours?|hrs?|miles?|km|blocks?|days?|weeks?|way|lanes?|times?|metres?|meters?|feet|ft|yards?|steps?)\b/.test(
      low[2]!,
    )
  )
    return -1;
  return t.start - low[0].length;
}

function detectStreets(text: string, tokens: readonly Token[], lex: Lexicons, out: Span[], lowerText: boolean): void {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.text.length < 2 && t.lower !== 'u') continue;
    const nextTok = tokens[i + 1];
    const kind = isStreetWord(
      t,
      lex,
      nextTok,
      nextTok ? text.slice(t.end, nextTok.start) : text.slice(t.end, t.end + 8),
      /\d+[A-Za-z]?\s+(?:[\p{L}'’-]+\s+){0,3}$/u.test(text.slice(Math.max(0, t.start - 40), t.start)),
      text,
    );
    if (kind === undefined) continue;
    const lineStart = lineStartNear(text, t.start);
    let start = t.start;
    let end = t.end;
    let hasNumber = false;
    let named = kind === 'compound';
    let lowerName = false;
    if (kind === 'suffix') {
      // Words before: up to 4 name words, then a house number.
      let k = i - 1;
      while (k >= 0 && i - k <= 4) {
        const p = tokens[k]!;
        if (p.start < lineStart || !/^\s{1,2}$/.test(text.slice(p.fullEnd, tokens[k + 1]!.start))) break;
        if (!(p.cap || p.allCaps || /^\d/.test(p.text))) break;
        start = p.start;
        named = true;
        k--;
      }
      const before = text.slice(Math.max(lineStart, start - 12), start);
      // Not the year of a date ("7/30/1964 AND IS DOING WELL").
      const num = /(?<!\d[/.-]\d{1,2}[/.-])(?<!\d)(\d{1,6}[A-Za-z]?)\s+$/.exec(before);
      if (num) {
        start -= num[0].length;
        hasNumber = true;
      } else if (lowerText && !named && !t.cap) {
        const ls = lowerHouseNumber(text, lineStart, t);
        if (ls >= 0) {
          start = ls;
          hasNumber = true;
          named = true;
        }
      }
      if (!t.cap && !t.allCaps && !(named && (hasNumber || /^\.?\s{1,2}\d/.test(text.slice(t.end, t.end + 6)))))
        continue;
    } else if (kind === 'prefix') {
      // Words after: the street's name (particles allowed), up to 5 words.
      let k = i + 1;
      while (k < tokens.length && k - i <= 5) {
        const n = tokens[k]!;
        if (
          !/^[\s.]{1,2}$/.test(text.slice(tokens[k - 1]!.fullEnd, n.start)) ||
          text.slice(tokens[k - 1]!.end, n.start).includes('\n')
        )
          break;
        // Written in lower case ("rue du centre 320"), any word may be part of the name; a number must follow.
        if (!(n.cap || n.allCaps || STREET_PARTICLE.test(n.lower) || !lex.words.has(n.lower))) break;
        if (!(n.cap || n.allCaps || STREET_PARTICLE.test(n.lower))) lowerName = true;
        end = n.end;
        named = true;
        k++;
      }
      const before = text.slice(Math.max(lineStart, t.start - 12), t.start);
      const num = /(\d{1,6}[A-Za-z]?),?\s+$/.exec(before);
      // In lower case a number must stand before or after: "rue du centre 320", "33 avenue de Provence".
      if (lowerText && !t.cap && !named) {
        // "3911 fourth avenue suite 112": nothing after the street word, a house number and words before it.
        const ls = lowerHouseNumber(text, lineStart, t);
        if (ls >= 0) {
          out.push({ start: ls, end: t.end, type: 'ADDRESS', confidence: 0.85, rule: 'address.street' });
          continue;
        }
      }
      if (!t.cap && !num && !/^\.?,?\s{1,2}\d/.test(text.slice(end, end + 6))) continue;
      if (!t.cap && !named) continue;
      if (num) {
        start -= num[0].length;
        hasNumber = true;
      }
    } else {
      if (!(t.cap || t.allCaps)) {
        const num = /^\s+\d{1,5}/.test(text.slice(t.end, t.end + 8));
        if (!num) continue;
      }
    }
    // A number after the street: "Koskikatu 25", "Via Franscini 71", "Erzsébet tér 19."
    // A Dutch floor after it in Roman numerals ("Brouwerstraat 377 I", "Jasperpark 626 III") when a clause ends.
    const after =
      /^\.?,?\s{1,2}(\d{1,5}[A-Za-z]?(?:[/-]\d{1,4})?)(?:[ \t](?:I{1,3}|IV)(?=[ \t]*(?:[,.;)]|\r?\n|$)))?\.?(?!\d)/.exec(
        text.slice(end, end + 20),
      );
    if (after) {
      end += after[0].length;
      hasNumber = true;
    }
    if (!named && kind !== 'compound') continue;
    // Without a house number, a street name needs a word that is not plain English or clinical vocabulary:
    // "Right Upper Quadrant", "Ultrasound" and "Hounsfield" are not streets.
    if (!hasNumber) {
      const words =
        text
          .slice(start, end)
          .toLowerCase()
          .match(/[\p{L}]+/gu) ?? [];
      if (words.every((w) => isEnglishWord(w, lex) || SAFE_PROPER.has(w) || US_STREET.has(w) || PREFIX_STREET.has(w)))
        continue;
    }
    if (!hasNumber && kind === 'suffix' && !t.cap) continue;
    if (!hasNumber && lowerName) continue; // "Via tachkent" alone is not enough: "Rue tachkent 31" is
    const conf = hasNumber ? 0.92 : kind === 'compound' ? 0.75 : 0.6;
    out.push({
      start,
      end,
      type: 'ADDRESS',
      confidence: conf,
      rule: hasNumber ? 'address.street' : 'address.street-name',
    });
  }
}

/** A district number of one or two digits after a town, then a clause end or a lower-case word. */
const CITY_DISTRICT = /^[ \t]\d{1,2}(?=[ \t]+\p{Ll}|[ \t]*(?:[,;!?)]|\.(?!\d)|\r?\n|$))/u;

function detectCitiesStates(text: string, tokens: readonly Token[], lex: Lexicons, out: Span[]): void {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!(t.cap || t.allCaps)) continue;
    // Longest city name from here (up to 4 words).
    cityFirstWords ??= new Set([...lex.cities].map((c) => c.split(/[\s-]/)[0]!));
    let matched = -1;
    let phrase = t.lower;
    for (let k = i; cityFirstWords.has(t.lower) && k < Math.min(tokens.length, i + 4); k++) {
      if (k > i) {
        const gap = text.slice(tokens[k - 1]!.fullEnd, tokens[k]!.start);
        if (!/^[\s-]{1}$/.test(gap)) break;
        phrase += gap + tokens[k]!.lower;
      }
      if (lex.cities.has(phrase)) matched = k;
    }
    if (matched === i && t.text.length < 3) matched = -1; // "Ii" (a Finnish town) is also a Roman numeral
    if (matched >= 0) {
      const single = matched === i;
      const common = single && (lex.words.has(t.lower) || lex.first.has(t.lower) || lex.last.has(t.lower));
      // A common word in capitals has no capital to count ("AND IS WELL", "BORN ON"): it needs a cue, as at a
      // sentence start.
      const conf = common ? (t.sentenceStart || t.allCaps ? 0.3 : 0.5) : 0.85;
      let end = tokens[matched]!.end;
      // A town's district number after it: "Cheb 2", "Praha 10" (a clause end or a lower-case word follows).
      const district = common ? null : CITY_DISTRICT.exec(text.slice(end, end + 8));
      if (district) end += district[0].length;
      out.push({ start: t.start, end, type: 'CITY', confidence: conf, rule: 'city.lexicon' });
    }
    // US states by name.
    stateFirstWords ??= new Set([...lex.states.keys()].map((k) => k.split(' ')[0]!));
    if (!stateFirstWords.has(t.lower)) continue;
    for (const n of [3, 2, 1]) {
      if (i + n > tokens.length) continue;
      const name = tokens
        .slice(i, i + n)
        .map((x) => x.lower)
        .join(' ');
      if (lex.states.has(name) && tokens.slice(i, i + n).every((x) => x.cap)) {
        const common = n === 1 && lex.words.has(name);
        out.push({
          start: t.start,
          end: tokens[i + n - 1]!.end,
          type: 'STATE',
          confidence: common ? 0.4 : 0.8,
          rule: 'state.name',
        });
        break;
      }
    }
  }
  // "City, ST 12345" and "City, ST": the abbreviation is a state only there.
  // The words before the comma: up to four joined by spaces, each any run of letters, apostrophes, dots and hyphens
  // ("Wilkes-Barre", "St. Paul"). Written with a hyphen only inside a word and a bounded length, so that a long
  // hyphenated run cannot be split many ways (the earlier `[ -]` between words backtracked polynomially: 800
  // characters of "Smith'-" took 27 s).
  const re =
    /([\p{Lu}][\p{L}'’.]{0,40}(?:-[\p{L}'’.]{0,40}){0,6}(?: [\p{Lu}][\p{L}'’.]{0,40}(?:-[\p{L}'’.]{0,40}){0,6}){0,3}),\s*([A-Z]{2})\b(?:\s+(\d{5}(?:-\d{4})?))?/gu;
  for (const m of text.matchAll(re)) {
    const st = m[2]!;
    if (!lex.stateAbbr.has(st)) continue;
    // "Smith, MD" is a credential, "Baltimore, MD 21201" a state: without a ZIP, only after a known city.
    if (/^(?:MD|DO|PA|NP|RN|MS|ME|OR|IN|DE)$/.test(st) && !m[3] && !lex.cities.has(m[1]!.toLowerCase())) continue;
    const cityStart = m.index;
    out.push({ start: cityStart, end: cityStart + m[1]!.length, type: 'CITY', confidence: 0.85, rule: 'city.state' });
    const sStart = m.index + m[0].indexOf(st, m[1]!.length);
    out.push({ start: sStart, end: sStart + 2, type: 'STATE', confidence: 0.9, rule: 'state.abbr' });
    if (m[3]) {
      const zStart = m.index + m[0].lastIndexOf(m[3]);
      out.push({ start: zStart, end: zStart + m[3].length, type: 'ZIP', confidence: 0.95, rule: 'zip.state' });
    }
  }
  // The same written in lower case inside mixed-case text ("delmas, mp 35739"): with a ZIP only; the city is the
  // last word before the comma.
  for (const m of text.matchAll(/,[ \t]*([a-z]{2})[ \t]+(\d{5}(?:-\d{4})?)(?!\d)/g)) {
    if (!lex.stateAbbr.has(m[1]!.toUpperCase())) continue;
    const before = /(?<![\p{L}\p{N}])\p{Ll}[\p{Ll}'’.-]+$/u.exec(text.slice(Math.max(0, m.index - 40), m.index));
    if (before === null) continue;
    const city = before[0];
    const cityStart = m.index - city.length;
    if (!isEnglishWord(city, lex) && !FUNCTION_WORDS.has(city))
      out.push({ start: cityStart, end: m.index, type: 'CITY', confidence: 0.8, rule: 'city.state' });
    const sStart = m.index + m[0].indexOf(m[1]!);
    out.push({ start: sStart, end: sStart + 2, type: 'STATE', confidence: 0.85, rule: 'state.abbr' });
    const zStart = m.index + m[0].length - m[2]!.length;
    out.push({ start: zStart, end: zStart + m[2]!.length, type: 'ZIP', confidence: 0.95, rule: 'zip.state' });
  }
  // A ZIP after a ZIP cue: detectPostcodes (patterns.ts), every national layout.
}

/**
 * The length of a place part of a lower-case address at the start of `rest`: one to four lower-case words, none
 * English or clinical (particles of three letters or less between them), ending at a comma, a line end, a number,
 * the end of the text or a country name; after a mere space (`afterComma` false) two words at least, or one that
 * is not ASCII.
 */
function lowerPlaceAt(rest: string, afterComma: boolean, lex: Lexicons): number | undefined {
  const m = /^\p{Ll}[\p{Ll}'’-]*(?:[ ]\p{Ll}[\p{Ll}'’-]*){0,4}/u.exec(rest);
  if (m === null) return undefined;
  const words = m[0].split(' ');
  for (let n = Math.min(words.length, 4); n >= 1; n--) {
    const part = words.slice(0, n);
    if (part.some((_, k) => lex.countries.has(part.slice(k).join(' ')))) continue; // the country is not the place
    const after = rest.slice(part.join(' ').length);
    const country = words.slice(n).some((_, k) => lex.countries.has(words.slice(n, n + k + 1).join(' ')));
    if (!/^[ \t]*(?:,|\r?\n|$|\d)/.test(after) && !country) continue;
    const plain = (w: string) => isEnglishWord(w, lex) || FUNCTION_WORDS.has(w) || SAFE_ACRONYMS.has(w.toUpperCase());
    const ok = part.every((w, k) => (k > 0 && k < n - 1 && w.length <= 3) || !plain(w));
    if (!ok) return undefined;
    if (!afterComma && n < 2 && !/[^ -~]/.test(part[0]!)) return undefined;
    return part.join(' ').length;
  }
  return undefined;
}

/**
 * Grows address-like spans over what sits next to them on the same address block: house numbers, postal codes,
 * city and country lines, commas and line breaks ("6750 Koskikatu 25 Apt. 864\nArtilleros\n, CO\n Uruguay 64677").
 * Returns new spans for the glued parts.
 */
export function glueAddressParts(text: string, spans: readonly Span[], lowerText = false): Span[] {
  const lex = lexicons();
  const extra: Span[] = [];
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const byStart = new Map<number, Span>();
  for (const s of sorted) if (s.confidence >= 0.5 && !byStart.has(s.start)) byStart.set(s.start, s);
  const anchors = sorted.filter(
    (s) => (s.type === 'ADDRESS' || s.type === 'ZIP' || s.type === 'STATE' || s.type === 'CITY') && s.confidence >= 0.6,
  );
  const lines = new LineIndex(text);
  for (const a of anchors) {
    // An address written in lower case inside mixed-case text: its other parts are in lower case too.
    const lowerBlock =
      !lowerText && /\p{Ll}/u.test(text.slice(a.start, a.end)) && !/\p{Lu}/u.test(text.slice(a.start, a.end));
    // Right side: postal codes, states, city lines and country names, separated by spaces, commas or line breaks.
    let pos = a.end;
    let afterPlace = a.type === 'CITY';
    for (let n = 0; n < 6; n++) {
      // Separators: spaces, commas, line breaks, and a line's leading marks ("- ", "> ", "??? ").
      const m = /^[ \t]*(?:,[ \t]*|\r?\n[ \t]*(?:[^\p{L}\p{N}\s]{1,4}[ \t]+)?,?[ \t]*){0,2}/u.exec(
        text.slice(pos, pos + 64),
      )!;
      const p = pos + m[0].length;
      if (p === pos && n > 0 && !/^[ \t]/.test(text.charAt(pos))) break;
      const rest = text.slice(p, p + 80);
      const code = POSTCODE_RE.exec(rest);
      if (code && !/^[\p{L}\p{N}]/u.test(rest.charAt(code[0].length))) {
        extra.push({ start: p, end: p + code[0].length, type: 'ZIP', confidence: 0.85, rule: 'address.glue' });
        pos = p + code[0].length;
        afterPlace = false;
        continue;
      }
      const next = byStart.get(p);
      // In lowercase text a country is written in lower case too ("belgium 97466").
      const word = (
        lowerText || lowerBlock
          ? /^(?:\p{L}+(?:[ -]\p{L}+)*(?: \(\p{L}+\))?|nan)\b/u
          : /^(?:[\p{Lu}][\p{L}]*(?:[ -][\p{Lu}][\p{L}]*)*(?: \([\p{L}]+\))?|nan)\b/u
      ).exec(rest);
      // A place line of an address block: a few capitalised words (particles allowed) up to a comma, a line end or
      // a postal code, after a comma or a line break ("Apt. 962\n Grand Rapids", "Turkovice u Prelouce"), or in
      // capitals right after the anchor ("Apt. 501 POLSING OO").
      // In a text written all in lower case (read truecased), a space separates the lines' parts too.
      const sepOk = /[,\n]/.test(m[0]) || (lowerText && n > 0 && /^[ \t]+$/.test(m[0]));
      const place = sepOk
        ? /^[\p{Lu}][\p{L}'’-]*(?:[ -](?:[\p{Lu}][\p{L}'’-]*|u|nad|pod|na|de|do|da|la|le|am|an|im|sur|en|di|del)){0,4}(?=[ \t]*(?:,|\r?\n|$)|[ \t]+(?:\d|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}(?![\p{L}\p{N}]))|[ \t]*$)/u.exec(
            rest,
          )
        : /^[\p{Lu}][\p{Lu}'’-]+(?:[ -][\p{Lu}][\p{Lu}'’-]*){0,3}(?![\p{L}\p{N}])/u.exec(rest);
      if (
        place &&
        /^\p{Lu}/u.test(place[0]) &&
        !(word && (word[0] === 'nan' || lex.countries.has(word[0].toLowerCase().replace(/\s*\(.*\)$/, '')))) &&
        (sepOk ||
          (place[0] === place[0].toUpperCase() &&
            place[0].length >= 3 &&
            // In capitals right after the anchor, not English words of a line in capitals ("... STREET WAS SOLD").
            !(
              !lines.lineIs('has lower case', p, (line) => /\p{Ll}/u.test(line)) &&
              place[0].split(/[ -]/).every((w) => isEnglishWord(w.toLowerCase(), lex))
            ))) &&
        !place[0].split(/[ -]/).some((w) => /^\p{Lu}/u.test(w) && SAFE_ACRONYMS.has(w.toUpperCase()))
      ) {
        extra.push({ start: p, end: p + place[0].length, type: 'CITY', confidence: 0.7, rule: 'address.glue.place' });
        pos = Math.max(p + place[0].length, next?.end ?? 0);
        afterPlace = true;
        continue;
      }
      // A place part of a lower-case address after a comma or a line break: one to three words, none English
      // or clinical, up to a comma, a line end or a number ("2407 tawastintie 6, sé, portugal 41086").
      // Right after the street on the same line too, when its words are not English but short particles
      // ("apt. 858 begunje na gorenjskem slovenia"); a country after it ends it.
      const lowerPlace =
        lowerBlock && !next && (sepOk || /^[ \t]+$/.test(m[0])) ? lowerPlaceAt(rest, sepOk, lex) : undefined;
      if (lowerPlace !== undefined && !(word && lex.countries.has(word[0].toLowerCase().replace(/\s*\(.*\)$/, '')))) {
        extra.push({
          start: p,
          end: p + lowerPlace,
          type: 'CITY',
          confidence: 0.65,
          rule: 'address.glue.place',
        });
        pos = p + lowerPlace;
        afterPlace = true;
        continue;
      }
      // Another finding starts here (a city, a name-shaped place word, a street): step over it.
      if (next) {
        pos = next.end;
        afterPlace = next.type === 'CITY' || next.type === 'NAME';
        continue;
      }
      if (word && (word[0] === 'nan' || lex.countries.has(word[0].toLowerCase().replace(/\s*\(.*\)$/, '')))) {
        pos = p + word[0].length;
        afterPlace = false;
        continue;
      }
      // A region code: after a comma or line break, a US state abbreviation, or after a place ("Veszprém VE").
      // In a lower-case address, a short code after a comma or a line break (", fa\n").
      const lowerCode =
        (lowerBlock || lowerText) &&
        word !== null &&
        /^\p{Ll}{1,3}$/u.test(word[0]) &&
        /[,\n]/.test(m[0]) &&
        !FUNCTION_WORDS.has(word[0]) &&
        !/^(?:a|an|i|so|as|if|it|we|he|me|my|us|up|do|go|no|ok|pm|am|mg|ml|kg|cm|mm)$/.test(word[0]);
      if (
        word &&
        (/^[A-Z]{1,3}$/.test(word[0]) || lowerCode) &&
        (/[,\n]/.test(m[0]) || lex.stateAbbr.has(word[0]) || (afterPlace && word[0].length >= 2))
      ) {
        extra.push({ start: p, end: p + word[0].length, type: 'STATE', confidence: 0.7, rule: 'address.glue' });
        pos = p + word[0].length;
        afterPlace = false;
        continue;
      }
      break;
    }
    // Left side: a postal code before a city ("2300 København S").
    if (a.type === 'CITY') {
      const pc = /(?:^|[\s,])(\d{4,5}|\d{3}[ ]\d{2}|\d{2}-\d{3})[ \t]+$/.exec(
        text.slice(Math.max(0, a.start - 10), a.start),
      );
      if (pc) {
        const st = Math.max(0, a.start - 10) + pc.index + pc[0].indexOf(pc[1]!);
        extra.push({ start: st, end: st + pc[1]!.length, type: 'ZIP', confidence: 0.8, rule: 'address.glue' });
      }
      continue;
    }
    // Left side: a postal code or house number right before ("08428 Rue de ...", "1987 74 Diakou Street").
    if (a.type !== 'ADDRESS') continue;
    // Left side: the other street of a crossing ("Hanne and ul. Miła 53", "Růžena and Király u. 15.").
    const cross = /(?:^|[\s,:])((?:[\p{Lu}][\p{L}\p{M}'’.-]*[ \t]){1,3})(?:and|&)[ \t]+$/u.exec(
      text.slice(lineStartNear(text, a.start), a.start),
    );
    if (cross) {
      const base = lineStartNear(text, a.start);
      const st = base + cross.index + cross[0].indexOf(cross[1]!);
      extra.push({
        start: st,
        end: base + cross.index + cross[0].trimEnd().length,
        type: 'ADDRESS',
        confidence: 0.75,
        rule: 'address.crossing',
      });
    }
    const left = /(?:^|[\s,])(\d{3,6}(?:[ \t]\d{1,4})?)[ \t]*,?[ \t]*$/.exec(
      text.slice(Math.max(0, a.start - 16), a.start),
    );
    if (left) {
      const st = Math.max(0, a.start - 16) + left.index + left[0].indexOf(left[1]!);
      extra.push({ start: st, end: st + left[1]!.length, type: 'ADDRESS', confidence: 0.8, rule: 'address.glue' });
    }
  }
  return extra;
}
