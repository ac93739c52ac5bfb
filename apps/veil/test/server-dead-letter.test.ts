/**
 * A failing destination: deliveries are retried with backoff, then dead-lettered; `veil jobs --state dead` shows the
 * jobs with their destination's error code; once the destination is repaired, `veil jobs --replay ID` (the real CLI,
 * talking to the running embedded server) delivers them; nothing was lost meanwhile and the spool kept the bytes.
 *
 * The destination is a read-only folder (chmod 555). Root ignores file modes, so under root the folder is replaced by
 * a plain file at the same path (every write fails with ENOTDIR or EEXIST): the same failure for the pipeline.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadServerConfig } from '../src/server/config.ts';
import { createObservability } from '../src/server/observe.ts';
import { type ServerHandle, startServer } from '../src/server/server.ts';
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
  pick,
  runVeil,
  waitFor,
  writeConfig,
} from './server-support.ts';

const root = mkdtempSync(join(tmpdir(), 'veil-server-dead-'));
const asRoot = process.getuid?.() === 0;
const out = join(root, 'out');

function breakDestination(): void {
  if (asRoot) writeFileSync(out, 'not a folder');
  else {
    mkdirSync(out, { recursive: true });
    chmodSync(out, 0o555);
  }
}

function repairDestination(): void {
  if (asRoot) {
    rmSync(out, { force: true });
    mkdirSync(out);
  } else chmodSync(out, 0o755);
}

let server: ServerHandle | undefined;
after(async () => {
  await server?.close();
  try {
    chmodSync(out, 0o755);
  } catch {
    // Already writable or gone.
  }
  rmSync(root, { recursive: true, force: true });
});

test('a read-only destination: retries, dead letter, listed by veil jobs --state dead, replayed once repaired', async () => {
  const inbox = ensureDir(join(root, 'inbox'));
  const { path: keyPath, key } = keyFile(root);
  const files = pick(buildCorpus(key), 3, true);
  const configPath = writeConfig(root, {
    deid: HEADER_ONLY_DEID,
    spool: './spool',
    store: { kind: 'sqlite', path: './veil.db' },
    key: { file: keyPath },
    ingress: [{ name: 'inbox', kind: 'folder', path: './inbox', pollMs: 100, settleMs: 0 }],
    destinations: [{ name: 'archive', kind: 'folder', path: './out' }],
    delivery: { maxAttempts: 3, backoffSeconds: 0.1, maxBackoffSeconds: 0.5 },
    sweepSeconds: 0.2,
    http: { port: 0 },
    log: { level: 'warn' },
  });
  breakDestination();
  server = await startServer({
    config: loadServerConfig(configPath),
    key,
    role: 'all',
    obs: createObservability({ level: 'silent', role: 'all' }),
  });
  const store = server.store;
  for (const [i, f] of files.entries()) drop(f, inbox, `x-${i}.dcm`);

  const dead = await waitFor('three dead jobs', async () => {
    const jobs = await store.listJobs({ states: ['dead'] });
    return jobs.length === 3 ? jobs : undefined;
  });
  for (const job of dead) {
    const [d] = await store.listDeliveries({ jobId: job.id });
    assert.equal(d?.state, 'dead');
    assert.equal(d?.attempts, 3, 'three attempts before the dead letter');
    assert.match(d?.error ?? '', /^DEST_E[A-Z]+$/);
    const audit = (await store.listAudit({ jobId: job.id })).map((a) => a.event);
    assert.deepEqual(
      audit.filter((e) => e.startsWith('delivery.')),
      ['delivery.retry', 'delivery.retry', 'delivery.dead'],
    );
  }
  const m = (await httpGet(server.http!.port, '/metrics')).text;
  assert.equal(metric(m, 'veil_dead_letters_total{destination="archive"}'), 3);
  assert.equal(metric(m, 'veil_jobs{state="dead"}'), 3);
  assert.equal(filesUnder(join(root, 'spool', 'output')).length, 3, 'the spool keeps what was not delivered');

  const listed = await runVeil(['jobs', '--config', configPath, '--state', 'dead']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /dead 3/);
  for (const job of dead)
    assert.match(listed.stdout, new RegExp(`^${job.id} dead deliver archive:dead/3\\(DEST_E`, 'm'));

  repairDestination();
  // One replay through the CLI (which tells the running server); the other two through the same admin path.
  const replay = await runVeil(['jobs', '--config', configPath, '--replay', dead[0]!.id]);
  assert.equal(replay.code, 0, replay.stderr);
  assert.match(replay.stdout, new RegExp(`replayed ${dead[0]!.id}: delivering \\(handed to the server\\)`));
  const again = await runVeil(['jobs', '--config', configPath, '--replay', dead[0]!.id]);
  assert.notEqual(again.code, 0, 'a job that is no longer dead is not replayed');
  for (const job of dead.slice(1)) {
    await store.saveJob(job.id, { states: ['dead'] }, { state: 'delivering', replayDead: true }, Date.now());
    await server.runner.recoverJob(job.id);
  }
  await waitFor('all done', async () => ((await store.countJobs()).done === 3 ? true : undefined));
  assert.equal(checkDestination(out, files), 3);
  assert.deepEqual(filesUnder(join(root, 'spool', 'output')), []);
  const events = (await store.listAudit({ jobId: dead[0]!.id })).map((a) => a.event);
  assert.ok(events.includes('job.replayed'));
  assert.equal(events[events.length - 1], 'job.done');
});
