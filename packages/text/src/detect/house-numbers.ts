/**
 * A street written as a name and a house number with no street word ("Søndergade 52", "Luite tee 87", "Edeby 55",
 * "Hoge Wei 32", "Arenales 9462"): one to three words, the first capitalised and neither English nor clinical
 * (safe-list, acronyms, clinical endings, months), then a number of 1-4 digits (a letter may follow: "12b") that
 * ends its line, the text or a clause (a comma, a full stop, "Apt", "Suite", "street"). "Room 4", "Ward 5",
 * "Grade 2", "Gleason 7", "Bosniak 2F" and "Fazekas 2 lesions" stay: English or safe words, or the number goes on.
 */
import { EPONYM_HEADS, SAFE_ACRONYMS, SAFE_PROPER } from '../lexicon/medical.ts';
import { lexicons } from '../lexicon/names.ts';
import type { Span } from '../types.ts';
import { MONTHS, WEEKDAYS } from './dates.ts';
import { isEnglishWord, MEDICAL_ENDING } from './names.ts';

const RE =
  /(?<![\p{L}\p{N}'’.-])(\p{Lu}[\p{L}'’-]+(?:[ ][\p{L}][\p{L}'’-]*){0,2})[ ](\d{1,4}[a-zA-Z]?)(?=\s*$|\s*\n|[,;]|\.(?:\s|$)|\s+(?:Apt|Suite|Unit|street|St\.?)\b)/gmu;

export function detectHouseNumbers(text: string): Span[] {
  const lex = lexicons();
  const out: Span[] = [];
  for (const m of text.matchAll(RE)) {
    const words = m[1]!.split(' ');
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
    const evidence =
      words.length > 1 ||
      /[^ -~]/.test(m[1]!) ||
      lex.first.has(first) ||
      lex.last.has(first) ||
      lex.cities.has(first) ||
      /(?:gade|vej|tie|katu|gatan|v[äa]gen|veien|vegen|tee|straat|stra[sß]e|weg|laan|utca|by|tun|ulica|iela|gatve)$/.test(
        first,
      );
    if (!evidence) continue;
    out.push({
      start: m.index,
      end: m.index + m[0].length,
      type: 'ADDRESS',
      confidence: 0.6,
      rule: 'address.housenumber',
    });
  }
  return out;
}
