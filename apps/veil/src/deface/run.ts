/**
 * `veil deface`: removes the face from head CT and MR series. The inputs are read and grouped into series (Series
 * Instance UID + Frame of Reference UID); each series is assembled into a volume and the face detector decides:
 *
 * - present: the face region's voxels become air / background, each file is rewritten with only its Pixel Data value
 *   replaced (same length; every other byte kept) plus Recognizable Visual Features NO and code 113102; the written
 *   files are read back, decoded and checked (no head voxel left in the face region, no nose found there again);
 *   a failed check quarantines the series (DEFACE_VERIFY_FAILED) and removes what was written.
 * - absent (a head from vertex to skull base): the files are copied unchanged, with no claim.
 * - uncertain: the series is quarantined (DEFACE_UNCERTAIN), never written with its face.
 * Compressed pixel data is quarantined (DEFACE_COMPRESSED) until the pixel codecs can re-encode it losslessly.
 *
 * The report folder gets veil-deface.json, veil-deface.html and, per defaced series, after.png: a depth-map
 * rendering of the head seen from the front (before.png too with --show-before; it shows the face).
 */
import { createHash, createHmac } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type DicomFile, isVeilError, rewrite, scanFile } from '@veil/core';
import type { FrameCodec } from '@veil/pixels';
import {
  anteriorProfile,
  assembleVolume,
  blurVolume,
  type DefaceWriteBack,
  defaceVolume,
  detectFace,
  type FaceDetection,
  type FacePlane,
  frontDepth,
  groupSeries,
  readInstance,
  type SeriesMember,
  type StoredPixels,
  saysDefaced,
  shadeDepth,
  type Volume,
  verifyDefaced,
} from '@veil/pixels/deface';
import { CliError, EXIT_FAILURES, EXIT_OK, EXIT_USAGE } from '../deid/cli-error.ts';
import { assertOutsideInputs, listInputs } from '../deid/inputs.ts';
import { encodePng } from '../pixels/png.ts';
import { writeFileDurable } from '../release/durable.ts';
import { type LoadedInstance, loadInstances } from './load.ts';
import type { DefaceMode } from './options.ts';
import { codecFor, outputEdits, readFrames } from './pixels.ts';

export interface DefaceOptions {
  readonly inputs: readonly string[];
  readonly out: string | undefined;
  readonly quarantine?: string | undefined;
  readonly report?: string | undefined;
  readonly showBefore?: boolean;
  readonly log?: (line: string) => void;
  /** remove (default) or blur (--blur): see SeriesPassOptions.mode. */
  readonly mode?: DefaceMode | undefined;
}

export type SeriesOutcome = 'defaced' | 'no-face' | 'already-defaced' | 'quarantined';

export interface SeriesReport {
  /** A hash of the Series Instance UID (the UID itself may identify). */
  readonly series: string;
  readonly modality: string;
  readonly files: number;
  readonly outcome: SeriesOutcome;
  /** How a defaced series' region was cleared (pixels.deface.mode). */
  readonly mode?: DefaceMode;
  readonly code?: string;
  readonly tagPath?: string;
  readonly reason?: string;
  readonly geometry?: Volume<unknown>['geometry'];
  readonly prominenceMm?: number;
  /** The cut (patient coordinates, mm): see inFaceRegion in @veil/pixels/deface. */
  readonly plane?: FacePlane;
  /** The head threshold (HU for CT, stored intensity for MR): above it in the face region is skin or tissue. */
  readonly threshold?: number;
  readonly changedVoxels?: number;
  readonly changedFiles?: number;
  /** How far the most anterior surface near the midline moved back at the nose tip's height, mm. */
  readonly noseMovedBackMm?: number;
  /** The largest such move anywhere between the chin and the brow, mm. */
  readonly maxMovedBackMm?: number;
  readonly residualVoxels?: number;
  readonly seconds: number;
  readonly pictures?: readonly string[];
}

export interface DefaceRunReport {
  readonly series: SeriesReport[];
  readonly skipped: number;
  readonly passedThrough: number;
  /** Files held back on their own (not part of a series: no geometry, colour, unreadable...), by code. */
  readonly heldBack: Readonly<Record<string, number>>;
}

/**
 * The series' name in reports and logs. With the project key (veil deid, veil serve): a keyed hash, so that whoever
 * holds the original files cannot look a series up in them; without (veil deface, whose outputs keep their UIDs): a
 * plain hash.
 */
