/**
 * Developer tool (issue 15): the tagger's cross-fold check on the DEVELOPMENT half only (even template ids; the
 * held-out half is never read). The development templates split in two folds by id (id % 4 == 0 / == 2): a model
 * trained on one fold (tagger-train.ts) is scored on the other fold's records as written, and on that fold's
 * templates refilled with lexicon names and places (three ways: as written, lower case, capitals). For each
 * threshold: recall of NAME (PERSON) and CITY (GPE, countries left out) and the findings that touch no gold value,
 * for the tagger alone, the rules alone and the rules with the tagger.
 *   npx tsx packages/text/test/tagger-folds.ts [--misses] [--epochs=N] [--lr=X] [--decay=X]
 */
import { detectPhi, type Span } from '@veil/text';
import { decodeModel, detectModel, type TaggerModel } from '../src/detect/tagger.ts';
import { lexicons } from '../src/lexicon/names.ts';
import { resolveSpans } from '../src/spans.ts';
import { tokenize } from '../src/tokens.ts';
import { isLowercaseText } from '../src/truecase.ts';
import { valueCovered } from './frame-probe.ts';
import {
  devRecords,
  encode,
  examples,
  type Labelled,
  recordTexts,
  refilledTexts,
  SEED,
  type TrainOptions,
  train,
  trainingTexts,
} from './tagger-train.ts';

const THRESHOLDS: [number, number][] = [0.6, 0.7, 0.8, 0.9].flatMap((t) =>
  [0.8, 0.9, 0.95, 0.98, 1.01].filter((e) => e >= t).map((e): [number, number] => [t, e]),
);
const words = lexicons().words;

/** Where a value or finding stands: text all lower case, line in capitals, or mixed (word capitalised or not). */
function category(text: string, start: number, end: number): string {
  const tokens = tokenize(text);
  const inside = tokens.filter((t) => t.start >= start && t.end <= end);
  const line = text.slice(text.lastIndexOf('\n', start - 1) + 1, (text.indexOf('\n', end) + 1 || text.length + 1) - 1);
  const where = isLowercaseText(tokens)
    ? 'lowertext'
    : !/\p{Ll}/u.test(line)
      ? 'capsline'
      : inside.some((t) => !t.cap)
        ? 'mixed-lowerword'
        : 'mixed-Capword';
  return `${where}${inside.length > 0 && inside.every((t) => words.has(t.lower)) ? '+english' : ''}`;
}

function tally(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}
const show = (m: Map<string, number>) =>
  [...m]
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
const showMisses = process.argv.includes('--misses');

interface Score {
  gold: Record<'NAME' | 'CITY', number>;
  found: Record<'NAME' | 'CITY', number>;
  fp: number;
}

function score(texts: readonly Labelled[], spansOf: (x: Labelled) => Span[], label: string): Score {
  const s: Score = { gold: { NAME: 0, CITY: 0 }, found: { NAME: 0, CITY: 0 }, fp: 0 };
  for (const x of texts) {
    const spans = spansOf(x);
    for (const g of x.spans) {
      if (g.label !== 'NAME' && g.label !== 'CITY') continue;
      s.gold[g.label]++;
      if (valueCovered(x.text, g.start, g.end - g.start, spans)) s.found[g.label]++;
      else if (showMisses && label) console.log('  MISS', label, g.label, JSON.stringify(x.text.slice(g.start, g.end)));
    }
    for (const sp of spans) {
      if (x.spans.some((g) => g.start < sp.end && sp.start < g.end)) continue;
      s.fp++;
      if (showMisses && label)
        console.log(
          '  FP',
          label,
          sp.rule,
          JSON.stringify(x.text.slice(sp.start, sp.end)),
          '||',
          JSON.stringify(x.text.slice(0, 120)),
        );
    }
  }
  return s;
}

const fmt = (s: Score) =>
  `NAME ${(s.found.NAME / s.gold.NAME).toFixed(4)} (${s.found.NAME}/${s.gold.NAME})  CITY ${(s.found.CITY / s.gold.CITY).toFixed(4)} (${s.found.CITY}/${s.gold.CITY})  outside gold ${s.fp}`;

for (const [trainFold, testFold] of [
  [0, 2],
  [2, 0],
] as const) {
  const t0 = Date.now();
  const data = examples(
    trainingTexts(
      devRecords((id) => id % 4 === trainFold),
      SEED,
    ),
    SEED + 1,
  );
  const arg = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  const opts: TrainOptions = {};
  if (arg('epochs')) opts.epochs = Number(arg('epochs'));
  if (arg('lr')) opts.lr = Number(arg('lr'));
  if (arg('decay')) opts.decay = Number(arg('decay'));
  const { base64, scale } = encode(train(data, SEED + 2, opts));
  const base = decodeModel(base64, scale, { name: 1, city: 1, english: 1 });
  console.log(`train fold ${trainFold} (${data.length} tokens, ${Date.now() - t0} ms) -> test fold ${testFold}`);
  const test = devRecords((id) => id % 4 === testFold);
  for (const [setName, texts] of [
    ['records', recordTexts(test)],
    ['refilled x3 casings', refilledTexts(test, SEED + 99, 3)],
  ] as const) {
    const rules = new Map(texts.map((x) => [x, detectPhi(x.text, { tagger: false })]));
    const toks = new Map(texts.map((x) => [x, tokenize(x.text)]));
    console.log(`  ${setName}: rules alone           ${fmt(score(texts, (x) => rules.get(x)!, ''))}`);
    for (const [t, e] of THRESHOLDS) {
      const m: TaggerModel = { ...base, thresholds: { name: t, city: t, english: e } };
      const model = (x: Labelled, ruleSpans: Span[]) => {
        const tokens = toks.get(x)!;
        return detectModel(x.text, tokens, isLowercaseText(tokens), ruleSpans, m);
      };
      const alone = score(texts, (x) => model(x, []), '');
      const both = score(
        texts,
        (x) => resolveSpans([...rules.get(x)!, ...model(x, rules.get(x)!)], 0.5),
        t === 0.8 && e === 0.95 ? `f${testFold}` : '',
      );
      const th = `p>=${t.toFixed(2)} english>=${e.toFixed(2)}`;
      console.log(`    ${th} tagger alone ${fmt(alone)}`);
      console.log(`    ${th} rules+tagger ${fmt(both)}`);
      const gains = new Map<string, number>();
      const added = new Map<string, number>();
      for (const x of texts) {
        const r = rules.get(x)!;
        const extra = model(x, r);
        const all = resolveSpans([...r, ...extra], 0.5);
        for (const g of x.spans)
          if (
            (g.label === 'NAME' || g.label === 'CITY') &&
            !valueCovered(x.text, g.start, g.end - g.start, r) &&
            valueCovered(x.text, g.start, g.end - g.start, all)
          )
            tally(gains, `${g.label} ${category(x.text, g.start, g.end)}`);
        for (const sp of extra)
          if (!x.spans.some((g) => g.start < sp.end && sp.start < g.end))
            tally(added, `${sp.type} ${category(x.text, sp.start, sp.end)}`);
      }
      console.log(`      gained: ${show(gains)}`);
      console.log(`      added outside gold: ${show(added)}`);
    }
  }
}
