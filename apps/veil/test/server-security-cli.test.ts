/**
 * The security helpers and the CLI that exposes them:
 *  - token hashes (sha256 and scrypt) verify the right token only; the Host check; loopback detection;
 *  - `veil token` prints a token and a hash that verifies it;
 *  - `veil dicomweb-serve` refuses to listen beyond loopback without credentials (nothing is bound), warns on
 *    loopback without them, and with --token-hash answers QIDO-RS 401 without a token, 403 with a wrong one, 200
 *    with the right one, and 421 to a foreign Host header.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  checkHost,
  exposureWarnings,
  generateToken,
  hashToken,
  isLoopback,
  isTokenHash,
  verifyToken,
  verifyTokenAsync,
} from '../src/server/auth.ts';
import { hasOpenssl, makeCerts } from './security-support.ts';
import { bin, repoRoot, runVeil } from './server-support.ts';

/** Resolves with the service URL a `veil dicomweb-serve` child prints when it listens. */
function listening(child: ChildProcessWithoutNullStreams): Promise<string> {
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (https?:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`dicomweb-serve exited ${code}: ${err}`)));
  });
}

const env: NodeJS.ProcessEnv = { ...process.env };
delete env.NODE_TEST_CONTEXT;
delete env.NODE_OPTIONS;

const req = (host: string | undefined): IncomingMessage => ({ headers: host === undefined ? {} : { host } }) as never;

describe('token hashes, Host check, loopback', () => {
  test('sha256 and scrypt hashes verify their token only', async () => {
    const t = generateToken();
    const sha = hashToken(t);
    const scrypt = hashToken('a passphrase', 'scrypt');
    assert.ok(isTokenHash(sha) && isTokenHash(scrypt));
    assert.match(sha, /^sha256:[0-9a-f]{64}$/);
    assert.equal(verifyToken(t, [sha]), true);
    assert.equal(verifyToken(`${t}x`, [sha]), false);
    assert.equal(verifyToken('a passphrase', [sha, scrypt]), true);
    assert.equal(verifyToken('a passphrasE', [sha, scrypt]), false);
    assert.equal(verifyToken(t, []), false);
    assert.equal(verifyToken(t, ['sha256:nothex']), false);
    // The asynchronous form (scrypt in the thread pool) agrees.
    assert.equal(await verifyTokenAsync('a passphrase', [sha, scrypt]), true);
    assert.equal(await verifyTokenAsync('a passphrasE', [sha, scrypt]), false);
    assert.equal(await verifyTokenAsync(t, [scrypt, sha]), true);
  });

  test('Host header: allow-listed names with or without a port; anything else refused', () => {
    const allowed = ['localhost', '127.0.0.1', '[::1]'];
    for (const h of ['localhost', 'LOCALHOST:8080', '127.0.0.1:9464', '[::1]:80']) {
      assert.equal(checkHost(req(h), allowed), undefined, h);
    }
    for (const h of [undefined, '', 'evil.example', 'localhost.evil.example', '127.0.0.1.nip.io:80', 'a b']) {
      assert.deepEqual(checkHost(req(h), allowed), { status: 421, code: 'HOST_NOT_ALLOWED' }, String(h));
    }
  });

  test('loopback addresses and the exposure warning', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      assert.ok(isLoopback(h), h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.org']) assert.ok(!isLoopback(h), h);
    assert.deepEqual(exposureWarnings([{ name: 'x', host: '::1', tls: false, auth: false }]), []);
  });
});

