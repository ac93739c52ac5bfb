/**
 * One file of `veil deid` through the one release path (releaseFile in @veil/core: scan -> header de-identification
 * -> registered stages -> verification of the planned output), then the output written atomically (temporary name +
 * rename, release/durable.ts). Files that are not DICOM are skipped; a file the release path holds back is copied to
 * the quarantine folder with a JSON sidecar listing every finding { stage, detector, code, tagPath, level } (no
 * values). Runs inside a worker thread (or inline for a single worker).
 */

import { createHash } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  containerPath,
  type DeidConfig,
  type DeidKeys,
  type DeidResult,
  type DicomFile,
  type Edit,
  elementPath,
  findElement,
  formatTag,
  lookupTag,
  type Quarantined,
  type ReleaseOutcome,
  type ReleaseStage,
  readString,
  releaseFile,
} from '@veil/core';
import { type FileSource, openFileSource } from '../io/file-source.ts';
import { writePlan } from '../io/write-plan.ts';
import { ensureDirDurable, writeFileDurable } from '../release/durable.ts';
import type { DetectorLevels } from '../verify/gate.ts';
import { type ActionTally, countActions } from './action-tally.ts';
import type { Layout } from './config.ts';
import { maskElement, showNewValue } from './mask.ts';
import { type FrameBoxesReport, type PreviewBudget, writeRedactionPreview } from './previews.ts';
import type { Identity, PixelOutcome, Task, TaskResult } from './protocol.ts';

export interface FileContext {
  readonly config: DeidConfig;
  readonly keys: DeidKeys;
  readonly layout: Layout;
  readonly outDir: string | undefined;
  readonly quarantineDir: string | undefined;
  readonly dryRun: boolean;
  readonly identities: boolean;
  /** Detector levels from the configuration's verify section; undefined: the defaults (fail closed). */
  readonly verifyLevels?: DetectorLevels | undefined;
  /** Stages between header de-identification and verification (release/stages.ts); none by default. */
  readonly stages?: readonly ReleaseStage[] | undefined;
  /** Thumbnails of redacted outputs for the report; none when undefined (dry run, no report). */
  readonly previews?: PreviewBudget | undefined;
  /**
   * Where written files' actions are counted (a worker sends it per batch); when undefined, each result carries its
   * own list (TaskResult.actions).
   */
  readonly tally?: ActionTally | undefined;
}

const PATIENT_ID = 0x00100020;
const STUDY_UID = 0x0020000d;
const SERIES_UID = 0x0020000e;
const SOP_UID = 0x00080018;

/** The sidecar of a quarantined file: every finding by stage, detector, code and tag path; never a value. */
export function quarantineSidecar(rel: string, q: Quarantined): Record<string, unknown> {
  return {
    code: q.code,
    tagPath: q.tagPath || null,
    file: rel,
    findings: q.findings.map((f) => ({
      stage: f.stage,
      detector: f.detector,
      code: f.code,
      tagPath: f.tagPath,
      level: f.level,
      ...(f.detail ? { detail: f.detail } : {}),
    })),
  };
}

function quarantine(task: Task, ctx: FileContext, q: Quarantined): TaskResult {
  const base = {
    id: task.id,
    outcome: 'quarantined' as const,
    code: q.code,
    ...(q.tagPath ? { tagPath: q.tagPath } : {}),
  };
  if (ctx.dryRun || ctx.quarantineDir === undefined) return base;
  try {
    const dest = join(ctx.quarantineDir, task.rel);
    ensureDirDurable(dirname(dest), { fsync: false });
    copyFileSync(task.path, dest);
    writeFileDurable(`${dest}.veil.json`, `${JSON.stringify(quarantineSidecar(task.rel, q), null, 2)}\n`, {
      fsync: false,
    });
    return base;
  } catch (e) {
    return {
      id: task.id,
      outcome: 'error',
      code: 'QUARANTINE_FAILED',
      ...(q.tagPath ? { tagPath: q.tagPath } : {}),
      ...fsCode(e),
    };
  }
}

