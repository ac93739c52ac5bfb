/**
 * Pictures of the face region: a depth map of the head seen from the front (rays cast along +y, the first voxel
 * above the head threshold, two samples in a row so that noise does not stop a ray), shaded as a lit surface. The
 * same rays give the anterior profile that tests and the report use to say how far the face's surface moved back.
 *
 * Example:
 *   const depth = frontDepth(volume, detection.threshold, 1);
 *   const grey = shadeDepth(depth);     // width x height bytes, for a PNG
 */

import { bounds } from './grid.ts';
import type { Vec3 } from './instance.ts';
import type { Volume } from './series.ts';

export interface DepthMap {
  readonly width: number;
  readonly height: number;
  /** Patient x of column 0 and z of row 0 (the top), mm; columns go to the patient's left, rows down. */
  readonly x0: number;
  readonly z0: number;
  readonly step: number;
  /** Patient y of the first head voxel along each ray, mm; NaN where the ray meets nothing. */
  readonly y: Float32Array;
}

/**
 * Casts one ray per (x, z) on a `step` mm grid from the volume's anterior edge to its posterior edge; `xRange`
 * (patient x, mm) narrows the picture to a band (the midline, for a profile).
 */
export function frontDepth<K>(v: Volume<K>, threshold: number, step = 1, xRange?: readonly [number, number]): DepthMap {
  const [lo0, hi0] = bounds(v);
  const lo: [number, number, number] = [Math.max(lo0[0], xRange?.[0] ?? lo0[0]), lo0[1], lo0[2]];
  const hi: [number, number, number] = [Math.min(hi0[0], xRange?.[1] ?? hi0[0]), hi0[1], hi0[2]];
  const width = Math.max(0, Math.floor((hi[0] - lo[0]) / step) + 1);
  const height = Math.floor((hi[2] - lo[2]) / step) + 1;
  const depthSteps = Math.floor((hi[1] - lo[1]) / step) + 1;
  const y = new Float32Array(width * height).fill(Number.NaN);
  const p: [number, number, number] = [0, 0, 0];
  for (let r = 0; r < height; r++) {
    p[2] = hi[2] - r * step;
    for (let c = 0; c < width; c++) {
      p[0] = lo[0] + c * step;
      let run = 0;
      for (let d = 0; d < depthSteps; d++) {
        p[1] = lo[1] + d * step;
        const val = v.sample(p as Vec3);
        if (val !== undefined && val > threshold) {
          if (++run === 2) {
            y[r * width + c] = p[1] - step;
            break;
          }
        } else run = 0;
      }
    }
  }
  return { width, height, x0: lo[0], z0: hi[2], step, y };
}

/** A lit-surface greyscale picture of a depth map: Lambert shading from the viewer, nearer is brighter. */
export function shadeDepth(m: DepthMap): Uint8Array {
  const { width, height, y } = m;
  const out = new Uint8Array(width * height);
  let near = Number.POSITIVE_INFINITY;
  let far = Number.NEGATIVE_INFINITY;
  for (const d of y) {
    if (Number.isNaN(d)) continue;
    if (d < near) near = d;
    if (d > far) far = d;
  }
  const at = (c: number, r: number, fallback: number): number => {
    if (c < 0 || r < 0 || c >= width || r >= height) return fallback;
    const d = y[r * width + c]!;
    return Number.isNaN(d) ? fallback : d;
  };
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const d = y[r * width + c]!;
      if (Number.isNaN(d)) continue;
      const gx = (at(c + 1, r, d) - at(c - 1, r, d)) / (2 * m.step);
      const gz = (at(c, r + 1, d) - at(c, r - 1, d)) / (2 * m.step);
      const lambert = 1 / Math.sqrt(1 + gx * gx + gz * gz);
      const depth = far > near ? 1 - (0.6 * (d - near)) / (far - near) : 1;
      out[r * width + c] = Math.max(16, Math.min(255, Math.round(255 * lambert * depth)));
    }
  }
  return out;
}

/**
 * The anterior profile near the midline: for each row of the depth map (patient z, top first), the most anterior
 * y within +-halfBand mm of midlineX; NaN where none.
 */
export function anteriorProfile(m: DepthMap, midlineX: number, halfBand = 20): Float32Array {
  const out = new Float32Array(m.height).fill(Number.NaN);
  const c0 = Math.max(0, Math.floor((midlineX - halfBand - m.x0) / m.step));
  const c1 = Math.min(m.width - 1, Math.ceil((midlineX + halfBand - m.x0) / m.step));
  for (let r = 0; r < m.height; r++) {
    let best = Number.NaN;
    for (let c = c0; c <= c1; c++) {
      const d = m.y[r * m.width + c]!;
      if (!Number.isNaN(d) && !(d >= best)) best = d;
    }
    out[r] = best;
  }
  return out;
}
