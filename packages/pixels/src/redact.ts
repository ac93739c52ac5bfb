/**
 * Redaction: boxes filled with the frame's background in the native sample domain (the darkest value as
 * displayed: the minimum stored value for MONOCHROME2 and palette images, the maximum for MONOCHROME1, black for
 * RGB and YBR). Only the samples inside the boxes change; every other byte of the frame stays as it was.
 *
 * Example:
 *   const changed = fillBoxes(frame, boxes);   // number of pixels written
 */
import type { Box } from './box.ts';
import { type DecodedFrame, sampleAt, setSample } from './frame.ts';

/** The fill value(s) for a frame, one per sample. */
export function backgroundOf(f: DecodedFrame): number[] {
  if (f.samplesPerPixel === 3) {
    if (f.photometric.startsWith('YBR')) {
      const mid = 2 ** (f.bitsStored - 1);
      return [0, mid, mid];
    }
    return [0, 0, 0];
  }
  const n = f.rows * f.columns;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = sampleAt(f, i);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [f.photometric === 'MONOCHROME1' ? max : min];
}

/** Fills the boxes (already clipped to the frame); returns how many pixels were set. */
export function fillBoxes(f: DecodedFrame, boxes: readonly Box[], fill: readonly number[] = backgroundOf(f)): number {
  const spp = f.samplesPerPixel;
  const mark = new Uint8Array(f.rows * f.columns);
  let count = 0;
  for (const b of boxes) {
    for (let y = Math.max(0, b.y0); y < Math.min(f.rows, b.y1); y++) {
      for (let x = Math.max(0, b.x0); x < Math.min(f.columns, b.x1); x++) {
        const p = y * f.columns + x;
        if (mark[p]) continue;
        mark[p] = 1;
        count++;
        for (let s = 0; s < spp; s++) setSample(f, p * spp + s, fill[s] as number);
      }
    }
  }
  return count;
}
