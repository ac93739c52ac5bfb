/**
 * A street written as a name and a house number with no street word ("Søndergade 52", "Luite tee 87", "Edeby 55",
 * "Hoge Wei 32", "Arenales 9462"): one to three words, the first capitalised and neither English nor clinical
 * (safe-list, acronyms, clinical endings, months), then a number of 1-4 digits (a letter may follow: "12b") that
 * ends its line, the text or a clause (a comma, a full stop, "Apt", "Suite", "street"). "Room 4", "Ward 5",
 * "Grade 2", "Gleason 7", "Bosniak 2F" and "Fazekas 2 lesions" stay: English or safe words, or the number goes on.
 */
import { EPONYM_HEADS, LATIN_CLINICAL, SAFE_ACRONYMS, SAFE_PROPER } from '../lexicon/medical.ts';
import { lexicons } from '../lexicon/names.ts';
import type { Span } from '../types.ts';
import { MONTHS, WEEKDAYS } from './dates.ts';
import { FUNCTION_WORDS, isEnglishWord, MEDICAL_ENDING } from './names.ts';

const RE =
  /(?<![\p{L}\p{N}'’.-])(\p{Lu}[\p{L}'’-]+(?:[ ][\p{L}][\p{L}'’-]*){0,2})[ ](\d{1,4}[a-zA-Z]?)(?=\s*$|\s*\n|[,;]|\.(?:\s|$)|\s+(?:Apt|Suite|Unit|street|St\.?)\b)/gmu;

/** A line that is a number of 3 to 5 digits and nothing else (list marks aside), inside a contact block. */
const NUMBER_LINE = /^[ \t]*(?:\?{3}[ \t]+|[-*•][ \t]+)?(\d{3,5})[ \t]*$/gm;
/** "61709 street", "Apt. 120 street": a number right before the word street. */
const NUMBER_STREET = /(?<![\p{L}\p{N}])(?:(?:apt|apartment|suite|unit)\.?\s+)?\d{1,5}\s+street\b/giu;
/**
 * A street in lower case between two numbers: "947 trg revolucije 17", "2407 tawastintie 6", "106 rúa olmos 44":
 * a building number, one to four lower-case words (at least one neither English nor clinical, the others short
 * particles or street words), a house number, then the end of the line or a clause.
 */
const LOWER_STREET =
  /(?<![\p{L}\p{N}.,:/-])\d{1,5}((?:[ ][\p{Ll}][\p{Ll}'’.-]*){1,4})[ ]\d{1,4}[a-z]?(?=\s*$|\s*\n|[,;]|\.(?:\s|$)|\s+(?:apt|suite|unit)\b)/gmu;
/**
 * A numbered street in lower case with its street word, its name English words or not: "12 main street", "3911
 * fourth avenue", "77 old mill rd". The words between are never units, times or function words ("5 minutes drive",
 * "2 blocks down the road").
 */
const LOWER_NAMED_STREET =
  /(?<![\p{L}\p{N}.,:/-])\d{1,5}[a-z]?((?:[ ]\p{Ll}[\p{Ll}'’-]*){1,3})[ ](?:(?:street|avenue|road|lane|boulevard|drive|court|terrace|crescent|highway|parkway)\b|(?:st|ave|rd|ln|blvd|hwy|pkwy)\b\.?)/gu;
const NOT_STREET_NAME =
  /^(?:mg|mcg|ml|g|kg|lb|lbs|cm|mm|km|mi|mile|miles|min|mins|minute|minutes|hour|hours|hr|hrs|day|days|week|weeks|month|months|year|years|yr|yrs|am|pm|times|x|percent|units?|tabs?|pills?|blocks?|more|most|less|other|different|separate|lanes?|feet|ft|yards?|steps?|doors?|houses?|stops?)$/;
/** A label of a contact block (a signature, a business card). */
const CONTACT_LABEL = /\b(?:phone|mobile|desk|fax|e-?mail|website|address|tel)\b/i;

const WORD_NUMBER_LINE = /^[ \t]*(?:\?{3}[ \t]+)?\p{L}[\p{L}'’ -]*[ \t]\d{1,4}[a-zA-Z]?[ \t]*$/gmu;

/** The span is alone on its line (list marks aside). */
function lineAlone(text: string, start: number, end: number): boolean {
  return (
    /(?:^|\n)[ \t]*(?:\?{3}[ \t]+|[-*•][ \t]+)?$/.test(text.slice(Math.max(0, start - 8), start)) &&
    /^[ \t]*(?:\r?\n|$)/.test(text.slice(end, end + 4))
  );
}

const ADDRESS_AROUND =
  /\b(?:address(?:es)?|(?:apt|apartment|suite|flat|box)\.?\s+\d+|(?:lives?|living|located|situated)\s+(?:at|on))\b/i;
const STREET_WORDS = new Set(
  'street st avenue ave road rd lane ln drive dr boulevard blvd court ct place pl way rue via calle rua rúa ul ulica trg utca út tie katu gade vej gatan vägen straat strasse weg laan plaza praça'.split(
    ' ',
  ),
);

/** The same street written in lower case inside mixed-case text ("luite tee 87", "postbox 53"): stricter below. */
const RE_LOWER =
  /(?<![\p{L}\p{N}'’.-])(\p{Ll}[\p{L}'’-]+(?:[ ][\p{L}][\p{L}'’-]*){0,2})[ ](\d{1,4}[a-zA-Z]?)(?=\s*$|\s*\n|[,;]|\.(?:\s|$)|\s+(?:apt|suite|unit|street|st\.?)\b)/gmu;

export function detectHouseNumbers(text: string): Span[] {
  const lex = lexicons();
  const out: Span[] = [];
  const lines = text.split('\n').filter((l) => l.trim() !== '').length;
  // Only in a contact block (a phone, e-mail or address label somewhere in it), never in a list of lab values.
  if (lines >= 3 && CONTACT_LABEL.test(text)) {
    for (const m of text.matchAll(NUMBER_LINE)) {
      const start = m.index + m[0].indexOf(m[1]!);
      out.push({ start, end: start + m[1]!.length, type: 'ADDRESS', confidence: 0.6, rule: 'address.numberline' });
    }
  }
  for (const m of text.matchAll(NUMBER_STREET))
    out.push({
      start: m.index,
      end: m.index + m[0].length,
      type: 'ADDRESS',
      confidence: 0.7,
      rule: 'address.numberstreet',
    });
  for (const m of text.matchAll(LOWER_STREET)) {
    const words = m[1]!.trim().split(' ');
    const foreign = (w: string) =>
      w.length >= 3 && !isEnglishWord(w.replace(/\.$/, ''), lex) && !MEDICAL_ENDING.test(w) && !SAFE_PROPER.has(w);
    const ok = words.every(
      (w) => foreign(w) || w.replace(/\.$/, '').length <= 2 || STREET_WORDS.has(w.replace(/\.$/, '')),
    );
    if (!ok || !words.some(foreign)) continue;
    out.push({
      start: m.index,
      end: m.index + m[0].length,
      type: 'ADDRESS',
      confidence: 0.65,
      rule: 'address.lowerstreet',
    });
  }
  for (const m of text.matchAll(LOWER_NAMED_STREET)) {
    const words = m[1]!.trim().split(' ');
    if (words.some((w) => FUNCTION_WORDS.has(w) || NOT_STREET_NAME.test(w))) continue;
    out.push({
      start: m.index,
      end: m.index + m[0].length,
      type: 'ADDRESS',
      confidence: 0.7,
      rule: 'address.lowerstreet',
    });
  }
  const mixed = /\p{Lu}/u.test(text);
  // A contact block with one line of a word and a number (several are a list of values: "Troponin 12").
  const contactBlock = lines >= 3 && CONTACT_LABEL.test(text) && (text.match(WORD_NUMBER_LINE) ?? []).length === 1;
  const matches = [...text.matchAll(RE), ...(mixed ? [...text.matchAll(RE_LOWER)] : [])];
  for (const m of matches) {
    let words = m[1]!.split(' ');
    let start = m.index;
    // "Uruguay Edeby 55", "Canada Hoge Wei 32": a country ending the line before is not the street.
    if (words.length > 1 && lex.countries.has(words[0]!.toLowerCase())) {
      start += words[0]!.length + 1;
      words = words.slice(1);
    }
    // Lower case: every word neither English nor clinical, and a word with a letter outside ASCII, a street ending
    // or two words ("luite tee 87" passes: "tee" is short).
    if (
      /^\p{Ll}/u.test(m[1]!) &&
      words.some(
        (w) => (w.length > 3 && isEnglishWord(w, lex)) || LATIN_CLINICAL.has(w) || SAFE_ACRONYMS.has(w.toUpperCase()),
      )
    )
      continue;
    const first = words[0]!.toLowerCase().replace(/['’]s$/, '');
    if (
      isEnglishWord(first, lex) ||
      SAFE_PROPER.has(first) ||
      SAFE_ACRONYMS.has(words[0]!.toUpperCase()) ||
      MEDICAL_ENDING.test(first) ||
      (MONTHS as readonly string[]).includes(first) ||
      (WEEKDAYS as readonly string[]).includes(first) ||
      lex.countries.has(first) ||
      words.some((w) => EPONYM_HEADS.has(w.toLowerCase()))
    )
      continue;
    // Later words: names or non-English words, not English ones ("Philips Ingenuity 128" is a scanner).
    if (words.slice(1).some((w) => isEnglishWord(w.toLowerCase(), lex) && w.length > 3)) continue;
    // Some evidence of a place or a person rather than a drug or a device ("Metformin 500"): two or more words, a
    // letter outside ASCII, a word a name or place lexicon holds, or a street ending of the Nordic and Baltic
    // languages (-gade, -vej, -tie, -katu, -gatan, -vägen, -veien, -tee, -straat, -weg, -laan, -utca).
    // Or an address around it: a secondary unit or an address word shortly before ("Apt. 026\n Allika 46",
    // "here are my addresses: Brisas 6802").
    const evidence =
      words.length > 1 ||
      ADDRESS_AROUND.test(text.slice(Math.max(0, start - 80), start)) ||
      (contactBlock && lineAlone(text, start, m.index + m[0].length)) ||
      /[^ -~]/.test(m[1]!) ||
      lex.first.has(first) ||
      lex.last.has(first) ||
      lex.cities.has(first) ||
      /(?:gade|vej|tie|katu|gatan|v[äa]gen|veien|vegen|tee|straat|stra[sß]e|weg|laan|utca|by|tun|ulica|iela|gatve)$/.test(
        first,
      );
    if (!evidence) continue;
    out.push({
      start,
      end: m.index + m[0].length,
      type: 'ADDRESS',
      confidence: 0.6,
      rule: 'address.housenumber',
    });
  }
  return out;
}
