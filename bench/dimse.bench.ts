/**
 * DICOM networking benchmark (not a test): C-STORE throughput of Veil against dcmtk 3.6.7 on loopback, on 200
 * CT-like files (512x512 16-bit, ~526 KB each, from bench/generate-corpus.ts).
 *
 * Receiving, all from dcmtk's storescu:
 *   storescu -> `veil store-scp`   (writes Part 10 files; fsync of each file and of the folder before Success)
 *   storescu -> Veil DimseServer with a discarding sink (the protocol alone, no disk)
 *   storescu -> dcmtk storescp +B  (bit-preserving write; no fsync)
 * Sending, both into dcmtk's storescp +B:
 *   `veil send` (its own timing, after start-up; the wall time with Node/tsx start-up is shown beside it)
 *   storescu
 *
 * Each mode runs BENCH_ROUNDS times (default 3), interleaved, and the median is reported. The whole benchmark runs in
 * a private network namespace (`unshare -n`) when it can, so storescp (which binds every interface) sees loopback
 * traffic only; otherwise on free loopback ports. Prints a Markdown table and writes it to bench/out/dimse.md.
 * Usage: npx tsx bench/dimse.bench.ts   Env: BENCH_ROUNDS, BENCH_FILES (default 200).
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { DimseServer } from '@veil/dimse';
import { BENCH_DIR, ensureCorpus, OUT_DIR } from './generate-corpus.ts';

const ROOT = resolve(BENCH_DIR, '..');
const VEIL = join(ROOT, 'apps', 'veil', 'bin', 'veil.mjs');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FILES = Number(process.env.BENCH_FILES ?? 200);
const TMP = join(OUT_DIR, 'dimse-tmp');

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

// Re-run inside a private network namespace when possible (root or user namespaces).
if (process.env.VEIL_BENCH_NETNS === undefined) {
  const probe = spawnSync('unshare', ['-n', 'true']);
  if (probe.status === 0) {
    const r = spawnSync(
      'unshare',
      [
        '-n',
        'sh',
        '-c',
        'ip link set lo up && exec "$0" "$@"',
        process.execPath,
        ...process.execArgv,
        ...process.argv.slice(1),
      ],
      { stdio: 'inherit', env: { ...process.env, VEIL_BENCH_NETNS: '1' } },
    );
    process.exit(r.status ?? 1);
  }
  process.env.VEIL_BENCH_NETNS = '0';
}

/**
 * dcmtk leaves Nagle's algorithm on unless TCP_NODELAY is set in its environment; with it on, every C-STORE waits
 * ~40 ms for a delayed ACK on loopback (storescp: ~22 images/s). Veil sets TCP_NODELAY on its sockets. Compare like
 * with like: dcmtk runs with TCP_NODELAY=1.
 */
const DCMTK_ENV = { ...process.env, TCP_NODELAY: '1' };

