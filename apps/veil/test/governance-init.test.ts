/**
 * `veil init DIR` then `veil serve --config DIR/gateway.yaml` as is (the real executable): the files and their modes,
 * the admin password printed once (its scrypt hash in the store, not the password), a real file dropped in the inbox
 * reaches both contracted destinations, /privacy.json lists exactly the two configured vendors, the audit chain
 * verifies with the checkpoint signed at shutdown; init refuses a non-empty folder.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { corpusDir, httpGet, runVeil, spawnVeil, waitFor } from './server-support.ts';

const root = mkdtempSync(join(tmpdir(), 'veil-init-'));
after(() => rmSync(root, { recursive: true, force: true }));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test('veil init writes a gateway that veil serve runs as is', async () => {
  const dir = join(root, 'site');
  const port = await freePort();
  const init = await runVeil(['init', dir, '--port', String(port), '--facility', 'Init Test Hospital']);
  assert.equal(init.code, 0, init.stderr);
  const last = init.stdout.trim().split('\n').at(-1)!;
  const m = /^admin password: (\S{16,})$/.exec(last);
  assert.ok(m, 'the password is the last line');
  const password = m[1]!;
  for (const f of ['veil.key', 'audit-signing.pem']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  const yaml = readFileSync(join(dir, 'gateway.yaml'), 'utf8');
  assert.match(yaml, /^# /m, 'commented');
  assert.match(yaml, /purpose: clinical-ai/);
  assert.match(yaml, /purpose: research/);
  assert.ok(!yaml.includes(password), 'the password is not in the configuration');
  const db = new Database(join(dir, 'veil.db'), { readonly: true });
  const account = db.prepare('SELECT role, password_hash FROM accounts WHERE name = ?').get('admin') as {
    role: string;
    password_hash: string;
  };
  db.close();
  assert.equal(account.role, 'admin');
  assert.match(account.password_hash, /^scrypt\$32768\$8\$1\$/);

  const again = await runVeil(['init', dir]);
  assert.equal(again.code, 2);

  const serve = spawnVeil(['serve', '--config', join(dir, 'gateway.yaml')]);
  try {
    await serve.waitEvent('server.started', 60_000);
    const tmp = join(dir, 'inbox', '.a.part');
    copyFileSync(join(corpusDir, 'dcm_qa_ct/Philips/S21570/S2010/I10'), tmp);
    renameSync(tmp, join(dir, 'inbox', 'a.dcm'));
    await waitFor(
      'both destinations hold the instance',
      () =>
        readdirSync(join(dir, 'out/clinical-ai')).length === 1 && readdirSync(join(dir, 'out/research')).length === 1,
      60_000,
    );
    assert.equal((await httpGet(port, '/health')).status, 200);
    const sheet = JSON.parse((await httpGet(port, '/privacy.json')).text) as {
      vendors: string[];
      facility: { name: string };
      deidentification: { burnedInText: string };
    };
    assert.deepEqual(sheet.vendors, ['Example Clinical AI Ltd', 'Example Research Institute']);
    // The burned-in text stage runs by default, and the fact sheet says so (true to the running configuration).
    assert.match(sheet.deidentification.burnedInText, /found and blacked out/);
    assert.equal(sheet.facility.name, 'Init Test Hospital');
  } finally {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
  const verify = await runVeil(['audit', 'verify', '--config', join(dir, 'gateway.yaml')]);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /audit chain intact: .*[1-9]\d* signed checkpoint/);
});
