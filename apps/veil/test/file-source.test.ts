import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { dumpText, scanFile } from '@veil/core';
import { openFileSource } from '../src/io/file-source.ts';
import { corpusDir } from './server-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'veil-file-source-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('openFileSource', () => {
  test('a windowed (large) file reads the same bytes as the file, small reads and large, in any order', () => {
    const bytes = new Uint8Array(randomBytes(3 * 1024 * 1024 + 777));
    const path = join(dir, 'big.bin');
    writeFileSync(path, bytes);
    const src = openFileSource(path, { wholeLimit: 0 });
    try {
      assert.equal(src.bytes, undefined);
      assert.equal(src.length, bytes.length);
      const kept: [Uint8Array, number, number][] = [];
      // Deterministic pseudo-random ranges: short ones (served from the cached chunk), ones crossing its end,
      // large ones (read straight from the file), backwards jumps, and ranges past the end.
      let seed = 12345;
      const next = (n: number): number => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed % n;
      };
      for (let i = 0; i < 2000; i++) {
        const start = i % 97 === 0 ? bytes.length - next(100) : next(bytes.length);
        const len = i % 13 === 0 ? next(2 * 1024 * 1024) : i % 5 === 0 ? 1024 * 1024 + next(100) : next(5000);
        const got = src.read(start, start + len);
        const want = bytes.subarray(start, Math.min(start + len, bytes.length));
        assert.ok(Buffer.from(got).equals(want), `read(${start}, ${start + len})`);
        if (i % 50 === 0) kept.push([got, start, start + len]);
      }
      // What earlier reads returned was not overwritten by later ones.
      for (const [got, a, b] of kept) {
        assert.ok(Buffer.from(got).equals(bytes.subarray(a, Math.min(b, bytes.length))), `kept read(${a}, ${b})`);
      }
    } finally {
      src.close();
    }
  });

  test('real DICOM files dump the same read windowed as read whole', () => {
    const files = [
      'pydicom-test-files/test_files/CT_small.dcm',
      'fo-dicom/Benchmark_Data/multiframe.dcm',
      'dcm4che/test-data/US-PAL-8-10x-echo',
      'dicognito/test_writes_deflated_file_correctly/CT_small_deflated.dcm',
    ].map((f) => join(corpusDir, f));
    for (const file of files) {
      const whole = openFileSource(file);
      const windowed = openFileSource(file, { wholeLimit: 0 });
      try {
        assert.notEqual(whole.bytes, undefined);
        assert.equal(windowed.bytes, undefined);
        assert.equal(dumpText(scanFile(windowed)), dumpText(scanFile(whole)), file);
      } finally {
        whole.close();
        windowed.close();
      }
    }
  });
});
