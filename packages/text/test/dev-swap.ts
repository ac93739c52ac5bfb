/**
 * Developer tool (issue 15): a generalisation check built from the DEVELOPMENT half only. Each development record's
 * gold values are swapped for values of the same entity type taken from other development records (seeded, 5
 * rounds), so the rules meet value/context pairs they were not written on; the held-out half is not read.
 * Prints recall/precision, and with --misses the misses. Usage: npx tsx packages/text/test/dev-swap.ts [--misses]
 */
import { evaluate, loadCorpus, type Record_, report } from './presidio-eval.ts';
import { sharedDir } from './support.ts';

const dev = loadCorpus(sharedDir).filter((r) => r.template_id % 2 === 0);
const pool = new Map<string, string[]>();
for (const r of dev)
  for (const s of r.spans) pool.set(s.entity_type, [...(pool.get(s.entity_type) ?? []), s.entity_value]);

let seed = 12345;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};

const swapped: Record_[] = [];
for (let round = 0; round < 5; round++) {
  for (const r of dev) {
    const spans = [...r.spans].sort((a, b) => a.start_position - b.start_position);
    let text = '';
    let pos = 0;
    const out: Record_['spans'] = [];
    for (const s of spans) {
      if (s.start_position < pos) continue;
      const p = pool.get(s.entity_type)!;
      const v = p[Math.floor(rnd() * p.length)]!;
      text += r.full_text.slice(pos, s.start_position);
      out.push({ ...s, entity_value: v, start_position: text.length, end_position: text.length + v.length });
      text += v;
      pos = s.end_position;
    }
    text += r.full_text.slice(pos);
    swapped.push({ full_text: text, spans: out, template_id: r.template_id });
  }
}
const m = evaluate(swapped);
console.log(report('dev-swapped (5 rounds)', m));
if (process.argv.includes('--misses')) {
  for (const x of m.misses)
    console.log('MISS', x.type, JSON.stringify(x.value), '||', JSON.stringify(x.text.slice(0, 160)));
  if (process.argv.includes('--fp'))
    for (const x of m.falsePositives)
      console.log('FP', x.type, JSON.stringify(x.value), '||', JSON.stringify(x.text.slice(0, 160)));
}
