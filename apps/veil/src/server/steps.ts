/**
 * The gateway's processing steps over a spooled file, in order:
 *   gate        is it DICOM, may this SOP class go this route; the pseudonymised study key for grouping;
 *   deidentify  the one release path (releaseFile in @veil/core: header de-identification, the registered stages,
 *               verification of the planned output), then the output written durably to the spool and its
 *               de-identified SOP Instance UID claimed (a different output under an already claimed UID is held
 *               back: DUPLICATE_UID_CONFLICT; the same bytes again are idempotent);
 *   verify      the written output is the one the release path verified (its SHA-256); an output written before
 *               this check existed is verified again in full.
 * A step returns data (next / quarantine / retry / fail); the Runner commits it. Each step reads only the spool and
 * the job's stepState, so re-running it after a crash gives the same result (the output is rewritten identically).
 *
 * A quarantine records every finding in stepState.quarantine ({ step, findings: [{ stage, detector, code, tagPath,
 * level }] }, never a value). An operator's release acknowledges findings by key (CODE@TAGPATH) in
 * stepState.acknowledged; the release path then lets exactly those pass, and any other finding still holds the file.
 *
 * These functions run in the release worker threads (release-worker.ts), not on the event loop.
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import {
  type DeidConfig,
  type DeidResult,
  type DicomFile,
  type Edit,
  type FreeTextCleaner,
  findElement,
  findingKey,
  isVeilError,
  type ReleaseFinding,
  type ReleaseStage,
  readString,
  releaseFile,
  remapUID,
  scanFile,
  verifyOutput,
  verifyReasonCode,
} from '@veil/core';
import type { Job, JsonObject, RouteConfig, Step, StepOutcome } from '@veil/pipeline';
import { hierarchyPath, outputValue } from '../deid/process-file.ts';
import type { IdentityPair } from '../governance/crosswalk.ts';
import { patientKeyState } from '../governance/patient-key.ts';
import { type FileSource, openFileSource } from '../io/file-source.ts';
import { writePlan } from '../io/write-plan.ts';
import type { DetectorLevels } from '../verify/gate.ts';
import type { Spool } from './spool.ts';

const SOP_CLASS_UID = 0x00080016;
const SOP_INSTANCE_UID = 0x00080018;
const STUDY_INSTANCE_UID = 0x0020000d;
const SERIES_INSTANCE_UID = 0x0020000e;
const MEDIA_STORAGE_SOP_CLASS_UID = 0x00020002;

export interface StepContext {
  readonly spool: Spool;
  readonly deid: DeidConfig;
  readonly verifyLevels: DetectorLevels | undefined;
  readonly key: Uint8Array;
  /** The free-text de-identifier for Clean Descriptors / Clean Structured Content (release/stages.ts). */
  readonly cleanFreeText?: FreeTextCleaner | undefined;
  readonly routes: readonly RouteConfig[];
  /** Stages of the release path between header de-identification and verification (release/stages.ts). */
  readonly stages?: readonly ReleaseStage[] | undefined;
  /** Other bytes under a claimed UID: held (default) or kept as a new version (processing.duplicateUid). */
  readonly duplicateUid?: 'quarantine' | 'version' | undefined;
}

/** What the deidentify step records for delivery. */
export interface OutputState {
  readonly path: string;
  readonly size: number;
  readonly sopInstanceUid: string;
  readonly sopClassUid: string;
  readonly transferSyntaxUid: string;
  readonly hierarchy: string;
  /** SHA-256 of the output as written (and verified): the verify step and duplicate detection compare it. */
  readonly sha256?: string;
  /** 2, 3...: kept beside an earlier, different instance with the same de-identified SOP Instance UID. */
  readonly version?: number;
}

/** The finding keys (CODE@TAGPATH) an operator acknowledged for this job. */
export function acknowledgedOf(job: Job): string[] {
  const a = job.stepState.acknowledged;
  return Array.isArray(a) ? a.filter((x): x is string => typeof x === 'string') : [];
}

function findingJson(f: ReleaseFinding): JsonObject {
  return {
    stage: f.stage,
    detector: f.detector,
    code: f.code,
    tagPath: f.tagPath,
    level: f.level,
    ...(f.detail ? { detail: f.detail } : {}),
  };
}

