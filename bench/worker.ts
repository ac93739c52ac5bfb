/**
 * One benchmark mode over one corpus part, in its own process so that its peak RSS is its own.
 *
 * Usage: node --import tsx bench/worker.ts MODE PART OUTDIR [TIMED_PASSES]
 *   MODE  node-copy  readFileSync + writeFileSync per file (reference)
 *         scan       openFileSource + scanFile (the read and the element walk, no output)
 *         noop       openFileSource + scanFile + planRewrite(file, []) + writePlan
 *         edit       as noop, with one edit: PatientName replaced (a segment plan: range, new bytes, range)
 *         baseline   nothing: the peak RSS of Node + tsx + the loaded modules, for reference
 * Runs one untimed warm-up pass (which also checks the output) and TIMED_PASSES (default 1) timed passes, pass N
 * into OUTDIR/pN; outputs are truncated after each pass (not timed) and left for the caller to delete (see
 * bench/core.bench.ts for why they are not deleted between passes). Prints one JSON line: {"ms":[...],"cpuMs":[...],"files":N,"bytes":B,
 * "maxRSSKiB":K}, where cpuMs is the process's user + system CPU time of each timed pass (all threads).
 */
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type DicomFile,
  type Edit,
  findElement,
  planRewrite,
  type RewritePlan,
  readString,
  scanFile,
} from '@veil/core';
import { type FileSource, openFileSource, WHOLE_FILE_LIMIT } from '../apps/veil/src/io/file-source.ts';
import { writePlan } from '../apps/veil/src/io/write-plan.ts';
import { PARTS, type Part, readList } from './generate-corpus.ts';

export const MODES = ['node-copy', 'scan', 'noop', 'edit', 'baseline'] as const;
export type Mode = (typeof MODES)[number];

const PATIENT_NAME = 0x00100010;
const NEW_NAME = new TextEncoder().encode('ANONYMIZED^BENCH');

function nameEdit(file: DicomFile): Edit[] {
  const el = findElement(file.dataset, PATIENT_NAME);
  if (!el) throw new Error('no PatientName');
  return [{ op: 'replace', element: el, value: NEW_NAME }];
}

/** Processes one file; returns its size in bytes. */
function runOne(mode: Mode, input: string, output: string): number {
  if (mode === 'node-copy') {
    const buf = readFileSync(input);
    writeFileSync(output, buf);
    return buf.length;
  }
  const source: FileSource = openFileSource(input);
  try {
    const file = scanFile(source);
    if (mode === 'scan') return source.length;
    const plan = planRewrite(file, mode === 'edit' ? nameEdit(file) : []);
    writePlan(source, plan, output);
    return source.length;
  } finally {
    source.close();
  }
}

/** Reads [pos, pos + n) of a file into buf (fewer bytes only at its end); returns the count. */
function readAt(fd: number, buf: Uint8Array, n: number, pos: number): number {
  let o = 0;
  while (o < n) {
    const k = readSync(fd, buf, o, n - o, pos + o);
    if (k === 0) break;
    o += k;
  }
  return o;
}

/**
 * Byte-compares an output file with what a plan says it must hold (new bytes and ranges of the input), in 4 MB
 * chunks so that memory stays bounded for the 200 MB file.
 */
function matchesPlan(input: string, plan: RewritePlan, output: string): boolean {
  const fi = openSync(input, 'r');
  const fo = openSync(output, 'r');
  try {
    if (fstatSync(fo).size !== plan.length) return false;
    const a = new Uint8Array(4 << 20);
    const b = new Uint8Array(4 << 20);
    let out = 0;
    for (const seg of plan.segments) {
      if (seg instanceof Uint8Array) {
        if (readAt(fo, b, seg.length, out) !== seg.length || !equal(seg, b.subarray(0, seg.length))) return false;
        out += seg.length;
        continue;
      }
      for (let pos = seg.start; pos < seg.end; ) {
        const n = Math.min(a.length, seg.end - pos);
        if (readAt(fi, a, n, pos) !== n || readAt(fo, b, n, out) !== n) return false;
        if (!equal(a.subarray(0, n), b.subarray(0, n))) return false;
        pos += n;
        out += n;
      }
    }
    return true;
  } finally {
    closeSync(fi);
    closeSync(fo);
  }
}

function equal(x: Uint8Array, y: Uint8Array): boolean {
  return Buffer.compare(x, y) === 0;
}

/**
 * Checks the first output of the warm-up pass (untimed): a copy is the input byte for byte; an edited file is what
 * its plan says, and, when it is small enough to be read whole, rescans cleanly with the new PatientName.
 */
function check(mode: Mode, input: string, output: string): void {
  const src = openFileSource(input);
  try {
    const file = scanFile(src);
    const plan = planRewrite(file, mode === 'edit' ? nameEdit(file) : []);
    if (!matchesPlan(input, plan, output)) throw new Error(`${mode}: ${output} is not what the plan says`);
  } finally {
    src.close();
  }
  if (mode !== 'edit' || statSync(output).size > WHOLE_FILE_LIMIT) return;
  const file = scanFile(new Uint8Array(readFileSync(output)));
  const el = findElement(file.dataset, PATIENT_NAME);
  if (!el || readString(el) !== 'ANONYMIZED^BENCH' || file.findings.length > 0) {
    throw new Error(`edit: ${output} does not rescan cleanly with the new PatientName`);
  }
}

function main(): void {
  const [mode, part, outDir, timedArg] = process.argv.slice(2) as [Mode, Part, string, string | undefined];
  if (!MODES.includes(mode) || !PARTS.includes(part) || !outDir) {
    console.error('usage: worker.ts MODE PART OUTDIR [TIMED_PASSES]');
    process.exit(2);
  }
  const timed = Math.max(1, Number(timedArg ?? 1));
  if (mode === 'baseline') {
    process.stdout.write(
      `${JSON.stringify({ ms: [0], cpuMs: [0], files: 0, bytes: 0, maxRSSKiB: process.resourceUsage().maxRSS })}\n`,
    );
    return;
  }
  const inputs = readList(part);
  const writes = mode !== 'scan';
  const ms: number[] = [];
  const cpuMs: number[] = [];
  let bytes = 0;
  for (let pass = 0; pass <= timed; pass++) {
    bytes = 0;
    const passDir = join(outDir, `p${pass}`);
    if (writes) mkdirSync(passDir);
    const outputs = inputs.map((p) => join(passDir, basename(p)));
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inputs.length; i++) bytes += runOne(mode, inputs[i]!, outputs[i]!);
    const t1 = process.hrtime.bigint();
    const c1 = process.cpuUsage(c0);
    if (pass > 0) {
      ms.push(Number(t1 - t0) / 1e6);
      cpuMs.push((c1.user + c1.system) / 1e3);
    } else if (writes) check(mode, inputs[0]!, outputs[0]!);
    if (writes) for (const o of outputs) truncateSync(o, 0);
  }
  const maxRSSKiB = process.resourceUsage().maxRSS;
  process.stdout.write(`${JSON.stringify({ ms, cpuMs, files: inputs.length, bytes, maxRSSKiB })}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
