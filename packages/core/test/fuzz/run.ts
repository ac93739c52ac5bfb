/**
 * Fuzz target for the scanner, the value readers, the rewriter and the whole release path. Seeded from ~100 small
 * corpus files (and the heads of some large ones) and the generated hostile corpus (support/hostile.ts, scaled down:
 * bombs, stray delimiters, trailing data, deep nesting...), it mutates bytes (bit flips, bytes set to 00/FF/random, corrupted length, tag and VR fields at
 * offsets found by scanning the seed, truncation, chunks duplicated, removed or inserted; for deflated files also the
 * inflated dataset, deflated again). Every input must either scan, and then rewrite and be walked with readString /
 * readNumbers without throwing anything but a VeilError, or fail with a VeilError. An input that scans then goes
 * through the release path (releaseFile: scan -> de-identify -> plan -> verification gate) with the default
 * configuration: it must be released or quarantined with a VeilError's code (never a fallback code that stands for
 * another exception), and a released output must re-scan strictly (no trailing bytes, no stray delimiter) with the
 * structural check clean. Any other exception, or an iteration over 1 s, prints the seed and iteration, saves the
 * input under .tmp/fuzz-crashes/ and exits 1. The scanner runs with small caps (FUZZ_LIMITS) so that a bomb fails in
 * milliseconds: the caps' own paths are fuzzed too.
 *
 * Usage: node --import tsx packages/core/test/fuzz/run.ts
 *   VEIL_FUZZ_SEED        PRNG seed (default 1); iteration i of seed s is always the same input
 *   VEIL_FUZZ_ITERATIONS  iterations (default 100000)
 *   VEIL_FUZZ_ONLY        run just this iteration and print what happens (to reproduce a crash)
 *   VEIL_FUZZ_WORKERS     worker threads (default: available cores, at most 4)
 *   VEIL_FUZZ_RELEASE     run the release path on one in N inputs that scan (default 4; 1 in scripts/fuzz-long.sh)
 * scripts/fuzz-long.sh runs 1e6 iterations.
 *   VEIL_SHARED_DIR       the shared data folder (default ../shared beside the repository)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { deflateSync } from 'fflate';
import {
  bytesSource,
  checkStructure,
  concat,
  type DicomElement,
  type DicomFile,
  type Edit,
  type ElementContainer,
  isTextVR,
  isVeilError,
  materialize,
  parseDeidConfig,
  readNumbers,
  readString,
  releaseFile,
  rewrite,
  type ScanLimits,
  scanFile,
  UNDEFINED_LENGTH,
  valueBytes,
  walkElements,
} from '../../src/index.ts';
import { inventory, PYDICOM_TEST_FILES, pydicomFiles, readBytes, repoRoot } from '../support/corpus.ts';
import { hostileCorpus } from '../support/hostile.ts';

const SMALL = 64 * 1024;
const SEED_FILES = 100;
const LARGE_HEADS = 12;
const HEAD_BYTES = 48 * 1024;
/** An iteration slower than this, twice in a row, is a hang. */
const HANG_MS = 1000;
/** The main thread's watchdog for an iteration that never ends (a slow one is timed by its worker). */
const STUCK_MS = 10_000;
/** Caps small enough that a bomb fails in milliseconds, large enough for every seed (the largest inflates to 262 KB). */
const FUZZ_LIMITS: Partial<ScanLimits> = { maxInflatedBytes: 300 * 1024, maxElements: 5000, maxDepth: 64 };
/** The hostile corpus at 1/100 of its counts: the same structures, small enough to mutate thousands of times. */
const HOSTILE_SCALE = 0.01;
/** Quarantine codes that releaseFile uses for an exception that is not a VeilError: a crash in disguise. */
const FALLBACK_CODES = new Set(['SCAN_FAILED', 'DEID_FAILED', 'REWRITE_FAILED', 'STAGE_FAILED']);
const RELEASE_KEY = new Uint8Array(32).fill(0x5a);

// ---------------------------------------------------------------------------------------------------------------------
// Deterministic randomness: iteration i of seed s has its own generator, so any iteration can be replayed alone.

