/**
 * The gateway configuration's security settings: defaults of the DIMSE and STOW-RS limits and of the spool quota,
 * token hashes only (a plain token is refused), mTLS only with a client CA, user identity passcodes as hashes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseServerConfig } from '../src/index.ts';

const minimal = {
  spool: './spool',
  store: { kind: 'sqlite', path: './veil.db' },
  destinations: [{ name: 'out', kind: 'folder', path: './out' }],
};
const HASH = `sha256:${'ab'.repeat(32)}`;
const tls = { cert: 'veil.crt', key: 'veil.key' };

function refused(config: Record<string, unknown>, path: RegExp): void {
  assert.throws(
    () => parseServerConfig({ ...minimal, ...config }),
    (e: unknown) => e instanceof ConfigError && path.test(e.path),
  );
}

test('defaults: DIMSE and STOW-RS limits, spool quota', () => {
  const c = parseServerConfig({
    ...minimal,
    ingress: [
      { name: 'm', kind: 'dimse' },
      { name: 'w', kind: 'stow' },
    ],
  });
  const [m, w] = c.ingress;
  assert.ok(m?.kind === 'dimse' && w?.kind === 'stow');
  assert.deepEqual(m.limits, {
    maxAssociations: 100,
    maxAssociationsPerPeer: 10,
    maxConnections: 200,
    maxConnectionsPerPeer: 20,
    associateSeconds: 10,
    idleSeconds: 120,
    pduSeconds: 120,
    maxAssociationSeconds: 3600,
  });
  assert.equal(m.tls, undefined);
  assert.equal(w.limits.maxInstanceBytes, 2 * 1024 ** 3);
  assert.equal(w.limits.requestSeconds, 900);
  assert.equal(w.auth, undefined);
  assert.equal(c.spoolQuota.minFreeBytes, 512 * 1024 ** 2);
});

test('credentials: hashes only, mTLS with a client CA, user identity passcodes hashed', () => {
  const ok = parseServerConfig({
    ...minimal,
    ingress: [
      { name: 'w', kind: 'stow', tls: { ...tls, clientCa: 'ca.crt' }, auth: { tokens: [HASH], mtls: true } },
      { name: 'm', kind: 'dimse', userIdentity: { users: [{ username: 'ct01', passcode: HASH }] } },
    ],
    http: { auth: { tokens: [HASH] }, allowedHosts: ['veil.example'] },
  });
  const m = ok.ingress[1];
  assert.ok(m?.kind === 'dimse' && m.userIdentity?.required === true);
  refused({ ingress: [{ name: 'w', kind: 'stow', auth: { tokens: ['plain-token'] } }] }, /^ingress\.0\.auth\.tokens/);
  // A slow hash per HTTP request would be a denial-of-service lever: HTTP tokens are SHA-256 hashes only.
  const scrypt = 'scrypt:16384:8:1:c2FsdA==:aGFzaA==';
  refused({ http: { auth: { tokens: [scrypt] } } }, /^http\.auth\.tokens/);
  assert.doesNotThrow(() =>
    parseServerConfig({
      ...minimal,
      ingress: [{ name: 'm', kind: 'dimse', userIdentity: { users: [{ username: 'a', passcode: scrypt }] } }],
    }),
  );
  refused({ ingress: [{ name: 'w', kind: 'stow', tls, auth: { mtls: true } }] }, /^ingress\.0\.auth\.mtls$/);
  refused({ http: { tls, auth: { mtls: true } } }, /^http\.auth\.mtls$/);
  refused(
    { ingress: [{ name: 'm', kind: 'dimse', userIdentity: { users: [{ username: 'a', passcode: 'secret' }] } }] },
    /^ingress\.0\.userIdentity/,
  );
  refused({ ingress: [{ name: 'm', kind: 'dimse', limits: { maxAssociations: 0 } }] }, /^ingress\.0\.limits/);
});