describe('veil token and veil dicomweb-serve (CLI)', () => {
  const root = mkdtempSync(join(tmpdir(), 'veil-security-cli-'));
  let serve: ChildProcessWithoutNullStreams | undefined;
  after(() => {
    serve?.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  test('veil token prints a token and a hash that verifies it', async () => {
    const r = await runVeil(['token'], env);
    assert.equal(r.code, 0, r.stderr);
    const m = /^token: (\S+)\nhash: (\S+)\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(verifyToken(m[1]!, [m[2]!]), true);
  });

  test('dicomweb-serve: no credentials beyond loopback is refused before listening', async () => {
    const r = await runVeil(['dicomweb-serve', '--dir', join(root, 'a'), '--port', '0', '--bind', '0.0.0.0'], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--token-hash or --mtls/);
    assert.doesNotMatch(r.stdout, /listening/);
  });

  test('dicomweb-serve with --token-hash: 401, 403, 200; Host check 421', async () => {
    const token = generateToken();
    serve = spawn(
      process.execPath,
      [bin, 'dicomweb-serve', '--dir', join(root, 'b'), '--port', '0', '--token-hash', hashToken(token)],
      { env },
    );
    let err = '';
    serve.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      serve!.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      serve!.once('exit', (code) => reject(new Error(`dicomweb-serve exited ${code}: ${err}`)));
    });
    const qido = (headers: Record<string, string>) =>
      fetch(`${url}/studies`, { headers: { accept: 'application/dicom+json', ...headers } });
    const none = await qido({});
    assert.equal(none.status, 401);
    assert.deepEqual(await none.json(), { error: 'AUTH_REQUIRED' });
    assert.equal((await qido({ authorization: `Bearer ${generateToken()}` })).status, 403);
    const ok = await qido({ authorization: `Bearer ${token}` });
    assert.ok(ok.status === 200 || ok.status === 204, String(ok.status));
    // fetch will not send a forged Host; node:http will.
    const { request } = await import('node:http');
    const port = new URL(url).port;
    const status = await new Promise<number>((resolve, reject) => {
      const r = request(
        {
          host: '127.0.0.1',
          port,
          path: '/dicom-web/studies',
          headers: { host: 'rebind.example', authorization: `Bearer ${token}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      r.on('error', reject);
      r.end();
    });
    assert.equal(status, 421);
    assert.doesNotMatch(err, /WARNING/);
  });

  test('over HTTPS: veil stow and dicomweb-pull with --token-env and --tls-ca; without the token nothing is stored', {
    skip: !hasOpenssl && 'openssl is not installed',
  }, async () => {
    const certs = join(root, 'certs');
    mkdirSync(certs);
    makeCerts(certs);
    const token = generateToken();
    const child = spawn(
      process.execPath,
      [
        bin,
        'dicomweb-serve',
        '--dir',
        join(root, 'tls'),
        '--port',
        '0',
        '--token-hash',
        hashToken(token),
        '--tls-cert',
        join(certs, 'server.crt'),
        '--tls-key',
        join(certs, 'server.key'),
      ],
      { env },
    );
    try {
      const url = await listening(child);
      assert.match(url, /^https:\/\//);
      const base = url.replace('127.0.0.1', 'localhost');
      const ca = join(certs, 'ca.crt');
      const mr = join(repoRoot, 'samples/MR_small.dcm');
      const withToken = { ...env, VEIL_TEST_TOKEN: token };
      const denied = await runVeil(['stow', mr, '--to', base, '--tls-ca', ca], env);
      assert.equal(denied.code, 1, denied.stderr);
      assert.match(denied.stderr, /HTTP 401/);
      const untrusted = await runVeil(['stow', mr, '--to', base, '--token-env', 'VEIL_TEST_TOKEN'], withToken);
      assert.equal(untrusted.code, 1, 'a server certificate from an unknown CA is not trusted');
      const stored = await runVeil(
        ['stow', mr, '--to', base, '--token-env', 'VEIL_TEST_TOKEN', '--tls-ca', ca],
        withToken,
      );
      assert.equal(stored.code, 0, stored.stderr);
      assert.match(stored.stdout, /1 stored/);
      const out = join(root, 'pulled');
      const pulled = await runVeil(
        [
          'dicomweb-pull',
          '--from',
          base,
          '--query',
          'Modality=MR',
          '--out',
          out,
          '--token-env',
          'VEIL_TEST_TOKEN',
          '--tls-ca',
          ca,
        ],
        withToken,
      );
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.match(pulled.stdout, /1 studies, 1 files/);
    } finally {
      child.kill('SIGTERM');
    }
  });

  test('dicomweb-serve without credentials on loopback warns', async () => {
    const child = spawn(process.execPath, [bin, 'dicomweb-serve', '--dir', join(root, 'c'), '--port', '0'], { env });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    child.kill('SIGTERM');
    assert.match(err, /WARNING: no authentication/);
  });
});