function splitmix32(a: number): () => number {
  let s = a >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number, iteration: number) {
    const mix = splitmix32(seed ^ Math.imul(iteration, 0x27d4eb2f));
    mix();
    this.next = splitmix32(mix() ^ iteration);
  }
  u32(): number {
    return this.next();
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Seeds and the structure found in them

interface Field {
  readonly offset: number;
  readonly kind: 'length16' | 'length32' | 'tag' | 'vr';
  readonly le: boolean;
}

interface Space {
  readonly bytes: Uint8Array;
  readonly fields: readonly Field[];
}

interface Seed {
  readonly name: string;
  readonly file: Space;
  /** A deflated dataset: the file up to the deflate stream, and the inflated dataset with its fields. */
  readonly deflated?: { readonly prefix: Uint8Array; readonly dataset: Space };
}

function fieldsOf(containers: readonly (ElementContainer | undefined)[]): Field[] {
  const fields: Field[] = [];
  for (const c of containers) {
    if (!c) continue;
    walkElements(c, (el) => {
      const le = el.parent.syntax.littleEndian;
      fields.push({ offset: el.offset, kind: 'tag', le });
      const header = el.valueOffset - el.offset;
      if (el.vrExplicit) {
        fields.push({ offset: el.offset + 4, kind: 'vr', le });
        fields.push(
          header === 12
            ? { offset: el.offset + 8, kind: 'length32', le }
            : { offset: el.offset + 6, kind: 'length16', le },
        );
      } else {
        fields.push({ offset: el.offset + 4, kind: 'length32', le });
      }
      for (const item of el.items ?? []) {
        const ile = item.syntax.littleEndian;
        fields.push(
          { offset: item.offset, kind: 'tag', le: ile },
          { offset: item.offset + 4, kind: 'length32', le: ile },
        );
      }
      for (const f of el.fragments ?? []) {
        fields.push({ offset: f.offset, kind: 'tag', le }, { offset: f.offset + 4, kind: 'length32', le });
      }
    });
  }
  return fields;
}

function makeSeed(name: string, bytes: Uint8Array): Seed | undefined {
  let file: DicomFile;
  try {
    file = scanFile(bytes, { lenient: true, limits: FUZZ_LIMITS });
  } catch {
    // A seed that does not scan (a cut large file, a bomb) is still a seed: mutate it blindly.
    return { name, file: { bytes, fields: [] } };
  }
  if (file.datasetSource === file.source) {
    return { name, file: { bytes, fields: fieldsOf([file.meta, file.dataset]) } };
  }
  const inflated = file.datasetSource.read(0, file.datasetSource.length).slice();
  if (inflated.length > 4 * SMALL) return undefined;
  return {
    name,
    file: { bytes, fields: fieldsOf([file.meta]) },
    deflated: {
      prefix: bytes.slice(0, file.datasetOffset),
      dataset: { bytes: inflated, fields: fieldsOf([file.dataset]) },
    },
  };
}

/** A large file cut after its last top-level element that ends within HEAD_BYTES (a header without pixel data). */
function head(bytes: Uint8Array): Uint8Array {
  let cut = Math.min(bytes.length, HEAD_BYTES);
  try {
    const file = scanFile(bytes);
    if (file.datasetSource === file.source) {
      const fits = file.dataset.elements.filter((el) => el.end <= HEAD_BYTES);
      if (fits.length > 0) cut = fits[fits.length - 1]!.end;
    }
  } catch {
    // Cut blindly.
  }
  return bytes.slice(0, cut);
}

/** ~100 small corpus files spread over the corpus, every small deflated one, and the heads of some large files. */
function loadSeeds(): Seed[] {
  const files = [
    ...inventory().map((f) => ({
      name: f.rel,
      path: f.path,
      size: f.size,
      deflated: f.transferSyntax.endsWith('.1.99'),
    })),
    ...pydicomFiles().map((rel) => ({
      name: `pydicom/${rel}`,
      path: path.join(PYDICOM_TEST_FILES, rel),
      size: -1,
      deflated: false,
    })),
  ].sort((a, b) => (a.name < b.name ? -1 : 1));
  const small: typeof files = [];
  const large: typeof files = [];
  for (const f of files) {
    const bytes = f.size >= 0 ? f.size : readBytes(f.path).length;
    (bytes < SMALL ? small : large).push(f);
  }
  const chosen = new Set<(typeof files)[number]>(small.filter((f) => f.deflated));
  for (let k = 0; k < SEED_FILES; k++) chosen.add(small[Math.floor((k * small.length) / SEED_FILES)]!);
  const seeds: Seed[] = [];
  for (const f of chosen) {
    const s = makeSeed(f.name, readBytes(f.path));
    if (s) seeds.push(s);
  }
  for (let k = 0; k < LARGE_HEADS && large.length > 0; k++) {
    const f = large[Math.floor((k * large.length) / LARGE_HEADS)]!;
    const s = makeSeed(`${f.name} (head)`, head(readBytes(f.path)));
    if (s) seeds.push(s);
  }
  for (const c of hostileCorpus({ scale: HOSTILE_SCALE })) {
    const s = makeSeed(`hostile/${c.name}`, c.bytes);
    if (s) seeds.push(s);
  }
  return seeds;
}

// ---------------------------------------------------------------------------------------------------------------------
// Mutations

const TAGS = [
  0xfffee000, 0xfffee00d, 0xfffee0dd, 0x7fe00010, 0x00080005, 0x00020010, 0x00000000, 0xffffffff, 0x00091010,
];
const VRS = ['SQ', 'UN', 'OB', 'OW', 'UT', 'LO', 'US', 'UL', 'AT', 'FD', 'UI', 'PN', '  ', 'zz', '\0\0', 'XX'];

function setU32(b: Uint8Array, at: number, v: number, le: boolean): void {
  if (at + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0, le);
}

function setU16(b: Uint8Array, at: number, v: number, le: boolean): void {
  if (at + 2 <= b.length) new DataView(b.buffer, b.byteOffset).setUint16(at, v & 0xffff, le);
}

function getLength(b: Uint8Array, f: Field): number {
  const dv = new DataView(b.buffer, b.byteOffset);
  if (f.kind === 'length16') return f.offset + 2 <= b.length ? dv.getUint16(f.offset, f.le) : 0;
  return f.offset + 4 <= b.length ? dv.getUint32(f.offset, f.le) : 0;
}

function mutateField(b: Uint8Array, f: Field, rng: Rng): void {
  if (f.kind === 'tag') {
    const tag = rng.chance(0.7) ? rng.pick(TAGS) : rng.u32();
    setU16(b, f.offset, tag >>> 16, f.le);
    setU16(b, f.offset + 2, tag & 0xffff, f.le);
  } else if (f.kind === 'vr') {
    const vr = rng.pick(VRS);
    if (f.offset + 2 <= b.length) {
      b[f.offset] = vr.charCodeAt(0);
      b[f.offset + 1] = vr.charCodeAt(1);
    }
  } else {
    const old = getLength(b, f);
    const choices = [
      0,
      1,
      old + 1,
      old - 1,
      old + 2,
      old - 2,
      old + 8,
      old - 8,
      old * 2,
      b.length,
      b.length - f.offset,
    ];
    const v = rng.chance(0.15) ? UNDEFINED_LENGTH : rng.chance(0.2) ? rng.u32() : rng.pick(choices);
    if (f.kind === 'length16') setU16(b, f.offset, v, f.le);
    else setU32(b, f.offset, v, f.le);
  }
}

type Mutation = 'flip' | 'byte' | 'run' | 'field' | 'truncate' | 'truncateAtField' | 'duplicate' | 'remove' | 'insert';

/** Weights: mostly in-place damage, which leaves the rest of the file walkable; some changes of length. */
const MUTATIONS: readonly (readonly [Mutation, number])[] = [
  ['flip', 15],
  ['byte', 15],
  ['run', 8],
  ['field', 35],
  ['truncate', 4],
  ['truncateAtField', 4],
  ['duplicate', 7],
  ['remove', 7],
  ['insert', 5],
];

function pickMutation(rng: Rng, structured: boolean): Mutation {
  const usable = MUTATIONS.filter(([m]) => structured || (m !== 'field' && m !== 'truncateAtField'));
  let r = rng.int(usable.reduce((n, [, w]) => n + w, 0));
  for (const [m, w] of usable) {
    if (r < w) return m;
    r -= w;
  }
  return 'flip';
}

/** One mutation of the bytes of a space; may return a new array (length changes). */
function mutateOnce(b: Uint8Array, fields: readonly Field[], rng: Rng): Uint8Array {
  if (b.length === 0) return rng.chance(0.5) ? b : Uint8Array.from([rng.int(256)]);
  const at = rng.int(b.length);
  const chunk = (): number => 1 + rng.int(rng.chance(0.8) ? 64 : 4096);
  switch (pickMutation(rng, fields.length > 0)) {
    case 'flip':
      b[at]! ^= 1 << rng.int(8);
      return b;
    case 'byte':
      b[at] = rng.pick([0x00, 0xff, rng.int(256)]);
      return b;
    case 'run': {
      const n = 1 + rng.int(16);
      const v = rng.pick([0x00, 0xff, -1]);
      for (let k = at; k < Math.min(b.length, at + n); k++) b[k] = v < 0 ? rng.int(256) : v;
      return b;
    }
    case 'field':
      mutateField(b, rng.pick(fields), rng);
      return b;
    case 'truncate':
      return b.slice(0, rng.chance(0.5) ? at : Math.max(0, b.length - 1 - rng.int(64)));
    case 'truncateAtField':
      return b.slice(0, Math.min(b.length, rng.pick(fields).offset + rng.int(12)));
    case 'duplicate': {
      const to = rng.int(b.length + 1);
      return concat([b.subarray(0, to), b.subarray(at, Math.min(b.length, at + chunk())), b.subarray(to)]);
    }
    case 'remove':
      return concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + chunk()))]);
    case 'insert': {
      const junk = new Uint8Array(1 + rng.int(16)).map(() => rng.int(256));
      return concat([b.subarray(0, at), junk, b.subarray(at)]);
    }
  }
}