export function seriesId(uid: string, key?: Uint8Array): string {
  const h = key ? createHmac('sha256', key).update('veil-deface-series\0') : createHash('sha256');
  return h.update(uid).digest('hex').slice(0, 16);
}

/** A defaced output: durable, as every released file (temporary name, fsync, rename, fsync of the folder). */
function writeAtomic(path: string, bytes: Uint8Array): void {
  writeFileDurable(path, bytes);
}

function quarantineFiles(dir: string, files: readonly LoadedInstance[], code: string, tagPath?: string): void {
  for (const f of files) {
    const dest = join(dir, f.rel);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(f.path, dest);
    writeFileSync(`${dest}.veil.json`, `${JSON.stringify({ code, tagPath: tagPath ?? null, file: f.rel }, null, 2)}\n`);
  }
}

function scan(path: string): DicomFile {
  return scanFile(new Uint8Array(readFileSync(path)));
}

function members(files: readonly LoadedInstance[], codec: FrameCodec | undefined): SeriesMember<LoadedInstance>[] {
  return files.map((f) => {
    const file = scan(f.path);
    const info = readInstance(file);
    return { key: f, info, pixels: readFrames(file, info, codec) };
  });
}

/** Profile before/after at the nose tip's height and the largest move between chin and brow. */
export function movedBack(before: Volume<unknown>, after: Volume<unknown>, d: FaceDetection, wholeBefore: boolean) {
  const t = d.surfaceThreshold;
  const band: [number, number] = [d.midlineX - 25, d.midlineX + 25];
  // The before picture shows the face: made only when asked for; otherwise only the midline band for the figures.
  const a = frontDepth(before, t, 1, wholeBefore ? undefined : band);
  const b = frontDepth(after, t, 1);
  const bb = wholeBefore ? b : frontDepth(after, t, 1, band);
  const pa = anteriorProfile(a, d.midlineX);
  const pb = anteriorProfile(bb, d.midlineX);
  const row = (z: number): number => Math.round((a.z0 - z) / a.step);
  const tip = d.landmarks!.noseTip[2];
  const at = (r: number): number => {
    const x = pa[r]!;
    const y = pb[r]!;
    if (Number.isNaN(x)) return 0;
    return Number.isNaN(y) ? Number.POSITIVE_INFINITY : y - x;
  };
  let max = 0;
  for (let r = row(d.plane!.point[2]); r < a.height; r++) max = Math.max(max, at(r));
  return { nose: at(row(tip)), max, before: a, after: b };
}

/** Detector reasons that a face already cut away gives (a step, then a surface that only goes back). */
const CUT_FACE_REASONS = new Set(['NO_NASION', 'NO_LIPS_BELOW_NOSE', 'NO_NOSE_FOUND']);

export interface SeriesPassOptions {
  /** The codec for compressed inputs (codecFor); without one, compressed series are held back (DEFACE_COMPRESSED). */
  readonly codec?: FrameCodec | undefined;
  /** Where the pictures go (veil-deface/<series>/after.png); none when undefined. */
  readonly picDir?: string | undefined;
  /** The project key: series are then named by a keyed hash of their UID (seriesId). */
  readonly seriesKey?: Uint8Array | undefined;
  readonly showBefore?: boolean;
  readonly log?: (line: string) => void;
  /** remove (default): the region becomes air / background; blur: the 24 mm blur of the volume (pixels.deface.mode). */
  readonly mode?: DefaceMode | undefined;
  /** How compressed inputs are written: in their own transfer syntax, or decoded (default; the deid series pass). */
  readonly writeBack?: DefaceWriteBack | undefined;
}

export interface SeriesPassResult {
  readonly report: SeriesReport;
  /** For a defaced series: each instance's new bytes (Pixel Data replaced, RVF NO and code 113102 added). */
  readonly outputs?: Map<LoadedInstance, Uint8Array>;
}

/**
 * One series through detection, removal and verification; nothing is written but the pictures. The verification
 * reads the new files' bytes again (scan, decode), not the removal's record.
 */
