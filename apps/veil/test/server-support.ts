/**
 * Helpers of the `veil serve` proof tests: a corpus of real files from ../shared/data/dicom (VEIL_SHARED_DIR) with
 * the output each must end as (computed here with the core, the same key and configuration as the server: the
 * de-identified SOP Instance UID and the sha256 of the exact bytes, or quarantine), server configurations in temp
 * folders, `veil serve` child processes with their JSON log lines, and the checks of a destination folder against
 * that manifest. Service probes for PostgreSQL and Redis: skip outside CI when absent, fail under CI=true.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type DicomFile,
  deidentify,
  findElement,
  parseDeidConfig,
  readString,
  scanFile,
  writeDeidentified,
} from '@veil/core';
import type { ServerHandle } from '../src/server/server.ts';
import { verifyBeforeRelease } from '../src/verify/gate.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const bin = join(repoRoot, 'apps/veil/bin/veil.mjs');
export const sharedDir = process.env.VEIL_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
export const corpusDir = join(sharedDir, 'data', 'dicom');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The PostgreSQL the tests use (127.0.0.1:5432, trust auth; VEIL_TEST_PG_URL elsewhere). */
export const PG_URL = process.env.VEIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Why PostgreSQL cannot be used (a skip reason), or undefined when a connection opens. `pg` is loaded here only, so
 * that the tests that never touch PostgreSQL do not load it.
 */
export async function postgresProblem(url = PG_URL): Promise<string | undefined> {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    return undefined;
  } catch (e) {
    return `PostgreSQL not reachable (${(e as { code?: string }).code ?? 'error'})`;
  } finally {
    await c.end().catch(() => {});
  }
}

export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface CorpusFile {
  readonly path: string;
  readonly size: number;
  /** What the gateway must make of it. */
  readonly expect:
    | { readonly outcome: 'delivered'; readonly sopInstanceUid: string; readonly sha256: string }
    | { readonly outcome: 'quarantined'; readonly code: string };
}

const SOP_INSTANCE_UID = 0x00080018;

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * The corpus with expected outcomes, for the key and the default de-identification configuration (Basic Profile,
 * verification at its defaults). Files whose de-identified SOP Instance UID is shared with another file are left
 * out (two inputs, one output name: which bytes win would depend on timing). Files over maxBytes are left out.
 */
export function buildCorpus(key: Uint8Array, maxBytes = 1_500_000): CorpusFile[] {
  const config = parseDeidConfig({});
  const out: CorpusFile[] = [];
  const bySop = new Map<string, number>();
  for (const path of listFiles(corpusDir)) {
    const size = statSync(path).size;
    if (size > maxBytes || size === 0) continue;
    const bytes = new Uint8Array(readFileSync(path));
    let expect: CorpusFile['expect'];
    try {
      const file = scanFile(bytes);
      const result = deidentify(file, config, { key });
      // The gateway's gate holds an input without a SOP Instance UID (a DICOMDIR, an empty data set) before the
      // engine runs: nothing could tell two of them apart at a destination.
      const sopElement = findElement(file.dataset, SOP_INSTANCE_UID);
      if (!sopElement || readString(sopElement).trim() === '') {
        expect = { outcome: 'quarantined', code: 'SOP_INSTANCE_UID_MISSING' };
      } else if (result.quarantine) expect = { outcome: 'quarantined', code: result.quarantine.code };
      else {
        const output = writeDeidentified(file, result);
        const verdict = verifyBeforeRelease(output, file, config, key);
        if (!verdict.ok) expect = { outcome: 'quarantined', code: verdict.code ?? 'VERIFY_FAILED' };
        else {
          const el = findElement(scanFile(output).dataset, SOP_INSTANCE_UID);
          const sop = el ? readString(el).trim() : '';
          if (!/^[0-9.]+$/.test(sop)) continue;
          expect = {
            outcome: 'delivered',
            sopInstanceUid: sop,
            sha256: createHash('sha256').update(output).digest('hex'),
          };
          bySop.set(sop, (bySop.get(sop) ?? 0) + 1);
        }
      }
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      expect = { outcome: 'quarantined', code: typeof code === 'string' ? code : 'SCAN_FAILED' };
    }
    out.push({ path, size, expect });
  }
  return out.filter((f) => f.expect.outcome !== 'delivered' || bySop.get(f.expect.sopInstanceUid) === 1);
}

/** n files: all delivered ones first when `deliveredOnly`, else a mix in corpus order. */
export function pick(corpus: readonly CorpusFile[], n: number, deliveredOnly: boolean): CorpusFile[] {
  const pool = deliveredOnly ? corpus.filter((f) => f.expect.outcome === 'delivered') : corpus;
  assert.ok(pool.length >= n, `the corpus has ${pool.length} usable files, ${n} wanted`);
  // Spread over the corpus (every k-th), so each dataset of the corpus is represented.
  const step = pool.length / n;
  return Array.from({ length: n }, (_, i) => pool[Math.floor(i * step)]!);
}

/** Copies a file into an ingress folder the way a well-behaved sender does: a hidden temporary name, then a rename. */
export function drop(file: CorpusFile, inbox: string, name: string): void {
  const tmp = join(inbox, `.${name}.part`);
  copyFileSync(file.path, tmp);
  renameSync(tmp, join(inbox, name));
}

export function keyFile(dir: string): { path: string; key: Uint8Array } {
  const key = new Uint8Array(randomBytes(32));
  const path = join(dir, 'veil.key');
  writeFileSync(path, Buffer.from(key).toString('base64'), { mode: 0o600 });
  return { path, key };
}

