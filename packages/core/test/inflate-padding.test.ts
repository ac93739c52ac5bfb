/**
 * Zero bytes after a deflate stream are padding, not trailing data: DCMTK (inside Orthanc) was seen writing a
 * deflated file with 14 KB of zeros after the stream. Anything else after the stream stays DICOM_TRAILING_DATA.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isVeilError, scanFile } from '@veil/core';

const file = join(
  import.meta.dirname,
  '../../../../shared/data/dicom/dicognito/test_writes_deflated_file_correctly/CT_small_deflated.dcm',
);
const skip = existsSync(file) ? false : 'shared test data not found';

function withTail(tail: Uint8Array): Uint8Array {
  const bytes = readFileSync(file);
  const out = new Uint8Array(bytes.length + tail.length);
  out.set(bytes, 0);
  out.set(tail, bytes.length);
  return out;
}

test('zeros after the deflate stream are padding; a non-zero byte among them is trailing data', { skip }, () => {
  const plain = scanFile(readFileSync(file));
  const padded = scanFile(withTail(new Uint8Array(14_429)));
  assert.ok(plain.dataset.elements.length > 10);
  assert.equal(padded.dataset.elements.length, plain.dataset.elements.length);
  const hidden = new Uint8Array(14_429);
  hidden[7_000] = 0x41;
  assert.throws(
    () => scanFile(withTail(hidden)),
    (e: unknown) => isVeilError(e) && e.code === 'DICOM_TRAILING_DATA',
  );
});
