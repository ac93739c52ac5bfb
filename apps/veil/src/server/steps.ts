/**
 * The gateway's processing steps over a spooled file, in order: gate (is it DICOM, may this SOP class go this route;
 * the pseudonymised study key for grouping), deidentify (the core's PS3.15 engine; the output is written to the spool,
 * fsynced), verify (the release gate of `veil deid`: residual-PHI detectors on the output against its original).
 * A step returns data (next / quarantine / retry / fail); the Runner commits it. Each step reads only the spool and
 * the job's stepState, so re-running it after a crash gives the same result (the output is rewritten identically).
 *
 * Quarantine codes are those of the core and the verifier (DICOM_NOT_DICOM, SOP_CLASS_NOT_ALLOWED, DICOM_TRUNCATED,
 * VERIFY_<DETECTOR>...). An operator's release lists the code in stepState.released, and the step then lets it pass.
 */
import { dirname } from 'node:path';
import {
  type DeidConfig,
  type DeidResult,
  type DicomFile,
  deidentify,
  findElement,
  isVeilError,
  planDeidentified,
  type RewritePlan,
  readString,
  remapUID,
  scanFile,
} from '@veil/core';
import type { Job, JsonObject, RouteConfig, Step, StepOutcome } from '@veil/pipeline';
import { hierarchyPath, outputValue } from '../deid/process-file.ts';
import { patientKeyState } from '../governance/patient-key.ts';
import { type FileSource, openFileSource } from '../io/file-source.ts';
import { writePlan } from '../io/write-plan.ts';
import { type DetectorLevels, verifyBeforeRelease } from '../verify/gate.ts';
import { fsyncPath, type Spool } from './spool.ts';

const SOP_CLASS_UID = 0x00080016;
const SOP_INSTANCE_UID = 0x00080018;
const STUDY_INSTANCE_UID = 0x0020000d;
const MEDIA_STORAGE_SOP_CLASS_UID = 0x00020002;

export interface StepContext {
  readonly spool: Spool;
  readonly deid: DeidConfig;
  readonly verifyLevels: DetectorLevels | undefined;
  readonly key: Uint8Array;
  readonly routes: readonly RouteConfig[];
}

/** What the deidentify step records for delivery. */
export interface OutputState {
  readonly path: string;
  readonly size: number;
  readonly sopInstanceUid: string;
  readonly sopClassUid: string;
  readonly transferSyntaxUid: string;
  readonly hierarchy: string;
}

function released(job: Job, code: string): boolean {
  const r = job.stepState.released;
  return Array.isArray(r) && r.includes(code);
}

function veilCode(e: unknown, fallback: string): { code: string; tagPath?: string } {
  if (isVeilError(e)) return e.path ? { code: e.code, tagPath: e.path } : { code: e.code };
  return { code: fallback };
}

function ioOutcome(e: unknown, what: string): StepOutcome {
  const code = (e as NodeJS.ErrnoException).code;
  // The spooled bytes are gone: nothing will bring them back.
  if (code === 'ENOENT') return { kind: 'fail', code: `SPOOL_MISSING` };
  return { kind: 'retry', code: `${what}_${code ?? 'ERROR'}` };
}

function topString(file: DicomFile, tag: number): string | undefined {
  const el = findElement(file.dataset, tag);
  const v = el ? readString(el).trim() : '';
  return v === '' ? undefined : v;
}

function sopClassOf(file: DicomFile): string | undefined {
  const fromDataset = topString(file, SOP_CLASS_UID);
  if (fromDataset) return fromDataset;
  const el = file.meta ? findElement(file.meta, MEDIA_STORAGE_SOP_CLASS_UID) : undefined;
  const v = el ? readString(el).trim() : '';
  return v === '' ? undefined : v;
}

/** Opens the job's spooled input and scans it; `use` runs with both, the source is closed after. */
async function withSpooled(
  ctx: StepContext,
  job: Job,
  use: (src: FileSource, file: DicomFile) => StepOutcome,
): Promise<StepOutcome> {
  let src: FileSource;
  try {
    src = openFileSource(ctx.spool.path(String(job.source.spool)));
  } catch (e) {
    return ioOutcome(e, 'READ');
  }
  try {
    let file: DicomFile;
    try {
      file = scanFile(src);
    } catch (e) {
      return { kind: 'quarantine', ...veilCode(e, 'SCAN_FAILED') };
    }
    return use(src, file);
  } finally {
    src.close();
  }
}