/**
 * The `deid` section of the gateway tests that compare deliveries byte for byte with buildCorpus's expectations (the
 * header path): the burned-in text stage, on by default, turned off explicitly. That is a user's own choice, and then
 * nothing is claimed clean, which is what the expectations hold. The stage's own serve test: pixels-serve.test.ts.
 */
export const HEADER_ONLY_DEID: Record<string, unknown> = { pixels: { text: { enabled: false } } };

/** Writes a server configuration (JSON) into dir and returns its path. */
export function writeConfig(dir: string, config: Record<string, unknown>, name = 'veil-server.json'): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/**
 * A `veil serve` (role all) started in this process from a configuration written into dir with a fresh key there:
 * spool ./spool, SQLite store ./veil.db, a folder destination `out` at ./out, an ephemeral HTTP port, warn logs (the
 * server's own observability at that level). `config` adds the ingresses and the rest, and replaces any default it
 * names.
 */
export async function startServerIn(dir: string, config: Record<string, unknown>): Promise<ServerHandle> {
  // Loaded here, not at the top: most users of this module spawn `veil` and need not load the server (seconds).
  const [{ loadServerConfig }, { startServer }] = await Promise.all([
    import('../src/server/config.ts'),
    import('../src/server/server.ts'),
  ]);
  const { path, key } = keyFile(dir);
  const written = writeConfig(dir, {
    spool: './spool',
    store: { kind: 'sqlite', path: './veil.db' },
    key: { file: path },
    destinations: [{ name: 'out', kind: 'folder', path: './out' }],
    http: { port: 0 },
    log: { level: 'warn' },
    ...config,
  });
  return startServer({ config: loadServerConfig(written), key, role: 'all' });
}

/** The trimmed string value of a top-level element, or undefined when absent. */
export function stringOf(file: DicomFile, tag: number): string | undefined {
  const el = findElement(file.dataset, tag);
  return el ? readString(el).trim() : undefined;
}

/** The Code Values of the De-identification Method Code Sequence (0012,0064) (CID 7050: 113101 and the like). */
export function deidMethodCodes(file: DicomFile): string[] {
  return (findElement(file.dataset, 0x00120064)?.items ?? []).map((item) => {
    const v = findElement(item, 0x00080100);
    return v ? readString(v).trim() : '';
  });
}

export interface LogLine {
  readonly event?: string;
  readonly level?: string;
  readonly [k: string]: unknown;
}

export interface VeilProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  readonly raw: string[];
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  /** The first log line with this event. */
  waitEvent(event: string, timeoutMs?: number): Promise<LogLine>;
}

/** Runs the real `veil` executable (stdout JSON lines parsed, stderr kept). */
export function spawnVeil(args: readonly string[], env: NodeJS.ProcessEnv = {}): VeilProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const raw: string[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buf += chunk;
    let i = buf.indexOf('\n');
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      raw.push(line);
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        // Not a log line.
      }
      i = buf.indexOf('\n');
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => raw.push(chunk));
  const exited = new Promise<number | string>((r) => child.once('exit', (code, signal) => r(code ?? signal ?? -1)));
  return {
    child,
    lines,
    raw,
    exited,
    waitEvent: (event, timeoutMs = 60_000) =>
      waitFor(
        `log event ${event}`,
        () => lines.find((l) => l.event === event) ?? (child.exitCode !== null ? fail() : undefined),
        timeoutMs,
      ),
  };
  function fail(): never {
    throw new Error(
      `veil ${args.join(' ')} exited (${child.exitCode}) before logging the event:\n${raw.slice(-20).join('\n')}`,
    );
  }
}

/** Runs `veil` to completion: exit code, stdout, stderr. */
export async function runVeil(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const code = await new Promise<number>((r) => child.once('close', (c) => r(c ?? -1)));
  return { code, stdout, stderr };
}

export async function httpGet(port: number, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

/** The value of one Prometheus sample line (`name{labels} value`), or undefined. */
export function metric(text: string, sample: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}

/**
 * Checks a flat destination folder against the manifest: every expected delivery present once, named by its
 * de-identified SOP Instance UID, with exactly the expected bytes; nothing else there (no duplicate, no partial
 * file, no temporary left behind). Returns the number of files checked.
 */
export function checkDestination(dir: string, expected: readonly CorpusFile[]): number {
  const want = new Map<string, string>();
  for (const f of expected) {
    if (f.expect.outcome === 'delivered') want.set(`${f.expect.sopInstanceUid}.dcm`, f.expect.sha256);
  }
  const found = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
  const extra = found.filter((f) => !want.has(f));
  assert.deepEqual(extra.slice(0, 10), [], `${extra.length} unexpected file(s) in the destination`);
  const missing = [...want.keys()].filter((k) => !found.includes(k));
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} expected file(s) missing from the destination`);
  for (const name of found) {
    const sha = createHash('sha256')
      .update(readFileSync(join(dir, name)))
      .digest('hex');
    assert.equal(sha, want.get(name), `${basename(name)}: bytes differ from the expected de-identified output`);
  }
  return found.length;
}

/** Files left in a folder tree (ingress folders must end empty). */
export function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

/** SHA-256 of every file in a folder tree, by path relative to it; files whose name matches `skip` left out. */
export function hashTree(dir: string, skip?: RegExp): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of filesUnder(dir)) {
    if (skip?.test(basename(f))) continue;
    m.set(relative(dir, f), createHash('sha256').update(readFileSync(f)).digest('hex'));
  }
  return m;
}

export function ensureDir(p: string): string {
  mkdirSync(p, { recursive: true });
  return p;
}
