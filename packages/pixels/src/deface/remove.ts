/**
 * Face removal: every voxel of the face region (see face.ts) becomes the background (CT: -1000 HU, mapped back to
 * stored values through each frame's rescale; MR: the background intensity); every other voxel keeps its stored
 * value. Returns new stored arrays only for the frames that changed.
 *
 * Example:
 *   const { frames } = defaceVolume(volume, detection.plane!, detection.background);
 */

import type { FacePlane } from './face.ts';
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
 * Calls fn(frameIndex, voxelIndex) for every voxel of the volume inside the face region of a plane, row by row
 * (z and y are linear along a row, so the test costs a few additions per voxel).
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
      for (let i = Math.max(0, lo - 1); i < Math.min(v.columns, hi + 1); i++) {
        // The range is exact up to rounding at its ends: one more voxel each side, and the test itself decides.
        if (z0 + i * dzI > a[2] || s0 + i * dsI >= limit || y0 + i * dyI >= cap) continue;
        fn(k, row + i);
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
