/**
 * Gateway benchmark (not a test): end-to-end images per second through `veil serve`, from files dropped into the
 * watched folder to every job settled (delivered or quarantined), measured on the ingress's /status.
 *
 *   embedded            one process: SQLite (WAL, synchronous=FULL), in-process queue, processing.concurrency 4
 *   scale-out, 1 worker `--role ingress` + 1 `--role worker`, BullMQ + PostgreSQL
 *   scale-out, 2 workers `--role ingress` + 2 `--role worker`
 *
 * Each run starts the processes, waits until they are up, drops BENCH_IMAGES real files (default 300, from
 * ../shared/data/dicom, at most 1.5 MB each) into the folder at once, and times until all are settled. Scale-out rows
 * are left out when Redis or PostgreSQL do not answer (scripts/services.sh starts them). Every process fsyncs what it
 * commits, so the disk's fsync latency bounds the embedded row. Prints a Markdown table and writes bench/out/server.md.
 *
 * Run: npx tsx bench/server.bench.ts   (env: BENCH_IMAGES, BENCH_ROUNDS (default 2; the best round is reported))
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'apps/veil/bin/veil.mjs');
const corpusDir = join(process.env.VEIL_SHARED_DIR ?? resolve(root, '..', 'shared'), 'data', 'dicom');
const IMAGES = Number(process.env.BENCH_IMAGES ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PG_URL = process.env.VEIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.VEIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function corpus(n: number): string[] {
  const all = readdirSync(corpusDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => {
      const s = statSync(p).size;
      return s > 0 && s <= 1_500_000;
    })
    .sort();
  return Array.from({ length: n }, (_, i) => all[i % all.length]!);
}

interface Proc {
  child: ChildProcess;
  port: Promise<number>;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = '';
  const port = new Promise<number>((resolvePort, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      buf += c;
      const m = /"event":"server\.started".*?"http":"[^"]*:(\d+)"/.exec(buf);
      if (m) resolvePort(Number(m[1]));
      if (buf.length > 1_000_000) buf = buf.slice(-10_000);
    });
    child.once('exit', (code) => reject(new Error(`veil ${args.join(' ')} exited ${code}`)));
  });
  return { child, port };
}

async function settled(port: number): Promise<number> {
  const s = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { jobs: Record<string, number> };
  return (s.jobs.done ?? 0) + (s.jobs.quarantined ?? 0) + (s.jobs.failed ?? 0) + (s.jobs.dead ?? 0);
}

async function available(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function runOnce(mode: 'embedded' | 'scale', workers: number, files: string[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'veil-bench-server-'));
  const run = `veil_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const inbox = join(dir, 'inbox');
  mkdirSync(inbox);
  writeFileSync(join(dir, 'veil.key'), randomBytes(32).toString('base64'), { mode: 0o600 });
  const config = {
    spool: './spool',
    store: mode === 'embedded' ? { kind: 'sqlite', path: './veil.db' } : { kind: 'postgres', url: PG_URL, schema: run },
    queue: mode === 'embedded' ? { kind: 'embedded' } : { kind: 'bullmq', url: REDIS_URL, prefix: run },
    key: { file: './veil.key' },
    ingress: [{ name: 'inbox', kind: 'folder', path: './inbox', pollMs: 50, settleMs: 0 }],
    destinations: [{ name: 'out', kind: 'folder', path: './out' }],
    http: { port: 0 },
    // info: the start line carries the port; one line per job after that, cheap next to the fsyncs.
    log: { level: 'info' },
  };
  const configPath = join(dir, 'veil.json');
  writeFileSync(configPath, JSON.stringify(config));
  const procs: Proc[] = [];
  try {
    procs.push(start(['serve', '--config', configPath, '--role', mode === 'embedded' ? 'all' : 'ingress']));
    for (let i = 0; mode === 'scale' && i < workers; i++) {
      procs.push(start(['serve', '--config', configPath, '--role', 'worker', '--http-port', '0']));
    }
    const ports = await Promise.all(procs.map((p) => p.port));
    // Stage the copies beside the folder, then rename them in: the timing starts with every file in place.
    const stage = join(dir, 'stage');
    mkdirSync(stage);
    files.forEach((f, i) => {
      copyFileSync(f, join(stage, `${i}.dcm`));
    });
    const t0 = performance.now();
    for (let i = 0; i < files.length; i++) renameSync(join(stage, `${i}.dcm`), join(inbox, `${i}.dcm`));
    while ((await settled(ports[0]!)) < files.length) await sleep(20);
    return (performance.now() - t0) / 1000;
  } finally {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(
      procs.map((p) => new Promise((r) => (p.child.exitCode !== null ? r(0) : p.child.once('exit', r)))),
    );
    if (mode === 'scale') {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${run}" CASCADE`);
      await c.end();
      const r = new Redis(REDIS_URL);
      const keys = await r.keys(`${run}:*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const files = corpus(IMAGES);
const mb = files.reduce((n, f) => n + statSync(f).size, 0) / 1e6;
const rows: [string, number][] = [];
const configs: ['embedded' | 'scale', number, string][] = [['embedded', 1, 'embedded (SQLite, in-process queue)']];
if (await available()) {
  configs.push(['scale', 1, 'scale-out, 1 worker (BullMQ + PostgreSQL)']);
  configs.push(['scale', 2, 'scale-out, 2 workers (BullMQ + PostgreSQL)']);
} else {
  process.stderr.write('bench: Redis or PostgreSQL not reachable: scale-out rows left out (scripts/services.sh)\n');
}
for (const [mode, workers, label] of configs) {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) best = Math.min(best, await runOnce(mode, workers, files));
  rows.push([label, best]);
  process.stderr.write(`bench: ${label}: ${(files.length / best).toFixed(1)} images/s\n`);
}
const table = [
  `Gateway end to end: ${files.length} images (${mb.toFixed(0)} MB) dropped into the folder until all settled; best of ${ROUNDS}.`,
  `Machine: ${availableParallelism()} cores, node ${process.version}.`,
  '',
  '| setup | seconds | images/s | MB/s |',
  '| --- | ---: | ---: | ---: |',
  ...rows.map(([l, s]) => `| ${l} | ${s.toFixed(2)} | ${(files.length / s).toFixed(1)} | ${(mb / s).toFixed(1)} |`),
  '',
].join('\n');
process.stdout.write(table);
mkdirSync(join(root, 'bench', 'out'), { recursive: true });
writeFileSync(join(root, 'bench', 'out', 'server.md'), table);