export function gateStep(ctx: StepContext): Step {
  return {
    name: 'gate',
    run: (job) =>
      withSpooled(ctx, job, (_src, file) => {
        const sopClassUid = sopClassOf(file) ?? '';
        const studyUid = topString(file, STUDY_INSTANCE_UID);
        const studyKey = studyUid ? remapUID(studyUid, ctx.key) : undefined;
        // The patient key (HMAC, never the ID): the deliver step checks consent with it.
        const stepState: JsonObject = { ...job.stepState, sopClassUid, ...patientKeyState(file, ctx.key) };
        const policy = ctx.routes.find((r) => r.name === job.route)?.policy;
        const allowed = policy?.sopClasses;
        if (allowed && !allowed.includes(sopClassUid) && !released(job, 'SOP_CLASS_NOT_ALLOWED')) {
          return {
            kind: 'quarantine',
            code: 'SOP_CLASS_NOT_ALLOWED',
            tagPath: '(0008,0016)',
            stepState,
            ...(studyKey ? { studyKey } : {}),
          };
        }
        return { kind: 'next', stepState, ...(studyKey ? { studyKey } : {}) };
      }),
  };
}

export function deidentifyStep(ctx: StepContext): Step {
  return {
    name: 'deidentify',
    run: (job) =>
      withSpooled(ctx, job, (src, file) => {
        let result: DeidResult;
        try {
          result = deidentify(file, ctx.deid, { key: ctx.key });
        } catch (e) {
          return { kind: 'quarantine', ...veilCode(e, 'DEID_FAILED') };
        }
        if (result.quarantine && !released(job, result.quarantine.code)) {
          return { kind: 'quarantine', code: result.quarantine.code, tagPath: result.quarantine.path || undefined };
        }
        let plan: RewritePlan;
        try {
          plan = planDeidentified(file, result);
        } catch (e) {
          return { kind: 'quarantine', ...veilCode(e, 'REWRITE_FAILED') };
        }
        const rel = ctx.spool.outputRel(job.id);
        try {
          writePlan(src, plan, ctx.spool.path(rel), { fsync: true });
          fsyncPath(dirname(ctx.spool.path(rel)));
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          return { kind: 'retry', code: `SPOOL_WRITE_${code ?? 'ERROR'}` };
        }
        const out: OutputState = {
          path: rel,
          size: plan.length,
          sopInstanceUid: outputValue(file, result.edits, SOP_INSTANCE_UID) ?? '',
          sopClassUid: sopClassOf(file) ?? '',
          transferSyntaxUid: file.declaredTransferSyntax ?? file.transferSyntax.uid,
          hierarchy: dirname(hierarchyPath(file, result, job.id)),
        };
        return { kind: 'next', stepState: { ...job.stepState, out: { ...out } } };
      }),
  };
}

export function outputOf(job: Job): OutputState | undefined {
  const o = job.stepState.out;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return undefined;
  return o as unknown as OutputState;
}

export function verifyStep(ctx: StepContext): Step {
  return {
    name: 'verify',
    run: (job) =>
      withSpooled(ctx, job, (_src, original) => {
        const out = outputOf(job);
        if (!out) return { kind: 'fail', code: 'PIPELINE_NO_OUTPUT' };
        let outSrc: FileSource;
        try {
          outSrc = openFileSource(ctx.spool.path(out.path));
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          // The output is gone (a spool cleaned by hand?): a replay starts the job over from the gate.
          if (code === 'ENOENT') return { kind: 'fail', code: 'SPOOL_OUTPUT_MISSING' };
          return { kind: 'retry', code: `READ_${code ?? 'ERROR'}` };
        }
        try {
          const output = outSrc.bytes ?? {
            source: outSrc,
            plan: { segments: [{ start: 0, end: outSrc.length }], length: outSrc.length },
          };
          const verdict = verifyBeforeRelease(output, original, ctx.deid, ctx.key, ctx.verifyLevels);
          const stepState: JsonObject = { ...job.stepState, verified: { findings: verdict.findings.length } };
          if (!verdict.ok) {
            const code = verdict.code ?? 'VERIFY_FAILED';
            if (!released(job, code)) return { kind: 'quarantine', code, tagPath: verdict.tagPath, stepState };
          }
          return { kind: 'next', stepState };
        } finally {
          outSrc.close();
        }
      }),
  };
}

export function createSteps(ctx: StepContext): Step[] {
  return [gateStep(ctx), deidentifyStep(ctx), verifyStep(ctx)];
}
