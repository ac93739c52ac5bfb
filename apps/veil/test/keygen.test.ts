/** `veil keygen`, run through the real executable: 32 random bytes, base64 (or hex), a new 0600 file with --out. */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'apps/veil/bin/veil.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'veil-keygen-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function keygen(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [bin, 'keygen', ...args], { cwd: tmp, encoding: 'utf8' });
}

test('prints 32 random bytes in base64, different each time', () => {
  const a = keygen();
  const b = keygen();
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.match(a.stdout, /^[A-Za-z0-9+/]{43}=\n$/);
  assert.equal(Buffer.from(a.stdout.trim(), 'base64').length, 32);
  assert.notEqual(a.stdout, b.stdout);
});

test('--hex prints 64 hex digits', () => {
  assert.match(keygen('--hex').stdout, /^[0-9a-f]{64}\n$/);
});

test('--out writes a new file readable by its owner only, and never overwrites one', () => {
  const file = join(tmp, 'veil.key');
  const r = keygen('--out', file);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '', 'the key is not printed');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(keygen('--out', file).status, 2);
});
