/**
 * The series-level pass that runs before the per-file release path when the configuration asks for
 * pixels.cleanRecognizableVisualFeatures: the inputs are grouped into series, each series is defaced (or found to
 * have no face, or quarantined) by defaceSeries, and the defaced Pixel Data values are spooled to a private temporary
 * folder. The result is a plan, keyed by a hash of each SOP Instance UID, that the `pixels:deface` release stage
 * (createDefaceStage in @veil/pixels/deface) and its check read in every worker thread: the release path then runs once per file
 * on the original bytes, with the defacing as one of its stages, its claims (RVF NO, 113102) and the verifier after it.
 *
 * Example:
 *   const plan = planDefacing(files, spoolDir, { picDir: reportDir });
 *   const stages = defaceStagesFromPlan(plan);   // [pixels:deface, pixels:deface-check]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  findElement,
  PIXEL_DATA,
  type ReleaseStage,
  readString,
  rewrite,
  scanFile,
  VeilError,
  valueBytes,
} from '@veil/core';

const SOP_INSTANCE_UID = 0x00080018;

import type { FrameCodec } from '@veil/pixels';
import {
  createDefaceCheckStage,
  createDefaceStage,
  type DefaceDecision,
  type DefaceLookup,
  type FacePlane,
  groupSeries,
} from '@veil/pixels/deface';
import { type LoadedInstance, loadInstances } from './load.ts';
import { codecFor, outputEdits } from './pixels.ts';
import { defaceSeries, type SeriesPassOptions, type SeriesReport, writeDefaceReport } from './run.ts';

export interface DefacePlanEntry {
  readonly outcome: 'defaced' | 'no-face' | 'quarantine';
  readonly series: string;
  /** The inputs (their rel names) this decision is for: one SOP Instance UID, sent once or more. */
  readonly rels?: readonly string[];
  readonly code?: string;
  readonly tagPath?: string;
  readonly reason?: string;
  /** The spooled Pixel Data value of a defaced instance. */
  readonly spool?: string;
  /** The spooled change mask: 1 for each byte of the value the defacing changed (to lay it over another stage's). */
  readonly mask?: string;
  /** The input was compressed: the value is its frames decoded (Explicit VR Little Endian), with this VR. */
  readonly decodedVr?: 'OB' | 'OW';
  /** The series' face region and head threshold (for the check stage). */
  readonly plane?: FacePlane;
  readonly threshold?: number;
}

/** JSON: travels to worker threads as is. */
export interface DefacePlan {
  readonly entries: Record<string, DefacePlanEntry>;
  readonly series: SeriesReport[];
}

export function sopKey(sopInstanceUid: string): string {
  return createHash('sha256').update(sopInstanceUid).digest('hex');
}

/** Runs the series pass over the input files; spools defaced Pixel Data values under spoolDir (created, 0700). */
/** Spools an instance's new Pixel Data value and the mask of the bytes that differ from its (decoded) input. */
function spoolDefaced(
  g: LoadedInstance,
  output: Uint8Array,
  key: string,
  rep: SeriesReport,
  spoolDir: string,
  codec: FrameCodec | undefined,
): DefacePlanEntry {
  const value = valueBytes(findElement(scanFile(output).dataset, PIXEL_DATA)!);
  const input = scanFile(new Uint8Array(readFileSync(g.path)));
  // The input's value in the output's encoding: as is when native, its frames decoded when compressed.
  const before = g.info.encapsulated
    ? valueBytes(
        findElement(scanFile(rewrite(input, outputEdits(input, g.info, new Map(), codec))).dataset, PIXEL_DATA)!,
      )
    : valueBytes(findElement(input.dataset, PIXEL_DATA)!);
  if (before.length !== value.length) throw new VeilError('DEFACE_PIXELS_MISMATCH', { path: '(7FE0,0010)' });
  const mask = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) mask[i] = value[i] === before[i] ? 0 : 1;
  const spool = join(spoolDir, `${key}.pixels`);
  const maskFile = join(spoolDir, `${key}.mask`);
  writeFileSync(spool, value, { mode: 0o600 });
  writeFileSync(maskFile, mask, { mode: 0o600 });
  return {
    outcome: 'defaced',
    series: rep.series,
    ...(rep.plane ? { plane: rep.plane, threshold: rep.threshold } : {}),
    spool,
    mask: maskFile,
    ...(g.info.encapsulated ? { decodedVr: g.info.bitsAllocated > 8 ? 'OW' : 'OB' } : {}),
  } as DefacePlanEntry;
}

