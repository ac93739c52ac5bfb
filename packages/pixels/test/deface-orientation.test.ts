/**
 * The detector reads patient coordinates, not the acquisition grid: the UIH head MR (acquired sagittal) re-sliced
 * into axial and coronal series, and tilted (pitched) by 12 degrees, gives the same verdict and the same nose tip
 * within a few millimetres; defacing the axial re-slice moves the nose surface back as on the original.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { scanFile } from '@veil/core';
import {
  anteriorProfile,
  assembleVolume,
  defaceVolume,
  detectFace,
  type FaceDetection,
  type FrameInfo,
  frontDepth,
  type InstanceInfo,
  readInstance,
  readNativeFrames,
  type SeriesMember,
  type Vec3,
  type Volume,
} from '@veil/pixels/deface';

const MR_DIR = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  '..',
  'shared',
  'data',
  'dicom',
  'dcm_qa_uih',
  'DTI_132225',
  't1_gre_fsp_3d_sag__132750',
);

let mr: Volume<string>;
let original: FaceDetection;

before(() => {
  const members = readdirSync(MR_DIR).map((f) => {
    const file = scanFile(new Uint8Array(readFileSync(join(MR_DIR, f))));
    const info = readInstance(file);
    return { key: f, info, pixels: readNativeFrames(file, info) };
  });
  mr = assembleVolume(members);
  original = detectFace(mr);
});

/**
 * A new series of `n` frames sampled from the MR (nearest voxel): frame k's first voxel at origin + k * step * normal,
 * rows along `col`, columns along `row`, 2 mm pixels and frames 2 mm apart; `rotate` maps a new-series point to the point of the MR
 * sampled (a pitched head).
 */
function reslice(row: Vec3, col: Vec3, origin: Vec3, n: number, size: number, rotate = (p: Vec3): Vec3 => p) {
  const normal: Vec3 = [
    row[1] * col[2] - row[2] * col[1],
    row[2] * col[0] - row[0] * col[2],
    row[0] * col[1] - row[1] * col[0],
  ];
  const px = 2;
  const members: SeriesMember<number>[] = [];
  const base = mr.frames[0]!;
  for (let k = 0; k < n; k++) {
    const o: Vec3 = [origin[0] + k * px * normal[0], origin[1] + k * px * normal[1], origin[2] + k * px * normal[2]];
    const pixels = new Uint16Array(size * size);
    for (let j = 0; j < size; j++) {
      for (let i = 0; i < size; i++) {
        const p: Vec3 = [
          o[0] + i * px * row[0] + j * px * col[0],
          o[1] + i * px * row[1] + j * px * col[1],
          o[2] + i * px * row[2] + j * px * col[2],
        ];
        pixels[j * size + i] = mr.sample(rotate(p)) ?? 0;
      }
    }
    const frame: FrameInfo = {
      position: o,
      rowDirection: row,
      columnDirection: col,
      spacing: [px, px],
      slope: base.slope,
      intercept: base.intercept,
    };
    const info: InstanceInfo = {
      sopInstanceUid: `1.2.3.${k}`,
      seriesInstanceUid: '1.2.3',
      frameOfReferenceUid: '1.2.3.9',
      modality: 'MR',
      instanceNumber: k + 1,
      rows: size,
      columns: size,
      bitsAllocated: 16,
      bitsStored: 16,
      signed: false,
      monochrome1: false,
      encapsulated: false,
      frames: [frame],
    };
    members.push({ key: k, info, pixels: [pixels] });
  }
  return assembleVolume(members);
}

const distance = (a: Vec3, b: Vec3): number => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

