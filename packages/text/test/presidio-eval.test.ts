/**
 * Recall and precision of the engine on the presidio-research synthetic corpus, per type and overall, on the
 * development half (even template ids: looked at while writing the rules) and the held-out half (odd template
 * ids: never looked at for tuning). Printed in the test output; the assertions are floors just under the
 * measured values, so a regression fails the test. See presidio-eval.ts for the scoring rules.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { evaluate, loadCorpus, type Metrics, report } from './presidio-eval.ts';
import { sharedDir } from './support.ts';

const corpusPresent = existsSync(join(sharedDir, 'data/text/presidio-research-synth/synth_dataset_v2.json'));

function recall(m: Metrics, type?: string): number {
  if (type === undefined) return m.found / m.gold;
  const e = m.perType.get(type)!;
  return e.found / e.gold;
}

test('presidio-research synthetic corpus: recall and precision per type', {
  skip: !corpusPresent && 'shared/data/text missing',
}, () => {
  const all = loadCorpus(sharedDir);
  const dev = evaluate(all.filter((r) => r.template_id % 2 === 0));
  const held = evaluate(all.filter((r) => r.template_id % 2 === 1));
  const both = evaluate(all);
  console.log(report('development half (even templates)', dev));
  console.log(report('held-out half (odd templates)', held));
  console.log(report('whole corpus', both));
  const precision = (m: Metrics) => m.tp / (m.tp + m.fp);
  assert.ok(recall(dev) >= 0.99, `dev recall ${recall(dev)}`);
  assert.ok(recall(held) >= 0.96, `held-out recall ${recall(held)}`);
  assert.ok(recall(both) >= 0.975, `whole-corpus recall ${recall(both)}`);
  assert.ok(recall(held, 'DATE') >= 0.99, 'held-out date recall');
  assert.ok(recall(held, 'NAME') >= 0.965, 'held-out name recall');
  assert.ok(recall(held, 'ZIP') >= 0.85, 'held-out ZIP recall');
  assert.ok(recall(held, 'PHONE') >= 0.9, 'held-out phone recall');
  assert.ok(recall(held, 'ADDRESS') >= 0.96, 'held-out address recall');
  assert.ok(recall(held, 'LOCATION') >= 0.93, 'held-out location recall');
  for (const t of ['EMAIL', 'SSN', 'ACCOUNT', 'URL', 'IP']) assert.equal(recall(both, t), 1, `${t} recall`);
  assert.ok(precision(both) >= 0.96, `precision ${precision(both)}`);
  assert.ok(precision(held) >= 0.97, `held-out precision ${precision(held)}`);
});
