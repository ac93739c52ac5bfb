import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectPhi } from '@veil/text';
import { classify, decodeModel, defaultTagger, detectModel } from '../src/detect/tagger.ts';
import { tokenFeatures } from '../src/detect/tagger-features.ts';
import { TAGGER_META, TAGGER_SCALE, TAGGER_WEIGHTS } from '../src/lexicon/_generated/tagger-weights.ts';
import { tokenize } from '../src/tokens.ts';
import { isLowercaseText } from '../src/truecase.ts';

const found = (text: string, options = {}) =>
  detectPhi(text, options).map((s) => `${s.type}:${text.slice(s.start, s.end)}`);

test('the committed model loads: weights decode, and a name outscores a clinical word', () => {
  const m = defaultTagger();
  assert.ok(m.weights.some((w) => w !== 0));
  assert.ok(m.thresholds.name > 0.5 && m.thresholds.english >= m.thresholds.name);
  const text = 'have you heard rose speak yet? the ct scan was normal.';
  const tokens = tokenize(text);
  const feats = tokenFeatures(text, tokens, { lowerText: isLowercaseText(tokens) });
  const p = (word: string) => classify(m, feats.get(tokens.findIndex((t) => t.lower === word))!);
  assert.ok(p('rose')[1] > p('scan')[1]);
  assert.ok(p('scan')[0] > 0.5);
});

test('decoding is deterministic: two decodes of the weights give the same table and the same findings', () => {
  const a = decodeModel(TAGGER_WEIGHTS, TAGGER_SCALE, TAGGER_META.thresholds);
  const b = decodeModel(TAGGER_WEIGHTS, TAGGER_SCALE, TAGGER_META.thresholds);
  assert.deepEqual(a.weights, b.weights);
  const text = 'can you transfer me to dale? have you heard rose speak yet?';
  const tokens = tokenize(text);
  assert.deepEqual(detectModel(text, tokens, true, [], a), detectModel(text, tokens, true, [], b));
});

test('finds lower-case names that are English words where the rules find nothing', () => {
  // Misses of the rules on the faker-js probes (fakerjs-probes.ts frames, faker-js values) that the tagger finds
  // ("her maiden name is beer." left this list when the rules learned a surname after a surname label).
  for (const [text, name] of [
    ['the account belongs to prudence bonnet.', 'prudence bonnet'],
    ['can you transfer me to dale?', 'dale'],
    ['Her maiden name is Menu.', 'Menu'],
  ] as const) {
    assert.deepEqual(found(text, { tagger: false }), [], text);
    assert.deepEqual(found(text, { tagger: true }), [`NAME:${name}`], text);
    assert.ok(detectPhi(text, { tagger: true }).every((s) => s.rule === 'name.model'));
    assert.deepEqual(found(text), [], 'the tagger is off by default');
  }
});

test('leaves hard negatives alone: eponyms, ages, rooms, doses, acronyms, units, countries, common nouns', () => {
  for (const text of [
    "Known Parkinson's disease; 34-year-old man in Room 4, Ward 5B. Started Lipitor 20 mg and Keppra 500 mg.",
    'CTDIvol 12.5 mGy; LVEF 35%; PCP to follow up. TNF-α inhibitors were stopped.',
    'pt with lvef 35% and ards, on heparin drip; transferred from the icu.',
    'Excuse me, but I really do not like this tone. Can I please speak to your boss?',
    'I JUST TURNED 47 AND I LIVE IN FRANCE.',
    'Just posted a photo of the liver and the left kidney.',
    'The patient moved from Portugal to Spain in 2020.',
  ]) {
    const rules = found(text, { tagger: false });
    assert.deepEqual(found(text, { tagger: true }), rules, text);
    assert.ok(
      detectPhi(text, { tagger: true }).every((s) => !s.rule.endsWith('.model')),
      text,
    );
  }
});
