/**
 * The scale-out gateway end to end: one `veil serve --role ingress` and two `--role worker` processes sharing
 * BullMQ (real Redis) and PostgreSQL (real server), each test run in its own PostgreSQL schema and Redis key prefix
 * (dropped after). 60 real files dropped into the watched folder all end de-identified in the destination folder,
 * exactly once, both workers take part, and the counts (status, metrics of each process) add up. Then one worker is
 * killed with SIGKILL in the middle of a second batch: BullMQ hands its messages to the other after the lock expires,
 * and that batch ends complete too.
 *
 * Without Redis or PostgreSQL the test is skipped, except under CI=true, where a missing service fails it
 * (scripts/services.sh starts both).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  buildCorpus,
  checkDestination,
  drop,
  ensureDir,
  filesUnder,
  HEADER_ONLY_DEID,
  httpGet,
  keyFile,
  metric,
  PG_URL,
  pick,
  postgresProblem,
  spawnVeil,
  type VeilProcess,
  waitFor,
  writeConfig,
} from './server-support.ts';

const REDIS_URL = process.env.VEIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = `veil_scale_${process.pid}_${randomBytes(3).toString('hex')}`;
const root = mkdtempSync(join(tmpdir(), 'veil-server-scaleout-'));

async function probe(): Promise<string | undefined> {
  const pgIssue = await postgresProblem(PG_URL);
  if (pgIssue) return pgIssue;
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    return `Redis not reachable (${(e as { code?: string }).code ?? 'error'})`;
  } finally {
    r.disconnect();
  }
  return undefined;
}

const problem = await probe();
if (problem && process.env.CI) throw new Error(`${problem}; CI=true: the service is required (scripts/services.sh)`);

const procs: VeilProcess[] = [];
after(async () => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  if (!problem) {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${run}" CASCADE`);
    await client.end();
    const r = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${run}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
    r.disconnect();
  }
  rmSync(root, { recursive: true, force: true });
});

async function portOf(p: VeilProcess): Promise<number> {
  const started = await p.waitEvent('server.started', 60_000);
  return Number(String(started.http).split(':').pop());
}

test('ingress + two workers on BullMQ and PostgreSQL: all delivered once; a killed worker loses nothing', {
  skip: problem ?? false,
}, async () => {
  const inbox = ensureDir(join(root, 'inbox'));
  const out = join(root, 'out');
  const { path: keyPath, key } = keyFile(root);
  const corpus = buildCorpus(key);
  const all = pick(corpus, 120, true);
  const first = all.slice(0, 60);
  const second = all.slice(60);
  const config = writeConfig(root, {
    deid: HEADER_ONLY_DEID,
    spool: './spool',
    store: { kind: 'postgres', url: PG_URL, schema: run },
    queue: { kind: 'bullmq', url: REDIS_URL, prefix: run, lockSeconds: 3 },
    key: { file: keyPath },
    ingress: [{ name: 'inbox', kind: 'folder', path: './inbox', pollMs: 100, settleMs: 0 }],
    destinations: [{ name: 'out', kind: 'folder', path: './out' }],
    // Short leases: a job waits for one of the release threads (4 leased jobs, 2 threads per worker) longer than
    // 3 s on a loaded machine; the Runner renews the lease meanwhile, so no step runs twice (counted once).
    processing: { concurrency: 4, leaseSeconds: 3 },
    delivery: { backoffSeconds: 0.2, leaseSeconds: 3 },
    studies: { stableAfterSeconds: 1 },
    sweepSeconds: 0.5,
    http: { port: 0 },
    log: { level: 'info' },
  });
  const ingress = spawnVeil(['serve', '--config', config, '--role', 'ingress']);
  procs.push(ingress);
  const ingressPort = await portOf(ingress);
  const workers = [0, 1].map(() => spawnVeil(['serve', '--config', config, '--role', 'worker', '--http-port', '0']));
  procs.push(...workers);
  const workerPorts = await Promise.all(workers.map(portOf));

  const started = Date.now();
  for (const [i, f] of first.entries()) drop(f, inbox, `a-${i}.dcm`);
  const settled = async (n: number): Promise<Record<string, number> | undefined> => {
    const s = JSON.parse((await httpGet(ingressPort, '/status')).text) as { jobs: Record<string, number> };
    return s.jobs.done === n ? s.jobs : undefined;
  };
  await waitFor('the first batch delivered', () => settled(60), 90_000, 200);
  process.stdout.write(`# scale-out: 60 images end to end in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  assert.equal(checkDestination(out, first), 60);

  const doneBy = workers.map((w) => w.lines.filter((l) => l.event === 'job.done').length);
  assert.equal(doneBy[0]! + doneBy[1]!, 60, `job.done logged by the workers: ${doneBy.join(' + ')}`);
  assert.ok(doneBy[0]! > 0 && doneBy[1]! > 0, `both workers delivered (${doneBy.join(' + ')})`);
  const ingressMetrics = (await httpGet(ingressPort, '/metrics')).text;
  assert.equal(metric(ingressMetrics, 'veil_received_total{ingress="inbox"}'), 60);
  assert.equal(metric(ingressMetrics, 'veil_jobs{state="done"}'), 60);
  let exported = 0;
  let deidentified = 0;
  for (const port of workerPorts) {
    const m = (await httpGet(port, '/metrics')).text;
    exported += metric(m, 'veil_exported_total{destination="out"}') ?? 0;
    deidentified += metric(m, 'veil_deidentified_total') ?? 0;
  }
  assert.equal(exported, 60);
  assert.equal(deidentified, 60);

  // Second batch: kill one worker while it works. Its messages come back to the other one.
  for (const [i, f] of second.entries()) drop(f, inbox, `b-${i}.dcm`);
  const victim = workers[0]!;
  const before = victim.lines.filter((l) => l.event === 'job.done').length;
  await waitFor(
    'the victim at work',
    () => victim.lines.filter((l) => l.event === 'job.done').length > before + 3,
    60_000,
    20,
  );
  victim.child.kill('SIGKILL');
  await victim.exited;
  await waitFor('the second batch delivered', () => settled(120), 90_000, 200);
  assert.equal(checkDestination(out, all), 120);
  assert.deepEqual(filesUnder(inbox), []);
  // Spool files of done jobs go; those of a job the victim finished just before it died go with the ingress's
  // periodic spool sweep (every ~10 s).
  await waitFor(
    'the spool emptied',
    () => filesUnder(join(root, 'spool')).filter((f) => /[0-9a-z]{26}\.dcm$/.test(f)).length === 0,
    30_000,
    200,
  );

  for (const p of [ingress, workers[1]!]) p.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all([ingress.exited, workers[1]!.exited]), [0, 0]);
});
