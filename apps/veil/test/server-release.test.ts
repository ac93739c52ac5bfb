/**
 * The gateway's one release path, against running servers (SQLite, in-process queue, folder ingress and destination):
 *  - quarantine review by finding: a held instance lists every finding; `veil quarantine release` refuses until each
 *    is acknowledged (or --rerun), and the release is audited with the operator and the reason;
 *  - same UID, different content: a second instance whose de-identified SOP Instance UID already went out with other
 *    bytes is held (DUPLICATE_UID_CONFLICT), an identical re-send is idempotent;
 *  - a file that kills its release worker (out of memory, through a test-only hook) is retried, then quarantined
 *    WORKER_CRASHED, and the server stays up and keeps delivering.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findElement, PIXEL_DATA, parseDeidConfig, scanFile } from '@veil/core';
import { loadServerConfig } from '../src/server/config.ts';
import { createObservability } from '../src/server/observe.ts';
import { type ServerHandle, startServer } from '../src/server/server.ts';
import { ensureDir, filesUnder, keyFile, repoRoot, runVeil, waitFor, writeConfig } from './server-support.ts';

const root = mkdtempSync(join(tmpdir(), 'veil-server-release-'));
after(() => rmSync(root, { recursive: true, force: true }));

const CT_SMALL = readFileSync(join(repoRoot, 'samples/CT_small.dcm'));

/**
 * The burned-in text stage (pixels.text, @veil/pixels) turned off where the configuration knows the key: these tests
 * are about the release path's bookkeeping, not OCR (and an image nothing can clean must stay unclaimed).
 */
const TEXT_OFF: Record<string, unknown> = (() => {
  try {
    parseDeidConfig({ pixels: { text: { enabled: false } } });
    return { text: { enabled: false } };
  } catch {
    return {};
  }
})();

/** Drops bytes into an ingress folder the way a well-behaved sender does: a hidden temporary name, then a rename. */
function put(inbox: string, name: string, bytes: Uint8Array): void {
  const tmp = join(inbox, `.${name}.part`);
  writeFileSync(tmp, bytes);
  renameSync(tmp, join(inbox, name));
}

async function start(dir: string, extra: Record<string, unknown>): Promise<{ server: ServerHandle; config: string }> {
  const { path: keyPath, key } = keyFile(dir);
  ensureDir(join(dir, 'inbox'));
  const config = writeConfig(dir, {
    spool: './spool',
    store: { kind: 'sqlite', path: './veil.db' },
    key: { file: keyPath },
    ingress: [{ name: 'inbox', kind: 'folder', path: './inbox', pollMs: 100, settleMs: 50 }],
    destinations: [{ name: 'out', kind: 'folder', path: './out' }],
    sweepSeconds: 0.2,
    http: { port: 0 },
    log: { level: 'warn' },
    ...extra,
  });
  const server = await startServer({
    config: loadServerConfig(config),
    key,
    role: 'all',
    obs: createObservability({ level: 'warn', role: 'all' }),
  });
  return { server, config };
}

