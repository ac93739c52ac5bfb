/**
 * The ears (issue 13, item 2) on ../shared/data: the UIH head MR's 160 mm sagittal slab cuts the head at both sides
 * at ear height (the head mask touches the slab's edges there), so it shows no ear: the ear region is empty and the
 * removal is the face alone. No series in ../shared/data shows an ear, so the mechanism is proven on that MR (every
 * 2nd slice, 80 slices 2 mm apart) widened by 20 background slices on each side, with a pinna-sized tissue
 * ellipsoid (60 x 30 x 24 mm, the MR's head intensity) against the side of the real head at ear height: the detector
 * finds it, the removal clears it, and no tissue voxel of the real slices outside the face cut changes (the side of
 * the head, the skull and the brain are untouched; air beside the head in the ear region becomes the background).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { scanFile } from '@veil/core';
import {
  assembleVolume,
  countResidual,
  defaceVolume,
  detectFace,
  type FaceDetection,
  inEarRegion,
  inFaceCut,
  readInstance,
  readNativeFrames,
  type SeriesMember,
  storedValue,
  type Vec3,
  type Volume,
} from '@veil/pixels/deface';
import { corpusDir } from './server-support.ts';

const MR = join(corpusDir, 'dcm_qa_uih', 'DTI_132225', 't1_gre_fsp_3d_sag__132750');

function load(): SeriesMember<string>[] {
  return readdirSync(MR)
    .filter((n) => n.endsWith('.dcm'))
    .sort()
    .filter((_, i) => i % 2 === 0)
    .map((n) => {
      const file = scanFile(new Uint8Array(readFileSync(join(MR, n))));
      const info = readInstance(file);
      return { key: n, info, pixels: readNativeFrames(file, info) };
    });
}

const add = (a: Vec3, b: Vec3, s = 1): Vec3 => [a[0] + s * b[0], a[1] + s * b[1], a[2] + s * b[2]];

/** Patient position of voxel (i, j) of a frame. */
function at(v: Volume<string>, position: Vec3, i: number, j: number): Vec3 {
  return add(add(position, v.rowDirection, i * v.spacing[0]), v.columnDirection, j * v.spacing[1]);
}

/**
 * count background slices beyond the first (dir -1) or last (dir 1) frame, with an ellipsoid of tissue centred 12 mm
 * out from that frame at the given height and depth.
 */
function widen(
  v: Volume<string>,
  members: SeriesMember<string>[],
  d: FaceDetection,
  dir: 1 | -1,
  count: number,
  earYZ: [number, number],
): SeriesMember<string>[] {
  const edge = dir === 1 ? v.frames[v.frames.length - 1]! : v.frames[0]!;
  const base = members.find((m) => m.key === edge.key)!;
  const step = v.geometry.sliceSpacing;
  // The point of the edge frame at the ear's height and depth (the frame spans patient y and z).
  const r = v.rowDirection;
  const c = v.columnDirection;
  const dy = earYZ[0] - edge.position[1];
  const dz = earYZ[1] - edge.position[2];
  const det = r[1] * c[2] - r[2] * c[1];
  const i = (dy * c[2] - dz * c[1]) / det / v.spacing[0];
  const j = (r[1] * dz - r[2] * dy) / det / v.spacing[1];
  const centre = add(at(v, edge.position, i, j), v.normal, dir * 12);
  const radii: Vec3 = [12, 15, 30];
  const fill = storedValue(d.background, edge.slope, edge.intercept, edge.storedRange);
  const tissue = storedValue(d.threshold * 1.5, edge.slope, edge.intercept, edge.storedRange);
  const out: SeriesMember<string>[] = [];
  for (let n = 1; n <= count; n++) {
    const position = add(edge.position, v.normal, dir * n * step);
    const pixels = base.pixels[0]!.slice().fill(fill);
    for (let jj = 0; jj < v.rows; jj++) {
      for (let ii = 0; ii < v.columns; ii++) {
        const p = at(v, position, ii, jj);
        const q = [0, 1, 2].reduce((s, ax) => s + ((p[ax]! - centre[ax]!) / radii[ax]!) ** 2, 0);
        if (q <= 1) pixels[jj * v.columns + ii] = tissue;
      }
    }
    out.push({
      key: `added-${dir}-${n}`,
      info: {
        ...base.info,
        sopInstanceUid: `2.25.${dir === 1 ? 1 : 2}${n}`,
        frames: [{ ...base.info.frames[0]!, position }],
      },
      pixels: [pixels],
    });
  }
  return out;
}

