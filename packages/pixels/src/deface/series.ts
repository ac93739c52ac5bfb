/**
 * Series assembly: instances grouped by Series Instance UID and Frame of Reference UID, their frames ordered along
 * the normal of Image Orientation (Patient) by Image Position (Patient). Each frame keeps its own position, so gantry
 * tilt (origins sheared along the rows) and variable slice spacing are exact; gaps wider than 1.5 x the median
 * spacing are reported as missing slices. Values are real-world (CT: Hounsfield units through Rescale Slope and
 * Intercept; MR: the stored intensity, rescaled when the file says so).
 *
 * Example:
 *   const groups = groupSeries(instances);
 *   const volume = assembleVolume([...groups.values()][0]);
 *   volume.sample([0, -80, 20]); // HU at that patient point (nearest voxel), undefined outside the volume
 */
import { VeilError } from '@veil/core';
import type { InstanceInfo, StoredPixels, Vec3 } from './instance.ts';

export interface SeriesMember<K> {
  /** The caller's handle on the instance (a path, an index). */
  readonly key: K;
  readonly info: InstanceInfo;
  /** Stored values per frame (native pixels); filled in by the caller before assembleVolume. */
  readonly pixels: readonly StoredPixels[];
}

export interface VolumeFrame<K> {
  readonly key: K;
  /** Frame index inside its instance. */
  readonly frame: number;
  readonly position: Vec3;
  /** Position along the volume's normal, mm. */
  readonly depth: number;
  readonly slope: number;
  readonly intercept: number;
  readonly pixels: StoredPixels;
  /** The smallest and largest stored value Bits Stored and Pixel Representation allow. */
  readonly storedRange: readonly [number, number];
}

export interface SeriesGeometryReport {
  readonly frames: number;
  readonly rows: number;
  readonly columns: number;
  /** Median distance between consecutive frames along the normal, mm. */
  readonly sliceSpacing: number;
  readonly minSpacing: number;
  readonly maxSpacing: number;
  /** Estimated frames missing from gaps wider than 1.5 x the median spacing. */
  readonly missingSlices: number;
  /** Angle between the normal and the line through the first and last origins (gantry tilt), degrees. */
  readonly tiltDegrees: number;
  /** The normal's dominant patient axis: 'sagittal' (x), 'coronal' (y) or 'axial' (z). */
  readonly acquisition: 'sagittal' | 'coronal' | 'axial';
}

export interface Volume<K> {
  readonly modality: string;
  readonly rows: number;
  readonly columns: number;
  readonly rowDirection: Vec3;
  readonly columnDirection: Vec3;
  readonly normal: Vec3;
  /** [between columns, between rows], mm. */
  readonly spacing: readonly [number, number];
  readonly frames: readonly VolumeFrame<K>[];
  readonly geometry: SeriesGeometryReport;
  /** Real-world value at a patient point (nearest voxel), or undefined outside the volume. */
  sample(p: Vec3): number | undefined;
  /**
   * The affine from voxel (column i, row j, frame k) to patient coordinates for the first frame and the mean frame
   * step: exact for evenly spaced frames, an approximation otherwise (use each frame's position for exact work).
   */
  readonly affine: readonly number[];
}

const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];

/** Groups instances by series and frame of reference; the key is `${seriesUID}|${frameOfReferenceUID}`. */
export function groupSeries<M extends { readonly info: InstanceInfo }>(members: readonly M[]): Map<string, M[]> {
  const groups = new Map<string, M[]>();
  for (const m of members) {
    const k = `${m.info.seriesInstanceUid}|${m.info.frameOfReferenceUid}`;
    const g = groups.get(k);
    if (g) g.push(m);
    else groups.set(k, [m]);
  }
  return groups;
}

const ORIENTATION_TOLERANCE = 1e-3;

