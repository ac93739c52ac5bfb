/**
 * Crash test of the embedded gateway: the real `veil serve` runs as a child process while 300 real files are fed into
 * its folder, and is killed with SIGKILL at random moments 3 to 5 times (some while it starts and recovers, most while
 * it claims, processes and delivers), then started once more and left to finish. Against the manifest (the output
 * each input must give, computed with the core): every input ends delivered exactly once (one file per de-identified
 * SOP Instance UID, with exactly the expected bytes, no duplicate, no partial or temporary file) or in quarantine with
 * its expected reason; none lost (300 jobs, no more, no less; the folder empty).
 *
 * VEIL_CRASH_SEED=n replays a run's kill schedule (the seed is printed).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SqliteJobStore } from '@veil/store-sqlite';
import {
  buildCorpus,
  checkDestination,
  drop,
  ensureDir,
  filesUnder,
  HEADER_ONLY_DEID,
  httpGet,
  keyFile,
  pick,
  runVeil,
  sleep,
  spawnVeil,
  type VeilProcess,
  waitFor,
  writeConfig,
} from './server-support.ts';

const root = mkdtempSync(join(tmpdir(), 'veil-server-crash-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** mulberry32: a small seeded generator, so a failing kill schedule can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('kill -9 at random moments: every input delivered exactly once or quarantined, none lost', async () => {
  const seed = Number(process.env.VEIL_CRASH_SEED ?? Math.floor(Math.random() * 1e9));
  const random = rng(seed);
  process.stdout.write(`# crash test seed ${seed} (VEIL_CRASH_SEED=${seed} replays it)\n`);
  const inbox = ensureDir(join(root, 'inbox'));
  const out = join(root, 'out');
  const { path: keyPath, key } = keyFile(root);
  const files = pick(buildCorpus(key), 300, false);
  const expectDelivered = files.filter((f) => f.expect.outcome === 'delivered').length;
  const config = writeConfig(root, {
    deid: HEADER_ONLY_DEID,
    spool: './spool',
    store: { kind: 'sqlite', path: './veil.db' },
    key: { file: keyPath },
    ingress: [{ name: 'inbox', kind: 'folder', path: './inbox', pollMs: 50, settleMs: 0 }],
    destinations: [{ name: 'out', kind: 'folder', path: './out' }],
    delivery: { backoffSeconds: 0.2, maxBackoffSeconds: 1 },
    studies: { stableAfterSeconds: 1 },
    sweepSeconds: 0.5,
    http: { port: 0 },
    log: { level: 'info' },
  });

  // The feeder runs on its own, across the crashes, as a sender would.
  let fed = 0;
  const feeder = (async () => {
    for (let i = 0; i < files.length; i++) {
      drop(files[i]!, inbox, `in-${String(i).padStart(3, '0')}.dcm`);
      fed++;
      if (i % 10 === 9) await sleep(300);
    }
  })();

  const kills = 3 + Math.floor(random() * 3);
  const schedule: string[] = [];
  let proc: VeilProcess | undefined;
  try {
    for (let k = 0; k < kills; k++) {
      proc = spawnVeil(['serve', '--config', config]);
      if (random() < 0.25) {
        const ms = Math.round(300 + random() * 1500);
        schedule.push(`${ms} ms after spawn`);
        await sleep(ms);
      } else {
        await proc.waitEvent('server.started', 60_000);
        const ms = Math.round(100 + random() * 1400);
        schedule.push(`${ms} ms after start (fed ${fed})`);
        await sleep(ms);
      }
      proc.child.kill('SIGKILL');
      await proc.exited;
      schedule[schedule.length - 1] += `, ${proc.lines.filter((l) => l.event === 'job.done').length} done in that run`;
    }
    process.stdout.write(`# kills: ${schedule.join('; ')}\n`);
    await feeder;

    proc = spawnVeil(['serve', '--config', config]);
    const started = await proc.waitEvent('server.started', 60_000);
    const port = Number(String(started.http).split(':').pop());
    // A second embedded server on the same spool and database is refused (it would break the first one's leases).
    const second = await runVeil(['serve', '--config', config]);
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, /another veil serve --role all \(pid \d+\) is running on this spool/);
    const status = await waitFor(
      'every job settled',
      async () => {
        const s = JSON.parse((await httpGet(port, '/status')).text) as { jobs: Record<string, number> };
        const total = Object.values(s.jobs).reduce((a, b) => a + b, 0);
        return total === files.length && s.jobs.done! + s.jobs.quarantined! === files.length ? s : undefined;
      },
      120_000,
      200,
    );
    assert.equal(status.jobs.done, expectDelivered);
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0, 'a clean stop after SIGTERM');
    proc = undefined;
  } finally {
    if (proc && proc.child.exitCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
      schedule[schedule.length - 1] += `, ${proc.lines.filter((l) => l.event === 'job.done').length} done in that run`;
    }
    await feeder.catch(() => {});
  }

  assert.deepEqual(filesUnder(inbox), [], 'every input was taken');
  assert.equal(checkDestination(out, files), expectDelivered, 'each delivered once, complete, nothing else');

  const store = new SqliteJobStore(join(root, 'veil.db'));
  await store.init();
  try {
    const jobs = await store.listJobs({ limit: 10_000 });
    assert.equal(jobs.length, files.length, 'one job per input: none lost, none doubled');
    const deliveries = await store.countDeliveries();
    assert.equal(deliveries.delivered, expectDelivered);
    const held = (await store.listQuarantine({ states: ['held'] })).map((q) => q.code).sort();
    const want = files
      .filter((f) => f.expect.outcome === 'quarantined')
      .map((f) => (f.expect.outcome === 'quarantined' ? f.expect.code : ''))
      .sort();
    assert.deepEqual(held, want, 'quarantined with the expected reasons');
    // The spool keeps only what quarantine holds.
    assert.equal(filesUnder(join(root, 'spool', 'incoming')).length, want.length);
  } finally {
    await store.close();
  }
});
