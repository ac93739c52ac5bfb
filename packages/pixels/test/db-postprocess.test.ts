/**
 * Weak specks (src/detect/db-postprocess.ts dropSpecks), on boxes: a weak, short detection alone is dropped; one
 * beside a line (a confident or long detection), a confident short one and a weak long one are kept; weak specks
 * next to each other do not keep each other.
 *
 * Run: node --import tsx --test packages/pixels/test/db-postprocess.test.ts   (<1 s)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Box } from '../src/box.ts';
import { dropSpecks } from '../src/detect/db-postprocess.ts';

const box = (x0: number, y0: number, x1: number, y1: number, score: number): Box => ({
  x0,
  y0,
  x1,
  y1,
  source: 'detector',
  score,
});

describe('dropSpecks', () => {
  it('drops a weak short detection with no line beside it', () => {
    const speck = box(200, 200, 220, 210, 0.65);
    const line = box(10, 10, 200, 22, 0.98);
    assert.deepEqual(dropSpecks([line, speck]), [line]);
  });

  it('keeps a weak short detection beside a line (a value after its label)', () => {
    const label = box(10, 100, 50, 110, 0.95); // 'Age:'
    const value = box(55, 100, 70, 110, 0.7); // '67'
    const below = box(10, 125, 30, 135, 0.7); // 1.5 heights under the label
    assert.deepEqual(dropSpecks([label, value, below]), [label, value, below]);
  });

  it('keeps confident short and weak long detections alone', () => {
    const marker = box(300, 300, 312, 316, 0.9); // 'L'
    const faint = box(10, 400, 80, 408, 0.6); // a long faint line
    assert.deepEqual(dropSpecks([marker, faint]), [marker, faint]);
  });

  it('weak specks next to each other do not keep each other', () => {
    const a = box(200, 200, 220, 212, 0.65);
    const b = box(222, 205, 240, 216, 0.6);
    assert.deepEqual(dropSpecks([a, b]), []);
  });
});
