/**
 * The one durable writer (release/durable.ts), the spool's claims (across file systems, UID claims) and the release
 * thread pool (release/thread-pool.ts): folders made on demand, no temporary left behind, a claim from another file
 * system, a UID claimed once (same bytes again: same; other bytes: conflict), and a worker that dies takes only its
 * request with it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  ensureDirDurable,
  isTemporaryName,
  temporaryName,
  writeFileDurable,
  writeFileDurableAsync,
} from '../src/release/durable.ts';
import { ThreadPool, WorkerCrashed, WorkerFailed } from '../src/release/thread-pool.ts';
import { Spool } from '../src/server/spool.ts';

const root = mkdtempSync(join(tmpdir(), 'veil-durable-'));
const roots = [root];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String);
}

describe('durable writer', () => {
  test('writes into folders it makes, leaves no temporary, replaces atomically', async () => {
    const path = join(root, 'a', 'b', 'c', 'x.dcm');
    writeFileDurable(path, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
    writeFileDurable(path, 'second');
    assert.equal(readFileSync(path, 'utf8'), 'second');
    await writeFileDurableAsync(
      join(root, 'd', 'e', 'y.bin'),
      (async function* () {
        yield new Uint8Array([4]);
        yield new Uint8Array([5, 6]);
      })(),
    );
    assert.deepEqual([...readFileSync(join(root, 'd', 'e', 'y.bin'))], [4, 5, 6]);
    ensureDirDurable(join(root, 'f', 'g'));
    assert.ok(statSync(join(root, 'f', 'g')).isDirectory());
    assert.deepEqual(
      allFiles(root).filter((f) => isTemporaryName(f)),
      [],
    );
    const t1 = temporaryName(path);
    const t2 = temporaryName(path);
    assert.notEqual(t1, t2, 'two temporaries of one thread differ');
    assert.ok(isTemporaryName(t1));
  });

  test('a file that holds a secret is created 0600, sync and async (run file, deface decisions)', async () => {
    const dir = join(root, 'mode');
    const prev = process.umask(0o022);
    try {
      writeFileDurable(join(dir, 'run.json'), '{}', { mode: 0o600 });
      await writeFileDurableAsync(join(dir, 'b.json'), '{}', { mode: 0o600 });
      writeFileDurable(join(dir, 'plain.json'), '{}');
    } finally {
      process.umask(prev);
    }
    assert.equal(statSync(join(dir, 'run.json')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'b.json')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'plain.json')).mode & 0o777, 0o644);
    assert.deepEqual(allFiles(dir).filter(isTemporaryName), []);
  });

  test('a failed write leaves neither the file nor a temporary', () => {
    const dir = join(root, 'ro');
    ensureDirDurable(dir);
    // A folder where the file should be: the rename fails.
    ensureDirDurable(join(dir, 'taken'));
    writeFileSync(join(dir, 'taken', 'inside'), 'x');
    assert.throws(() => writeFileDurable(join(dir, 'taken'), 'data'));
    assert.deepEqual(readdirSync(dir).sort(), ['taken']);
  });
});

describe('spool claims', () => {
  test('a UID is claimed once: the same bytes again are the same, other bytes a conflict', () => {
    const spool = new Spool(join(root, 'spool'));
    spool.init();
    const uid = '2.25.1234';
    assert.equal(spool.claimUid(uid, 'a'.repeat(64), 'job1'), 'new');
    assert.equal(spool.claimUid(uid, 'a'.repeat(64), 'job2'), 'same');
    assert.equal(spool.claimUid(uid, 'b'.repeat(64), 'job3'), 'conflict');
    // The holder itself re-run with other bytes (a changed configuration) keeps it.
    assert.equal(spool.claimUid(uid, 'c'.repeat(64), 'job1'), 'same');
    assert.equal(spool.claimUid(uid, 'a'.repeat(64), 'job2'), 'conflict');
    assert.equal(spool.claimUid('2.25.99', 'b'.repeat(64), 'job3'), 'new');
    assert.deepEqual(
      allFiles(join(root, 'spool')).filter((f) => isTemporaryName(f)),
      [],
    );
  });

  const shm = '/dev/shm';
  const otherFs = existsSync(shm) && statSync(shm).dev !== statSync(root).dev;
  test('a claim from another file system: copied, made durable, then the source removed', {
    skip: !otherFs,
  }, async () => {
    const src = mkdtempSync(join(shm, 'veil-durable-src-'));
    roots.push(src);
    const file = join(src, 'in.dcm');
    writeFileSync(file, 'DICM-ish bytes');
    const spool = new Spool(join(root, 'spool2'));
    spool.init();
    const { rel, size } = await spool.claim(file, 'inbox', '01jxxxxxxxxxxxxxxxxxxxxxxx');
    assert.equal(size, 14);
    assert.equal(readFileSync(spool.path(rel), 'utf8'), 'DICM-ish bytes');
    assert.ok(!existsSync(file), 'the source is gone');
    assert.deepEqual(readdirSync(spool.path('tmp')), [], 'no claim temporary left');
  });
});

describe('release thread pool', () => {
  test('a worker that dies rejects only its request (WorkerCrashed); the pool goes on', async () => {
    const entry = join(root, 'worker.mjs');
    writeFileSync(
      entry,
      [
        "import { parentPort } from 'node:worker_threads';",
        "parentPort.on('message', (m) => {",
        "  if (m.request === 'die') process.exit(7);",
        "  if (m.request === 'oom') { const a = []; for (;;) a.push(new Array(1 << 20).fill(1)); }",
        '  parentPort.postMessage({ id: m.id, ok: true, result: m.request * 2 });',
        '});',
        "parentPort.postMessage({ type: 'ready' });",
      ].join('\n'),
    );
    const pool = new ThreadPool<number | string, number>({
      entry: pathToFileURL(entry),
      size: 1,
      workerData: null,
      resourceLimits: { maxOldGenerationSizeMb: 32 },
    });
    try {
      assert.equal(await pool.run(21), 42);
      const died = await pool.run('die').then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(died instanceof WorkerCrashed);
      assert.equal(died.reason, 'EXIT_7');
      const oom = await pool.run('oom').then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(oom instanceof WorkerCrashed);
      assert.equal(oom.reason, 'ERR_WORKER_OUT_OF_MEMORY');
      assert.equal(await pool.run(5), 10, 'a new worker took over');
    } finally {
      await pool.close();
    }
  });

  test('workers that cannot start: the pool gives up, refuses with WorkerFailed and tells onFatal once', async () => {
    const entry = join(root, 'never-ready.mjs');
    writeFileSync(entry, 'process.exit(3);\n');
    const fatal: string[] = [];
    const pool = new ThreadPool<number, number>({
      entry: pathToFileURL(entry),
      size: 1,
      workerData: null,
      onFatal: (code) => fatal.push(code),
    });
    try {
      const first = await pool.run(1).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(first instanceof WorkerFailed, String(first));
      const later = await pool.run(2).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(later instanceof WorkerFailed);
      assert.deepEqual(fatal, ['WORKERS_KEEP_CRASHING'], 'told once, with the code');
    } finally {
      await pool.close();
    }
  });
});
