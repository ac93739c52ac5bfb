/**
 * The run report (veil-report.json and veil-report.html): counts, actions per attribute, and the files that were
 * quarantined or failed, with why. It holds no value from any file: only keywords, tag paths, codes and relative
 * input paths as given (which the HTML warns may themselves hold identities, e.g. a folder named after a patient).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Task, TaskResult } from './protocol.ts';

export interface FileProblem {
  readonly file: string;
  readonly code: string;
  readonly tagPath: string | null;
}

export interface ReportMeta {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
  readonly jobs: number;
  readonly dryRun: boolean;
  readonly keyId: string;
  readonly layout: string;
  readonly config: Record<string, unknown>;
  readonly inputs: number;
  readonly crosswalk: boolean;
}

export interface RunReportJson {
  readonly tool: 'veil deid';
  readonly reportVersion: 1;
  readonly note: string;
  readonly run: ReportMeta;
  readonly counts: {
    readonly processed: number;
    readonly written: number;
    readonly skippedNonDicom: number;
    readonly quarantined: number;
    readonly errors: number;
  };
  readonly quarantinedByCode: Record<string, number>;
  readonly errorsByCode: Record<string, number>;
  /** keyword -> action -> count, over the files written. */
  readonly actions: Record<string, Record<string, number>>;
  readonly quarantinedFiles: FileProblem[];
  readonly errorFiles: FileProblem[];
  readonly outputCollisions: number;
  /** The burned-in text stage over the files written (quarantined ones are counted by code above). */
  readonly pixels: PixelCounts;
  /**
   * Thumbnails of redacted outputs (read back from the files written, boxes outlined), by output path; at most
   * DEFAULT_MAX_PREVIEWS per run, so `pixels.redacted` may be larger.
   */
  readonly previews: RedactionPreview[];
}

export interface RedactionPreview {
  /** The output path relative to --out (pseudonymised in the hierarchy layout; the input's in the flat one). */
  readonly file: string;
  /** The PNG, relative to the report folder. */
  readonly png: string;
  readonly boxes: number;
}

export interface PixelCounts {
  /** 'on' unless the configuration turned it off (pixels.text.enabled: false). */
  readonly stage: 'on' | 'off';
  /** Written images whose every frame was scanned. */
  readonly scanned: number;
  /** Of those, images in which text was found and filled, and the boxes filled. */
  readonly redacted: number;
  readonly boxes: number;
  /** Written images the configuration let go out unscanned (pixels.text.pass): never claimed clean. */
  readonly passedUnscanned: number;
  /** Written files that state Burned In Annotation NO / 113101 (each one scanned by the stage). */
  readonly claimedClean: number;
}

export const PATH_NOTE =
  'File paths are relative input paths as given. They contain no value read from the files, but folder and file names ' +
  'chosen by people sometimes hold identities (a patient name, an MRN): check them before sharing this report.';

function sortedRecord<T>(m: Map<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of [...m.keys()].sort()) out[k] = m.get(k)!;
  return out;
}

export class RunReport {
  processed = 0;
  written = 0;
  skipped = 0;
  collisions = 0;
  private readonly quarantined: FileProblem[] = [];
  private readonly errors: FileProblem[] = [];
  private readonly actions = new Map<string, Map<string, number>>();
  private readonly outputs = new Set<string>();
  private readonly pixels = { scanned: 0, redacted: 0, boxes: 0, passedUnscanned: 0, claimedClean: 0 };
  private readonly previews: RedactionPreview[] = [];

  add(task: Task, r: TaskResult): void {
    this.processed++;
    const problem = (): FileProblem => ({ file: task.rel, code: r.code ?? 'UNKNOWN', tagPath: r.tagPath ?? null });
    switch (r.outcome) {
      case 'written':
        this.written++;
        if (r.out !== undefined) {
          if (this.outputs.has(r.out)) this.collisions++;
          this.outputs.add(r.out);
        }
        if (r.pixels) {
          const p = this.pixels;
          if (r.pixels.scanned) p.scanned++;
          else p.passedUnscanned++;
          if (r.pixels.boxes > 0) p.redacted++;
          p.boxes += r.pixels.boxes;
          if (r.pixels.claimed) p.claimedClean++;
          if (r.pixels.preview !== undefined && r.out !== undefined) {
            this.previews.push({ file: r.out, png: r.pixels.preview, boxes: r.pixels.boxes });
          }
        }
        if (r.actions) this.addActions(r.actions);
        break;
      case 'skipped':
        this.skipped++;
        break;
      case 'quarantined':
        this.quarantined.push(problem());
        break;
      case 'error':
        this.errors.push(problem());
        break;
    }
  }

  /** Actions of written files, counted where they were processed (a worker's tally per batch, ActionTally). */
  addActions(counts: readonly (readonly [string, string, number])[]): void {
    for (const [keyword, action, n] of counts) {
      let m = this.actions.get(keyword);
      if (!m) {
        m = new Map();
        this.actions.set(keyword, m);
      }
      m.set(action, (m.get(action) ?? 0) + n);
    }
  }

  get quarantinedCount(): number {
    return this.quarantined.length;
  }

  get errorCount(): number {
    return this.errors.length;
  }

