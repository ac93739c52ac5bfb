/**
 * The series-level pass that runs before the per-file release path when the configuration asks for
 * pixels.cleanRecognizableVisualFeatures: the inputs are grouped into series, each series is defaced (or found to
 * have no face, or quarantined) by defaceSeries, and the defaced Pixel Data values are spooled to a private temporary
 * folder. The result is a plan, keyed by a hash of each SOP Instance UID, that the `pixels:deface` release stage
 * (createDefaceStage in @veil/pixels/deface) reads in every worker thread: the release path then runs once per file
 * on the original bytes, with the defacing as one of its stages, its claims (RVF NO, 113102) and the verifier after it.
 *
 * Example:
 *   const plan = planDefacing(files, spoolDir, { picDir: reportDir });
 *   const stage = defaceStageFromPlan(plan);
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findElement, PIXEL_DATA, readString, scanFile, valueBytes } from '@veil/core';

const SOP_INSTANCE_UID = 0x00080018;

import { createDefaceStage, type DefaceDecision, groupSeries } from '@veil/pixels/deface';
import { loadInstances } from './load.ts';
import { defaceSeries, type SeriesPassOptions, type SeriesReport } from './run.ts';

export interface DefacePlanEntry {
  readonly outcome: 'defaced' | 'no-face' | 'quarantine';
  readonly series: string;
  readonly code?: string;
  readonly tagPath?: string;
  readonly reason?: string;
  /** The spooled Pixel Data value of a defaced instance. */
  readonly spool?: string;
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
export function planDefacing(
  files: readonly { path: string; rel: string }[],
  spoolDir: string,
  opts: SeriesPassOptions = {},
): DefacePlan {
  mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  const { instances, rejected } = loadInstances(files);
  const entries: Record<string, DefacePlanEntry> = {};
  const series: SeriesReport[] = [];
  // Images that cannot be defaced (colour, no geometry...) are held back with their code; files without pixels
  // get no entry (the stage does not apply to them), nor do files the pass could not read at all (the stage holds
  // back any image it has no decision for: DEFACE_NOT_PLANNED).
  for (const r of rejected) {
    if (!r.code.startsWith('DEFACE_') || r.code === 'DEFACE_NOT_AN_IMAGE') continue;
    try {
      const sop = findElement(scanFile(new Uint8Array(readFileSync(r.path))).dataset, SOP_INSTANCE_UID);
      if (!sop) continue;
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
    const r = defaceSeries(group, opts);
    series.push(r.report);
    for (const g of group) {
      const key = sopKey(g.info.sopInstanceUid);
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
        const file = scanFile(r.outputs!.get(g)!);
        const spool = join(spoolDir, `${key}.pixels`);
        writeFileSync(spool, valueBytes(findElement(file.dataset, PIXEL_DATA)!), { mode: 0o600 });
        entries[key] = { outcome: 'defaced', series: rep.series, spool };
      } else if (rep.outcome === 'no-face') {
        entries[key] = { outcome: 'no-face', series: rep.series, reason: rep.reason ?? '' };
      } else {
        // Already defaced by an earlier run: its pixels are final; the stage writes them again and claims.
        const spool = join(spoolDir, `${key}.pixels`);
        const file = scanFile(new Uint8Array(readFileSync(g.path)));
        writeFileSync(spool, valueBytes(findElement(file.dataset, PIXEL_DATA)!), { mode: 0o600 });
        entries[key] = { outcome: 'defaced', series: rep.series, spool };
      }
    }
  }
  return { entries, series };
}

/** The release stage for a plan (in any thread): decisions by SOP Instance UID, Pixel Data read from the spool. */
export function defaceStageFromPlan(plan: DefacePlan) {
  return createDefaceStage({
    decision(sop): DefaceDecision | undefined {
      const e = plan.entries[sopKey(sop)];
      if (!e) return undefined;
      if (e.outcome === 'defaced') {
        const spool = e.spool!;
        return { outcome: 'defaced', series: e.series, pixelData: () => new Uint8Array(readFileSync(spool)) };
      }
      if (e.outcome === 'no-face') return { outcome: 'no-face', series: e.series, reason: e.reason ?? '' };
      return { outcome: 'quarantine', series: e.series, code: e.code!, tagPath: e.tagPath, reason: e.reason };
    },
  });
}
