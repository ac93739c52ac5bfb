import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, isJobId, newJobId, parseServerConfig, retryDelayMs, routeFor, routesOf } from '../src/index.ts';

const minimal = {
  spool: './spool',
  store: { kind: 'sqlite', path: './veil.db' },
  destinations: [{ name: 'out', kind: 'folder', path: './out' }],
};

test('a minimal configuration gets the documented defaults', () => {
  const c = parseServerConfig(minimal);
  assert.deepEqual(c.queue, { kind: 'embedded' });
  assert.deepEqual(c.http, { host: '127.0.0.1', port: 9464, maxRequestBytes: 4 * 1024 * 1024 });
  assert.equal(c.processing.concurrency, 4);
  assert.equal(c.delivery.maxAttempts, 6);
  assert.equal(c.studies.stableAfterSeconds, 60);
  const out = c.destinations[0];
  assert.equal(out?.kind === 'folder' && out.layout, 'flat');
  assert.deepEqual(c.ingress, []);
  const [route] = routesOf(c);
  assert.deepEqual(route, { name: 'default', from: undefined, to: ['out'], policy: {} });
});

test('scale-out settings and routes', () => {
  const c = parseServerConfig({
    ...minimal,
    store: { kind: 'postgres', url: 'postgres://postgres@127.0.0.1/veil' },
    queue: { kind: 'bullmq', prefix: 'site-a' },
    ingress: [
      { name: 'a', kind: 'folder', path: './a' },
      { name: 'b', kind: 'folder', path: './b', settleMs: 0 },
    ],
    destinations: [...minimal.destinations, { name: 'pacs', kind: 'folder', path: './p', layout: 'hierarchy' }],
    routes: [
      { name: 'ct', from: ['a'], to: ['pacs'], policy: { sopClasses: ['1.2.840.10008.5.1.4.1.1.2'] } },
      { name: 'rest', to: ['out'] },
    ],
  });
  assert.deepEqual(c.store, { kind: 'postgres', url: 'postgres://postgres@127.0.0.1/veil', schema: 'veil' });
  assert.deepEqual(c.queue, { kind: 'bullmq', url: 'redis://127.0.0.1:6379', prefix: 'site-a', lockSeconds: 30 });
  const routes = routesOf(c);
  assert.equal(routeFor(routes, 'a')?.name, 'ct');
  assert.equal(routeFor(routes, 'b')?.name, 'rest');
  assert.deepEqual(routeFor(routes, 'b')?.policy, {});
});

test('errors name the setting and say what is expected', () => {
  const bad = (input: unknown, path: RegExp): void => {
    assert.throws(
      () => parseServerConfig(input),
      (e: unknown) => e instanceof ConfigError && path.test(e.path),
    );
  };
  bad({ ...minimal, spool: undefined }, /^spool$/);
  bad({ ...minimal, store: { kind: 'mysql' } }, /^store/);
  bad({ ...minimal, destinations: [] }, /^destinations$/);
  bad({ ...minimal, destinations: [{ name: 'a b', kind: 'folder', path: 'x' }] }, /^destinations\.0\.name$/);
  bad({ ...minimal, surprise: 1 }, /^$/);
  bad({ ...minimal, routes: [{ name: 'r', to: ['nowhere'] }] }, /^routes\.0\.to$/);
  bad({ ...minimal, routes: [{ name: 'r', from: ['nope'], to: ['out'] }] }, /^routes\.0\.from$/);
  bad({ ...minimal, destinations: [minimal.destinations[0], minimal.destinations[0]] }, /^destinations$/);
  bad({ ...minimal, policy: { sopClasses: ['not a uid'] } }, /^policy\.sopClasses\.0$/);
});

test('retry delays double up to the cap, with ±10% jitter', () => {
  assert.equal(
    retryDelayMs(1, 2, 300, () => 0.5),
    2000,
  );
  assert.equal(
    retryDelayMs(2, 2, 300, () => 0.5),
    4000,
  );
  assert.equal(
    retryDelayMs(4, 2, 300, () => 0.5),
    16000,
  );
  assert.equal(
    retryDelayMs(20, 2, 300, () => 0.5),
    300000,
  );
  assert.equal(
    retryDelayMs(1, 2, 300, () => 0),
    1800,
  );
  assert.equal(
    retryDelayMs(1, 2, 300, () => 1),
    2200,
  );
});

test('job ids sort by creation time and are file- and key-safe', () => {
  const a = newJobId(1_700_000_000_000);
  const b = newJobId(1_700_000_000_001);
  assert.ok(isJobId(a) && isJobId(b));
  assert.ok(a < b);
  assert.notEqual(newJobId(5), newJobId(5));
  assert.ok(!isJobId('../etc/passwd'));
});