/** A quarantine outcome that records every finding in the job's state (holds first, then the rest). */
function hold(
  job: Job,
  step: string,
  holds: readonly ReleaseFinding[],
  all: readonly ReleaseFinding[],
  extra: JsonObject = {},
  studyKey?: string,
): StepOutcome {
  const first = holds[0];
  const held = new Set(holds);
  const findings = [...holds, ...all.filter((f) => !held.has(f))].map(findingJson);
  return {
    kind: 'quarantine',
    code: first?.code ?? 'RELEASE_FAILED',
    tagPath: first?.tagPath || undefined,
    stepState: { ...job.stepState, ...extra, quarantine: { step, findings } },
    ...(studyKey ? { studyKey } : {}),
  };
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

function openSpooled(ctx: StepContext, job: Job): FileSource | StepOutcome {
  try {
    return openFileSource(ctx.spool.path(String(job.source.spool)));
  } catch (e) {
    return ioOutcome(e, 'READ');
  }
}

function isOutcome(x: FileSource | StepOutcome): x is StepOutcome {
  return 'kind' in x;
}

export function gateStep(ctx: StepContext): Step {
  return {
    name: 'gate',
    run(job) {
      const src = openSpooled(ctx, job);
      if (isOutcome(src)) return src;
      try {
        let file: DicomFile;
        try {
          file = scanFile(src, { limits: ctx.deid.limits });
        } catch (e) {
          const f: ReleaseFinding = {
            stage: 'scan',
            detector: 'scanner',
            tagPath: isVeilError(e) ? (e.path ?? '') : '',
            code: isVeilError(e) ? e.code : 'SCAN_FAILED',
            level: 'error',
          };
          return hold(job, 'gate', [f], [f]);
        }
        const sopClassUid = sopClassOf(file) ?? '';
        const studyUid = topString(file, STUDY_INSTANCE_UID);
        const studyKey = studyUid ? remapUID(studyUid, ctx.key) : undefined;
        // The patient key (HMAC, never the ID): the deliver step checks consent with it.
        const stepState: JsonObject = { ...job.stepState, sopClassUid, ...patientKeyState(file, ctx.key) };
        // An instance without a SOP Instance UID (an empty data set behind a valid file meta...) is not an instance
        // anyone can receive, and nothing could tell two of them apart: held, not delivered as 'unknown'.
        if (topString(file, SOP_INSTANCE_UID) === undefined) {
          const f: ReleaseFinding = {
            stage: 'gate',
            detector: 'policy',
            tagPath: '(0008,0018)',
            code: 'SOP_INSTANCE_UID_MISSING',
            level: 'error',
          };
          if (!acknowledgedOf(job).includes(findingKey(f))) {
            return hold({ ...job, stepState }, 'gate', [f], [f], {}, studyKey);
          }
        }
        const policy = ctx.routes.find((r) => r.name === job.route)?.policy;
        const allowed = policy?.sopClasses;
        if (allowed && !allowed.includes(sopClassUid)) {
          const f: ReleaseFinding = {
            stage: 'gate',
            detector: 'policy',
            tagPath: '(0008,0016)',
            code: 'SOP_CLASS_NOT_ALLOWED',
            level: 'error',
          };
          if (!acknowledgedOf(job).includes(findingKey(f))) {
            return hold({ ...job, stepState }, 'gate', [f], [f], {}, studyKey);
          }
        }
        return { kind: 'next', stepState, ...(studyKey ? { studyKey } : {}) };
      } finally {
        src.close();
      }
    },
  };
}

const DUPLICATE_UID: Omit<ReleaseFinding, 'tagPath'> = {
  stage: 'deliver',
  detector: 'duplicate-uid',
  code: 'DUPLICATE_UID_CONFLICT',
  level: 'error',
};

export function deidentifyStep(ctx: StepContext): Step {
  return {
    name: 'deidentify',
    async run(job) {
      const src = openSpooled(ctx, job);
      if (isOutcome(src)) return src;
      try {
        const acknowledged = acknowledgedOf(job);
        const outcome = await releaseFile(src, {
          config: ctx.deid,
          keys: { key: ctx.key, cleanFreeText: ctx.cleanFreeText },
          stages: ctx.stages,
          verifyLevels: ctx.verifyLevels,
          acknowledged,
        });
        if (outcome.kind === 'not-dicom') {
          const f: ReleaseFinding = {
            stage: 'scan',
            detector: 'scanner',
            tagPath: '',
            code: outcome.code,
            level: 'error',
          };
          return hold(job, 'deidentify', [f], [f]);
        }
        if (outcome.kind === 'quarantined') return hold(job, 'deidentify', outcome.holds, outcome.findings);
        const file = outcome.file;
        const result: DeidResult = { ...outcome.header, edits: outcome.edits as Edit[] };
        const rel = ctx.spool.outputRel(job.id);
        let sha256: string | undefined;
        try {
          sha256 = writePlan(src, outcome.plan, ctx.spool.path(rel), { fsync: true, sha256: true });
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          return { kind: 'retry', code: `SPOOL_WRITE_${code ?? 'ERROR'}` };
        }
        const sopInstanceUid = outputValue(file, result.edits, SOP_INSTANCE_UID) ?? '';
        let version: number | undefined;
        if (sopInstanceUid !== '' && sha256 !== undefined) {
          let claim: ReturnType<Spool['claimUid']>;
          try {
            claim = ctx.spool.claimUid(sopInstanceUid, sha256, job.id);
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            return { kind: 'retry', code: `SPOOL_WRITE_${code ?? 'ERROR'}` };
          }
          const f: ReleaseFinding = { ...DUPLICATE_UID, tagPath: '(0008,0018)' };
          if (claim === 'conflict' && ctx.duplicateUid === 'version') {
            // Kept beside the first: the lowest version these bytes hold or can claim.
            try {
              for (let n = 2; n < 1000 && version === undefined; n++) {
                if (ctx.spool.claimUid(`${sopInstanceUid}#v${n}`, sha256, job.id) !== 'conflict') version = n;
              }
            } catch (e) {
              const code = (e as NodeJS.ErrnoException).code;
              return { kind: 'retry', code: `SPOOL_WRITE_${code ?? 'ERROR'}` };
            }
          }
          if (claim === 'conflict' && version === undefined && !acknowledged.includes(findingKey(f))) {
            // Not delivered over the first: the output stays in the spool for review.
            return hold(job, 'deidentify', [f], [...outcome.findings, f]);
          }
        }
        const out: OutputState = {
          path: rel,
          size: outcome.plan.length,
          sopInstanceUid,
          sopClassUid: sopClassOf(file) ?? '',
          transferSyntaxUid: file.declaredTransferSyntax ?? file.transferSyntax.uid,
          hierarchy: dirname(hierarchyPath(file, result, job.id)),
          ...(sha256 ? { sha256 } : {}),
          ...(version ? { version } : {}),
        };
        const stepState: JsonObject = {
          ...job.stepState,
          out: { ...out },
          verified: {
            findings: outcome.findings.length,
            acknowledged: outcome.acknowledged.map(findingKey),
            stages: outcome.stages.filter((s) => s.ran).map((s) => s.name),
          },
        };
        // PHI, in memory only: the main thread seals it into the crosswalk and drops it (governance/crosswalk-step.ts).
        const identities = identityPairs(file, result, sopInstanceUid);
        return { kind: 'next', stepState, ...(identities.length ? { identities } : {}) } as StepOutcome;
      } finally {
        src.close();
      }
    },
  };
}

/** Original -> pseudonym for the crosswalk: patient ID, accession, study, series and SOP instance UIDs. */
function identityPairs(file: DicomFile, result: DeidResult, sopInstanceUid: string): IdentityPair[] {
  const i = result.identity;
  const pairs: IdentityPair[] = [];
  const add = (kind: IdentityPair['kind'], original: string | undefined, pseudonym: string | undefined): void => {
    const o = original?.trim();
    const p = pseudonym?.trim();
    if (o && p && o !== p) pairs.push({ kind, original: o, pseudonym: p });
  };
  add('patientId', i.patientId, i.pseudoPatientId);
  add('accession', i.accession, i.pseudoAccession);
  add(
    'studyUID',
    i.studyUID ?? topString(file, STUDY_INSTANCE_UID),
    i.pseudoStudyUID ?? outputValue(file, result.edits, STUDY_INSTANCE_UID),
  );
  add('seriesUID', topString(file, SERIES_INSTANCE_UID), outputValue(file, result.edits, SERIES_INSTANCE_UID));
  add('sopInstanceUID', topString(file, SOP_INSTANCE_UID), sopInstanceUid);
  return pairs;
}

export function outputOf(job: Job): OutputState | undefined {
  const o = job.stepState.out;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return undefined;
  return o as unknown as OutputState;
}

export function verifyStep(ctx: StepContext): Step {
  return {
    name: 'verify',
    run(job) {
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
        if (out.sha256) {
          const h = createHash('sha256');
          if (outSrc.bytes) h.update(outSrc.bytes);
          else
            for (let p = 0; p < outSrc.length; p += 4 << 20)
              h.update(outSrc.read(p, Math.min(outSrc.length, p + (4 << 20))));
          if (h.digest('hex') === out.sha256) return { kind: 'next' };
          const f: ReleaseFinding = {
            stage: 'verify',
            detector: 'output-integrity',
            tagPath: '',
            code: 'OUTPUT_CHANGED',
            level: 'error',
          };
          if (acknowledgedOf(job).includes(findingKey(f))) return { kind: 'next' };
          return hold(job, 'verify', [f], [f]);
        }
        // An output written before the release path recorded its hash: verify it again, from its own bytes.
        const original = openSpooled(ctx, job);
        if (isOutcome(original)) return original;
        try {
          let file: DicomFile;
          try {
            file = scanFile(original, { limits: ctx.deid.limits });
          } catch {
            return { kind: 'fail', code: 'SPOOL_UNREADABLE' };
          }
          const output = outSrc.bytes ?? {
            source: outSrc,
            plan: { segments: [{ start: 0, end: outSrc.length }], length: outSrc.length },
          };
          const verdict = verifyOutput(output, file, ctx.deid, ctx.key, ctx.verifyLevels);
          const acked = acknowledgedOf(job);
          const findings: ReleaseFinding[] = verdict.findings.map((f) => ({
            stage: 'verify',
            detector: f.detector,
            tagPath: f.tagPath,
            code: verifyReasonCode(f.detector),
            level: f.level,
            detail: f.code,
          }));
          const holds = findings.filter((f) => f.level === 'error' && !acked.includes(findingKey(f)));
          if (holds.length > 0) return hold(job, 'verify', holds, findings);
          return { kind: 'next' };
        } finally {
          original.close();
        }
      } finally {
        outSrc.close();
      }
    },
  };
}

export function createSteps(ctx: StepContext): Step[] {
  return [gateStep(ctx), deidentifyStep(ctx), verifyStep(ctx)];
}