function mutateSpace(space: Space, rng: Rng): Uint8Array {
  let b: Uint8Array = space.bytes.slice();
  const n = 1 + rng.int(rng.chance(0.8) ? 2 : 6);
  for (let k = 0; k < n; k++) b = mutateOnce(b, space.fields, rng);
  return b;
}

/** The input of iteration i: a function of (seed, i) and the seed files only. */
function input(seeds: readonly Seed[], seed: number, i: number): { bytes: Uint8Array; from: string } {
  const rng = new Rng(seed, i);
  const s = rng.pick(seeds);
  if (s.deflated && rng.chance(0.6)) {
    const dataset = mutateSpace(s.deflated.dataset, rng);
    return { bytes: concat([s.deflated.prefix, deflateSync(dataset, { level: 1 })]), from: `${s.name} (inflated)` };
  }
  return { bytes: mutateSpace(s.file, rng), from: s.name };
}

// ---------------------------------------------------------------------------------------------------------------------
// One iteration

/**
 * 'parsed': the input scanned (a VeilError after that, from a conflicting random edit, is `after`); `release` is what
 * the release path did with it ('released', or the quarantine code).
 */
type Outcome =
  | { kind: 'parsed'; after?: string; release?: string }
  | { kind: 'veil'; code: string }
  | { kind: 'crash'; error: string };

