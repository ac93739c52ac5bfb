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
 *
 * Not part of `npm run codegen:check` (CI does not install these two packages); run it by hand after changing it:
 *   apt-get install -y faker wamerican iso-codes tzdata && npx tsx scripts/codegen/text-lexicons.ts
 * The generated files are committed, marked generated, with the sources' versions and hashes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
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
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-fakerjs-'));
  try {
    execFileSync('npm', ['pack', FAKER_JS, '--silent', '--pack-destination', dir], { encoding: 'utf8' });
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
    const bytes = readFileSync(path.join(dir, tgz));
    execFileSync('tar', ['xzf', tgz], { cwd: dir });
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
    return { dump, doc: `${FAKER_JS} (npm, MIT), tarball sha256 ${sha256(bytes).slice(0, 16)}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
        '',
      ].join('\n'),
    ],
    ['english-words.ts', file(`Lowercase English words, ${wsrc}.`, 'ENGLISH_WORDS', words.join('|'))],
  ];
});