describe('quarantine review by finding', () => {
  const dir = ensureDir(join(root, 'review'));
  let server: ServerHandle;
  let config: string;

  before(async () => {
    // Two reasons to hold every image: Clean Pixel Data asked with no pixel stage, and a kept patient name.
    ({ server, config } = await start(dir, {
      deid: {
        // The burned-in text stage off: Clean Pixel Data is asked for and nothing can earn it.
        pixels: { cleanPixelData: true, ...TEXT_OFF },
        overrides: [{ selector: '(0010,0010)', override: { action: 'keep' } }],
      },
    }));
  });
  after(async () => {
    await server?.close();
  });

  test('every finding listed; release needs each acknowledged; audited with operator and reason', async () => {
    put(join(dir, 'inbox'), 'ct.dcm', CT_SMALL);
    const [held] = await waitFor('held', async () => {
      const l = await server.store.listQuarantine({ states: ['held'] });
      return l.length === 1 ? l : undefined;
    });
    const id = held!.jobId;
    const show = await runVeil(['quarantine', 'show', id, '--config', config, '--json']);
    assert.equal(show.code, 0, show.stderr);
    const shown = JSON.parse(show.stdout) as { findings: { key: string; stage: string; detector: string }[] };
    const keys = [...new Set(shown.findings.map((f) => f.key))];
    assert.ok(keys.includes('PIXELS_STAGE_UNAVAILABLE@(7FE0,0010)'), keys.join(' '));
    assert.ok(keys.includes('VERIFY_KNOWN_NAME@(0010,0010)'), keys.join(' '));
    // No value of the file in what an operator sees.
    assert.doesNotMatch(show.stdout, /CompressedSamples|CT1/);

    // One finding acknowledged: refused, naming the other; nothing changes.
    const partial = await runVeil([
      'quarantine',
      'release',
      id,
      '--config',
      config,
      '--ack',
      'PIXELS_STAGE_UNAVAILABLE@(7FE0,0010)',
      '--reason',
      'pixels reviewed by hand',
    ]);
    assert.equal(partial.code, 2, partial.stderr);
    assert.match(partial.stderr, /not acknowledged: .*VERIFY_KNOWN_NAME@\(0010,0010\)/);
    assert.equal((await server.store.getJob(id))?.state, 'quarantined');
    // A key that is not a finding of this job is refused too.
    const bogus = await runVeil(['quarantine', 'release', id, '-c', config, '--ack', 'X@(0000,0000)', '--reason', 'r']);
    assert.equal(bogus.code, 2);

    // Every finding acknowledged: delivered, and the audit names who and why.
    const args = ['quarantine', 'release', id, '--config', config, '--reason', 'research consent on file'];
    for (const k of keys) args.push('--ack', k);
    const ok = await runVeil([...args, '--operator', 'alice']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`${keys.length} finding\\(s\\) acknowledged by alice`));
    await waitFor('released job done', async () => (await server.store.getJob(id))?.state === 'done');
    assert.equal(filesUnder(join(dir, 'out')).length, 1);
    const audit = (await server.store.listAudit({ jobId: id })).find((a) => a.event === 'quarantine.released');
    assert.ok(audit);
    assert.equal(audit.actor, 'cli:alice');
    assert.equal(audit.detail.reason, 'research consent on file');
    assert.deepEqual([...(audit.detail.acknowledged as string[])].sort(), [...keys].sort());
    // The claim the stage never earned is still not made.
    const out = scanFile(new Uint8Array(readFileSync(filesUnder(join(dir, 'out'))[0]!)));
    const bia = findElement(out.dataset, 0x00280301);
    assert.ok(
      !bia || new TextDecoder().decode(out.source.read(bia.valueOffset, bia.valueOffset + bia.length)).trim() !== 'NO',
    );
  });
});