describe('face detection in patient coordinates', () => {
  test('axial and coronal re-slices: same verdict, nose tip within 4 mm; the axial one defaced', () => {
    const tip = original.landmarks!.noseTip;
    // Axial: rows along +x, columns along +y (posterior), frames going up (+z).
    const axial = reslice([1, 0, 0], [0, 1, 0], [-95, -122, -130], 128, 120);
    assert.equal(axial.geometry.acquisition, 'axial');
    const da = detectFace(axial);
    assert.equal(da.verdict, 'present', da.reason);
    // Coronal: rows along +x, columns down (-z), frames going back (+y).
    const coronal = reslice([1, 0, 0], [0, 0, -1], [-95, -122, 126], 120, 130);
    assert.equal(coronal.geometry.acquisition, 'coronal');
    const dc = detectFace(coronal);
    assert.equal(dc.verdict, 'present', dc.reason);
    console.log(
      `nose tip: sagittal original vs axial ${distance(tip, da.landmarks!.noseTip).toFixed(1)} mm, coronal ${distance(tip, dc.landmarks!.noseTip).toFixed(1)} mm`,
    );
    assert.ok(distance(tip, da.landmarks!.noseTip) <= 4);
    assert.ok(distance(tip, dc.landmarks!.noseTip) <= 4);
    const removal = defaceVolume(axial, da.plane!, da.background);
    const after = assembleVolume(
      axial.frames.map((f, k) => ({
        key: f.key,
        info: { ...({} as InstanceInfo), ...instanceOf(axial, k) },
        pixels: [removal.frames.get(k) ?? f.pixels],
      })),
    );
    const pa = anteriorProfile(
      frontDepth(axial, da.surfaceThreshold, 1, [da.midlineX - 25, da.midlineX + 25]),
      da.midlineX,
    );
    const db = frontDepth(after, da.surfaceThreshold, 1, [da.midlineX - 25, da.midlineX + 25]);
    const pb = anteriorProfile(db, da.midlineX);
    const r = Math.round((db.z0 - da.landmarks!.noseTip[2]) / db.step);
    console.log(`axial re-slice: nose surface moved back ${(pb[r]! - pa[r]!).toFixed(0)} mm`);
    assert.ok(pb[r]! - pa[r]! >= 30);
  });

  test('a head pitched by 12 degrees is still found', () => {
    const a = (12 * Math.PI) / 180;
    const c = [0, -20, 0];
    // Rotate about the x axis through a point in the head.
    const rotate = (p: Vec3): Vec3 => {
      const y = p[1] - c[1]!;
      const z = p[2] - c[2]!;
      return [p[0], c[1]! + Math.cos(a) * y - Math.sin(a) * z, c[2]! + Math.sin(a) * y + Math.cos(a) * z];
    };
    for (const sign of [1, -1]) {
      const r =
        sign > 0
          ? rotate
          : (p: Vec3) => {
              const y = p[1] - c[1]!;
              const z = p[2] - c[2]!;
              return [
                p[0],
                c[1]! + Math.cos(a) * y + Math.sin(a) * z,
                c[2]! - Math.sin(a) * y + Math.cos(a) * z,
              ] as Vec3;
            };
      const v = reslice([1, 0, 0], [0, 1, 0], [-95, -130, -140], 135, 128, r);
      const d = detectFace(v);
      console.log(
        `pitched ${sign * 12} degrees: ${d.verdict} (${d.reason}), prominence ${d.prominenceMm.toFixed(0)} mm`,
      );
      assert.equal(d.verdict, 'present', d.reason);
    }
  });
});

function instanceOf(v: Volume<number>, k: number): InstanceInfo {
  const f = v.frames[k]!;
  return {
    sopInstanceUid: `1.2.3.${k}`,
    seriesInstanceUid: '1.2.3',
    frameOfReferenceUid: '1.2.3.9',
    modality: 'MR',
    instanceNumber: k + 1,
    rows: v.rows,
    columns: v.columns,
    bitsAllocated: 16,
    bitsStored: 16,
    signed: false,
    monochrome1: false,
    encapsulated: false,
    frames: [
      {
        position: f.position,
        rowDirection: v.rowDirection,
        columnDirection: v.columnDirection,
        spacing: v.spacing,
        slope: f.slope,
        intercept: f.intercept,
      },
    ],
  };
}