export function defaceSeries(group: readonly LoadedInstance[], opts: SeriesPassOptions = {}): SeriesPassResult {
  const log = opts.log ?? (() => {});
  const started = process.hrtime.bigint();
  const first = group[0]!;
  const id = seriesId(first.info.seriesInstanceUid, opts.seriesKey);
  const base = { series: id, modality: first.info.modality, files: group.length };
  const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  const fail = (code: string, tagPath?: string, reason?: string): SeriesPassResult => {
    log(`series ${id}: quarantined ${code}${reason ? ` (${reason})` : ''}`);
    return {
      report: {
        ...base,
        outcome: 'quarantined',
        code,
        ...(tagPath ? { tagPath } : {}),
        ...(reason ? { reason } : {}),
        seconds: seconds(),
      },
    };
  };
  if (group.some((g) => g.info.encapsulated) && !opts.codec) return fail('DEFACE_COMPRESSED', '(7FE0,0010)');
  let volume: Volume<LoadedInstance>;
  try {
    volume = assembleVolume(members(group, opts.codec));
  } catch (e) {
    if (!isVeilError(e)) throw e;
    return fail(e.code, e.path);
  }
  const detection = detectFace(volume);
  // A series that says it was defaced (RVF NO and 113102, as Veil writes them) is taken as such only when the
  // detector agrees: no nose, or the profile of a cut face. A header alone never lets a face through.
  if (
    detection.verdict !== 'present' &&
    (detection.verdict === 'absent' || CUT_FACE_REASONS.has(detection.reason)) &&
    group.every((g) => saysDefaced(scan(g.path)))
  ) {
    return { report: { ...base, outcome: 'already-defaced', geometry: volume.geometry, seconds: seconds() } };
  }
  if (detection.verdict === 'uncertain') return fail('DEFACE_UNCERTAIN', undefined, detection.reason);
  if (detection.verdict === 'absent') {
    log(`series ${id}: no face in the field of view (${detection.reason})`);
    return {
      report: { ...base, outcome: 'no-face', reason: detection.reason, geometry: volume.geometry, seconds: seconds() },
    };
  }
  const removal =
    opts.mode === 'blur'
      ? blurVolume(volume, detection.plane!, detection.background)
      : defaceVolume(volume, detection.plane!, detection.background);
  const byInstance = new Map<LoadedInstance, Map<number, StoredPixels>>();
  for (const [k, pixels] of removal.frames) {
    const f = volume.frames[k]!;
    const m = byInstance.get(f.key) ?? new Map<number, StoredPixels>();
    m.set(f.frame, pixels);
    byInstance.set(f.key, m);
  }
  const outputs = new Map<LoadedInstance, Uint8Array>();
  for (const g of group) {
    const file = scan(g.path);
    const info = readInstance(file);
    const edits = outputEdits(file, info, byInstance.get(g) ?? new Map(), opts.codec, opts.writeBack);
    outputs.set(g, rewrite(file, edits).slice());
  }
  // Verification on the new bytes, scanned and decoded again.
  const after = assembleVolume(
    group.map((g) => {
      const file = scanFile(outputs.get(g)!);
      const info = readInstance(file);
      return { key: g, info, pixels: readFrames(file, info, opts.codec) };
    }),
  );
  const check = verifyDefaced(after, detection);
  if (!check.ok) {
    return fail('DEFACE_VERIFY_FAILED', undefined, check.noseInRegion ? 'NOSE_IN_REGION' : 'RESIDUAL_VOXELS');
  }
  const moved = movedBack(volume, after, detection, opts.showBefore === true);
  const pictures: string[] = [];
  if (opts.picDir !== undefined) {
    const picDir = join(opts.picDir, 'veil-deface', id);
    mkdirSync(picDir, { recursive: true });
    writeFileSync(
      join(picDir, 'after.png'),
      encodePng(moved.after.width, moved.after.height, shadeDepth(moved.after), 1),
    );
    pictures.push(`veil-deface/${id}/after.png`);
    if (opts.showBefore) {
      writeFileSync(
        join(picDir, 'before.png'),
        encodePng(moved.before.width, moved.before.height, shadeDepth(moved.before), 1),
      );
      pictures.push(`veil-deface/${id}/before.png`);
    }
  }
  log(
    `series ${id}: defaced ${group.length} files (${removal.changedVoxels} voxels; nose surface moved back ${moved.nose.toFixed(0)} mm)`,
  );
  return {
    outputs,
    report: {
      ...base,
      outcome: 'defaced',
      mode: opts.mode ?? 'remove',
      geometry: volume.geometry,
      prominenceMm: detection.prominenceMm,
      plane: detection.plane!,
      threshold: detection.threshold,
      changedVoxels: removal.changedVoxels,
      changedFiles: byInstance.size,
      noseMovedBackMm: moved.nose,
      maxMovedBackMm: moved.max,
      residualVoxels: check.residualVoxels,
      seconds: seconds(),
      pictures,
    },
  };
}