function fsCode(e: unknown): { code?: string } {
  const c = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof c === 'string' ? { code: `QUARANTINE_FAILED_${c}` } : {};
}

function asciiValue(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s.replace(/[\0 ]+$/, '').replace(/^ +/, '');
}

/** The value a top-level attribute will have in the output: from the edits when edited, else the original. */
export function outputValue(file: DicomFile, edits: readonly Edit[], tag: number): string | undefined {
  for (const e of edits) {
    if (e.op === 'insert') {
      if (e.tag === tag && e.container === file.dataset) return asciiValue(e.value);
    } else if (e.element.tag === tag && e.element.parent === file.dataset) {
      return e.op === 'replace' ? asciiValue(e.value) : undefined;
    }
  }
  const el = findElement(file.dataset, tag);
  return el ? readString(el) : undefined;
}

function segment(value: string | undefined, fallback: string): string {
  const s = (value ?? '').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '');
  if (s === '') return fallback;
  return s.length > 80 ? `${s.slice(0, 60)}-${createHash('sha256').update(s).digest('hex').slice(0, 16)}` : s;
}

/** <pseudoPatientId>/<pseudoStudyUID>/<seriesUID>/<sopUID>.dcm, from de-identified values only. */
export function hierarchyPath(file: DicomFile, result: DeidResult, rel: string): string {
  const patient = result.identity.pseudoPatientId ?? outputValue(file, result.edits, PATIENT_ID);
  const study = result.identity.pseudoStudyUID ?? outputValue(file, result.edits, STUDY_UID);
  const series = outputValue(file, result.edits, SERIES_UID);
  const sop = outputValue(file, result.edits, SOP_UID);
  // No SOP Instance UID: name the file after a hash of its input path, which says nothing about the patient.
  const name = sop ? segment(sop, 'unknown') : `unknown-${createHash('sha256').update(rel).digest('hex').slice(0, 16)}`;
  return [
    segment(patient, 'unknown-patient'),
    segment(study, 'unknown-study'),
    segment(series, 'unknown-series'),
    `${name}.dcm`,
  ].join('/');
}

function editPath(e: Edit): string {
  return e.op === 'insert' ? containerPath(e.container) + formatTag(e.tag) : elementPath(e.element);
}

/** One line per edit: tag path, keyword, action, old value masked, new value. */
export function describeChanges(result: DeidResult): string[] {
  const byPath = new Map<string, { keyword: string; action: string }>();
  for (const a of result.actions) byPath.set(a.tagPath, a);
  return result.edits.map((e) => {
    const path = editPath(e);
    const tag = e.op === 'insert' ? e.tag : e.element.tag;
    const rec = byPath.get(path);
    const keyword = rec?.keyword || lookupTag(tag)?.keyword || '-';
    const action = rec?.action ?? e.op;
    const before = e.op === 'insert' ? '(absent)' : maskElement(e.element);
    const vr = e.op === 'insert' ? e.vr : e.op === 'replace' ? (e.vr ?? e.element.vr) : e.element.vr;
    const after = e.op === 'remove' ? '(removed)' : showNewValue(vr, e.value);
    return `${path} ${keyword} ${action}: ${before} -> ${after}`;
  });
}

function pickIdentity(result: DeidResult): Identity {
  const id: { -readonly [K in keyof Identity]: Identity[K] } = {};
  const i = result.identity;
  if (i.patientId !== undefined && i.pseudoPatientId !== undefined) {
    id.patientId = i.patientId;
    id.pseudoPatientId = i.pseudoPatientId;
  }
  if (i.accession !== undefined && i.pseudoAccession !== undefined) {
    id.accession = i.accession;
    id.pseudoAccession = i.pseudoAccession;
  }
  if (i.studyUID !== undefined && i.pseudoStudyUID !== undefined) {
    id.studyUID = i.studyUID;
    id.pseudoStudyUID = i.pseudoStudyUID;
  }
  return id;
}

