/**
 * Differentiable-binarisation post-processing (the DB text detector's output to boxes, as PaddleOCR does it):
 * threshold the probability map, take connected regions, score each by its mean probability, drop weak and tiny
 * ones, and grow each box by the unclip distance (area * ratio / perimeter), since DB maps shrink text regions.
 *
 * Example:
 *   const boxes = dbBoxes(prob, w, h, { threshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5 });
 */
import type { Box } from '../box.ts';

export interface DbOptions {
  readonly threshold: number;
  readonly boxThreshold: number;
  readonly unclipRatio: number;
  /** Smallest box side kept, in map pixels. */
  readonly minSize: number;
}

/** PaddleOCR's defaults are 0.3 / 0.6 / 1.5; lower thresholds and a wider unclip found more burned-in lines. */
export const DB_DEFAULTS: DbOptions = { threshold: 0.2, boxThreshold: 0.5, unclipRatio: 2, minSize: 3 };

/**
 * Whether a region (map pixels, before unclipping) has the shape of a text line: burned-in text is one line of
 * characters (two or more: wider than 1.5 times its height; a weak one wider than 2.5 times), at most ~48 map pixels
 * high unless it is a long line. The detector otherwise takes textured anatomy (gyri, trabecular bone) in head CT
 * and MR for text. Single characters (orientation markers) are not removed.
 */
export function lineShaped(w: number, h: number, score: number): boolean {
  const aspect = w / h;
  if (h > 48 && aspect < 6) return false;
  if (aspect < 1.5) return false;
  if (score < 0.7 && aspect < 2.5) return false;
  return true;
}

let labelBuf = new Uint8Array(0);
let stackBuf = new Int32Array(0);

export function dbBoxes(prob: Float32Array, width: number, height: number, o: DbOptions = DB_DEFAULTS): Box[] {
  const n = width * height;
  // Visited marks and the flood-fill stack are reused between calls (synchronous: no interleaving).
  if (labelBuf.length < n) {
    labelBuf = new Uint8Array(n);
    stackBuf = new Int32Array(n);
  }
  const label = labelBuf;
  label.fill(0, 0, n);
  const stack = stackBuf;
  const t = o.threshold;
  const boxes: Box[] = [];
  for (let start = 0; start < n; start++) {
    if (label[start] !== 0 || (prob[start] as number) <= t) continue;
    label[start] = 1;
    let sp = 0;
    stack[sp++] = start;
    let x0 = width;
    let y0 = height;
    let x1 = -1;
    let y1 = -1;
    let sum = 0;
    let count = 0;
    // Same visiting order as a recursive flood fill with an array stack (left, right, up, down; last in first out),
    // so the score sums add up in the same order.
    while (sp > 0) {
      const p = stack[--sp] as number;
      const x = p % width;
      const y = (p - x) / width;
      sum += prob[p] as number;
      count++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      let q = p - 1;
      if (x > 0 && label[q] === 0 && (prob[q] as number) > t) {
        label[q] = 1;
        stack[sp++] = q;
      }
      q = p + 1;
      if (x + 1 < width && label[q] === 0 && (prob[q] as number) > t) {
        label[q] = 1;
        stack[sp++] = q;
      }
      q = p - width;
      if (y > 0 && label[q] === 0 && (prob[q] as number) > t) {
        label[q] = 1;
        stack[sp++] = q;
      }
      q = p + width;
      if (y + 1 < height && label[q] === 0 && (prob[q] as number) > t) {
        label[q] = 1;
        stack[sp++] = q;
      }
    }
    const w = x1 - x0 + 1;
    const h = y1 - y0 + 1;
    if (Math.min(w, h) < o.minSize) continue;
    const score = sum / count;
    if (score < o.boxThreshold) continue;
    if (!lineShaped(w, h, score)) continue;
    const d = (w * h * o.unclipRatio) / (2 * (w + h));
    boxes.push({
      x0: Math.max(0, Math.floor(x0 - d)),
      y0: Math.max(0, Math.floor(y0 - d)),
      x1: Math.min(width, Math.ceil(x1 + 1 + d)),
      y1: Math.min(height, Math.ceil(y1 + 1 + d)),
      source: 'detector',
      score,
    });
  }
  return boxes;
}

/** Below this mean text probability a detection is weak (dropSpecks). */
const WEAK = 0.75;

/**
 * The frame's detections without the weak specks: a detection with a mean text probability under 0.75 and under 3
 * of its heights wide, with no line (a detection that is confident or at least 3 heights wide) within 2 of its
 * heights, is dropped. On grainy anatomy (the noise of a DBT or mammography slice) the detector finds such specks,
 * one by one or in small clusters of each other; short text (an age, a unit, a lone marker) is confidently seen or
 * stands beside a line (its 'Age:' label). Run on the whole frame's boxes (the stroke pre-filter's rectangles
 * together), by the first look, the looks after a redaction and the verification alike, so the release gate does
 * not count what the stage leaves.
 */
export function dropSpecks(boxes: readonly Box[]): Box[] {
  const isLine = (b: Box) => b.score >= WEAK || b.x1 - b.x0 >= 3 * (b.y1 - b.y0);
  // The lines once: a speck is compared with them only (a grainy frame gives many specks and few lines, so the
  // cost is specks x lines, not the square of all detections).
  const lines = boxes.filter(isLine);
  return boxes.filter((b) => {
    if (isLine(b)) return true;
    const reach = 2 * (b.y1 - b.y0);
    return lines.some(
      (o) => Math.max(0, o.x0 - b.x1, b.x0 - o.x1) <= reach && Math.max(0, o.y0 - b.y1, b.y0 - o.y1) <= reach,
    );
  });
}
