/**
 * Face detection without a model download: the head is what lies above a per-volume threshold (CT: -500 HU, the
 * air/skin boundary; MR: Otsu's threshold), its largest connected component with holes filled, on a 2 mm grid aligned
 * with the patient axes. Its anterior profile near the midline (the most anterior head voxel for each height) shows
 * the face: the nose tip is the profile's most prominent anterior protrusion below the top of the head, with the
 * nasion (the deepest point of the profile above it) and the upper lip (below it) both lying behind it. The face
 * region is then everything anterior-inferior of a cutting plane through a point just above the nasion (the brow,
 * at the level of the orbital roof), 6 mm behind the skin there, tilted 45 degrees back from the patient's vertical
 * axis, and no deeper than a coronal plane 25 mm behind the nasion (in front of the temporal poles and the
 * brainstem): the nose, lips, chin, eyelids, the front of the eyes and cheeks; the brain, the skull above the cut and
 * everything posterior of the planes are outside it. The ears join the region where the field of view shows them
 * (earRegion: what stands out beside the head at ear height further than the cranium does above).
 *
 * Per series the verdict is `present` (a nose protrudes >= 8 mm; 12 mm when the top of the head is cut off),
 * `absent` (no protrusion at all and the head covers less than 110 mm below its top: vertex to skull base) or
 * `uncertain` (anything else: a weak protrusion, a tall head without a nose, a face at the edge of the field of
 * view, no nasion above or no lips below the nose, fewer than 16 frames or a slab under 40 mm), which callers must treat as DEFACE_UNCERTAIN.
 *
 * Example:
 *   const d = detectFace(volume);
 *   if (d.verdict === 'present') defaceVolume(volume, d.plane!, d.background);
 */

import { type Grid, headMask, otsuThreshold, resample } from './grid.ts';
import type { Vec3 } from './instance.ts';
import type { Volume } from './series.ts';

export type FaceVerdict = 'present' | 'absent' | 'uncertain';

/** The cut: voxels with z <= top and y + tanBack * z < limit are the face (see inFaceRegion). */
export interface FacePlane {
  /** The brow point the plane passes through (patient coordinates, mm). */
  readonly point: Vec3;
  /** tan of the plane's tilt back from the vertical (y per mm of z, going down). */
  readonly tanBack: number;
  /** The deepest the cut goes: a coronal plane (patient y, mm) in front of the brain's anterior-inferior extent. */
  readonly capY: number;
  /** The ears, where the field of view shows them (see earRegion); part of the region like the face. */
  readonly ears?: EarRegion | undefined;
}

/**
 * The outer ears: in a box beside the head (from 20 mm below the nose tip to 15 mm above the brow, 65-140 mm behind
 * the nasion), whatever lies further out to either side than the head itself does 10-40 mm above that box (the
 * cranium's widest part, taken over 10 mm front and back, plus 2 mm): the pinna stands out from the side of the
 * head, the skull and the brain never do. Per 2 mm band of patient y: voxels with x > left[b] (towards the patient's left) or x < right[b] are ear.
 * Bands where the head above is not seen have no ear region (1e9 / -1e9).
 */
export interface EarRegion {
  readonly zMin: number;
  readonly zMax: number;
  /** y of band 0's anterior edge, and the band width (mm). */
  readonly y0: number;
  readonly yStep: number;
  readonly left: readonly number[];
  readonly right: readonly number[];
}

/** Whether a patient point is in the ear region (see EarRegion). */
export function inEarRegion(e: EarRegion, p: Vec3): boolean {
  if (p[2] < e.zMin || p[2] > e.zMax) return false;
  const b = Math.floor((p[1] - e.y0) / e.yStep);
  if (b < 0 || b >= e.left.length) return false;
  return p[0] > e.left[b]! || p[0] < e.right[b]!;
}

export interface FaceLandmarks {
  readonly noseTip: Vec3;
  readonly nasion: Vec3;
  readonly brow: Vec3;
}

export interface FaceDetection {
  readonly verdict: FaceVerdict;
  /** Why, as a stable code: NOSE_FOUND, NO_FACE_IN_FIELD, WEAK_PROTRUSION, NO_NOSE_FOUND, FACE_AT_FIELD_EDGE. */
  readonly reason: string;
  readonly modality: string;
  /** The head threshold in real-world units (HU for CT). */
  readonly threshold: number;
  /** The threshold for the skin surface in pictures and profiles (MR: half the head threshold; CT: the same). */
  readonly surfaceThreshold: number;
  /** The background the face becomes (CT: -1000 HU; MR: the median of the voxels outside the head). */
  readonly background: number;
  /** How far the nose tip stands in front of the nasion and upper lip, mm (0 when none). */
  readonly prominenceMm: number;
  /** Height of the head in the field of view, mm. */
  readonly headHeightMm: number;
  /** The head's centre line: x of the mask's centroid, mm. */
  readonly midlineX: number;
  readonly landmarks?: FaceLandmarks;
  readonly plane?: FacePlane;
  /** Head voxels (2 mm grid) found in the ear region: 0 when the field of view shows no ear. */
  readonly earGridVoxels?: number;
}

