/**
 * Instructions per file of the de-identification path (`npx tsx bench/deid-instructions.ts [ct] [small] [multi]`;
 * not a test; needs valgrind, Debian package `valgrind`): a number that repeats to a fraction of a percent on a
 * machine whose timings move by +-30% (the development VM), for telling whether a change to the per-file path helps.
 *
 * What is counted: scan -> deidentify (default Basic Profile) -> plan -> release gate, on files already in memory
 * (no disk I/O), in one process, by valgrind's callgrind, with V8 made predictable (--predictable: one thread, so the
 * JIT compiler and the garbage collector's helpers run on the main thread, where they are counted, instead of on
 * threads that come and go; fixed hash and random seeds; a fixed GC schedule). Each count is taken on N1 and N2 files of the part, and on the same
 * files loaded but not processed; the marginal cost per file is
 *   ((all(N2) - loaded(N2)) - (all(N1) - loaded(N1))) / (N2 - N1)
 * which leaves out Node's start, module loading, reading the files and the JIT's warm-up on the first N1 files.
 * Files of a part are distinct patients and instances, so the per-thread memos (verify/memo.ts, the HMAC cache)
 * hit only on what files really share.
 *
 * The harness (bench/deid-instructions-harness.ts) is bundled with esbuild into bench/out first: tsx's loader is
 * slow under valgrind. Env: BENCH_IR_FILES (per part, e.g. "small=200:1000,ct=100:300"); BENCH_IR_BUNDLE (where the
 * bundle goes; default bench/out/deid-instructions-harness.mjs): two counts of different trees can then run at once.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BENCH_DIR, ensureCorpus, listPath, OUT_DIR, PARTS, type Part } from './generate-corpus.ts';

const HARNESS = join(BENCH_DIR, 'deid-instructions-harness.ts');
// BENCH_IR_BUNDLE: another path for the bundle, so that two counts (before and after a change) can run at once.
const BUNDLE = process.env.BENCH_IR_BUNDLE ?? join(OUT_DIR, 'deid-instructions-harness.mjs');
const DEFAULT_FILES: Record<Part, [number, number]> = { small: [200, 1000], ct: [100, 300], multi: [1, 1] };

function filesFor(part: Part): [number, number] {
  const spec = (process.env.BENCH_IR_FILES ?? '')
    .split(',')
    .map((s) => s.split('='))
    .find(([p]) => p === part)?.[1];
  if (!spec) return DEFAULT_FILES[part];
  const [a, b] = spec.split(':').map(Number);
  if (!Number.isInteger(a) || !Number.isInteger(b) || a! < 1 || b! <= a!) throw new Error(`BENCH_IR_FILES: ${spec}`);
  return [a!, b!];
}

function instructions(part: Part, files: number, stage: 'loaded' | 'all'): Promise<number> {
  const res = spawnAsync('valgrind', [
    '--tool=callgrind',
    '--callgrind-out-file=/dev/null',
    process.execPath,
    // One thread, fixed hash and random seeds, a fixed GC schedule: the same count every time.
    '--predictable',
    '--predictable-gc-schedule',
    '--hash-seed=42',
    '--random-seed=42',
    BUNDLE,
    listPath(part),
    String(files),
    stage,
  ]);
  return res.then(({ status, stderr }) => {
    if (status !== 0) throw new Error(`valgrind failed (${status}):\n${stderr.slice(-2000)}`);
    const m = /Collected\s*:\s*(\d+)/.exec(stderr);
    if (!m) throw new Error(`no instruction count in valgrind's output:\n${stderr.slice(-2000)}`);
    return Number(m[1]);
  });
}

/** Runs a command; resolves with its exit status and stderr (the four counts of a part run at once). */
function spawnAsync(cmd: string, args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      stderr = (stderr + s).slice(-64 * 1024);
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

async function main(): Promise<void> {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('valgrind not found: install the Debian package valgrind');
  }
  const asked = process.argv.slice(2);
  const parts = (asked.length > 0 ? asked : ['ct', 'small']) as Part[];
  for (const p of parts) if (!PARTS.includes(p)) throw new Error(`unknown part ${p} (${PARTS.join(', ')})`);
  ensureCorpus((s) => process.stderr.write(`${s}\n`));
  mkdirSync(OUT_DIR, { recursive: true });
  await build({
    entryPoints: [HARNESS],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: BUNDLE,
    logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  const rows: string[] = [];
  for (const part of parts) {
    const [n1, n2] = filesFor(part);
    process.stderr.write(`${part}: counting ${n1} and ${n2} files (4 runs under valgrind, at once)\n`);
    // Each count is of its own process, so running them side by side changes no count, only the wall time.
    const [a, b, c, d] = await Promise.all([
      instructions(part, n1, 'loaded'),
      instructions(part, n2, 'loaded'),
      instructions(part, n1, 'all'),
      instructions(part, n2, 'all'),
    ]);
    const marginal = n2 > n1 ? (d - b - (c - a)) / (n2 - n1) : c - a;
    const first = (c - a) / n1;
    rows.push(`| ${part} | ${n1} -> ${n2} | ${(marginal / 1e6).toFixed(2)} M | ${(first / 1e6).toFixed(2)} M |`);
  }
  process.stdout.write(
    [
      `Node ${process.version}; instructions per file (callgrind, V8 single-threaded), scan + deidentify + plan + gate:`,
      '',
      '| part | files | marginal per file | per file over the first N1 (JIT warm-up included) |',
      '| --- | ---: | ---: | ---: |',
      ...rows,
      '',
    ].join('\n'),
  );
}

await main();
