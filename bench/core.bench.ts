/**
 * The DICOM core benchmark (`npm run bench`): Veil's scan and rewrite against the physical limit, a C program that
 * copies the same files (bench/rawcopy.c), and a plain Node read-then-write copy for reference.
 *
 * For each corpus part (bench/generate-corpus.ts) and each mode, a child process runs one untimed warm-up pass
 * (page cache, JIT; it also checks its first output) and one timed pass, each into a fresh directory under a temp
 * dir on the corpus's disk. Modes run interleaved, round after round (5 rounds for the CT series and the multi-frame,
 * 3 for the small files; BENCH_ROUNDS overrides), so that a burst of disk or CPU load from elsewhere hits every mode
 * alike; the median and the best round are reported. Peak RSS is per mode (its own process), the maximum over the
 * rounds. Large files go through openFileSource's windowed path (files over 64 MB), so the 200 MB multi-frame is
 * rewritten in bounded memory.
 *
 * Outputs are truncated after each pass (their data freed) but deleted only at the end. Deleting them between runs
 * made the measurement measure the benchmark itself: on an ext4 without a journal (as on the development VM) the
 * inode allocator skips inodes deleted in the last minutes one by one (recently_deleted() in ialloc.c), so after a
 * few thousand deletes each file creation cost 1 to 3 ms of kernel time, more for whichever mode ran later.
 *
 * Prints a Markdown table and writes it to bench/out/core.md. Env: BENCH_ROUNDS, BENCH_PARTS (e.g. "ct,small"),
 * BENCH_TMP (a directory to write the outputs under, in a veil-bench-tmp subdirectory; default bench/out/tmp-run).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import {
  BENCH_DIR,
  CORPUS_DIR,
  ensureCorpus,
  listPath,
  OUT_DIR,
  PART_LABELS,
  PARTS,
  type Part,
} from './generate-corpus.ts';

type Mode = 'raw' | 'node-copy' | 'scan' | 'noop' | 'edit';

const MODES: readonly Mode[] = ['raw', 'node-copy', 'scan', 'noop', 'edit'];
const MODE_LABELS: Record<Mode, string> = {
  raw: 'raw copy (C, read + write)',
  'node-copy': 'Node copy (readFileSync + writeFileSync)',
  scan: 'Veil scan only (read + scanFile)',
  noop: 'Veil no-op rewrite (scan + plan + writePlan)',
  edit: 'Veil rewrite, PatientName replaced',
};
const AIM = 0.5;
const DEFAULT_ROUNDS: Record<Part, number> = { ct: 5, small: 3, multi: 5 };

interface Run {
  readonly ms: number[];
  readonly cpuMs: number[];
  readonly files: number;
  readonly bytes: number;
  readonly maxRSSKiB: number;
}

const ROOT = resolve(BENCH_DIR, '..');
const RAWCOPY_SRC = join(BENCH_DIR, 'rawcopy.c');
const RAWCOPY_BIN = join(OUT_DIR, 'rawcopy');
const WORKER = join(BENCH_DIR, 'worker.ts');
/** Outputs go to a temp dir on the corpus's disk; BENCH_TMP moves them (e.g. to a tmpfs, to take the disk out). */
const TMP = process.env.BENCH_TMP ? resolve(process.env.BENCH_TMP, 'veil-bench-tmp') : join(OUT_DIR, 'tmp-run');

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

function buildRawcopy(): void {
  if (existsSync(RAWCOPY_BIN) && statSync(RAWCOPY_BIN).mtimeMs >= statSync(RAWCOPY_SRC).mtimeMs) return;
  mkdirSync(OUT_DIR, { recursive: true });
  execFileSync('cc', ['-O2', '-o', RAWCOPY_BIN, RAWCOPY_SRC], { stdio: 'inherit' });
  log(`  built ${RAWCOPY_BIN}`);
}

let runCount = 0;

