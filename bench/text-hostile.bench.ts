/**
 * Text engine on hostile input (not a test): detectPhi on each shape of packages/text/test/hostile-shapes.ts at
 * 20 KB and 80 KB, in this process. A linear engine takes about 4 times as long on 4 times the text; the growth
 * column shows it (about 16 would be quadratic). The hang guard in hostile.test.ts fails a shape that overruns;
 * this reports the rates. Prints a Markdown table and writes it to bench/out/text-hostile.md.
 * Usage: npx tsx bench/text-hostile.bench.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectPhi } from '@veil/text';
import { HOSTILE_SHAPES } from '../packages/text/test/hostile-shapes.ts';
import { OUT_DIR } from './generate-corpus.ts';

function best(text: string, runs: number): number {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    detectPhi(text);
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

detectPhi('warm-up: John Smith, 1668 Glyn St, Springfield, IL 62704, john@example.org');
const rows = ['| shape | 20 KB ms | 80 KB ms | ms per KB (80 KB) | growth x4 text |', '|---|---:|---:|---:|---:|'];
let worst = 0;
for (const [name, make] of Object.entries(HOSTILE_SHAPES)) {
  const small = best(make(20 * 1024), 3);
  const big = best(make(80 * 1024), 2);
  worst = Math.max(worst, big / 80);
  rows.push(
    `| ${name} | ${small.toFixed(0)} | ${big.toFixed(0)} | ${(big / 80).toFixed(2)} | ${(big / small).toFixed(1)} |`,
  );
}
rows.push('', `Worst rate: ${worst.toFixed(2)} ms per KB (80 KB inputs; best of 2 runs).`);
const table = rows.join('\n');
console.log(table);
mkdirSync(OUT_DIR, { recursive: true });
writeFileSync(join(OUT_DIR, 'text-hostile.md'), `${table}\n`);
