/**
 * Proof test of the embedded gateway (one process: SQLite store, embedded queue), in process through startServer:
 * 50 real files dropped into the watched folder all end de-identified in the destination folder (named by their
 * de-identified SOP Instance UID, bytes exactly as the core makes them), the ingress folder and the spool end empty,
 * and the status, metrics, study records and audit log count right. Then the policy gate: a route that allows only
 * CT holds another SOP class in quarantine, `veil quarantine list` shows it, release lets it through, purge deletes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findElement, readString, scanFile } from '@veil/core';
import { openAdmin } from '../src/server/admin.ts';
import { loadServerConfig } from '../src/server/config.ts';
import { createObservability } from '../src/server/observe.ts';
import { type ServerHandle, startServer } from '../src/server/server.ts';
import {
  buildCorpus,
  type CorpusFile,
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

const root = mkdtempSync(join(tmpdir(), 'veil-server-embedded-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('veil serve, embedded (SQLite + in-process queue)', () => {
  const dir = ensureDir(join(root, 'e2e'));
  const inbox = ensureDir(join(dir, 'inbox'));
  const out = join(dir, 'out');
  const { path: keyPath, key } = keyFile(dir);
  let corpus: CorpusFile[];
  let files: CorpusFile[];
  let server: ServerHandle;

  before(async () => {
    corpus = buildCorpus(key);
    files = pick(corpus, 50, true);
    const configPath = writeConfig(dir, {
      deid: HEADER_ONLY_DEID,
      spool: './spool',
      store: { kind: 'sqlite', path: './state/veil.db' },
      key: { file: keyPath },
      ingress: [{ name: 'inbox', kind: 'folder', path: './inbox', pollMs: 100, settleMs: 50 }],
      destinations: [{ name: 'out', kind: 'folder', path: './out' }],
      studies: { stableAfterSeconds: 0.5 },
      sweepSeconds: 0.2,
      http: { port: 0 },
      log: { level: 'warn' },
    });
    server = await startServer({
      config: loadServerConfig(configPath),
      key,
      role: 'all',
      obs: createObservability({ level: 'warn', role: 'all' }),
    });
  });
  after(async () => {
    await server?.close();
  });

  test('50 files dropped in the folder end de-identified in the destination, once each, counted right', async () => {
    const started = Date.now();
    for (const [i, f] of files.entries()) drop(f, inbox, `image-${String(i).padStart(3, '0')}.dcm`);
    // A file that is not DICOM: held, not lost, not delivered.
    writeFileSync(join(inbox, 'notes.txt'), 'not an image');
    await waitFor(
      'every job settled',
      async () => {
        const c = await server.store.countJobs();
        return c.done + c.quarantined === 51 ? c : undefined;
      },
      90_000,
    );
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`# embedded: 50 images end to end in ${seconds.toFixed(1)} s\n`);

    assert.equal(checkDestination(out, files), 50);
    assert.deepEqual(filesUnder(inbox), [], 'the ingress folder is empty');
    const spoolLeft = filesUnder(join(dir, 'spool', 'incoming')).concat(filesUnder(join(dir, 'spool', 'output')));
    assert.equal(spoolLeft.length, 1, 'only the held file stays in the spool');

    const counts = await server.store.countJobs();
    assert.equal(counts.done, 50);
    assert.equal(counts.quarantined, 1);
    const [held] = await server.store.listQuarantine({ states: ['held'] });
    assert.equal(held?.code, 'DICOM_NOT_DICOM');
    assert.equal(held?.step, 'gate');
    const deliveries = await server.store.countDeliveries();
    assert.equal(deliveries.delivered, 50);
    assert.equal(deliveries.dead + deliveries.pending + deliveries.retry + deliveries.sending, 0);

    const port = server.http!.port;
    const health = await httpGet(port, '/health');
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.text).status, 'ok');
    const m = (await httpGet(port, '/metrics')).text;
    assert.equal(metric(m, 'veil_received_total{ingress="inbox"}'), 51);
    assert.equal(metric(m, 'veil_deidentified_total'), 50);
    assert.equal(metric(m, 'veil_verified_total'), 50);
    assert.equal(metric(m, 'veil_exported_total{destination="out"}'), 50);
    assert.equal(metric(m, 'veil_quarantined_total{step="gate",code="DICOM_NOT_DICOM"}'), 1);
    assert.equal(metric(m, 'veil_jobs_done_total'), 50);
    assert.equal(metric(m, 'veil_jobs{state="done"}'), 50);
    assert.equal(metric(m, 'veil_end_to_end_seconds_count'), 50);
    assert.equal(metric(m, 'veil_step_seconds_count{step="deidentify"}'), 50);
    assert.equal(metric(m, 'veil_queue_depth{state="waiting"}'), 0);
    assert.ok(m.includes('# TYPE veil_delivery_seconds histogram'));

    const status = JSON.parse((await httpGet(port, '/status')).text);
    assert.equal(status.jobs.done, 50);
    assert.equal(status.process.exported, 50);

    // Studies: stable once quiet, with the outcome of their instances.
    const studies = await waitFor('studies stable', async () => {
      const open = await server.store.listStudies({ state: 'open' });
      return open.length === 0 ? server.store.listStudies({ state: 'stable' }) : undefined;
    });
    // Files without a Study Instance UID have no study to join.
    const withStudy = files.filter((f) =>
      findElement(scanFile(new Uint8Array(readFileSync(f.path))).dataset, 0x0020000d),
    );
    assert.ok(studies.length >= 1);
    assert.equal(
      studies.reduce((n, s) => n + (s.outcome?.done ?? 0), 0),
      withStudy.length,
    );
    assert.equal(
      studies.reduce((n, s) => n + s.instances, 0),
      withStudy.length,
    );

    const audit = await server.store.listAudit({ limit: 100_000 });
    assert.equal(audit.filter((a) => a.event === 'job.received').length, 51);
    assert.equal(audit.filter((a) => a.event === 'job.done').length, 50);
    assert.equal(audit.filter((a) => a.event === 'delivery.delivered').length, 50);
    // No PHI in the audit log: its details hold only these keys, with codes, names, keys and counts as values.
    const allowed = new Set(['ingress', 'route', 'step', 'destinations', 'destination', 'attempts', 'code', 'role']);
    for (const a of audit) {
      for (const [k, v] of Object.entries(a.detail)) {
        if (a.event === 'study.stable') continue; // { studyKey (a pseudonym), instances, outcome counts }
        assert.ok(allowed.has(k), `audit detail key ${k}`);
        assert.match(String(v), /^[A-Za-z0-9_.()-]*$/, `audit detail ${k}`);
      }
    }
  });
});

describe('policy gate and quarantine', () => {
  const dir = ensureDir(join(root, 'policy'));
  const inbox = ensureDir(join(dir, 'inbox'));
  const out = join(dir, 'out');
  const { path: keyPath, key } = keyFile(dir);
  const CT = '1.2.840.10008.5.1.4.1.1.2';
  let server: ServerHandle;
  let configPath: string;

  before(async () => {
    configPath = writeConfig(dir, {
      deid: HEADER_ONLY_DEID,
      spool: './spool',
      store: { kind: 'sqlite', path: './veil.db' },
      key: { file: keyPath },
      ingress: [{ name: 'inbox', kind: 'folder', path: './inbox', pollMs: 100, settleMs: 50 }],
      destinations: [{ name: 'out', kind: 'folder', path: './out' }],
      routes: [{ name: 'ct-only', from: ['inbox'], to: ['out'], policy: { sopClasses: [CT] } }],
      sweepSeconds: 0.2,
      http: { port: 0 },
      log: { level: 'warn' },
    });
    server = await startServer({
      config: loadServerConfig(configPath),
      key,
      role: 'all',
      obs: createObservability({ level: 'warn', role: 'all' }),
    });
  });
  after(async () => {
    await server?.close();
  });

  test('a SOP class outside the allow-list is held; list shows it, release delivers it, purge deletes', async () => {
    const corpus = buildCorpus(key).filter((f) => f.expect.outcome === 'delivered');
    const classOf = (f: CorpusFile): string => {
      const el = findElement(scanFile(new Uint8Array(readFileSync(f.path))).dataset, 0x00080016);
      return el ? readString(el).trim() : '';
    };
    const ct = corpus.find((f) => classOf(f) === CT)!;
    const others = corpus.filter((f) => classOf(f) !== CT && classOf(f) !== '').slice(0, 2);
    assert.ok(ct && others.length === 2, 'the corpus has CT and other images');
    drop(ct, inbox, 'ct.dcm');
    drop(others[0]!, inbox, 'other-1.dcm');
    drop(others[1]!, inbox, 'other-2.dcm');
    const held = await waitFor('two held, one done', async () => {
      const c = await server.store.countJobs();
      return c.done === 1 && c.quarantined === 2 ? server.store.listQuarantine({ states: ['held'] }) : undefined;
    });
    assert.deepEqual(
      held.map((h) => [h.code, h.tagPath, h.step]),
      [
        ['SOP_CLASS_NOT_ALLOWED', '(0008,0016)', 'gate'],
        ['SOP_CLASS_NOT_ALLOWED', '(0008,0016)', 'gate'],
      ],
    );
    assert.equal(checkDestination(out, [ct]), 1);

    const list = await runVeil(['quarantine', 'list', '--config', configPath]);
    assert.equal(list.code, 0, list.stderr);
    for (const h of held) assert.match(list.stdout, new RegExp(`^${h.jobId} held SOP_CLASS_NOT_ALLOWED`, 'm'));

    // Release one (through the CLI, which tells the running server), purge the other (in process).
    const release = await runVeil([
      'quarantine',
      'release',
      held[0]!.jobId,
      '--config',
      configPath,
      '--ack',
      'SOP_CLASS_NOT_ALLOWED@(0008,0016)',
      '--reason',
      'approved for this route',
    ]);
    assert.equal(release.code, 0, release.stderr);
    assert.match(release.stdout, /handed to the server/);
    await waitFor('released job done', async () => (await server.store.getJob(held[0]!.jobId))?.state === 'done');
    const admin = await openAdmin(loadServerConfig(configPath));
    try {
      const purged = await admin.purge(held[1]!.jobId);
      assert.equal(purged.state, 'purged');
      await assert.rejects(admin.purge(held[1]!.jobId), /only quarantined jobs are purged/);
    } finally {
      await admin.close();
    }
    assert.equal((await server.store.getQuarantine(held[0]!.jobId))?.state, 'released');
    assert.equal((await server.store.getQuarantine(held[1]!.jobId))?.state, 'purged');
    assert.equal(filesUnder(join(dir, 'spool', 'incoming')).length, 0, 'nothing left in the spool');
    assert.equal(filesUnder(out).length, 2);
    const events = (await server.store.listAudit({ jobId: held[0]!.jobId })).map((a) => a.event);
    assert.ok(events.includes('quarantine.released'));
    assert.ok(events.includes('job.done'));
  });
});
