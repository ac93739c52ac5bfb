/**
 * The verification report (verify-report.json and verify-report.html): per file, whether it passed, which original
 * it was compared with (by relative path, by remapped SOP Instance UID, or none), and its findings: detector, level,
 * code, tag path and the masked value. No clear value of any file is in it; paths are as given (see PATH_NOTE).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DetectorLevel, VerifyFinding } from '@veil/core';
import { PATH_NOTE } from '../deid/report.ts';
import { writeFileDurable } from '../release/durable.ts';

export type FileStatus = 'pass' | 'warn' | 'fail' | 'skipped';
export type OriginalMatch = 'path' | 'uid' | 'none';

export interface FileVerdict {
  readonly file: string;
  readonly status: FileStatus;
  readonly original: OriginalMatch;
  readonly findings: readonly VerifyFinding[];
}

export interface VerifyReportJson {
  readonly tool: 'veil verify';
  readonly reportVersion: 1;
  readonly note: string;
  readonly run: {
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly seconds: number;
    readonly originals: boolean;
    readonly keyId: string | null;
    readonly config: Record<string, unknown>;
    readonly detectors: Record<string, DetectorLevel>;
  };
  readonly counts: {
    readonly files: number;
    readonly passed: number;
    readonly warned: number;
    readonly failed: number;
    readonly skippedNonDicom: number;
    readonly findings: number;
  };
  readonly findingsByDetector: Record<string, { error: number; warn: number }>;
  readonly files: readonly FileVerdict[];
}

export function statusOf(findings: readonly VerifyFinding[]): FileStatus {
  if (findings.some((f) => f.level === 'error')) return 'fail';
  return findings.length > 0 ? 'warn' : 'pass';
}

export function countVerdicts(files: readonly FileVerdict[]): Pick<VerifyReportJson, 'counts' | 'findingsByDetector'> {
  const byDetector: Record<string, { error: number; warn: number }> = {};
  let findings = 0;
  for (const f of files) {
    for (const x of f.findings) {
      findings++;
      byDetector[x.detector] ??= { error: 0, warn: 0 };
      byDetector[x.detector]![x.level]++;
    }
  }
  const n = (s: FileStatus): number => files.filter((f) => f.status === s).length;
  const sorted: Record<string, { error: number; warn: number }> = {};
  for (const k of Object.keys(byDetector).sort()) sorted[k] = byDetector[k]!;
  return {
    counts: {
      files: files.length,
      passed: n('pass'),
      warned: n('warn'),
      failed: n('fail'),
      skippedNonDicom: n('skipped'),
      findings,
    },
    findingsByDetector: sorted,
  };
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderHtml(r: VerifyReportJson): string {
  const c = r.counts;
  const rows: string[] = [];
  for (const f of r.files) {
    if (f.status === 'pass' || f.status === 'skipped') continue;
    for (const x of f.findings) {
      rows.push(
        `<tr class="${x.level}"><td>${esc(f.file)}</td><td><code>${esc(x.tagPath || '-')}</code></td>` +
          `<td>${esc(x.detector)}</td><td>${x.level}</td><td><code>${esc(x.code)}</code></td><td>${esc(x.masked)}</td></tr>`,
      );
    }
  }
  const detectors = Object.entries(r.run.detectors)
    .map(([k, v]) => `<li><code>${esc(k)}</code>: ${v}</li>`)
    .join('');
  const byDetector = Object.entries(r.findingsByDetector)
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v.error}</td><td>${v.warn}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Veil verification report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}tr.error td{background:#fde8e8}tr.warn td{background:#fff6db}
.verdict{font-size:1.3em;font-weight:bold}.fail{color:#a00}.ok{color:#070}
</style></head><body>
<h1>Veil verification report</h1>
<p class="verdict ${c.failed > 0 ? 'fail' : 'ok'}">${c.failed > 0 ? `${c.failed} file(s) must not be released` : 'No error-level finding'}</p>
<p>${c.files} files: ${c.passed} passed, ${c.warned} with warnings only, ${c.failed} failed, ${c.skippedNonDicom} skipped (not DICOM).
Compared with originals: ${r.run.originals ? 'yes' : 'no (known-value, date and UID checks need --originals)'}.
Run ${esc(r.run.startedAt)}, ${r.run.seconds.toFixed(1)} s.</p>
<p><em>${esc(r.note)}</em></p>
<h2>Findings by detector</h2>
<table><tr><th>detector</th><th>errors</th><th>warnings</th></tr>${byDetector}</table>
<h2>Findings</h2>
<table><tr><th>file</th><th>tag path</th><th>detector</th><th>level</th><th>code</th><th>value (masked)</th></tr>
${rows.join('\n')}</table>
<h2>Detector levels</h2><ul>${detectors}</ul>
</body></html>
`;
}

/** A report file: atomic (a reader never sees half of one), not fsynced (plain CLI output). */
function writeAtomic(path: string, text: string): void {
  writeFileDurable(path, text, { fsync: false });
}

/** Writes verify-report.json and verify-report.html into dir; returns their paths. */
export function writeVerifyReport(dir: string, report: VerifyReportJson): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'verify-report.json');
  const html = join(dir, 'verify-report.html');
  writeAtomic(json, `${JSON.stringify(report, null, 2)}\n`);
  writeAtomic(html, renderHtml(report));
  return { json, html };
}

export { PATH_NOTE };