/** Builds the volume of one series; throws DEFACE_* codes when its frames do not form one volume. */
export function assembleVolume<K>(members: readonly SeriesMember<K>[]): Volume<K> {
  const first = members[0];
  if (!first) throw new VeilError('DEFACE_EMPTY_SERIES');
  const f0 = first.info.frames[0]!;
  const rowDirection = f0.rowDirection;
  const columnDirection = f0.columnDirection;
  const normal = cross(rowDirection, columnDirection);
  const spacing = f0.spacing;
  const frames: VolumeFrame<K>[] = [];
  for (const m of members) {
    const i = m.info;
    if (i.rows !== first.info.rows || i.columns !== first.info.columns) {
      throw new VeilError('DEFACE_INCONSISTENT_SERIES', { path: '(0028,0010)' });
    }
    if (m.pixels.length !== i.frames.length) throw new VeilError('DEFACE_NO_PIXELS', { path: '(7FE0,0010)' });
    i.frames.forEach((f, n) => {
      const same =
        Math.abs(dot(f.rowDirection, rowDirection) - 1) < ORIENTATION_TOLERANCE &&
        Math.abs(dot(f.columnDirection, columnDirection) - 1) < ORIENTATION_TOLERANCE;
      if (!same) throw new VeilError('DEFACE_INCONSISTENT_SERIES', { path: '(0020,0037)' });
      if (Math.abs(f.spacing[0] - spacing[0]) > 1e-3 || Math.abs(f.spacing[1] - spacing[1]) > 1e-3) {
        throw new VeilError('DEFACE_INCONSISTENT_SERIES', { path: '(0028,0030)' });
      }
      frames.push({
        key: m.key,
        frame: n,
        position: f.position,
        depth: dot(f.position, normal),
        slope: f.slope,
        intercept: f.intercept,
        pixels: m.pixels[n]!,
        storedRange: i.signed ? [-(2 ** (i.bitsStored - 1)), 2 ** (i.bitsStored - 1) - 1] : [0, 2 ** i.bitsStored - 1],
      });
    });
  }
  frames.sort((a, b) => a.depth - b.depth);
  const gaps: number[] = [];
  for (let k = 1; k < frames.length; k++) {
    const g = frames[k]!.depth - frames[k - 1]!.depth;
    // Two frames at one place: several echoes, phases or acquisitions in one series; not one volume.
    if (g < 1e-3) throw new VeilError('DEFACE_DUPLICATE_POSITION', { path: '(0020,0032)' });
    gaps.push(g);
  }
  const sorted = [...gaps].sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor(sorted.length / 2)]! : 1;
  let missing = 0;
  for (const g of gaps) if (g > 1.5 * median) missing += Math.round(g / median) - 1;
  let tiltDegrees = 0;
  if (frames.length > 1) {
    const a = frames[0]!.position;
    const b = frames[frames.length - 1]!.position;
    const d: Vec3 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    const along = Math.abs(dot(d, normal));
    const across = Math.sqrt(Math.max(0, dot(d, d) - along * along));
    tiltDegrees = (Math.atan2(across, along) * 180) / Math.PI;
  }
  const axis = [0, 1, 2].reduce((best, ax) => (Math.abs(normal[ax]!) > Math.abs(normal[best]!) ? ax : best), 0);
  const geometry: SeriesGeometryReport = {
    frames: frames.length,
    rows: first.info.rows,
    columns: first.info.columns,
    sliceSpacing: median,
    minSpacing: sorted[0] ?? median,
    maxSpacing: sorted.at(-1) ?? median,
    missingSlices: missing,
    tiltDegrees,
    acquisition: axis === 0 ? 'sagittal' : axis === 1 ? 'coronal' : 'axial',
  };
  const rows = first.info.rows;
  const columns = first.info.columns;
  const depths = Float64Array.from(frames, (f) => f.depth);
  const maxDistance = (k: number): number => {
    const before = k > 0 ? depths[k]! - depths[k - 1]! : Number.POSITIVE_INFINITY;
    const after = k < depths.length - 1 ? depths[k + 1]! - depths[k]! : Number.POSITIVE_INFINITY;
    const local = Math.min(before, after);
    // Half the local spacing (the voxel's own slab); the series' median where the frame has a lone neighbour.
    return 0.5 * (Number.isFinite(local) ? local : median) + 1e-6;
  };
  const slab = Float64Array.from(frames, (_, k) => maxDistance(k));
  const nearestFrame = (d: number): number => {
    let lo = 0;
    let hi = depths.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (depths[mid]! < d) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && Math.abs(depths[lo - 1]! - d) <= Math.abs(depths[lo]! - d)) lo--;
    return lo;
  };
  const sample = (p: Vec3): number | undefined => {
    const d = dot(p, normal);
    const k = nearestFrame(d);
    if (Math.abs(depths[k]! - d) > slab[k]!) return undefined;
    const f = frames[k]!;
    const q: Vec3 = [p[0] - f.position[0], p[1] - f.position[1], p[2] - f.position[2]];
    const i = Math.round(dot(q, rowDirection) / spacing[0]);
    const j = Math.round(dot(q, columnDirection) / spacing[1]);
    if (i < 0 || j < 0 || i >= columns || j >= rows) return undefined;
    return f.pixels[j * columns + i]! * f.slope + f.intercept;
  };
  const last = frames[frames.length - 1]!;
  const steps = Math.max(1, frames.length - 1);
  const step: Vec3 = [
    (last.position[0] - frames[0]!.position[0]) / steps,
    (last.position[1] - frames[0]!.position[1]) / steps,
    (last.position[2] - frames[0]!.position[2]) / steps,
  ];
  const o = frames[0]!.position;
  const affine = [
    rowDirection[0] * spacing[0],
    columnDirection[0] * spacing[1],
    step[0],
    o[0],
    rowDirection[1] * spacing[0],
    columnDirection[1] * spacing[1],
    step[1],
    o[1],
    rowDirection[2] * spacing[0],
    columnDirection[2] * spacing[1],
    step[2],
    o[2],
    0,
    0,
    0,
    1,
  ];
  return {
    modality: first.info.modality,
    rows,
    columns,
    rowDirection,
    columnDirection,
    normal,
    spacing,
    frames,
    geometry,
    sample,
    affine,
  };
}

/** Patient position of voxel (column i, row j) of frame k. */
export function voxelPosition<K>(v: Volume<K>, k: number, i: number, j: number): Vec3 {
  const f = v.frames[k]!;
  const a = i * v.spacing[0];
  const b = j * v.spacing[1];
  return [
    f.position[0] + a * v.rowDirection[0] + b * v.columnDirection[0],
    f.position[1] + a * v.rowDirection[1] + b * v.columnDirection[1],
    f.position[2] + a * v.rowDirection[2] + b * v.columnDirection[2],
  ];
}