/** veil-deface.json and veil-deface.html in a report folder (no values from the files: hashes, codes, figures). */
export function writeDefaceReport(dir: string, report: DefaceRunReport): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'veil-deface.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, 'veil-deface.html'), html(report));
}

function html(report: DefaceRunReport): string {
  const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows = report.series
    .map((s) => {
      const pics = (s.pictures ?? []).map((p) => `<img src="${esc(p)}" alt="${esc(p)}" height="256">`).join(' ');
      const moved = s.noseMovedBackMm !== undefined ? `${s.noseMovedBackMm.toFixed(0)} mm` : '';
      return `<tr><td>${esc(s.series)}</td><td>${esc(s.modality)}</td><td>${s.files}</td><td>${esc(s.outcome)}</td><td>${esc(s.code ?? '')} ${esc(s.reason ?? '')}</td><td>${moved}</td><td>${pics}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Veil defacing report</title>
<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}table{border-collapse:collapse}</style>
</head><body><h1>Veil defacing report</h1>
<p>Pictures are depth maps of the head seen from the front, after defacing. Before pictures appear only with --show-before.</p>
<table><thead><tr><th>Series (hash)</th><th>Modality</th><th>Files</th><th>Outcome</th><th>Code</th><th>Nose moved back</th><th>Pictures</th></tr></thead>
<tbody>
${rows}
</tbody></table></body></html>
`;
}

export async function runDeface(opts: DefaceOptions): Promise<{ report: DefaceRunReport; exitCode: number }> {
  if (!opts.out) throw new CliError(EXIT_USAGE, '--out is required');
  const out = resolve(opts.out);
  const qdir = resolve(opts.quarantine ?? `${out}.quarantine`);
  const reportDir = resolve(opts.report ?? out);
  assertOutsideInputs(opts.inputs, [
    { flag: '--out', path: out },
    { flag: '--quarantine', path: qdir },
    { flag: '--report', path: reportDir },
  ]);
  const log = opts.log ?? (() => {});
  const files = listInputs(opts.inputs);
  const { instances, rejected } = loadInstances(files);
  let skipped = 0;
  let passedThrough = 0;
  const heldBack: Record<string, number> = {};
  // DICOM files without pixels pass through unchanged (they hold no face); files that are not DICOM are skipped;
  // images that cannot be defaced and files that do not parse are held back with their code.
  for (const r of rejected) {
    if (r.code === 'DICOM_NOT_DICOM') {
      skipped++;
      continue;
    }
    if (r.code === 'DEFACE_NOT_AN_IMAGE') {
      const dest = join(out, r.rel);
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(r.path, dest);
      passedThrough++;
      continue;
    }
    quarantineFiles(qdir, [{ rel: r.rel, path: r.path, info: undefined as never }], r.code, r.tagPath);
    heldBack[r.code] = (heldBack[r.code] ?? 0) + 1;
  }
  const series: SeriesReport[] = [];
  const codec = await codecFor(instances.map((i) => i.info));
  for (const [, group] of groupSeries(instances)) {
    const r = defaceSeries(group, {
      picDir: reportDir,
      showBefore: opts.showBefore === true,
      log,
      codec,
      writeBack: 'own-syntax',
      ...(opts.mode ? { mode: opts.mode } : {}),
    });
    series.push(r.report);
    if (r.report.outcome === 'quarantined') {
      quarantineFiles(qdir, group, r.report.code!, r.report.tagPath);
    } else if (r.outputs) {
      for (const [g, bytes] of r.outputs) writeAtomic(join(out, g.rel), bytes);
    } else {
      for (const g of group) {
        mkdirSync(dirname(join(out, g.rel)), { recursive: true });
        copyFileSync(g.path, join(out, g.rel));
      }
    }
  }
  const report: DefaceRunReport = { series, skipped, passedThrough, heldBack };
  writeDefaceReport(reportDir, report);
  const quarantined = series.some((s) => s.outcome === 'quarantined') || Object.keys(heldBack).length > 0;
  return { report, exitCode: quarantined ? EXIT_FAILURES : EXIT_OK };
}