const RELEASE_CONFIG = parseDeidConfig({ limits: FUZZ_LIMITS });

/** The release path on an input that scanned: released outputs must re-scan strictly and walk clean. */
function release(bytes: Uint8Array): string {
  const outcome = releaseFile(bytesSource(bytes), { config: RELEASE_CONFIG, keys: { key: RELEASE_KEY } });
  if (outcome instanceof Promise) throw new Error('releaseFile returned a Promise with no async stage');
  if (outcome.kind === 'not-dicom') throw new Error('an input that scanned is not-dicom on the release path');
  if (outcome.kind === 'quarantined') {
    const disguised = outcome.findings.find((f) => FALLBACK_CODES.has(f.code));
    if (disguised) throw new Error(`release path: ${disguised.stage} threw something else than a VeilError`);
    return outcome.code;
  }
  const out = materialize(outcome.file.source, outcome.plan.segments);
  let file: DicomFile;
  try {
    file = scanFile(out);
  } catch (e) {
    throw new Error(`a released output does not re-scan: ${isVeilError(e) ? e.code : describeError(e)}`);
  }
  if (file.dataset.contentEnd !== file.datasetSource.length) throw new Error('a released output has trailing bytes');
  const problems = checkStructure(file);
  if (problems.length > 0) throw new Error(`a released output fails the structural check: ${problems[0]!.code}`);
  return 'released';
}