export const CT_AIR_SKIN_HU = -500;
export const CT_AIR_HU = -1000;
const STEP_MM = 2;
const BAND_MM = 20;
const PRESENT_MM = 8;
const LIPS_BEHIND_NASION_MM = 5;
const GLABELLA_MM = 2;
const MIN_FRAMES = 16;
const MIN_EXTENT_MM = 40;
const PRESENT_WITHOUT_VERTEX_MM = 12;
const WEAK_MM = 4;
const SHORT_HEAD_MM = 110;
const BROW_ABOVE_NASION_MM = 10;
const CUT_DEPTH_MM = 6;
export const CUT_TILT_DEGREES = 45;
const CAP_BEHIND_NASION_MM = 25;

/** Whether a patient point is in the face region of a plane (the part in front of the cut; not the ears). */
export function inFaceCut(plane: FacePlane, p: Vec3): boolean {
  const a = plane.point;
  return p[2] <= a[2] && p[1] < plane.capY && p[1] + plane.tanBack * p[2] < a[1] + plane.tanBack * a[2];
}

/** Whether a patient point is in the region a plane removes: the face, and the ears when the plane has them. */
export function inFaceRegion(plane: FacePlane, p: Vec3): boolean {
  return inFaceCut(plane, p) || (plane.ears !== undefined && inEarRegion(plane.ears, p));
}

const EAR_BELOW_TIP_MM = 20;
const EAR_ABOVE_BROW_MM = 15;
const EAR_FRONT_MM = 65;
const EAR_BACK_MM = 140;
const EAR_REFERENCE_MM: readonly [number, number] = [10, 40];
const EAR_MARGIN_MM = 2;
const EAR_SMOOTH_MM = 10;
const NO_EAR = 1e9;

/**
 * The ear region for a head mask and its landmarks (see EarRegion), and how many grid voxels of the head lie in it
 * (0: no ear in the field of view, e.g. a slab that cuts the head at its sides; then no region is returned).
 */
export function earRegion(
  g: Grid,
  mask: Uint8Array,
  landmarks: FaceLandmarks,
): { readonly region?: EarRegion; readonly gridVoxels: number } {
  const { nx, ny, nz, origin, step } = g;
  const zMin = landmarks.noseTip[2] - EAR_BELOW_TIP_MM;
  const zMax = landmarks.brow[2] + EAR_ABOVE_BROW_MM;
  const y0 = landmarks.nasion[1] + EAR_FRONT_MM;
  const bands = Math.ceil((EAR_BACK_MM - EAR_FRONT_MM) / step);
  const gz = (z: number): number => Math.round((z - origin[2]) / step);
  const left: number[] = [];
  const right: number[] = [];
  const rz0 = Math.max(0, gz(zMax + EAR_REFERENCE_MM[0]));
  const rz1 = Math.min(nz - 1, gz(zMax + EAR_REFERENCE_MM[1]));
  for (let b = 0; b < bands; b++) {
    const y = Math.round((y0 + (b + 0.5) * step - origin[1]) / step);
    let lo = nx;
    let hi = -1;
    if (y >= 0 && y < ny) {
      for (let z = rz0; z <= rz1; z++) {
        for (let x = 0; x < nx; x++) {
          if (!mask[x + nx * (y + ny * z)]) continue;
          if (x < lo) lo = x;
          if (x > hi) hi = x;
        }
      }
    }
    left.push(hi < 0 ? NO_EAR : origin[0] + hi * step + EAR_MARGIN_MM);
    right.push(hi < 0 ? -NO_EAR : origin[0] + lo * step - EAR_MARGIN_MM);
  }
  // A band whose reference is narrower than its neighbours' (a gap in the mask, weak signal at the coil's edge) must
  // not cut into the side of the head: each band takes the widest reference within EAR_SMOOTH_MM.
  const w = Math.round(EAR_SMOOTH_MM / step);
  const widest = (a: readonly number[], pick: (x: number, y: number) => number): number[] =>
    a.map((_, b) => a.slice(Math.max(0, b - w), b + w + 1).reduce((x, y) => pick(x, y)));
  const region: EarRegion = {
    zMin,
    zMax,
    y0,
    yStep: step,
    left: widest(left, Math.max),
    right: widest(right, Math.min),
  };
  let gridVoxels = 0;
  for (let z = Math.max(0, gz(zMin)); z <= Math.min(nz - 1, gz(zMax)); z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        if (!mask[x + nx * (y + ny * z)]) continue;
        if (inEarRegion(region, [origin[0] + x * step, origin[1] + y * step, origin[2] + z * step])) gridVoxels++;
      }
    }
  }
  return gridVoxels > 0 ? { region, gridVoxels } : { gridVoxels };
}