test('UIH head MR: the slab shows no ear (empty ear region); widened with a pinna on each side, both are removed and nothing else', () => {
  const members = load();
  const real = assembleVolume(members);
  const d0 = detectFace(real);
  assert.equal(d0.verdict, 'present');
  assert.equal(d0.earGridVoxels, 0, 'the 160 mm slab cuts the head at its sides: no ear in view');
  assert.equal(d0.plane!.ears, undefined);

  // An ear at the height between nose tip and brow, 90 mm behind the nasion (where the real head meets the slab edge).
  const l = d0.landmarks!;
  const ear: [number, number] = [l.nasion[1] + 95, (l.noseTip[2] + l.brow[2]) / 2];
  const added = [...widen(real, members, d0, -1, 20, ear), ...widen(real, members, d0, 1, 20, ear)];
  const wide = [...members, ...added];
  const v = assembleVolume(wide);
  const d = detectFace(v);
  assert.equal(d.verdict, 'present');
  assert.ok((d.earGridVoxels ?? 0) > 0, 'the pinnae are found');
  const ears = d.plane!.ears!;
  assert.ok(ears);
  // Tissue of the added pinnae before removal (above the head threshold), and what is left of it after.
  const synthetic = new Set(added.map((m) => m.key));
  let pinna = 0;
  v.frames.forEach((f) => {
    if (!synthetic.has(f.key)) return;
    for (let n = 0; n < f.pixels.length; n++) if (f.pixels[n]! * f.slope + f.intercept > d.threshold) pinna++;
  });
  const removal = defaceVolume(v, d.plane!, d.background);
  let changedReal = 0;
  let changedRealOutsideCut = 0;
  let tissueRealOutsideCut = 0;
  let changedAdded = 0;
  let earTissueLeft = 0;
  for (const [k, pixels] of removal.frames) {
    const f = v.frames[k]!;
    const isAdded = synthetic.has(f.key);
    for (let n = 0; n < pixels.length; n++) {
      const p = at(v, f.position, n % v.columns, Math.floor(n / v.columns));
      if (isAdded && pixels[n]! * f.slope + f.intercept > d.threshold) earTissueLeft++;
      if (pixels[n] === f.pixels[n]) continue;
      if (isAdded) {
        changedAdded++;
        continue;
      }
      changedReal++;
      if (!inFaceCut(d.plane!, p)) {
        changedRealOutsideCut++;
        assert.ok(inEarRegion(ears, p));
        if (f.pixels[n]! * f.slope + f.intercept > d.threshold) tissueRealOutsideCut++;
      }
    }
  }
  // Frames the removal did not touch keep their tissue: count what is left there too.
  v.frames.forEach((f, k) => {
    if (!synthetic.has(f.key) || removal.frames.has(k)) return;
    for (let n = 0; n < f.pixels.length; n++) if (f.pixels[n]! * f.slope + f.intercept > d.threshold) earTissueLeft++;
  });
  const after = assembleVolume(
    wide.map((m) => {
      const k = v.frames.findIndex((f) => f.key === m.key);
      return { ...m, pixels: [removal.frames.get(k) ?? m.pixels[0]!] };
    }),
  );
  console.log(
    `# ears: pinnae ${pinna} tissue voxels added (${d.earGridVoxels} on the 2 mm grid); removed, ${earTissueLeft} left ` +
      `(within the 2 mm margin of the head's side); real slices: ${changedReal} voxels changed, ${changedRealOutsideCut} outside the face cut (air beside the head set to the background; ${tissueRealOutsideCut} of them tissue); ` +
      `face cut alone on the real MR ${defaceVolume(real, d0.plane!, d0.background).changedVoxels}`,
  );
  assert.ok(pinna > 10_000);
  assert.ok(changedAdded > 0);
  // What is left of the pinnae is the part within the margin of the head's side (the first added slices).
  assert.ok(earTissueLeft < pinna * 0.15, `${earTissueLeft} of ${pinna} pinna voxels left`);
  // Of the real slices, outside the face cut only air in the ear region beside the head may become background.
  assert.equal(tissueRealOutsideCut, 0, 'no tissue of the real head outside the face cut changes');
  assert.ok(changedRealOutsideCut < 5_000, `${changedRealOutsideCut}`);
  assert.equal(countResidual(after, d), 0);
});
