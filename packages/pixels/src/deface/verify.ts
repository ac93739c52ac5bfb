/**
 * Verification of a defaced series, on the output's own pixels (decoded again from the written bytes, not taken
 * from the removal's record): no voxel above the head threshold may remain in the face region, and the detector run
 * again on the output must not find a nose inside it.
 *
 * Example:
 *   const check = verifyDefaced(outputVolume, detectionOfInput);
 *   if (!check.ok) quarantine('DEFACE_VERIFY_FAILED');
 */
import { detectFace, type FaceDetection, inFaceRegion } from './face.ts';
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

export function countResidual<K>(v: Volume<K>, input: FaceDetection): number {
  const plane = input.plane;
  if (!plane) return 0;
  let residual = 0;
  const p: [number, number, number] = [0, 0, 0];
  for (const f of v.frames) {
    for (let j = 0; j < v.rows; j++) {
      for (let i = 0; i < v.columns; i++) {
        const a = i * v.spacing[0];
        const b = j * v.spacing[1];
        for (let ax = 0; ax < 3; ax++) p[ax] = f.position[ax]! + a * v.rowDirection[ax]! + b * v.columnDirection[ax]!;
        if (!inFaceRegion(plane, p)) continue;
        if (f.pixels[j * v.columns + i]! * f.slope + f.intercept > input.threshold) residual++;
      }
    }
  }
  return residual;
}

export function verifyDefaced<K>(output: Volume<K>, input: FaceDetection): DefaceCheck {
  const residualVoxels = countResidual(output, input);
  const again = detectFace(output, { threshold: input.threshold });
  const tip = again.landmarks?.noseTip;
  const noseInRegion = tip !== undefined && input.plane !== undefined && inFaceRegion(input.plane, tip);
  return { ok: residualVoxels === 0 && !noseInRegion, residualVoxels, redetected: again.verdict, noseInRegion };
}