function run(cmd: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { cwd: ROOT, env: DCMTK_ENV, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitForEcho(aet: string, port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await run('echoscu', ['-aec', aet, '127.0.0.1', String(port)])).code === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${aet} did not start`);
}

function emptyDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

function countFiles(dir: string): number {
  return readdirSync(dir).filter((n) => !n.startsWith('.')).length;
}

async function startVeilStoreScp(out: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [VEIL, 'store-scp', '--port', '0', '--out', out, '--aet', 'VEIL', '--quiet'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const port = await new Promise<number>((res, rej) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /listening on [^:]+:(\d+)/.exec(text);
      if (m) res(Number(m[1]));
    });
    child.once('exit', () => rej(new Error('veil store-scp exited')));
  });
  return { child, port };
}

async function startStorescp(out: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn('storescp', ['-aet', 'DCMTK', '+xa', '+B', '--max-pdu', '131072', '-od', out, String(port)], {
    stdio: 'ignore',
    env: DCMTK_ENV,
  });
  await waitForEcho('DCMTK', port);
  return { child, port };
}

interface Sample {
  seconds: number;
  wallSeconds?: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function main(): Promise<void> {
  const corpus = ensureCorpus(log);
  const files = corpus.files.ct.slice(0, FILES);
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  log(
    `dimse bench: ${files.length} files, ${(bytes / 1e6).toFixed(1)} MB, ${ROUNDS} rounds, netns=${process.env.VEIL_BENCH_NETNS}`,
  );

  const veilOut = join(TMP, 'veil');
  const dcmtkOut = join(TMP, 'dcmtk');
  emptyDir(veilOut);
  emptyDir(dcmtkOut);
  const veilScp = await startVeilStoreScp(veilOut);
  const storescp = await startStorescp(dcmtkOut);
  let discarded = 0;
  let instances = 0;
  const nullServer = new DimseServer({
    aeTitle: 'NULL',
    handlers: {
      store: {
        beginStore: () => ({
          write: (f) => {
            discarded += f.length;
          },
          end: () => {
            instances++;
            return 0;
          },
          abort: () => {},
        }),
      },
    },
  });
  const { port: nullPort } = await nullServer.listen({ port: 0 });

  const storescu = async (aet: string, port: number): Promise<Sample> => {
    const t0 = performance.now();
    const r = await run('storescu', ['-aec', aet, '-aet', 'STORESCU', '127.0.0.1', String(port), ...files]);
    if (r.code !== 0) throw new Error(`storescu -> ${aet} failed: ${r.stderr.slice(0, 500)}`);
    return { seconds: (performance.now() - t0) / 1000 };
  };

  const veilSend = async (aet: string, port: number): Promise<Sample> => {
    const t0 = performance.now();
    const r = await run(process.execPath, [
      VEIL,
      'send',
      ...files,
      '--to',
      `${aet}@127.0.0.1:${port}`,
      '--progress-every',
      '100000',
    ]);
    const wall = (performance.now() - t0) / 1000;
    const m = / in ([0-9.]+) s /.exec(r.stdout);
    if (r.code !== 0 || !m) throw new Error(`veil send failed: ${r.stderr.slice(0, 500)}`);
    return { seconds: Number(m[1]), wallSeconds: wall };
  };
  const resetNull = (): void => {
    discarded = 0;
    instances = 0;
  };
  // storescu re-encodes what it reads, so count instances (and that bytes arrived), not exact sizes.
  const nullCount = (): number => (discarded > 0 ? instances : -1);

  const modes: Array<{
    sender: string;
    receiver: string;
    run: () => Promise<Sample>;
    check: () => number;
    reset: () => void;
  }> = [
    {
      sender: 'storescu',
      receiver: '`veil store-scp` (Part 10 files, fsync file + folder before Success)',
      run: () => storescu('VEIL', veilScp.port),
      check: () => countFiles(veilOut),
      reset: () => {
        for (const n of readdirSync(veilOut)) if (n.endsWith('.dcm')) rmSync(join(veilOut, n));
      },
    },
    {
      sender: 'storescu',
      receiver: 'Veil DimseServer, discarding sink (protocol only)',
      run: () => storescu('NULL', nullPort),
      check: nullCount,
      reset: resetNull,
    },
    {
      sender: 'storescu',
      receiver: 'dcmtk storescp +B (no fsync)',
      run: () => storescu('DCMTK', storescp.port),
      check: () => countFiles(dcmtkOut),
      reset: () => emptyDir(dcmtkOut),
    },
    {
      sender: '`veil send`',
      receiver: 'dcmtk storescp +B (no fsync)',
      run: () => veilSend('DCMTK', storescp.port),
      check: () => countFiles(dcmtkOut),
      reset: () => emptyDir(dcmtkOut),
    },
    {
      sender: '`veil send`',
      receiver: 'Veil DimseServer, discarding sink (protocol only)',
      run: () => veilSend('NULL', nullPort),
      check: nullCount,
      reset: resetNull,
    },
  ];

  const samples = modes.map(() => [] as Sample[]);
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      for (const [i, mode] of modes.entries()) {
        mode.reset();
        const s = await mode.run();
        const got = mode.check();
        if (got !== files.length) {
          throw new Error(`${mode.sender} -> ${mode.receiver}: ${got} of ${files.length} files arrived`);
        }
        mode.reset();
        if (round === 0) continue; // warm-up: page cache, JIT
        samples[i]!.push(s);
        log(`  round ${round}: ${mode.sender} -> ${mode.receiver}: ${s.seconds.toFixed(2)} s`);
      }
    }
  } finally {
    await nullServer.close({ abort: true });
    veilScp.child.kill('SIGTERM');
    storescp.child.kill('SIGTERM');
    rmSync(TMP, { recursive: true, force: true });
  }

  const rows = modes.map((m, i) => {
    const secs = median(samples[i]!.map((s) => s.seconds));
    const walls = samples[i]!.flatMap((s) => (s.wallSeconds !== undefined ? [s.wallSeconds] : []));
    const wall = walls.length > 0 ? ` (${median(walls).toFixed(2)} s with Node start-up)` : '';
    return `| ${m.sender} | ${m.receiver} | ${secs.toFixed(2)} s${wall} | ${(files.length / secs).toFixed(0)} | ${(bytes / 1e6 / secs).toFixed(0)} |`;
  });
  const table = [
    `DICOM C-STORE on loopback: ${files.length} CT files, ${(bytes / 1e6).toFixed(0)} MB, median of ${ROUNDS} rounds; ` +
      `${cpus().length} cores, Node ${process.version}, dcmtk 3.6.7 with TCP_NODELAY=1 (storescp --max-pdu 131072). ` +
      'MB/s counts whole files.',
    '',
    '| Sender | Receiver | Time | Images/s | MB/s |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  process.stdout.write(`\n${table}\n`);
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, 'dimse.md'), `${table}\n`);
}

await main();
