/**
 * The node:crypto HMAC that veil deid and veil serve hand to the core (deid/node-hmac.ts) gives the core's built-in
 * pure-JS HMAC's bytes: on thousands of messages (UIDs, IDs, non-ASCII text, long and binary messages), and through
 * the whole release path (scan, de-identify, plan, gate) on files of the shared corpus, whose outputs must be the
 * same bytes with and without it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bytesSource, hmacSha256, parseDeidConfig, planSource, releaseFile, useHmacSha256 } from '@veil/core';
import fc from 'fast-check';
import { nodeHmacSha256 } from '../src/deid/node-hmac.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dataDir = join(process.env.VEIL_SHARED_DIR ?? resolve(repoRoot, '..', 'shared'), 'data');
const inventory = join(dataDir, 'INVENTORY.tsv');
const keyBytes = (): Uint8Array => new Uint8Array(32).map((_, i) => (i * 13 + 1) & 0xff);
const utf8 = new TextEncoder();

describe('node:crypto HMAC port', () => {
  test('same MAC as the built-in HMAC on 6,000 messages', () => {
    const key = keyBytes();
    const native = nodeHmacSha256(key);
    const check = (m: Uint8Array): void => assert.deepEqual(native(m), hmacSha256(key, m));
    for (let i = 0; i < 2000; i++) {
      check(utf8.encode(`uid:1.2.826.0.1.3680043.8.498.${i * 7919}.${i}`));
      check(utf8.encode(`patient:name:Müller^Zoë ${i}|1970${String(i % 12).padStart(2, '0')}01`));
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (m) => check(m)),
      { numRuns: 1000, seed: 11 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (s) => check(utf8.encode(s))),
      {
        numRuns: 1000,
        seed: 12,
      },
    );
    // Text messages go through the core's cache and its ASCII encoder: the same MACs with the port injected.
    const injected = keyBytes();
    useHmacSha256(injected, nodeHmacSha256);
    for (const s of ['uid:1.2.3', 'accession:A123', 'date:id:42', `text:${'é'.repeat(200)}`, 'x'.repeat(400)]) {
      assert.deepEqual(hmacSha256(injected, s), hmacSha256(key, s));
    }
  });

  test('release outputs are byte-identical with and without it (shared corpus)', {
    skip: existsSync(inventory) ? false : `shared data not found at ${dataDir}`,
  }, () => {
    const rows = readFileSync(inventory, 'utf8').trimEnd().split('\n').slice(1);
    const files = rows
      .map((r) => r.split('\t'))
      .filter((f) => f[0]?.startsWith('dicom/') && Number(f[1]) < 2_000_000 && f[11] === 'yes')
      .map((f) => join(dataDir, f[0]!))
      .filter((_, i) => i % 6 === 0);
    assert.ok(files.length >= 40, `only ${files.length} files`);
    const config = parseDeidConfig({});
    const plain = { key: keyBytes() };
    let calls = 0;
    const counted = (k: Uint8Array): ((m: Uint8Array) => Uint8Array) => {
      const mac = nodeHmacSha256(k);
      return (m) => {
        calls++;
        return mac(m);
      };
    };
    const ported = { key: keyBytes(), hmac: counted };
    let released = 0;
    for (const file of files) {
      const bytes = new Uint8Array(readFileSync(file));
      const a = releaseFile(bytesSource(bytes), { config, keys: plain });
      const b = releaseFile(bytesSource(bytes), { config, keys: ported });
      assert.ok(!(a instanceof Promise) && !(b instanceof Promise));
      assert.equal(b.kind, a.kind, file);
      if (a.kind === 'released' && b.kind === 'released') {
        const src = bytesSource(bytes);
        assert.deepEqual(
          planSource(src, b.plan).read(0, b.plan.length),
          planSource(src, a.plan).read(0, a.plan.length),
          file,
        );
        released++;
      }
    }
    assert.ok(released >= 20, `only ${released} released`);
    assert.ok(calls > released, `the port computed ${calls} MACs`);
  });
});