function describeError(e: unknown): string {
  return e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
}

function exercise(file: DicomFile, bytes: Uint8Array, rng: Rng): void {
  const same = rewrite(file, []);
  if (same.length !== bytes.length || Buffer.compare(same, bytes) !== 0)
    throw new Error('rewrite(file, []) differs from the input');
  const leaves: Edit[] = [];
  const all: Edit[] = [];
  const visit = (el: DicomElement): void => {
    valueBytes(el);
    // Large values (pixel data) are one bounds check like any other: reading them whole only costs time.
    if (el.length <= 4096 || el.length === UNDEFINED_LENGTH) {
      if (isTextVR(el.vr)) readString(el);
      else readNumbers(el);
    }
    all.push({ op: 'remove', element: el });
    if (!el.items && !el.fragments && el.length !== UNDEFINED_LENGTH) {
      leaves.push({
        op: 'replace',
        element: el,
        value: rng.chance(0.5) ? valueBytes(el).slice() : new Uint8Array(rng.int(9)),
      });
    }
  };
  if (file.meta) walkElements(file.meta, visit);
  walkElements(file.dataset, visit);
  // Edits on whatever tree the scanner made of it: a removal and a replacement (conflicts are VeilErrors).
  const edits: Edit[] = [];
  if (all.length > 0) edits.push(rng.pick(all));
  if (leaves.length > 0) edits.push(rng.pick(leaves));
  if (rng.chance(0.3)) {
    const vr = rng.pick(['LO', 'UT', 'US', 'SQ']);
    edits.push({
      op: 'insert',
      container: file.dataset,
      tag: 0x00091000 + rng.int(0x100),
      vr,
      value: new Uint8Array(rng.int(6)),
    });
  }
  if (edits.length > 0) rewrite(file, edits);
  if (file.meta && rng.chance(0.1)) {
    rewrite(file, [{ op: 'insert', container: file.meta, tag: 0x00020013, vr: 'SH', value: new Uint8Array(3) }]);
  }
}

