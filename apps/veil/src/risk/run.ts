/**
 * `veil risk DIR`: reads de-identified DICOM files (never writes them), merges them into records (one per study by
 * default), assesses re-identification risk (metrics.ts) and writes risk-report.json and risk-report.html to --out,
 * prints the JSON with --json, or a summary of counts. The summary and errors never print a value from a file; the
 * report files hold the released values of the quasi-identifiers (that is what a reader needs to act on them).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanFile, tagForKeyword } from '@veil/core';
import { CliError, EXIT_CONFIG, EXIT_FAILURES, EXIT_OK, EXIT_USAGE } from '../deid/cli-error.ts';
import { listInputs } from '../deid/inputs.ts';
import { openFileSource } from '../io/file-source.ts';
import { writeFileDurable } from '../release/durable.ts';
import { assessRisk, type PopulationRow, parsePopulationCsv, type RiskResult } from './metrics.ts';
import {
  type InstanceQi,
  instanceQuasiIdentifiers,
  mergeRecords,
  QUASI_IDENTIFIERS,
  type RecordUnit,
} from './quasi-identifiers.ts';
import { renderRiskHtml } from './report-html.ts';

export interface RiskRunOptions {
  readonly inputs: readonly string[];
  readonly out?: string | undefined;
  readonly json: boolean;
  readonly k: number;
  readonly l: number;
  readonly unit: RecordUnit;
  readonly sensitive?: string | undefined;
  readonly population?: string | undefined;
  /** Exit 1 when some record is in a class smaller than k. */
  readonly check: boolean;
}

export interface RiskReportJson {
  readonly tool: 'veil risk';
  readonly reportVersion: 1;
  readonly note: string;
  readonly run: {
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly files: number;
    readonly skipped: number;
    readonly k: number;
    readonly l: number;
    readonly unit: RecordUnit;
    readonly sensitive: string | null;
    readonly population: boolean;
  };
  readonly result: RiskResult;
}

export const RISK_NOTE =
  'Values shown are those of the released (de-identified) files. Risk is measured against an attacker who knows ' +
  'the quasi-identifiers listed; attributes not measured here (free text, pixel content, rare findings) add to it.';

/** Reads and assesses; pure but for reading the files. */
export function assessFiles(
  inputs: readonly string[],
  o: Pick<RiskRunOptions, 'k' | 'l' | 'unit' | 'sensitive'> & { population?: readonly PopulationRow[] | undefined },
): { result: RiskResult; files: number; skipped: number } {
  const files = listInputs(inputs);
  const instances: { qi: InstanceQi; fallbackId: string }[] = [];
  let skipped = 0;
  for (const f of files) {
    let qi: InstanceQi;
    try {
      const src = openFileSource(f.path, { reuse: true });
      try {
        qi = instanceQuasiIdentifiers(scanFile(src), { sensitive: o.sensitive });
      } finally {
        src.close();
      }
    } catch {
      skipped++;
      continue;
    }
    instances.push({ qi, fallbackId: f.rel });
  }
  const records = mergeRecords(instances, o.unit);
  const result = assessRisk(records, {
    k: o.k,
    l: o.l,
    unit: o.unit,
    sensitive: o.sensitive,
    population: o.population,
    exclude: QUASI_IDENTIFIERS.filter((q) => o.sensitive !== undefined && q.keywords.includes(o.sensitive)).map(
      (q) => q.name,
    ),
  });
  return { result, files: files.length, skipped };
}

/** A report file: atomic (a reader never sees half of one), not fsynced (plain CLI output). */
function writeAtomic(path: string, text: string): void {
  writeFileDurable(path, text, { fsync: false });
}

/** Assesses the inputs into a report (reads the files, nothing else). */
export function buildRiskReport(
  inputs: readonly string[],
  o: Pick<RiskRunOptions, 'k' | 'l' | 'unit' | 'sensitive'> & { population?: readonly PopulationRow[] | undefined },
): RiskReportJson {
  const startedAt = new Date().toISOString();
  const { result, files, skipped } = assessFiles(inputs, o);
  return {
    tool: 'veil risk',
    reportVersion: 1,
    note: RISK_NOTE,
    run: {
      startedAt,
      finishedAt: new Date().toISOString(),
      files,
      skipped,
      k: o.k,
      l: o.l,
      unit: o.unit,
      sensitive: o.sensitive ?? null,
      population: o.population !== undefined,
    },
    result,
  };
}

/** Writes risk-report.json and risk-report.html into `dir`. */
export function writeRiskReport(dir: string, report: RiskReportJson): void {
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, 'risk-report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeAtomic(join(dir, 'risk-report.html'), renderRiskHtml(report));
}

export function runRisk(o: RiskRunOptions): number {
  if (!Number.isInteger(o.k) || o.k < 2) throw new CliError(EXIT_USAGE, '--k must be an integer of at least 2');
  if (!Number.isInteger(o.l) || o.l < 1) throw new CliError(EXIT_USAGE, '--l must be a positive integer');
  if (o.sensitive !== undefined && tagForKeyword(o.sensitive) === undefined)
    throw new CliError(EXIT_USAGE, '--sensitive must be a DICOM keyword (e.g. StudyDescription)');
  let population: PopulationRow[] | undefined;
  if (o.population !== undefined) {
    try {
      population = parsePopulationCsv(readFileSync(o.population, 'utf8'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new CliError(EXIT_CONFIG, `--population: ${code}`);
    }
  }
  const report = buildRiskReport(o.inputs, { ...o, population });
  const { result } = report;
  const { files, skipped } = report.run;
  if (o.out !== undefined) writeRiskReport(o.out, report);
  if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const s = result.released;
    const lines = [
      `${result.records} records (per ${result.unit}) from ${files - skipped} files (${skipped} skipped)`,
      `k = ${s.k}; ${s.uniqueRecords} unique records (${(s.uniqueShare * 100).toFixed(1)}%); ${s.atRiskRecords} in classes under k = ${o.k}`,
    ];
    if (result.lDiversity) lines.push(`l-diversity of ${result.lDiversity.attribute}: l = ${result.lDiversity.l}`);
    if (result.population)
      lines.push(
        `population: ${result.population.populationUnique} records unique, ${result.population.expectedReidentifications.toFixed(2)} expected re-identifications`,
      );
    lines.push(`${result.advice.length} pieces of advice${o.out ? ` in ${join(o.out, 'risk-report.html')}` : ''}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return o.check && result.released.atRiskRecords > 0 ? EXIT_FAILURES : EXIT_OK;
}
