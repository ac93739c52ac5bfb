/**
 * The re-identification risk report of a gateway batch. The batch unit is a pull job (`POST /api/pulls`): once every
 * instance it brought in has settled (delivered, quarantined or dead), the report is computed over what was released
 * (the quasi-identifiers read from each de-identified output as it was delivered, stored with the pull) and written
 * as risk-report.json and risk-report.html into <spool>/reports/risk/<batch>/, the same files `veil risk DIR` writes.
 * `GET /api/risk/latest` (and `.html`) serves the newest. A job done just before a crash has its row recorded at the
 * next start from the output still in the spool (PullManager.recoverDone); delivered instances without a row
 * (the output gone) are counted as `uncaptured` in the summary, never guessed.
 *
 * Example:
 *   const risk = await writeBatchRisk({ root, batch: 'pull-01k...', instances, delivered: 25, k: 5, l: 2 });
 *   if (risk?.belowThreshold) warn();
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PullInstance } from '@veil/pipeline';
import { qiFromJson, riskReportFromRows } from '../risk/batch.ts';
import { writeRiskReport } from '../risk/run.ts';

export interface BatchRisk {
  readonly batch: string;
  readonly k: number;
  readonly threshold: number;
  readonly belowThreshold: boolean;
  readonly records: number;
  readonly files: number;
  readonly uniqueRecords: number;
  readonly atRisk: number;
  /** Delivered instances whose quasi-identifiers were not stored. */
  readonly uncaptured: number;
  readonly json: string;
  readonly html: string;
}

export async function writeBatchRisk(o: {
  readonly root: string;
  readonly batch: string;
  readonly instances: readonly PullInstance[];
  readonly delivered: number;
  readonly k: number;
  readonly l: number;
}): Promise<BatchRisk | undefined> {
  const rows = o.instances
    .filter((i) => i.qi !== null)
    .map((i) => ({ qi: qiFromJson(i.qi as Record<string, unknown>), fallbackId: i.jobId }));
  if (rows.length === 0) return undefined;
  const report = riskReportFromRows(rows, { k: o.k, l: o.l });
  const dir = join(o.root, o.batch);
  writeRiskReport(dir, report);
  const s = report.result.released;
  return {
    batch: o.batch,
    k: s.k,
    threshold: o.k,
    belowThreshold: s.k < o.k,
    records: report.result.records,
    files: rows.length,
    uniqueRecords: s.uniqueRecords,
    atRisk: s.atRiskRecords,
    uncaptured: Math.max(0, o.delivered - rows.length),
    json: join(dir, 'risk-report.json'),
    html: join(dir, 'risk-report.html'),
  };
}

/** The newest batch report under `root` (by the JSON file's time), as text; undefined when there is none. */
export function latestRiskReport(root: string, kind: 'json' | 'html'): string | undefined {
  if (!existsSync(root)) return undefined;
  let best: { path: string; at: number } | undefined;
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const json = join(root, e.name, 'risk-report.json');
    if (!existsSync(json)) continue;
    const at = statSync(json).mtimeMs;
    if (!best || at > best.at) best = { path: join(root, e.name), at };
  }
  if (!best) return undefined;
  const file = join(best.path, `risk-report.${kind}`);
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}