function runMode(mode: Mode | 'baseline', part: Part): Run {
  const dir = join(TMP, `${String(++runCount).padStart(3, '0')}-${part}-${mode}`);
  mkdirSync(dir, { recursive: true });
  const res =
    mode === 'raw'
      ? spawnSync(RAWCOPY_BIN, [listPath(part), dir, '1'], { encoding: 'utf8' })
      : spawnSync(process.execPath, ['--import', 'tsx', WORKER, mode, part, dir, '1'], { cwd: ROOT, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${mode} ${part} failed (${res.status}):\n${res.stderr}${res.stdout}`);
  const line = res.stdout.trim().split('\n').pop() ?? '';
  const run = JSON.parse(line) as Run;
  if (mode !== 'scan' && mode !== 'baseline') {
    // Exactly one output per input in the timed pass: no temp file left behind, nothing missing.
    const written = readdirSync(join(dir, 'p1')).length;
    if (written !== run.files) throw new Error(`${mode} ${part}: ${written} outputs for ${run.files} inputs`);
  }
  return run;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Row {
  part: Part;
  mode: Mode;
  ms: number;
  best: number;
  cpuMs: number;
  all: number[];
  files: number;
  bytes: number;
  rssKiB: number;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** File system type of the mount that holds `path` (longest matching mount point in /proc/mounts). */
function fsType(path: string): string {
  try {
    let best = { mount: '', type: 'unknown' };
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mount, type] = line.split(' ');
      if (!mount || !type) continue;
      const inside = path === mount || path.startsWith(mount.endsWith('/') ? mount : `${mount}/`);
      if (inside && mount.length > best.mount.length) best = { mount, type };
    }
    return best.type;
  } catch {
    return 'unknown';
  }
}

function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?';
  } catch {
    return '?';
  }
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtRate = (n: number): string => (n >= 100 ? fmtInt(n) : n.toFixed(1));

function main(): void {
  const t0 = performance.now();
  const loadBefore = loadAverage();
  const roundsOf = (part: Part): number => Math.max(1, Number(process.env.BENCH_ROUNDS ?? DEFAULT_ROUNDS[part]));
  const parts = (process.env.BENCH_PARTS?.split(',') ?? [...PARTS]) as Part[];
  log('Veil core benchmark');
  ensureCorpus(log);
  buildRawcopy();
  rmSync(TMP, { recursive: true, force: true }); // left by an interrupted run

  const rows: Row[] = [];
  for (const part of parts) {
    const runs = new Map<Mode, Run[]>(MODES.map((m) => [m, []]));
    const rounds = roundsOf(part);
    for (let r = 0; r < rounds; r++) {
      for (const mode of MODES) {
        const run = runMode(mode, part);
        runs.get(mode)!.push(run);
        log(
          `  ${part} round ${r + 1}/${rounds} ${mode}: ${run.ms[0]!.toFixed(1)} ms (CPU ${run.cpuMs[0]!.toFixed(1)} ms), ${fmtInt(run.maxRSSKiB / 1024)} MiB`,
        );
      }
    }
    for (const mode of MODES) {
      const rs = runs.get(mode)!;
      const all = rs.map((x) => x.ms[0]!);
      rows.push({
        part,
        mode,
        ms: median(all),
        best: Math.min(...all),
        cpuMs: median(rs.map((x) => x.cpuMs[0]!)),
        all,
        files: rs[0]!.files,
        bytes: rs[0]!.bytes,
        rssKiB: Math.max(...rs.map((x) => x.maxRSSKiB)),
      });
    }
  }
  const baseline = runMode('baseline', parts[0]!);
  const tClean = performance.now();
  rmSync(TMP, { recursive: true, force: true });
  log(`  deleted the outputs in ${((performance.now() - tClean) / 1000).toFixed(1)} s`);

  const date = new Date().toISOString().slice(0, 10);
  const machine = `${availableParallelism()} vCPU (nproc), ${cpuModel()}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM; outputs on ${fsType(TMP)}`;
  const lines: string[] = [];
  lines.push(`Date: ${date}. Machine: ${machine}. Node ${process.version}. Command: \`npm run bench\``);
  lines.push(
    `Interleaved rounds (${parts.map((p) => `${p} ${roundsOf(p)}`).join(', ')}), each the warm timed pass of a fresh process; rates are medians; peak RSS is the maximum over rounds. Load average (1 min) before/after: ${loadBefore} / ${loadAverage()}.`,
  );
  lines.push('');
  lines.push('| Part | Mode | files/s | MB/s | x raw copy | x raw (best) | x raw (CPU) | peak RSS (MiB) |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    const raw = rows.find((x) => x.part === row.part && x.mode === 'raw')!;
    const secs = row.ms / 1000;
    const headerOnly = row.part === 'multi' && row.mode === 'scan';
    const mbs = `${fmtRate(row.bytes / 1e6 / secs)}${headerOnly ? ' *' : ''}`;
    const ratio = (raw.ms / row.ms).toFixed(2);
    const bestRatio = (raw.best / row.best).toFixed(2);
    const cpuRatio = (raw.cpuMs / row.cpuMs).toFixed(2);
    lines.push(
      `| ${PART_LABELS[row.part]} | ${MODE_LABELS[row.mode]} | ${fmtRate(row.files / secs)} | ${mbs} | ${ratio} | ${bestRatio} | ${cpuRatio} | ${fmtInt(row.rssKiB / 1024)} |`,
    );
  }
  lines.push('');
  lines.push(
    'x raw copy: the raw copy time over the mode time, medians (wall clock); x raw (best): the same with the best round of each; x raw (CPU): with the user + system CPU time of the process. Above 1 is faster than the copy.',
  );
  lines.push(
    `MB = 10^6 bytes of input. Peak RSS of an idle worker (Node + tsx + modules loaded): ${fmtInt(baseline.maxRSSKiB / 1024)} MiB.`,
  );
  if (parts.includes('multi')) {
    lines.push(
      '\\* The scan of the multi-frame reads only its header (the file is over the 64 MB whole-file limit, so it is read in windows); MB/s counts the whole file.',
    );
  }
  const verdicts = parts.map((part) => {
    const raw = rows.find((x) => x.part === part && x.mode === 'raw')!;
    const noop = rows.find((x) => x.part === part && x.mode === 'noop')!;
    const ratio = raw.ms / noop.ms;
    const best = raw.best / noop.best;
    return `${part} ${ratio.toFixed(2)}x (best ${best.toFixed(2)}x) ${ratio >= AIM ? 'ok' : 'MISSED'}`;
  });
  lines.push(`Aim: no-op rewrite >= ${AIM}x the raw copy rate on every part: ${verdicts.join(', ')}.`);
  const md = `${lines.join('\n')}\n`;
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, 'core.md'), md);
  process.stdout.write(`\n${md}`);
  log(`\nwrote ${join(OUT_DIR, 'core.md')} (corpus: ${CORPUS_DIR}); ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  // Raw timings for the curious: every round of every mode.
  writeFileSync(
    join(OUT_DIR, 'core.json'),
    `${JSON.stringify({ date, machine, baselineRSSKiB: baseline.maxRSSKiB, rows }, null, 2)}\n`,
  );
}

main();
