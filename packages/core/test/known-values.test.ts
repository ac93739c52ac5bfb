/**
 * knownValueSearch (src/verify/known-values.ts): the word-needle index gives exactly what comparing the text with
 * every needle gives, in the same order (the first finding decides the quarantine reason).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { KnownIdentifiers, KnownNeedle } from '../src/verify/known-identifiers.ts';
import { type KnownHit, knownValueSearch } from '../src/verify/known-values.ts';
import { wordForm } from '../src/verify/normalize.ts';

const VOCABULARY = ['JOHN', 'DOE', 'JANE', 'MAIN', 'ST', '12', 'A1B2', 'SMITH', 'JO', 'HN', 'DOEJOHN'];

const needle = fc
  .record({
    words: fc.array(fc.constantFrom(...VOCABULARY), { minLength: 1, maxLength: 3 }),
    detector: fc.constantFrom('known-name', 'known-name-part', 'known-id', 'known-address'),
    // Needles are padded word forms; a few are not, and must still be found by a plain substring test.
    padded: fc.boolean().map((b) => b || Math.random() < 0.9),
  })
  .map(
    ({ words, detector, padded }): KnownNeedle => ({
      detector: detector as KnownNeedle['detector'],
      code: `CODE_${words.join('_')}`,
      match: 'words',
      text: padded ? ` ${words.join(' ')} ` : words.join(' '),
      masked: '<masked>',
    }),
  );

const text = fc
  .array(
    fc.oneof(
      fc.constantFrom(...VOCABULARY),
      fc.constantFrom(...VOCABULARY).map((w) => w.toLowerCase()),
      fc.constantFrom(' ', ', ', '^', '  ', '-', '.', '\\'),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

/** What the search gave before the index: every needle compared with the text (then names win over their parts). */
function reference(needles: readonly KnownNeedle[], t: string, coded: boolean): KnownHit[] {
  const w = wordForm(t);
  if (w === '') return [];
  const hits = needles.filter((n) => w.includes(n.text) && !(coded && n.detector === 'known-name-part'));
  const named = hits.some((h) => h.detector === 'known-name');
  return hits
    .filter((h) => !(named && h.detector === 'known-name-part'))
    .map((h) => ({ detector: h.detector, code: h.code, masked: h.masked }));
}

describe('knownValueSearch', () => {
  test('word needles: the same hits, in needle order, as a scan of every needle', () => {
    fc.assert(
      fc.property(
        fc.array(needle, { maxLength: 30 }),
        fc.array(text, { maxLength: 8 }),
        fc.boolean(),
        (ns, ts, coded) => {
          const known: KnownIdentifiers = { needles: ns, dates: [], datesByPath: {}, uids: [] };
          const search = knownValueSearch(known);
          for (const t of ts) {
            assert.deepEqual(search({ text: t, binary: false, coded }), reference(ns, t, coded), JSON.stringify(t));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a repeated word does not repeat a hit', () => {
    const n: KnownNeedle = {
      detector: 'known-name',
      code: 'KNOWN_PATIENT_NAME',
      match: 'words',
      text: ' DOE ',
      masked: 'D**',
    };
    const search = knownValueSearch({ needles: [n], dates: [], datesByPath: {}, uids: [] });
    assert.deepEqual(search({ text: 'Doe^Doe doe', binary: false, coded: false }), [
      { detector: 'known-name', code: 'KNOWN_PATIENT_NAME', masked: 'D**' },
    ]);
  });
});