interface Profile {
  /** Most anterior y (mm) of the head near the midline per grid z; NaN where the head is absent. */
  readonly front: Float64Array;
  /** Whether that front touches the grid's anterior edge. */
  readonly atEdge: Uint8Array;
}

function profile(g: Grid, mask: Uint8Array, midlineX: number): Profile {
  const { nx, ny, nz } = g;
  const front = new Float64Array(nz).fill(Number.NaN);
  const atEdge = new Uint8Array(nz);
  const x0 = Math.max(0, Math.floor((midlineX - BAND_MM - g.origin[0]) / g.step));
  const x1 = Math.min(nx - 1, Math.ceil((midlineX + BAND_MM - g.origin[0]) / g.step));
  for (let z = 0; z < nz; z++) {
    let best = ny;
    for (let x = x0; x <= x1; x++) {
      for (let y = 0; y < best; y++) {
        if (mask[x + nx * (y + ny * z)]) {
          best = y;
          break;
        }
      }
    }
    if (best < ny) {
      front[z] = g.origin[1] + best * g.step;
      atEdge[z] = best === 0 ? 1 : 0;
    }
  }
  return { front, atEdge };
}

/** Max of the profile over grid z in [a, b] (clamped), NaN when no value is defined there. */
function maxOver(front: Float64Array, a: number, b: number): number {
  let m = Number.NaN;
  for (let z = Math.max(0, a); z <= Math.min(front.length - 1, b); z++) {
    const v = front[z]!;
    if (!Number.isNaN(v) && !(v <= m)) m = v;
  }
  return m;
}

export interface DetectOptions {
  /** Override the head threshold (real-world units). */
  readonly threshold?: number;
  /** Add the ears to the region where the field of view shows them (default true). */
  readonly ears?: boolean;
}

export function detectFace<K>(v: Volume<K>, options: DetectOptions = {}): FaceDetection {
  const g = resample(v, STEP_MM);
  const d = detectFaceOnGrid(g, v.modality, options);
  // A single image or a thin slab (a localizer, a screenshot, a few slices) cannot show whether a face is there,
  // yet may show one (a lateral scout shows the profile): never 'absent'.
  const extent = v.geometry.frames * v.geometry.sliceSpacing;
  if (d.verdict === 'absent' && (v.geometry.frames < MIN_FRAMES || extent < MIN_EXTENT_MM)) {
    return { ...d, verdict: 'uncertain', reason: 'TOO_FEW_SLICES' };
  }
  return d;
}

