/**
 * The rewriter's `patch` edit (bytes [start, end) of a value replaced, the rest copied): on a defined-length value it
 * gives what replacing the whole value gives; a length change there is refused; on encapsulated Pixel Data (undefined
 * length) it may grow or shrink the value. Two patches of one element apply both; overlapping ones are refused.
 *
 * Run: node --import tsx --test packages/core/test/rewriter-patch.test.ts
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findElement, PIXEL_DATA, rewrite, scanFile } from '../src/index.ts';

const samples = join(import.meta.dirname, '../../../samples');
const load = (name: string) => scanFile(new Uint8Array(readFileSync(join(samples, name))));

test('patch of a native value: same bytes as replacing the whole value; a length change is refused', () => {
  const file = load('CT_small.dcm');
  const px = findElement(file.dataset, PIXEL_DATA)!;
  const value = file.source.read(px.valueOffset, px.valueOffset + px.length).slice();
  const a = new Uint8Array([1, 2, 3, 4, 5, 6]);
  const b = new Uint8Array([9, 9]);
  value.set(a, 100);
  value.set(b, 5000);
  const whole = rewrite(file, [{ op: 'replace', element: px, value }]);
  const patched = rewrite(file, [
    { op: 'patch', element: px, start: 5000, end: 5002, value: b },
    { op: 'patch', element: px, start: 100, end: 106, value: a },
  ]);
  assert.deepEqual(patched, whole);
  assert.throws(
    () => rewrite(file, [{ op: 'patch', element: px, start: 0, end: 2, value: new Uint8Array(3) }]),
    /DICOM_BAD_EDIT/,
  );
  assert.throws(
    () =>
      rewrite(file, [
        { op: 'patch', element: px, start: 0, end: 4, value: new Uint8Array(4) },
        { op: 'patch', element: px, start: 2, end: 6, value: new Uint8Array(4) },
      ]),
    /DICOM_BAD_EDIT/,
  );
});

test('patch of encapsulated Pixel Data may change its length; the output scans with the new fragment', () => {
  const file = load('SC_rgb_rle.dcm');
  const px = findElement(file.dataset, PIXEL_DATA)!;
  const frag = px.fragments![1]!;
  // The first fragment item replaced by a shorter one (8-byte header + 4 bytes).
  const item = new Uint8Array([0xfe, 0xff, 0x00, 0xe0, 4, 0, 0, 0, 1, 2, 3, 4]);
  const out = scanFile(
    rewrite(file, [
      {
        op: 'patch',
        element: px,
        start: frag.offset - px.valueOffset,
        end: frag.valueOffset + frag.length - px.valueOffset,
        value: item,
      },
    ]),
  );
  const el = findElement(out.dataset, PIXEL_DATA)!;
  const f = el.fragments![1]!;
  assert.equal(f.length, 4);
  assert.deepEqual(out.source.read(f.valueOffset, f.valueOffset + 4), new Uint8Array([1, 2, 3, 4]));
  assert.equal(el.fragments!.length, px.fragments!.length);
});
