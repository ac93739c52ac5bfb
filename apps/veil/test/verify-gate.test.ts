/**
 * The release gate the deid pipeline calls before renaming an output into place, the plan-backed byte source it
 * scans without materialising the output, and the `verify` section of the configuration.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  bytesSource,
  characterSetOf,
  deidentify,
  encodeText,
  findElement,
  materialize,
  parseDeidConfig,
  planRewrite,
  planSource,
  scanFile,
  writeDeidentified,
} from '@veil/core';
import { CliError } from '../src/deid/cli-error.ts';
import { parseVerifyConfig } from '../src/verify/config.ts';
import { verifyBeforeRelease } from '../src/verify/gate.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const sharedDir = process.env.VEIL_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
const XR = join(
  sharedDir,
  'data/dicom/jsl-dicom-deid-dataset/292821506_07-13-2013-XR_CHEST_AP_PORTABLE_for_Douglas_Davidson-46198_1001_000000-37718_1-1.dcm',
);
const KEY = new Uint8Array(32).fill(42);

function original() {
  const b = readFileSync(XR);
  return scanFile(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
}

describe('verifyBeforeRelease', () => {
  test('a clean output passes, from bytes and from the rewrite plan', () => {
    const file = original();
    const config = parseDeidConfig({});
    const result = deidentify(file, config, { key: KEY });
    const bytes = writeDeidentified(file, result);
    const fromBytes = verifyBeforeRelease(bytes, file, config, KEY);
    assert.equal(fromBytes.ok, true);
    assert.equal(fromBytes.code, undefined);
    const fromPlan = verifyBeforeRelease(
      { source: file.source, plan: planRewrite(file, result.edits) },
      file,
      config,
      KEY,
    );
    assert.equal(fromPlan.ok, true);
    assert.deepEqual(
      fromPlan.findings,
      fromBytes.findings.filter((f) => f.tagPath !== '(preamble)'),
    );
  });

  test('a leak is held back with VERIFY_<DETECTOR> and the tag path; a level can downgrade it', () => {
    const file = original();
    const config = parseDeidConfig({ overrides: [{ selector: 'PatientName', override: { action: 'keep' } }] });
    const result = deidentify(file, config, { key: KEY });
    const plan = planRewrite(file, result.edits);
    const verdict = verifyBeforeRelease({ source: file.source, plan }, file, config, KEY);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.code, 'VERIFY_KNOWN_NAME');
    assert.equal(verdict.tagPath, '(0010,0010)');
    const down = verifyBeforeRelease({ source: file.source, plan }, file, config, KEY, {
      'known-name': 'warn',
      'known-name-part': 'off',
    });
    assert.equal(down.ok, true);
    assert.ok(down.findings.some((f) => f.detector === 'known-name' && f.level === 'warn'));
  });

  test('an output that does not scan is held back', () => {
    const file = original();
    const verdict = verifyBeforeRelease(new Uint8Array([1, 2, 3]), file, parseDeidConfig({}), KEY);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.code, 'VERIFY_UNREADABLE');
  });
});

describe('planSource', () => {
  test('reads the same bytes as the materialised plan, at any offset and length', () => {
    const file = original();
    const ds = file.dataset;
    const desc = encodeText('x'.repeat(301), characterSetOf(ds), 'LO');
    const plan = planRewrite(file, [
      { op: 'remove', element: findElement(ds, 0x00100010)! },
      { op: 'replace', element: findElement(ds, 0x00081030)!, value: desc },
    ]);
    const whole = materialize(file.source, plan.segments);
    // A source without the `bytes` fast path, as for a large file read in windows.
    const windowed = { length: file.source.length, read: (a: number, b: number) => file.source.read(a, b).slice() };
    // Read lazily (as an output over 64 KB is), and materialised whole (as a small one is).
    const src = planSource(windowed, plan, 0);
    assert.equal(src.bytes, undefined);
    assert.ok(Buffer.from(planSource(windowed, plan, whole.length).bytes!).equals(whole));
    assert.equal(src.length, whole.length);
    for (const [a, b] of [
      [0, 132],
      [100, 1000],
      [777, 778],
      [whole.length - 50, whole.length + 10],
      [0, whole.length],
    ] as const) {
      assert.deepEqual(src.read(a, b), whole.subarray(a, Math.min(b, whole.length)), `${a}-${b}`);
    }
    // Starts spread over the file and at every segment boundary (+-2), with lengths inside one segment, across
    // segments and past the end; in-memory input too (reads inside one segment are views then).
    const inMemory = planSource(file.source, plan, 0);
    const starts = new Set<number>();
    for (let a = 0; a <= whole.length; a += Math.max(1, Math.floor(whole.length / 500))) starts.add(a);
    let at = 0;
    for (const seg of plan.segments) {
      for (let d = -2; d <= 2; d++) if (at + d >= 0 && at + d <= whole.length) starts.add(at + d);
      at += seg instanceof Uint8Array ? seg.length : seg.end - seg.start;
    }
    starts.add(whole.length);
    for (const a of starts) {
      for (const n of [0, 1, 2, 7, 40, 301, 5000]) {
        const want = whole.subarray(a, Math.min(a + n, whole.length));
        assert.ok(Buffer.from(src.read(a, a + n)).equals(want), `windowed ${a}+${n}`);
        assert.ok(Buffer.from(inMemory.read(a, a + n)).equals(want), `in memory ${a}+${n}`);
      }
    }
    assert.deepEqual(planSource(bytesSource(whole), planRewrite(scanFile(whole), [])).bytes, whole);
  });
});

describe('the verify section of the configuration', () => {
  test('levels per detector; the rest goes to parseDeidConfig', () => {
    const c = parseVerifyConfig({
      layout: 'hierarchy',
      options: { retainUIDs: true },
      verify: { detectors: { 'known-name-part': 'off', 'burned-in-text-suspect': 'error' } },
    });
    assert.deepEqual(c.levels, { 'known-name-part': 'off', 'burned-in-text-suspect': 'error' });
    assert.equal(c.deid.options.retainUIDs, true);
    assert.equal(parseVerifyConfig({}).levels, undefined);
  });

  test('an unknown detector or level is a configuration error (exit 3)', () => {
    for (const verify of [
      { detectors: { 'known-nmae': 'off' } },
      { detectors: { 'known-name': 'ignore' } },
      { detector: {} },
      'off',
    ]) {
      assert.throws(
        () => parseVerifyConfig({ verify }),
        (e: unknown) => e instanceof CliError && e.exitCode === 3,
      );
    }
  });
});