export function detectFaceOnGrid(g: Grid, modality: string, options: DetectOptions = {}): FaceDetection {
  const ct = modality === 'CT';
  const threshold = options.threshold ?? (ct ? CT_AIR_SKIN_HU : otsuThreshold(g.values));
  const mask = headMask(g, threshold);
  const { nx, ny, nz } = g;
  let sx = 0;
  let count = 0;
  let zLo = nz;
  let zHi = -1;
  const outside: number[] = [];
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const i = x + nx * (y + ny * z);
        if (mask[i]) {
          sx += x;
          count++;
          if (z < zLo) zLo = z;
          if (z > zHi) zHi = z;
        } else if ((i & 7) === 0 && Number.isFinite(g.values[i]!)) outside.push(g.values[i]!);
      }
    }
  }
  outside.sort((a, b) => a - b);
  const background = ct ? CT_AIR_HU : (outside[Math.floor(outside.length / 2)] ?? 0);
  const midlineX = g.origin[0] + (count ? sx / count : nx / 2) * g.step;
  const headHeightMm = count ? (zHi - zLo + 1) * g.step : 0;
  const surfaceThreshold = ct ? threshold : background + 0.5 * (threshold - background);
  const base = { modality, threshold, surfaceThreshold, background, midlineX, headHeightMm };
  if (count === 0) return { ...base, verdict: 'absent', reason: 'NO_HEAD', prominenceMm: 0 };
  const { front, atEdge } = profile(g, mask, midlineX);
  const mm = (d: number): number => Math.round(d / g.step);
  // With the vertex in the field of view, the nose tip is searched 100-190 mm below it (adult anthropometry:
  // vertex to nasion ~100-130 mm, nose ~45-55 mm): the glabella above and the chin below protrude too. Without the
  // vertex, anywhere 60 mm below the top, and only a clear protrusion counts.
  const vertexInField = zHi < nz - 1;
  const searchTop = vertexInField ? zHi - mm(100) : zHi - mm(60);
  const searchBottom = vertexInField ? zHi - mm(190) : zLo;
  const presentMm = vertexInField ? PRESENT_MM : PRESENT_WITHOUT_VERTEX_MM;
  let bestZ = -1;
  let bestP = 0;
  let bestAboveOnly = 0;
  for (let z = Math.max(zLo, searchBottom); z <= searchTop; z++) {
    const f = front[z]!;
    if (Number.isNaN(f)) continue;
    const above = maxOver(front, z + mm(14), z + mm(50));
    const below = maxOver(front, z - mm(30), z - mm(8));
    if (Number.isNaN(above)) continue;
    if (Number.isNaN(below)) {
      bestAboveOnly = Math.max(bestAboveOnly, above - f);
      continue;
    }
    const p = Math.min(above, below) - f;
    if (p > bestP) {
      bestP = p;
      bestZ = z;
    }
  }
  const lowEdge = (): boolean => {
    for (let z = zLo; z <= Math.min(zHi, zLo + mm(60)); z++) if (atEdge[z]) return true;
    return false;
  };
  if (bestP < presentMm - 1e-6) {
    if (bestP >= WEAK_MM || bestAboveOnly >= WEAK_MM) {
      return { ...base, verdict: 'uncertain', reason: 'WEAK_PROTRUSION', prominenceMm: bestP };
    }
    if (lowEdge()) return { ...base, verdict: 'uncertain', reason: 'FACE_AT_FIELD_EDGE', prominenceMm: bestP };
    if (headHeightMm < SHORT_HEAD_MM)
      return { ...base, verdict: 'absent', reason: 'NO_FACE_IN_FIELD', prominenceMm: 0 };
    return { ...base, verdict: 'uncertain', reason: 'NO_NOSE_FOUND', prominenceMm: bestP };
  }
  // Nasion: the deepest point of the profile 14-50 mm above the tip.
  let nz0 = bestZ + mm(14);
  for (let z = bestZ + mm(14); z <= Math.min(zHi, bestZ + mm(50)); z++) {
    if (!Number.isNaN(front[z]!) && front[z]! > front[nz0]!) nz0 = z;
  }
  // Above the nasion the brow (glabella) comes forward again; a profile that only goes back above the "tip" (a
  // forehead over a face already cut away) has no nasion.
  let glabella = Number.POSITIVE_INFINITY;
  for (let z = nz0 + mm(4); z <= Math.min(zHi, nz0 + mm(25)); z++) {
    const f = front[z]!;
    if (!Number.isNaN(f) && f < glabella) glabella = f;
  }
  if (!(glabella <= front[nz0]! - GLABELLA_MM)) {
    return { ...base, verdict: 'uncertain', reason: 'NO_NASION', prominenceMm: bestP };
  }
  // Below a nose come the lips and the chin, about as far forward as the nasion; below a step that only goes back
  // (a face already cut, a brow over a flat surface) the surface 15-40 mm down lies well behind it. Where the field
  // of view ends within 40 mm below the tip, the lips may simply be outside it.
  if (bestZ - zLo > mm(40)) {
    let lips = Number.POSITIVE_INFINITY;
    for (let z = bestZ - mm(15); z >= Math.max(zLo, bestZ - mm(40)); z--) {
      const f = front[z]!;
      if (!Number.isNaN(f) && f < lips) lips = f;
    }
    if (!(lips <= front[nz0]! + LIPS_BEHIND_NASION_MM)) {
      return { ...base, verdict: 'uncertain', reason: 'NO_LIPS_BELOW_NOSE', prominenceMm: bestP };
    }
  }
  const zBrowIdx = Math.min(zHi, nz0 + mm(BROW_ABOVE_NASION_MM));
  const z = (i: number): number => g.origin[2] + i * g.step;
  const browFront = front[zBrowIdx]!;
  const noseTip: Vec3 = [midlineX, front[bestZ]!, z(bestZ)];
  const nasion: Vec3 = [midlineX, front[nz0]!, z(nz0)];
  const brow: Vec3 = [midlineX, browFront, z(zBrowIdx)];
  const landmarks: FaceLandmarks = { noseTip, nasion, brow };
  const ears = options.ears === false ? { gridVoxels: 0 } : earRegion(g, mask, landmarks);
  const plane: FacePlane = {
    point: [midlineX, browFront + CUT_DEPTH_MM, z(zBrowIdx)],
    tanBack: Math.tan((CUT_TILT_DEGREES * Math.PI) / 180),
    capY: nasion[1] + CAP_BEHIND_NASION_MM,
    ...(ears.region ? { ears: ears.region } : {}),
  };
  return {
    ...base,
    verdict: 'present',
    reason: 'NOSE_FOUND',
    prominenceMm: bestP,
    landmarks,
    plane,
    earGridVoxels: ears.gridVoxels,
  };
}
