/**
 * A regular grid aligned with the patient axes (LPS: x to the patient's left, y to the posterior, z to the head),
 * resampled from a volume by nearest voxel. Face detection works here, so that it reads the same for sagittal,
 * coronal, axial and tilted acquisitions. Also the binary-mask operations it needs: threshold (Otsu), largest
 * connected component, hole filling.
 *
 * Example:
 *   const grid = resample(volume, 2);
 *   const head = headMask(grid, otsuThreshold(grid.values));
 */
import type { Vec3 } from './instance.ts';
import type { Volume } from './series.ts';

export interface Grid {
  readonly nx: number;
  readonly ny: number;
  readonly nz: number;
  /** Patient position of grid point (0, 0, 0). */
  readonly origin: Vec3;
  /** Spacing, mm, the same on each axis. */
  readonly step: number;
  /** Values; NaN outside the volume. Index: x + nx * (y + ny * z). */
  readonly values: Float32Array;
}

/** The patient-space bounding box of a volume's frames: [min, max]. */
export function bounds<K>(v: Volume<K>): [Vec3, Vec3] {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  const w = (v.columns - 1) * v.spacing[0];
  const h = (v.rows - 1) * v.spacing[1];
  for (const f of v.frames) {
    for (const [a, b] of [
      [0, 0],
      [w, 0],
      [0, h],
      [w, h],
    ] as const) {
      for (let ax = 0; ax < 3; ax++) {
        const c = f.position[ax]! + a * v.rowDirection[ax]! + b * v.columnDirection[ax]!;
        if (c < lo[ax]!) lo[ax] = c;
        if (c > hi[ax]!) hi[ax] = c;
      }
    }
  }
  return [lo as unknown as Vec3, hi as unknown as Vec3];
}

export function resample<K>(v: Volume<K>, step: number): Grid {
  const [lo, hi] = bounds(v);
  const nx = Math.floor((hi[0] - lo[0]) / step) + 1;
  const ny = Math.floor((hi[1] - lo[1]) / step) + 1;
  const nz = Math.floor((hi[2] - lo[2]) / step) + 1;
  const values = new Float32Array(nx * ny * nz);
  const p: [number, number, number] = [0, 0, 0];
  let n = 0;
  for (let z = 0; z < nz; z++) {
    p[2] = lo[2] + z * step;
    for (let y = 0; y < ny; y++) {
      p[1] = lo[1] + y * step;
      for (let x = 0; x < nx; x++) {
        p[0] = lo[0] + x * step;
        values[n++] = v.sample(p) ?? Number.NaN;
      }
    }
  }
  return { nx, ny, nz, origin: lo, step, values };
}

/** Otsu's threshold over the finite values (256 bins between the 0.5th and 99.5th percentiles). */
export function otsuThreshold(values: Float32Array): number {
  const finite: number[] = [];
  const stride = Math.max(1, Math.floor(values.length / 200_000));
  for (let i = 0; i < values.length; i += stride) if (Number.isFinite(values[i]!)) finite.push(values[i]!);
  finite.sort((a, b) => a - b);
  if (finite.length === 0) return 0;
  const lo = finite[Math.floor(finite.length * 0.005)]!;
  const hi = finite[Math.floor(finite.length * 0.995)]!;
  if (!(hi > lo)) return lo;
  const bins = 256;
  const hist = new Float64Array(bins);
  for (const v of finite) hist[Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)))]!++;
  let total = 0;
  let sum = 0;
  for (let b = 0; b < bins; b++) {
    total += hist[b]!;
    sum += b * hist[b]!;
  }
  let w0 = 0;
  let s0 = 0;
  let best = 0;
  let bestVar = -1;
  for (let b = 0; b < bins; b++) {
    w0 += hist[b]!;
    s0 += b * hist[b]!;
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const m0 = s0 / w0;
    const m1 = (sum - s0) / w1;
    const between = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (between > bestVar) {
      bestVar = between;
      best = b;
    }
  }
  return lo + ((best + 1) / bins) * (hi - lo);
}

/** The largest 6-connected component of a mask. */
export function largestComponent(g: Grid, mask: Uint8Array): Uint8Array {
  const { nx, ny, nz } = g;
  const label = new Int32Array(mask.length);
  const queue = new Int32Array(mask.length);
  const sxy = nx * ny;
  let best = 0;
  let bestSize = 0;
  let next = 0;
  for (let s = 0; s < mask.length; s++) {
    if (!mask[s] || label[s]) continue;
    next++;
    let head = 0;
    let tail = 0;
    label[s] = next;
    queue[tail++] = s;
    while (head < tail) {
      const i = queue[head++]!;
      const x = i % nx;
      const y = ((i - x) / nx) % ny;
      const z = Math.floor(i / sxy);
      if (x > 0 && mask[i - 1] && !label[i - 1]) {
        label[i - 1] = next;
        queue[tail++] = i - 1;
      }
      if (x < nx - 1 && mask[i + 1] && !label[i + 1]) {
        label[i + 1] = next;
        queue[tail++] = i + 1;
      }
      if (y > 0 && mask[i - nx] && !label[i - nx]) {
        label[i - nx] = next;
        queue[tail++] = i - nx;
      }
      if (y < ny - 1 && mask[i + nx] && !label[i + nx]) {
        label[i + nx] = next;
        queue[tail++] = i + nx;
      }
      if (z > 0 && mask[i - sxy] && !label[i - sxy]) {
        label[i - sxy] = next;
        queue[tail++] = i - sxy;
      }
      if (z < nz - 1 && mask[i + sxy] && !label[i + sxy]) {
        label[i + sxy] = next;
        queue[tail++] = i + sxy;
      }
    }
    if (tail > bestSize) {
      bestSize = tail;
      best = next;
    }
  }
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = label[i] === best && best > 0 ? 1 : 0;
  return out;
}

/**
 * Fills the holes of a mask in each axial plane: every voxel not reachable from the plane's border through
 * background. Per plane rather than in 3D because the body leaves the field of view at the neck, and the airway
 * and the (dark on MR) skull base would connect every hole to that border.
 */
export function fillHoles(g: Grid, mask: Uint8Array): Uint8Array {
  const { nx, ny, nz } = g;
  const out = new Uint8Array(mask.length);
  const sxy = nx * ny;
  const seen = new Uint8Array(sxy);
  const queue = new Int32Array(sxy);
  for (let z = 0; z < nz; z++) {
    const base = z * sxy;
    seen.fill(0);
    let head = 0;
    let tail = 0;
    const push = (i: number): void => {
      if (!seen[i] && !mask[base + i]) {
        seen[i] = 1;
        queue[tail++] = i;
      }
    };
    for (let x = 0; x < nx; x++) {
      push(x);
      push(x + nx * (ny - 1));
    }
    for (let y = 0; y < ny; y++) {
      push(y * nx);
      push(y * nx + nx - 1);
    }
    while (head < tail) {
      const i = queue[head++]!;
      const x = i % nx;
      if (x > 0) push(i - 1);
      if (x < nx - 1) push(i + 1);
      if (i >= nx) push(i - nx);
      if (i < sxy - nx) push(i + nx);
    }
    for (let i = 0; i < sxy; i++) out[base + i] = seen[i] ? 0 : 1;
  }
  return out;
}

/** Voxels above the threshold, then the largest component, then its holes filled: the head. */
export function headMask(g: Grid, threshold: number): Uint8Array {
  const m = new Uint8Array(g.values.length);
  for (let i = 0; i < m.length; i++) m[i] = g.values[i]! > threshold ? 1 : 0;
  return fillHoles(g, largestComponent(g, m));
}
