/**
 * Developer tool: prints the DEVELOPMENT half's numbers (even template ids) and, with --misses, its misses and false
 * positives. The held-out half is not scored here (its figure is read only by presidio-eval.test.ts).
 */
import { evaluate, loadCorpus, report } from './presidio-eval.ts';
import { sharedDir } from './support.ts';

const all = loadCorpus(sharedDir);
const dev = evaluate(all.filter((r) => r.template_id % 2 === 0));
console.log(report('dev', dev));
if (process.argv.includes('--misses')) {
  for (const x of dev.misses)
    console.log('MISS', x.type, JSON.stringify(x.value), '||', JSON.stringify(x.text.slice(0, 200)));
  for (const x of dev.falsePositives)
    console.log('FP', x.type, JSON.stringify(x.value), '||', JSON.stringify(x.text.slice(0, 200)));
}