/** The report of the burned-in text stage (pixels:text) on a released file; undefined when it did not run. */
function textStageReport(
  outcome: Extract<ReleaseOutcome, { kind: 'released' }>,
): { scanned?: boolean; boxes?: FrameBoxesReport[] } | undefined {
  const rec = outcome.stages.find((s) => s.name === 'pixels:text' && s.ran);
  return rec?.report as { scanned?: boolean; boxes?: FrameBoxesReport[] } | undefined;
}

/** What that stage did, in counts (PixelOutcome); undefined when it did not run. */
function pixelOutcome(
  outcome: Extract<ReleaseOutcome, { kind: 'released' }>,
  report = textStageReport(outcome),
): PixelOutcome | undefined {
  if (!report) return undefined;
  return {
    scanned: report.scanned === true,
    boxes: (report.boxes ?? []).reduce((n, f) => n + (f.boxes?.length ?? 0), 0),
    claimed: outcome.claims.burnedInAnnotationNo === true,
  };
}

function finish(
  task: Task,
  ctx: FileContext,
  src: FileSource,
  outcome: ReleaseOutcome,
): TaskResult | Promise<TaskResult> {
  if (outcome.kind === 'not-dicom') return { id: task.id, outcome: 'skipped', code: outcome.code };
  if (outcome.kind === 'quarantined') return quarantine(task, ctx, outcome);
  // What went out: the header's records with the edits of every stage (and the claims) applied.
  const result: DeidResult = { ...outcome.header, edits: outcome.edits as Edit[] };
  const out = ctx.layout === 'hierarchy' ? hierarchyPath(outcome.file, result, task.rel) : task.rel;
  const textReport = textStageReport(outcome);
  const pixels = pixelOutcome(outcome, textReport);
  const done: TaskResult = {
    id: task.id,
    outcome: 'written',
    out,
    ...(ctx.tally ? {} : { actions: countActions(result) }),
    ...(pixels ? { pixels } : {}),
    ...(ctx.identities ? { identity: pickIdentity(result) } : {}),
    ...(ctx.dryRun ? { changes: describeChanges(result) } : {}),
  };
  if (ctx.dryRun || ctx.outDir === undefined) {
    ctx.tally?.add(result);
    return done;
  }
  try {
    // Two inputs may map to one output (the same SOP instance twice in the hierarchy layout): each is written under
    // a temporary name of its own thread and renamed (atomic; the last one wins).
    writePlan(src, outcome.plan, join(ctx.outDir, out));
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    return { id: task.id, outcome: 'error', code: c ? `WRITE_FAILED_${c}` : 'WRITE_FAILED' };
  }
  ctx.tally?.add(result);
  if (pixels && pixels.boxes > 0 && ctx.previews && ctx.previews.remaining > 0) {
    // The picture is read back from the file just written: what went out, never the original pixels.
    return writeRedactionPreview(join(ctx.outDir, out), textReport?.boxes ?? [], ctx.previews, task.id).then(
      (preview) => (preview ? { ...done, pixels: { ...pixels, preview } } : done),
    );
  }
  return done;
}

/** One file through the release path; a plain value while every stage is synchronous, else a Promise. */
export function processFile(task: Task, ctx: FileContext): TaskResult | Promise<TaskResult> {
  let src: FileSource;
  try {
    // Nothing scanned from the file outlives this call: its bytes can go in the thread's reused buffer (unless a
    // stage is asynchronous: then another file may be read while this one waits).
    src = openFileSource(task.path, { reuse: (ctx.stages?.length ?? 0) === 0 });
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    return { id: task.id, outcome: 'error', code: c ? `READ_FAILED_${c}` : 'READ_FAILED' };
  }
  let pending: ReleaseOutcome | Promise<ReleaseOutcome>;
  try {
    pending = releaseFile(src, {
      config: ctx.config,
      keys: ctx.keys,
      stages: ctx.stages,
      verifyLevels: ctx.verifyLevels,
    });
  } catch (e) {
    src.close();
    throw e;
  }
  if (pending instanceof Promise) {
    return pending.then((o) => finish(task, ctx, src, o)).finally(() => src.close());
  }
  try {
    return finish(task, ctx, src, pending);
  } finally {
    src.close();
  }
}
