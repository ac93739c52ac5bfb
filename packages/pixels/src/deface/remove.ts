/**
 * Face removal: every voxel of the face region (see face.ts) becomes the background (CT: -1000 HU, mapped back to
 * stored values through each frame's rescale; MR: the background intensity); every other voxel keeps its stored
 * value. Returns new stored arrays only for the frames that changed.
 *
 * Example:
 *   const { frames } = defaceVolume(volume, detection.plane!, detection.background);
 */

import { type FacePlane, inEarRegion } from './face.ts';
import type { StoredPixels } from './instance.ts';
import type { Volume } from './series.ts';

export interface DefaceResult {
  /** New stored values, by index into volume.frames, for the frames that changed. */
  readonly frames: Map<number, StoredPixels>;
  /** Voxels whose stored value changed. */
  readonly changedVoxels: number;
  /** Voxels inside the face region (changed or already background). */
  readonly regionVoxels: number;
}

/** The stored value for a real-world value in a frame (rounded, clamped to what the frame can hold). */
export function storedValue(realValue: number, slope: number, intercept: number, range: readonly [number, number]) {
  const s = Math.round((realValue - intercept) / slope);
  return Math.min(range[1], Math.max(range[0], s));
}

/**
 * Calls fn(frameIndex, voxelIndex) once for every voxel of the volume inside the region of a plane (the face cut,
 * then the ears when the plane has them), row by row (z and y are linear along a row, so the face test costs a few
 * additions per voxel; rows that cannot meet the ear region are skipped whole).
 */
export function forEachRegionVoxel<K>(v: Volume<K>, plane: FacePlane, fn: (k: number, n: number) => void): void {
  const t = plane.tanBack;
  const a = plane.point;
  const limit = a[1] + t * a[2];
  const dx = v.spacing[0];
  const dy = v.spacing[1];
  const r = v.rowDirection;
  const c = v.columnDirection;
  // Along a row (i increasing) z, y and (y + t z) change by these amounts per voxel.
  const dzI = r[2] * dx;
  const dyI = r[1] * dx;
  const dsI = (r[1] + t * r[2]) * dx;
  const cap = plane.capY;
  const ears = plane.ears;
  const dxI = r[0] * dx;
  const earY0 = ears ? ears.y0 : 0;
  const earY1 = ears ? ears.y0 + ears.left.length * ears.yStep : 0;
  const innerLeft = ears ? Math.min(...ears.left) : 0;
  const innerRight = ears ? Math.max(...ears.right) : 0;
  v.frames.forEach((f, k) => {
    for (let j = 0; j < v.rows; j++) {
      const z0 = f.position[2] + j * dy * c[2];
      const y0 = f.position[1] + j * dy * c[1];
      const s0 = y0 + t * z0;
      // Each condition is linear in i: the row's voxels in the region are one range [lo, hi).
      let lo = 0;
      let hi = v.columns;
      for (const [start, step, bound, strict] of [
        [z0, dzI, a[2], false],
        [s0, dsI, limit, true],
        [y0, dyI, cap, true],
      ] as const) {
        // start + i * step < bound (or <= when not strict)
        if (step === 0) {
          if (strict ? start >= bound : start > bound) hi = 0;
          continue;
        }
        const x = (bound - start) / step;
        if (step > 0) hi = Math.min(hi, strict ? Math.ceil(x) : Math.floor(x) + 1);
        else lo = Math.max(lo, strict ? Math.floor(x) + 1 : Math.ceil(x));
      }
      const row = j * v.columns;
      const inCut = (i: number): boolean => !(z0 + i * dzI > a[2] || s0 + i * dsI >= limit || y0 + i * dyI >= cap);
      for (let i = Math.max(0, lo - 1); i < Math.min(v.columns, hi + 1); i++) {
        // The range is exact up to rounding at its ends: one more voxel each side, and the test itself decides.
        if (inCut(i)) fn(k, row + i);
      }
      if (ears) {
        const x0 = f.position[0] + j * dy * c[0];
        const xEnd = x0 + (v.columns - 1) * dxI;
        const zEnd = z0 + (v.columns - 1) * dzI;
        const yEnd = y0 + (v.columns - 1) * dyI;
        // Rows that cannot meet the ear box, or lie between the innermost limits, are skipped whole.
        if (Math.max(z0, zEnd) < ears.zMin || Math.min(z0, zEnd) > ears.zMax) continue;
        if (Math.max(y0, yEnd) < earY0 || Math.min(y0, yEnd) >= earY1) continue;
        if (Math.min(x0, xEnd) >= innerRight && Math.max(x0, xEnd) <= innerLeft) continue;
        for (let i = 0; i < v.columns; i++) {
          if (inCut(i)) continue; // already given
          if (inEarRegion(ears, [x0 + i * dxI, y0 + i * dyI, z0 + i * dzI])) fn(k, row + i);
        }
      }
    }
  });
}

export function defaceVolume<K>(v: Volume<K>, plane: FacePlane, background: number): DefaceResult {
  const frames = new Map<number, StoredPixels>();
  const fills = v.frames.map((f) => storedValue(background, f.slope, f.intercept, f.storedRange));
  let changedVoxels = 0;
  let regionVoxels = 0;
  forEachRegionVoxel(v, plane, (k, n) => {
    regionVoxels++;
    const f = v.frames[k]!;
    const fill = fills[k]!;
    if (f.pixels[n] === fill) return;
    let out = frames.get(k);
    if (!out) {
      out = f.pixels.slice();
      frames.set(k, out);
    }
    out[n] = fill;
    changedVoxels++;
  });
  return { frames, changedVoxels, regionVoxels };
}
