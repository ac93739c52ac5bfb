/** Developer tool: prints aggregate numbers for both halves, and the misses/false positives of the DEVELOPMENT half only. */
import { evaluate, loadCorpus, report } from './presidio-eval.ts';
import { sharedDir } from './support.ts';

const all = loadCorpus(sharedDir);
const dev = evaluate(all.filter((r) => r.template_id % 2 === 0));
const held = evaluate(all.filter((r) => r.template_id % 2 === 1));
console.log(report('dev', dev));
console.log(report('held', held));
const both = evaluate(all);
console.log(report('all', both));
if (process.argv.includes('--misses')) {
  for (const x of dev.misses)
    console.log('MISS', x.type, JSON.stringify(x.value), '||', JSON.stringify(x.text.slice(0, 200)));
  for (const x of dev.falsePositives)
    console.log('FP', x.type, JSON.stringify(x.value), '||', JSON.stringify(x.text.slice(0, 200)));
}
