/**
 * Name, place and word lexicons, parsed once on first use from the generated lists (see _generated/ and
 * scripts/codegen/text-lexicons.ts for their sources). Keys are lowercased; a name's weight is its US frequency
 * per million (0 when the source gives none, e.g. names of other locales).
 */

import { CORPUS_FIRST_NAMES, CORPUS_LAST_NAMES, CORPUS_PLACES } from './_generated/corpus-dev.ts';
import { ENGLISH_WORDS } from './_generated/english-words.ts';
import { FIRST_NAMES } from './_generated/first-names.ts';
import { LAST_NAMES } from './_generated/last-names.ts';
import {
  CITIES,
  COUNTRIES,
  GEONAMES_CITIES,
  REGIONS,
  STREET_WORDS,
  US_STATE_ABBR,
  US_STATES,
} from './_generated/places.ts';

export interface Lexicons {
  /** lowercased first name -> weight (per million; 0 = known but without frequency) */
  first: Map<string, number>;
  last: Map<string, number>;
  /** US-frequency-weighted names in source order, for surrogates */
  firstPool: string[];
  lastPool: string[];
  /** lowercase English words */
  words: Set<string>;
  cities: Set<string>;
  cityPool: string[];
  countries: Set<string>;
  states: Map<string, string>;
  stateAbbr: Set<string>;
  streetWords: Set<string>;
  /** street words that end a word, lowercased (`katu`, `vägen`, `straße`), for Koskikatu-like compounds */
  streetSuffixes: string[];
}

function weighted(text: string): { map: Map<string, number>; pool: string[] } {
  const map = new Map<string, number>();
  const pool: string[] = [];
  for (const entry of text.split('|')) {
    const colon = entry.indexOf(':');
    const name = colon < 0 ? entry : entry.slice(0, colon);
    const w = colon < 0 ? 0 : Number(entry.slice(colon + 1));
    map.set(name.toLowerCase(), Math.max(map.get(name.toLowerCase()) ?? 0, w));
    if (w > 0) pool.push(name);
  }
  return { map, pool };
}

let cached: Lexicons | undefined;

/** The lexicons, with the development corpus's names and places (_generated/corpus-dev.ts) added. */
export function lexicons(): Lexicons {
  if (cached) return cached;
  cached = build(true);
  return cached;
}

/** The lexicons from the Debian sources alone (what gen-corpus-lexicon.ts compares the corpus with). */
export function baseLexicons(): Lexicons {
  return build(false);
}

function build(withCorpus: boolean): Lexicons {
  const first = weighted(FIRST_NAMES);
  const last = weighted(LAST_NAMES);
  if (withCorpus) {
    for (const n of CORPUS_FIRST_NAMES.split('|')) if (n && !first.map.has(n)) first.map.set(n, 0);
    for (const n of CORPUS_LAST_NAMES.split('|')) if (n && !last.map.has(n)) last.map.set(n, 0);
  }
  const cityList = CITIES.split('|');
  const street = STREET_WORDS.split('|').map((s) => s.toLowerCase().replace(/\.$/, ''));
  const stateNames = US_STATES.split('|');
  const abbr = US_STATE_ABBR.split('|');
  const states = new Map<string, string>();
  for (const s of stateNames) states.set(s.toLowerCase(), s);
  return {
    first: first.map,
    last: last.map,
    firstPool: first.pool,
    lastPool: last.pool,
    words: new Set(ENGLISH_WORDS.split('|')),
    // Real towns (GeoNames) are found, never drawn as surrogates: the pool keeps Faker's made-up cities.
    cities: new Set(
      [
        ...cityList,
        ...REGIONS.split('|'),
        ...GEONAMES_CITIES.split('|'),
        ...(withCorpus ? CORPUS_PLACES.split('|') : []),
      ]
        .filter((c) => c !== '')
        .map((c) => c.toLowerCase()),
    ),
    cityPool: cityList.filter((c) => /^[A-Z][a-z]+( [A-Z][a-z]+)?$/.test(c)),
    countries: new Set(
      COUNTRIES.split('|').flatMap((c) => {
        const l = c.toLowerCase();
        // Written short as often as long: "United States", "Slovakia".
        return [l, l.replace(/\s*\(.*\)$/, ''), l.replace(/ of america$/, '')];
      }),
    ),
    states,
    stateAbbr: new Set(abbr),
    streetWords: new Set(street.filter((s) => !s.includes(' '))),
    streetSuffixes: [
      ...new Set(
        street
          .filter((s) => /^\p{Ll}{3,}$/u.test(s) && !ENGLISH_SHORT.has(s))
          .flatMap((s) => (s.includes('ß') ? [s, s.replace(/ß/g, 'ss')] : [s])),
      ),
    ],
  };
}

/** Street words too short or too common to be matched as the end of another word. */
const ENGLISH_SHORT = new Set(['way', 'row', 'end', 'hill', 'park', 'view', 'port', 'land', 'ton', 'town', 'side']);
