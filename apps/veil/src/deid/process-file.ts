/**
 * One file through the de-identification byte path: open -> scan -> deidentify -> plan the rewrite -> verify ->
 * write atomically. Files that are not DICOM are skipped; files that cannot be parsed, that the engine refuses or whose
 * output fails verification (VERIFY_<DETECTOR>, see verify/gate.ts) are copied to the quarantine folder with a JSON
 * sidecar { code, tagPath, file } (no values). Runs inside a worker thread.
 */

import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import {
  containerPath,
  type DeidConfig,
  type DeidKeys,
  type DeidResult,
  type DicomFile,
  deidentify,
  type Edit,
  elementPath,
  findElement,
  formatTag,
  isVeilError,
  lookupTag,
  planDeidentified,
  type RewritePlan,
  readString,
  scanFile,
} from '@veil/core';
import { type FileSource, openFileSource } from '../io/file-source.ts';
import { writePlan } from '../io/write-plan.ts';
import { type DetectorLevels, verifyBeforeRelease } from '../verify/gate.ts';
import type { Layout } from './config.ts';
import { maskElement, showNewValue } from './mask.ts';
import type { Identity, Task, TaskResult } from './protocol.ts';

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
}

const PATIENT_ID = 0x00100020;
const STUDY_UID = 0x0020000d;
const SERIES_UID = 0x0020000e;
const SOP_UID = 0x00080018;

/** Runs a write; when its folder is missing (ENOENT), makes the folder and runs it again: no mkdir per file. */
function inFolder(dir: string, write: () => void): void {
  try {
    write();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(dir, { recursive: true });
    write();
  }
}

function errorCode(e: unknown, fallback: string): { code: string; tagPath?: string } {
  if (isVeilError(e)) return e.path ? { code: e.code, tagPath: e.path } : { code: e.code };
  return { code: fallback };
}

function quarantine(task: Task, ctx: FileContext, code: string, tagPath: string | undefined): TaskResult {
  const base = { id: task.id, outcome: 'quarantined' as const, code, ...(tagPath ? { tagPath } : {}) };
  if (ctx.dryRun || ctx.quarantineDir === undefined) return base;
  try {
    const dest = join(ctx.quarantineDir, task.rel);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(task.path, dest);
    const sidecar = { code, tagPath: tagPath ?? null, file: task.rel };
    writeFileSync(`${dest}.veil.json`, `${JSON.stringify(sidecar, null, 2)}\n`);
    return base;
  } catch (e) {
    return { id: task.id, outcome: 'error', code: 'QUARANTINE_FAILED', ...(tagPath ? { tagPath } : {}), ...fsCode(e) };
  }
}

function fsCode(e: unknown): { code?: string } {
  const c = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof c === 'string' ? { code: `QUARANTINE_FAILED_${c}` } : {};
}

/** Counts the engine's actions per attribute keyword (private and unknown tags by their tag). */
function countActions(result: DeidResult): [string, string, number][] {
  const counts = new Map<string, number>();
  for (const a of result.actions) {
    const keyword = a.keyword || /\([0-9A-Fa-fx]{4},[0-9A-Fa-fx]{4}\)$/.exec(a.tagPath)?.[0] || a.tagPath;
    const k = `${keyword}\u0000${a.action}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => {
    const [keyword, action] = k.split('\u0000') as [string, string];
    return [keyword, action, n];
  });
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

export function processFile(task: Task, ctx: FileContext): TaskResult {
  let src: FileSource;
  try {
    // Nothing scanned from the file outlives this call: its bytes can go in the thread's reused buffer.
    src = openFileSource(task.path, { reuse: true });
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    return { id: task.id, outcome: 'error', code: c ? `READ_FAILED_${c}` : 'READ_FAILED' };
  }
  try {
    let file: DicomFile;
    try {
      file = scanFile(src);
    } catch (e) {
      if (isVeilError(e) && e.code === 'DICOM_NOT_DICOM') return { id: task.id, outcome: 'skipped', code: e.code };
      const { code, tagPath } = errorCode(e, 'SCAN_FAILED');
      return quarantine(task, ctx, code, tagPath);
    }
    let result: DeidResult;
    try {
      result = deidentify(file, ctx.config, ctx.keys);
    } catch (e) {
      const { code, tagPath } = errorCode(e, 'DEID_FAILED');
      return quarantine(task, ctx, code, tagPath);
    }
    if (result.quarantine) return quarantine(task, ctx, result.quarantine.code, result.quarantine.path || undefined);
    let plan: RewritePlan;
    try {
      plan = planDeidentified(file, result);
    } catch (e) {
      const { code, tagPath } = errorCode(e, 'REWRITE_FAILED');
      return quarantine(task, ctx, code, tagPath);
    }
    // Verification before release: an output with an error-level finding is not written but quarantined.
    const verdict = verifyBeforeRelease({ source: src, plan }, file, ctx.config, ctx.keys.key, ctx.verifyLevels);
    if (!verdict.ok) return quarantine(task, ctx, verdict.code ?? 'VERIFY_FAILED', verdict.tagPath);
    const out = ctx.layout === 'hierarchy' ? hierarchyPath(file, result, task.rel) : task.rel;
    const done: TaskResult = {
      id: task.id,
      outcome: 'written',
      out,
      actions: countActions(result),
      ...(ctx.identities ? { identity: pickIdentity(result) } : {}),
      ...(ctx.dryRun ? { changes: describeChanges(result) } : {}),
    };
    if (ctx.dryRun || ctx.outDir === undefined) return done;
    const dest = join(ctx.outDir, out);
    try {
      if (ctx.layout === 'hierarchy') {
        // Two inputs may map to one output (the same SOP instance twice): stage under a name of this thread's own,
        // since writePlan's temporary name is per process, then rename (atomic; the last one wins).
        const staging = `${dest}.veil-${threadId}`;
        inFolder(dirname(dest), () => writePlan(src, plan, staging));
        renameSync(staging, dest);
      } else {
        inFolder(dirname(dest), () => writePlan(src, plan, dest));
      }
    } catch (e) {
      const c = (e as NodeJS.ErrnoException).code;
      return { id: task.id, outcome: 'error', code: c ? `WRITE_FAILED_${c}` : 'WRITE_FAILED' };
    }
    return done;
  } finally {
    src.close();
  }
}
