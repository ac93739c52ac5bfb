/**
 * The loop that bench/deid-instructions.ts counts under valgrind: `node harness.mjs LIST N loaded|all` reads the
 * first N files of LIST into memory, then (for "all") runs each through the one release path (releaseFile: scan ->
 * deidentify -> stages (none) -> plan -> verification) with the default configuration and a fixed key, as the
 * `veil deid` worker does minus the disk. BENCH_IR_PATH=direct calls the same functions one by one instead
 * (scan, deidentify, planDeidentified, verifyOutput), to measure what the release path itself adds.
 */
import { readFileSync } from 'node:fs';
import {
  bytesSource,
  deidentify,
  parseDeidConfig,
  planDeidentified,
  releaseFile,
  scanFile,
  verifyOutput,
} from '@veil/core';

const [listFile, count, stage] = process.argv.slice(2);
if (!listFile || !count || (stage !== 'loaded' && stage !== 'all')) {
  throw new Error('usage: deid-instructions-harness LIST N loaded|all');
}
const key = new Uint8Array(32).fill(7);
const config = parseDeidConfig({});
const paths = readFileSync(listFile, 'utf8').split('\n').filter(Boolean).slice(0, Number(count));
const sources = paths.map((p) => bytesSource(new Uint8Array(readFileSync(p))));
const direct = process.env.BENCH_IR_PATH === 'direct';
if (stage === 'all' && !direct) {
  for (const src of sources) {
    const outcome = releaseFile(src, { config, keys: { key } });
    if (outcome instanceof Promise || outcome.kind !== 'released') throw new Error('release path refused a file');
  }
}
if (stage === 'all' && direct) {
  for (const src of sources) {
    const file = scanFile(src);
    const result = deidentify(file, config, { key });
    if (result.quarantine) throw new Error(`quarantined (${result.quarantine.code})`);
    const plan = planDeidentified(file, result);
    const verdict = verifyOutput({ source: src, plan }, file, config, key);
    if (!verdict.ok) throw new Error(`release gate refused a file (${verdict.code})`);
  }
}
