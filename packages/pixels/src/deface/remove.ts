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

export function defaceVolume<K>(v: Volume<K>, plane: FacePlane, background: number): DefaceResult {
  const frames = new Map<number, StoredPixels>();
  const t = plane.tanBack;
  const a = plane.point;
  const limit = a[1] + t * a[2];
  const dx = v.spacing[0];
  const dy = v.spacing[1];
  const r = v.rowDirection;
  const c = v.columnDirection;
  // Along a row (i increasing) z and (y + t z) change by these amounts per voxel.
  const dzI = r[2] * dx;
  const dsI = (r[1] + t * r[2]) * dx;
  const dyI = r[1] * dx;
  const cap = plane.capY;
  let changedVoxels = 0;
  let regionVoxels = 0;
  v.frames.forEach((f, k) => {
    const fill = storedValue(background, f.slope, f.intercept, f.storedRange);
    let out: StoredPixels | undefined;
    for (let j = 0; j < v.rows; j++) {
      const z0 = f.position[2] + j * dy * c[2];
      const y0 = f.position[1] + j * dy * c[1];
      const s0 = y0 + t * z0;
      const row = j * v.columns;
      for (let i = 0; i < v.columns; i++) {
        if (z0 + i * dzI > a[2] || s0 + i * dsI >= limit || y0 + i * dyI >= cap) continue;
        regionVoxels++;
        if (f.pixels[row + i] === fill) continue;
        if (!out) out = f.pixels.slice();
        out[row + i] = fill;
        changedVoxels++;
      }
    }
    if (out) frames.set(k, out);
  });
  return { frames, changedVoxels, regionVoxels };
}