  toJson(meta: ReportMeta, pixelStage: 'on' | 'off' = 'on'): RunReportJson {
    const byCode = (list: FileProblem[]): Record<string, number> => {
      const m = new Map<string, number>();
      for (const p of list) m.set(p.code, (m.get(p.code) ?? 0) + 1);
      return sortedRecord(m);
    };
    const actions = new Map<string, Record<string, number>>();
    for (const [k, m] of this.actions) actions.set(k, sortedRecord(m));
    const byFile = (a: FileProblem, b: FileProblem): number => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);
    return {
      tool: 'veil deid',
      reportVersion: 1,
      note: PATH_NOTE,
      run: meta,
      counts: {
        processed: this.processed,
        written: this.written,
        skippedNonDicom: this.skipped,
        quarantined: this.quarantined.length,
        errors: this.errors.length,
      },
      quarantinedByCode: byCode(this.quarantined),
      errorsByCode: byCode(this.errors),
      actions: sortedRecord(actions),
      quarantinedFiles: [...this.quarantined].sort(byFile),
      errorFiles: [...this.errors].sort(byFile),
      outputCollisions: this.collisions,
      pixels: { stage: pixelStage, ...this.pixels },
      previews: [...this.previews].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)),
    };
  }
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderHtml(r: RunReportJson): string {
  const rows = (cells: (string | number)[][]): string =>
    cells.map((c) => `<tr>${c.map((v) => `<td>${esc(String(v))}</td>`).join('')}</tr>`).join('\n');
  const table = (head: string[], body: (string | number)[][]): string =>
    body.length === 0
      ? '<p>None.</p>'
      : `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>\n${rows(body)}\n</tbody></table>`;
  const actionRows: (string | number)[][] = [];
  for (const [keyword, m] of Object.entries(r.actions)) {
    for (const [action, n] of Object.entries(m)) actionRows.push([keyword, action, n]);
  }
  const c = r.counts;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Veil de-identification report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}
th{background:#f4f4f4}.note{background:#fff8e0;border:1px solid #e8d48a;padding:.6em}
.previews figure{display:inline-block;margin:.3em;vertical-align:top;max-width:330px}.previews img{max-width:320px;background:#000}
figcaption{font-size:12px;word-break:break-all}
</style></head><body>
<h1>Veil de-identification report</h1>
<p>${esc(r.run.dryRun ? 'Dry run (nothing written)' : 'Run')} started ${esc(r.run.startedAt)}, ${esc(r.run.seconds.toFixed(1))} s,
${esc(String(r.run.jobs))} worker(s), layout ${esc(r.run.layout)}, key id ${esc(r.run.keyId)}${r.run.crosswalk ? ', crosswalk written' : ''}.</p>
<p class="note">${esc(r.note)}</p>
<h2>Counts</h2>
${table(
  ['processed', 'written', 'skipped (not DICOM)', 'quarantined', 'errors', 'output collisions'],
  [[c.processed, c.written, c.skippedNonDicom, c.quarantined, c.errors, r.outputCollisions]],
)}
<h2>Burned-in text (pixels)</h2>
${
  r.pixels.stage === 'off'
    ? '<p>The pixel text stage was turned off by the configuration (pixels.text.enabled: false): no image was scanned and none is claimed free of burned-in text.</p>'
    : table(
        [
          'images scanned',
          'with text redacted',
          'boxes filled',
          'passed unscanned (config)',
          'claimed Burned In Annotation NO',
        ],
        [[r.pixels.scanned, r.pixels.redacted, r.pixels.boxes, r.pixels.passedUnscanned, r.pixels.claimedClean]],
      )
}
${
  r.previews.length === 0
    ? ''
    : `<h2>Redacted images</h2>
<p>The output as written (never the original pixels), first frame with text, each filled box outlined: red found by the text detector, yellow from the region library.${r.previews.length < r.pixels.redacted ? ` The first ${r.previews.length} of ${r.pixels.redacted} redacted images are shown.` : ''}</p>
<div class="previews">${r.previews
        .map(
          (p) =>
            `<figure><img src="${esc(p.png)}" alt="Redacted output of ${esc(p.file)}, ${p.boxes} box(es) outlined" loading="lazy"><figcaption>${esc(p.file)}: ${p.boxes} box(es)</figcaption></figure>`,
        )
        .join('\n')}</div>`
}
<h2>Quarantined, by code</h2>
${table(['code', 'files'], Object.entries(r.quarantinedByCode))}
<h2>Errors, by code</h2>
${table(['code', 'files'], Object.entries(r.errorsByCode))}
<h2>Actions per attribute</h2>
${table(['attribute', 'action', 'count'], actionRows)}
<h2>Quarantined files</h2>
${table(
  ['file (relative input path)', 'code', 'tag path'],
  r.quarantinedFiles.map((p) => [p.file, p.code, p.tagPath ?? '']),
)}
<h2>Files that failed</h2>
${table(
  ['file (relative input path)', 'code', 'tag path'],
  r.errorFiles.map((p) => [p.file, p.code, p.tagPath ?? '']),
)}
<h2>Configuration</h2>
<pre>${esc(JSON.stringify(r.run.config, null, 2))}</pre>
</body></html>
`;
}

/** Writes veil-report.json and veil-report.html; returns their paths. */
export function writeReport(dir: string, report: RunReportJson): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'veil-report.json');
  const html = join(dir, 'veil-report.html');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(html, renderHtml(report));
  return { json, html };
}