export async function planDefacing(
  files: readonly { path: string; rel: string }[],
  spoolDir: string,
  opts: SeriesPassOptions = {},
): Promise<DefacePlan> {
  mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  const { instances, rejected } = loadInstances(files);
  const codec = opts.codec ?? (await codecFor(instances.map((i) => i.info)));
  const entries: Record<string, DefacePlanEntry> = {};
  const series: SeriesReport[] = [];
  const rels = new Map<string, string[]>();
  const seen = (key: string, rel: string): void => {
    const list = rels.get(key) ?? [];
    list.push(rel);
    rels.set(key, list);
  };
  // Images that cannot be defaced (colour, no geometry...) are held back with their code; files without pixels
  // get no entry (the stage does not apply to them), nor do files the pass could not read at all (the stage holds
  // back any image it has no decision for: DEFACE_NOT_PLANNED).
  for (const r of rejected) {
    if (!r.code.startsWith('DEFACE_') || r.code === 'DEFACE_NOT_AN_IMAGE') continue;
    try {
      const sop = findElement(scanFile(new Uint8Array(readFileSync(r.path))).dataset, SOP_INSTANCE_UID);
      if (!sop) continue;
      seen(sopKey(readString(sop)), r.rel);
      entries[sopKey(readString(sop))] = {
        outcome: 'quarantine',
        series: '',
        code: r.code,
        ...(r.tagPath ? { tagPath: r.tagPath } : {}),
      };
    } catch {
      // Not readable here: the release path's own scan will say why.
    }
  }
  for (const [, group] of groupSeries(instances)) {
    const r = defaceSeries(group, { ...opts, codec });
    series.push(r.report);
    for (const g of group) {
      const key = sopKey(g.info.sopInstanceUid);
      seen(key, g.rel);
      const rep = r.report;
      if (rep.outcome === 'quarantined') {
        entries[key] = {
          outcome: 'quarantine',
          series: rep.series,
          code: rep.code!,
          ...(rep.tagPath ? { tagPath: rep.tagPath } : {}),
          ...(rep.reason ? { reason: rep.reason } : {}),
        };
      } else if (rep.outcome === 'defaced') {
        entries[key] = spoolDefaced(g, r.outputs!.get(g)!, key, rep, spoolDir, codec);
      } else if (rep.outcome === 'no-face') {
        entries[key] = { outcome: 'no-face', series: rep.series, reason: rep.reason ?? '' };
      } else {
        // Already defaced by an earlier run (and the detector agrees): its pixels are final; the stage writes them
        // and claims again.
        const input = scanFile(new Uint8Array(readFileSync(g.path)));
        const output = g.info.encapsulated
          ? rewrite(input, outputEdits(input, g.info, new Map(), codec))
          : input.source.bytes!;
        entries[key] = spoolDefaced(g, output, key, rep, spoolDir, codec);
      }
    }
  }
  if (opts.picDir !== undefined) writeDefaceReport(opts.picDir, { series, skipped: 0, passedThrough: 0, heldBack: {} });
  for (const [key, list] of rels) if (entries[key]) entries[key] = { ...entries[key], rels: list };
  return { entries, series };
}

/** The stage's decision for a plan entry (its spooled files read when the stage asks for them). */
export function entryDecision(e: DefacePlanEntry): DefaceDecision {
  if (e.outcome === 'defaced') {
    const spool = e.spool!;
    const mask = e.mask!;
    return {
      outcome: 'defaced',
      series: e.series,
      pixelData: () => new Uint8Array(readFileSync(spool)),
      changed: () => new Uint8Array(readFileSync(mask)),
      ...(e.decodedVr ? { decodedVr: e.decodedVr } : {}),
      plane: e.plane,
      threshold: e.threshold,
    };
  }
  if (e.outcome === 'no-face') return { outcome: 'no-face', series: e.series, reason: e.reason ?? '' };
  return { outcome: 'quarantine', series: e.series, code: e.code!, tagPath: e.tagPath, reason: e.reason };
}

/**
 * The release stages for a plan (in any thread): `pixels:deface` (decisions by SOP Instance UID, Pixel Data read from
 * the spool) and `pixels:deface-check` (the planned output re-read: no head voxel left in the face region).
 */
export function defaceStagesFromPlan(plan: DefacePlan): ReleaseStage[] {
  return defaceStages({
    decision(sop: string): DefaceDecision | undefined {
      const e = plan.entries[sopKey(sop)];
      return e ? entryDecision(e) : undefined;
    },
  });
}

/** `pixels:deface` and `pixels:deface-check` over any lookup (veil serve reads its decisions from the spool). */
export function defaceStages(lookup: DefaceLookup): ReleaseStage[] {
  return [createDefaceStage(lookup), createDefaceCheckStage(lookup)];
}
