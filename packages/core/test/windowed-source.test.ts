/**
 * Scanning through a windowed ByteSource (how the app reads files too large to hold) must give exactly the tree that
 * scanning the bytes in memory gives: every offset, length, VR and finding, at every depth. Small windows force a
 * window move inside nearly every element header.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ByteSource, type DicomFile, type ElementContainer, scanFile } from '../src/index.ts';
import { inventory, readBytes } from './support/corpus.ts';

/** A source that is not in memory as far as the scanner knows: every read is a copy of a range. */
function windowed(bytes: Uint8Array): ByteSource {
  return { length: bytes.length, read: (s, e) => bytes.slice(s, Math.min(e, bytes.length)) };
}

function shape(c: ElementContainer): unknown[] {
  return c.elements.map((el) => [
    el.tag,
    el.vr,
    el.offset,
    el.valueOffset,
    el.length,
    el.end,
    el.items?.map((item) => [item.offset, item.length, item.end, item.characterSet, shape(item)]),
    el.fragments?.map((f) => [f.offset, f.length]),
  ]);
}

function outcome(scan: () => DicomFile): unknown {
  try {
    const f = scan();
    return {
      ts: f.transferSyntax.uid,
      meta: f.meta ? shape(f.meta) : undefined,
      dataset: shape(f.dataset),
      findings: f.findings,
    };
  } catch (e) {
    return { error: (e as { code?: string }).code ?? String(e) };
  }
}

test('windowed scanning equals in-memory scanning on every corpus file (windows of 7, 61 and 4096 bytes)', () => {
  let compared = 0;
  for (const f of inventory()) {
    const bytes = readBytes(f.path);
    const expected = outcome(() => scanFile(bytes));
    for (const windowSize of [7, 61, 4096]) {
      const got = outcome(() => scanFile(windowed(bytes), { windowSize }));
      assert.deepEqual(got, expected, `${f.rel} window ${windowSize}`);
    }
    compared++;
  }
  assert.ok(compared > 500, `compared ${compared} files`);
});