function runOne(seeds: readonly Seed[], seed: number, i: number, releaseEvery = 1): Outcome {
  const { bytes } = input(seeds, seed, i);
  const rng = new Rng(seed ^ 0x5bd1e995, i);
  let file: DicomFile;
  try {
    file = scanFile(bytes, { limits: FUZZ_LIMITS });
  } catch (e) {
    if (isVeilError(e)) return { kind: 'veil', code: e.code };
    return { kind: 'crash', error: describeError(e) };
  }
  let after: string | undefined;
  try {
    exercise(file, bytes, rng);
  } catch (e) {
    if (!isVeilError(e)) return { kind: 'crash', error: describeError(e) };
    after = e.code;
  }
  if (i % releaseEvery !== 0) return { kind: 'parsed', ...(after ? { after } : {}) };
  try {
    return { kind: 'parsed', ...(after ? { after } : {}), release: release(bytes) };
  } catch (e) {
    return { kind: 'crash', error: describeError(e) };
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Workers: iterations i ≡ w (mod W); progress in shared memory so that the main thread can see a hang.

interface WorkerInput {
  readonly seeds: Seed[];
  readonly seed: number;
  readonly iterations: number;
  readonly index: number;
  readonly stride: number;
  readonly progress: SharedArrayBuffer;
  readonly releaseEvery: number;
}

type WorkerMessage =
  | {
      type: 'done';
      parsed: number;
      codes: Record<string, number>;
      after: Record<string, number>;
      releases: Record<string, number>;
    }
  | { type: 'crash'; iteration: number; error: string }
  | { type: 'slow'; iteration: number; ms: number };

function workerMain(data: WorkerInput): void {
  const progress = new Int32Array(data.progress);
  let parsed = 0;
  const codes: Record<string, number> = {};
  const after: Record<string, number> = {};
  const releases: Record<string, number> = {};
  for (let i = data.index; i < data.iterations; i += data.stride) {
    Atomics.store(progress, data.index, i);
    let t0 = performance.now();
    const outcome = runOne(data.seeds, data.seed, i, data.releaseEvery);
    let ms = performance.now() - t0;
    // Up to three more times, warm, to tell a slow input from a busy machine (on a 2-core VM at load 20, a 100 ms
    // iteration can take a second of wall time).
    for (let again = 0; again < 3 && ms > HANG_MS; again++) {
      t0 = performance.now();
      runOne(data.seeds, data.seed, i, data.releaseEvery);
      ms = Math.min(ms, performance.now() - t0);
    }
    if (outcome.kind === 'crash') {
      parentPort!.postMessage({ type: 'crash', iteration: i, error: outcome.error } satisfies WorkerMessage);
      return;
    }
    if (ms > HANG_MS) {
      parentPort!.postMessage({ type: 'slow', iteration: i, ms } satisfies WorkerMessage);
      return;
    }
    if (outcome.kind === 'parsed') {
      parsed++;
      if (outcome.after) after[outcome.after] = (after[outcome.after] ?? 0) + 1;
      if (outcome.release) releases[outcome.release] = (releases[outcome.release] ?? 0) + 1;
    } else {
      codes[outcome.code] = (codes[outcome.code] ?? 0) + 1;
    }
  }
  Atomics.store(progress, data.index, -1);
  parentPort!.postMessage({ type: 'done', parsed, codes, after, releases } satisfies WorkerMessage);
}

function save(seeds: readonly Seed[], seed: number, i: number, why: string): string {
  const dir = path.join(repoRoot, '.tmp', 'fuzz-crashes');
  mkdirSync(dir, { recursive: true });
  const { bytes, from } = input(seeds, seed, i);
  const base = path.join(dir, `seed${seed}-iter${i}`);
  writeFileSync(`${base}.dcm`, bytes);
  writeFileSync(`${base}.txt`, `seed ${seed} iteration ${i}, mutated from ${from}\n${why}\n`);
  return `${base}.dcm`;
}

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not ${v}`);
  return n;
}

/** A worker running this file. Node 20 does not carry the tsx loader into workers: the worker registers it first. */
function startWorker(data: WorkerInput): Worker {
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const self = JSON.stringify(import.meta.url);
  const code = `import(${api}).then((tsx) => { tsx.register(); return import(${self}); })`;
  return new Worker(code, { eval: true, execArgv: [], workerData: data });
}

async function main(): Promise<number> {
  const seed = envInt('VEIL_FUZZ_SEED', 1) >>> 0;
  const iterations = envInt('VEIL_FUZZ_ITERATIONS', 100000);
  const releaseEvery = Math.max(1, envInt('VEIL_FUZZ_RELEASE', 4));
  const t0 = performance.now();
  const seeds = loadSeeds();

  const only = process.env.VEIL_FUZZ_ONLY;
  if (only !== undefined && only !== '') {
    const i = envInt('VEIL_FUZZ_ONLY', 0);
    const { from, bytes } = input(seeds, seed, i);
    const outcome = runOne(seeds, seed, i, 1);
    console.log(`fuzz: seed ${seed} iteration ${i}: ${bytes.length} bytes from ${from}: ${JSON.stringify(outcome)}`);
    if (outcome.kind === 'crash') console.log(`saved ${save(seeds, seed, i, outcome.error)}`);
    return outcome.kind === 'crash' ? 1 : 0;
  }

  const stride = Math.max(
    1,
    Math.min(envInt('VEIL_FUZZ_WORKERS', Math.min(4, availableParallelism())), iterations || 1),
  );
  const progress = new SharedArrayBuffer(4 * stride);
  const current = new Int32Array(progress);
  current.fill(-2);
  let parsed = 0;
  const codes: Record<string, number> = {};
  const after: Record<string, number> = {};
  const releases: Record<string, number> = {};
  let failure: string | undefined;

  const workers = Array.from({ length: stride }, (_, index) => {
    const data: WorkerInput = { seeds, seed, iterations, index, stride, progress, releaseEvery };
    return startWorker(data);
  });

  const fail = (i: number, why: string): void => {
    if (failure) return;
    const file = save(seeds, seed, i, why);
    failure = `fuzz: FAILED at seed ${seed} iteration ${i} (replay: VEIL_FUZZ_SEED=${seed} VEIL_FUZZ_ONLY=${i})\n${why}\ninput saved to ${file}`;
  };

  // The watchdog: a worker whose iteration has not moved for STUCK_MS is stuck in it.
  const seen = workers.map(() => ({ iteration: -2, since: performance.now() }));
  const watchdog = setInterval(() => {
    const now = performance.now();
    seen.forEach((s, k) => {
      const i = Atomics.load(current, k);
      if (i !== s.iteration) {
        s.iteration = i;
        s.since = now;
      } else if (i >= 0 && now - s.since > STUCK_MS) {
        fail(i, `hang: iteration ${i} still running after ${Math.round(now - s.since)} ms`);
        for (const x of workers) void x.terminate();
      }
    });
  }, 250);

  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          w.on('message', (m: WorkerMessage) => {
            if (m.type === 'done') {
              parsed += m.parsed;
              for (const [c, n] of Object.entries(m.codes)) codes[c] = (codes[c] ?? 0) + n;
              for (const [c, n] of Object.entries(m.after)) after[c] = (after[c] ?? 0) + n;
              for (const [c, n] of Object.entries(m.releases)) releases[c] = (releases[c] ?? 0) + n;
            } else if (m.type === 'crash') {
              fail(m.iteration, m.error);
              for (const x of workers) void x.terminate();
            } else {
              fail(m.iteration, `hang: iteration ${m.iteration} took ${Math.round(m.ms)} ms`);
              for (const x of workers) void x.terminate();
            }
          });
          w.on('error', (e) => {
            failure ??= `fuzz: worker failed: ${describeError(e)}`;
            resolve();
          });
          w.on('exit', () => resolve());
        }),
    ),
  );
  clearInterval(watchdog);

  if (failure) {
    console.error(failure);
    return 1;
  }
  const errors = Object.values(codes).reduce((a, b) => a + b, 0);
  const sorted = (m: Record<string, number>): string =>
    JSON.stringify(Object.fromEntries(Object.entries(m).sort((a, b) => b[1] - a[1])));
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  // CPU of every thread of this process: the number to compare across machines (wall time moves with the load).
  const cpu = process.cpuUsage();
  const cpuSecs = ((cpu.user + cpu.system) / 1e6).toFixed(1);
  console.log(`fuzz: seed ${seed}, ${seeds.length} seed files, ${stride} workers`);
  console.log(`fuzz: after a scan, random edits refused with VeilErrors ${sorted(after)}`);
  console.log(`fuzz: release path (1 in ${releaseEvery} scanned inputs): ${sorted(releases)}`);
  console.log(
    `fuzz: ${iterations} iterations, ${parsed} parsed, ${errors} VeilErrors by code ${sorted(codes)}, ${secs}s (CPU ${cpuSecs}s)`,
  );
  if (parsed + errors !== iterations) {
    console.error(`fuzz: ${iterations - parsed - errors} iterations unaccounted for`);
    return 1;
  }
  return 0;
}

if (isMainThread) {
  main().then(
    (rc) => {
      process.exitCode = rc;
    },
    (e: unknown) => {
      console.error(describeError(e));
      process.exitCode = 1;
    },
  );
} else {
  workerMain(workerData as WorkerInput);
}