describe('same UID, different content; a worker that dies', () => {
  const dir = ensureDir(join(root, 'dup'));
  let server: ServerHandle;
  const hook = process.env.VEIL_TEST_WORKER_HOOK;

  before(async () => {
    process.env.VEIL_TEST_WORKER_HOOK = 'oom-on-marker';
    ({ server } = await start(dir, {
      // No pixel stage: this test is about the header path and the worker, not OCR.
      deid: { pixels: { ...TEXT_OFF } },
      processing: { maxAttempts: 2, threads: 1, threadHeapMb: 96 },
    }));
  });
  after(async () => {
    await server?.close();
    if (hook === undefined) delete process.env.VEIL_TEST_WORKER_HOOK;
    else process.env.VEIL_TEST_WORKER_HOOK = hook;
  });

  test('an identical re-send is idempotent; other bytes under a delivered UID are held DUPLICATE_UID_CONFLICT', async () => {
    const inbox = join(dir, 'inbox');
    put(inbox, 'a.dcm', CT_SMALL);
    await waitFor('first delivered', async () => (await server.store.countJobs()).done === 1);
    put(inbox, 'a-again.dcm', CT_SMALL);
    await waitFor('re-send delivered', async () => (await server.store.countJobs()).done === 2);
    assert.equal(filesUnder(join(dir, 'out')).length, 1, 'one instance, written once');
    const before = readFileSync(filesUnder(join(dir, 'out'))[0]!);

    // The same instance with one pixel changed: same SOP Instance UID in, same pseudonymised UID out, other bytes.
    const changed = new Uint8Array(CT_SMALL);
    const px = findElement(scanFile(changed).dataset, PIXEL_DATA)!;
    changed[px.valueOffset + 10] = (changed[px.valueOffset + 10]! + 1) & 0xff;
    put(inbox, 'b.dcm', changed);
    const [held] = await waitFor('conflict held', async () => {
      const l = await server.store.listQuarantine({ states: ['held'] });
      return l.length === 1 ? l : undefined;
    });
    assert.equal(held!.code, 'DUPLICATE_UID_CONFLICT');
    assert.equal(held!.tagPath, '(0008,0018)');
    assert.deepEqual(readFileSync(filesUnder(join(dir, 'out'))[0]!), before, 'the delivered file was not replaced');
  });

  test('a file that kills its worker: retried, then quarantined WORKER_CRASHED; the server delivers the next file', async () => {
    const inbox = join(dir, 'inbox');
    const bomb = new Uint8Array(CT_SMALL);
    bomb.set(new TextEncoder().encode('VEIL-TEST-OOM'), 16); // in the preamble: the file is still valid DICOM
    put(inbox, 'bomb.dcm', bomb);
    const crashed = await waitFor(
      'worker crash quarantined',
      async () => (await server.store.listQuarantine({ states: ['held'] })).find((q) => q.code === 'WORKER_CRASHED'),
      90_000,
    );
    const job = await server.store.getJob(crashed.jobId);
    assert.equal(job?.state, 'quarantined');
    assert.equal(job?.attempts, 1, 'one retry, then held (maxAttempts 2)');
    // Still up: a normal file goes through.
    const other = readFileSync(join(repoRoot, 'samples/MR_small.dcm'));
    put(inbox, 'mr.dcm', other);
    await waitFor('next file delivered', async () => (await server.store.countJobs()).done === 3);
  });
});

describe('same UID, different content, kept as a new version (processing.duplicateUid: version)', () => {
  const dir = ensureDir(join(root, 'version'));
  let server: ServerHandle;

  before(async () => {
    ({ server } = await start(dir, { deid: { pixels: { ...TEXT_OFF } }, processing: { duplicateUid: 'version' } }));
  });
  after(async () => {
    await server?.close();
  });

  test('the second instance goes beside the first as <uid>.v2.dcm; sending it again changes nothing', async () => {
    const inbox = join(dir, 'inbox');
    const out = join(dir, 'out');
    put(inbox, 'a.dcm', CT_SMALL);
    await waitFor('first delivered', async () => (await server.store.countJobs()).done === 1);
    const [first] = filesUnder(out);
    const changed = new Uint8Array(CT_SMALL);
    const px = findElement(scanFile(changed).dataset, PIXEL_DATA)!;
    changed[px.valueOffset + 10] = (changed[px.valueOffset + 10]! + 1) & 0xff;
    put(inbox, 'b.dcm', changed);
    await waitFor('second delivered', async () => (await server.store.countJobs()).done === 2);
    put(inbox, 'b-again.dcm', changed);
    await waitFor('re-send delivered', async () => (await server.store.countJobs()).done === 3);
    const files = filesUnder(out).sort();
    assert.equal(files.length, 2, files.join(' '));
    assert.ok(first && files.includes(first));
    const second = files.find((f) => f !== first)!;
    assert.equal(second, first!.replace(/\.dcm$/, '.v2.dcm'));
    assert.notDeepEqual(readFileSync(first!), readFileSync(second));
  });
});
