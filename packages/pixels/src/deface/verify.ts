/**
 * Verification of a defaced series, on the output's own pixels (decoded again from the written bytes, not taken
 * from the removal's record): no voxel above the head threshold may remain in the face region, and the detector run
 * again on the output must not find a nose inside it.
 *
 * Example:
 *   const check = verifyDefaced(outputVolume, detectionOfInput);
 *   if (!check.ok) quarantine('DEFACE_VERIFY_FAILED');
 */
import { detectFace, type FaceDetection, type FacePlane, inFaceRegion } from './face.ts';
import { forEachRegionVoxel } from './remove.ts';
import type { Volume } from './series.ts';

export interface DefaceCheck {
  readonly ok: boolean;
  /** Voxels of the output inside the face region that are above the head threshold (skin, bone, tissue). */
  readonly residualVoxels: number;
  /** The verdict of the detector on the output. */
  readonly redetected: FaceDetection['verdict'];
  /** Whether the detector found a nose tip inside the removed face region. */
  readonly noseInRegion: boolean;
}

/** Voxels above the threshold inside the face region of the plane (0 when there is no plane). */
export function countResidual<K>(
  v: Volume<K>,
  input: { readonly plane?: FacePlane | undefined; readonly threshold: number },
): number {
  if (!input.plane) return 0;
  let residual = 0;
  forEachRegionVoxel(v, input.plane, (k, n) => {
    const f = v.frames[k]!;
    if (f.pixels[n]! * f.slope + f.intercept > input.threshold) residual++;
  });
  return residual;
}

export function verifyDefaced<K>(output: Volume<K>, input: FaceDetection): DefaceCheck {
  const residualVoxels = countResidual(output, input);
  const again = detectFace(output, { threshold: input.threshold });
  const tip = again.landmarks?.noseTip;
  const noseInRegion = tip !== undefined && input.plane !== undefined && inFaceRegion(input.plane, tip);
  return { ok: residualVoxels === 0 && !noseInRegion, residualVoxels, redetected: again.verdict, noseInRegion };
}
