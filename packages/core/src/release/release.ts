/**
 * The one release path: an input's bytes, a configuration and the keys in; either the planned output (a rewrite plan
 * over the input, ready to be written) with its report, or a quarantine record with every finding. `veil deid`,
 * `veil serve` and the fuzz target all call this; nothing else strings the stages together.
 *
 *   scan -> header de-identification (deidentify) -> registered stages in order (pixels: burned-in text, defacing;
 *   none by default) -> the pixel claims check -> plan -> verification (verifyOutput: the planned output re-read)
 *
 * Every stage runs even after an earlier one found a reason to hold the file, so that the quarantine record lists all
 * findings at once (an operator reviews each, see `acknowledged`). Only a failure that leaves nothing to check (the
 * input does not scan, the edits cannot be planned) ends the path early.
 *
 * Pure: no I/O, no clock. Synchronous while every stage is (the result is then a plain value, not a Promise).
 *
 * Example:
 *   const outcome = await releaseFile(bytesSource(bytes), { config, keys: { key } });
 *   if (outcome.kind === 'released') write(outcome.plan);
 *   else if (outcome.kind === 'quarantined') hold(outcome.findings); // [{ stage, detector, tagPath, code, level }]
 */

import type { DeidConfig } from '../deid/config.ts';
import { type DeidKeys, type DeidResult, deidentify, planDeidentified } from '../deid/engine.ts';
import type { ByteSource } from '../dicom/byte-source.ts';
import type { DicomFile } from '../dicom/dataset.ts';
import { isVeilError } from '../dicom/errors.ts';
import type { Edit, RewritePlan } from '../dicom/rewriter.ts';
import { type ScanOptions, scanFile } from '../dicom/scanner.ts';
import { DOUBLE_FLOAT_PIXEL_DATA, FLOAT_PIXEL_DATA, PIXEL_DATA } from '../dicom/tag.ts';
import { findElement } from '../dicom/value.ts';
import { verifyReasonCode } from '../verify/finding.ts';
import { claimEdits, hasClaims, mergeClaims } from './claims.ts';
import type { ReleaseFinding, ReleaseStage, StageClaims, StageOutput } from './stage.ts';
import { type DetectorLevels, type ReleaseVerdict, verifyOutput } from './verify-output.ts';

export interface ReleaseOptions {
  readonly config: DeidConfig;
  readonly keys: DeidKeys;
  /** Stages between header de-identification and verification, in order (pixel stages). Default none. */
  readonly stages?: readonly ReleaseStage[] | undefined;
  /** The verifier's detector levels (the configuration's verify section); default: every detector's own. */
  readonly verifyLevels?: DetectorLevels | undefined;
  /**
   * Findings an operator reviewed and let pass, as findingKey()s ('VERIFY_KNOWN_NAME@(0008,1030)'). An error finding
   * whose key is listed does not hold the file back; every other one still does.
   */
  readonly acknowledged?: ReadonlySet<string> | readonly string[] | undefined;
  /** Scanner options; default: the configuration's limits (parser caps). */
  readonly scan?: ScanOptions | undefined;
}

/** What each registered stage did on this file. */
export interface StageRecord {
  readonly name: string;
  /** false: the stage did not apply to this file (appliesTo), or failed (see the findings). */
  readonly ran: boolean;
  readonly report?: Readonly<Record<string, unknown>>;
}

interface Common {
  readonly file: DicomFile;
  readonly header: DeidResult;
  /** Header edits, then the stages' edits, then the claimed attributes: what the plan applies. */
  readonly edits: readonly Edit[];
  readonly claims: StageClaims;
  readonly stages: readonly StageRecord[];
  /** Every finding, in stage order: errors, warnings, and the acknowledged ones (they are listed in `acknowledged`). */
  readonly findings: readonly ReleaseFinding[];
  /** The error findings let pass by the operator's acknowledgement. */
  readonly acknowledged: readonly ReleaseFinding[];
}

export interface Released extends Common {
  readonly kind: 'released';
  /** The output: ranges of the input and new bytes. */
  readonly plan: RewritePlan;
  readonly verdict: ReleaseVerdict;
}

export interface Quarantined {
  readonly kind: 'quarantined';
  /** The first error finding's code and tag path (the record's headline). */
  readonly code: string;
  readonly tagPath: string;
  /** Every error finding not acknowledged: the file is released only when each is acknowledged or gone. */
  readonly holds: readonly ReleaseFinding[];
  readonly findings: readonly ReleaseFinding[];
  /** Present when the input scanned. */
  readonly file?: DicomFile;
  readonly header?: DeidResult;
  readonly plan?: RewritePlan;
  readonly stages: readonly StageRecord[];
}

/** The input is not DICOM at all (no preamble and no plausible dataset): the caller skips or refuses it. */
export interface NotDicom {
  readonly kind: 'not-dicom';
  readonly code: string;
}

export type ReleaseOutcome = Released | Quarantined | NotDicom;

/** The key an operator acknowledges a finding by: CODE@TAGPATH ('PIXELS_STAGE_UNAVAILABLE@(7FE0,0010)'). */
export function findingKey(f: { readonly code: string; readonly tagPath: string }): string {
  return `${f.code}@${f.tagPath}`;
}

const PIXEL_TAGS = [PIXEL_DATA, FLOAT_PIXEL_DATA, DOUBLE_FLOAT_PIXEL_DATA];
const TRUNCATED = 'DICOM_TRUNCATED';

function errorFinding(stage: string, detector: string, e: unknown, fallback: string): ReleaseFinding {
  if (isVeilError(e)) return { stage, detector, tagPath: e.path ?? '', code: e.code, level: 'error' };
  return { stage, detector, tagPath: '', code: fallback, level: 'error' };
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** True when `a` and `b` write the same thing (same element, or an insert of the same tag in the same container). */
function sameTarget(a: Edit, b: Edit): boolean {
  if (a.op === 'insert' || b.op === 'insert') {
    return a.op === 'insert' && b.op === 'insert' && a.container === b.container && a.tag === b.tag;
  }
  return a.element === b.element;
}

class Path {
  edits: readonly Edit[];
  claims: StageClaims = {};
  readonly findings: ReleaseFinding[] = [];
  readonly stages: StageRecord[] = [];
  pixelStagesRan = 0;

  constructor(
    readonly file: DicomFile,
    readonly header: DeidResult,
    readonly options: ReleaseOptions,
  ) {
    this.edits = header.edits;
    for (const q of header.quarantines) {
      this.findings.push({ stage: 'deid', detector: 'engine', tagPath: q.path, code: q.code, level: 'error' });
    }
  }

  absorb(stage: ReleaseStage, out: StageOutput): void {
    if (stage.kind === 'pixels') this.pixelStagesRan++;
    this.stages.push({ name: stage.name, ran: true, ...(out.report ? { report: out.report } : {}) });
    if (out.edits && out.edits.length > 0) {
      const added = out.edits;
      this.edits = [...this.edits.filter((e) => !added.some((n) => sameTarget(e, n))), ...added];
    }
    this.claims = mergeClaims(this.claims, out.claims);
    for (const f of out.findings ?? []) this.findings.push(f);
    if (out.quarantine) {
      const { code, tagPath } = out.quarantine;
      this.findings.push({ stage: stage.name, detector: stage.name, tagPath: tagPath ?? '', code, level: 'error' });
    }
  }

  failed(stage: ReleaseStage, e: unknown): void {
    this.stages.push({ name: stage.name, ran: false });
    this.findings.push(errorFinding(stage.name, stage.name, e, 'STAGE_FAILED'));
  }

  /** From stage i on; synchronous until a stage returns a Promise. */
  continueFrom(i: number): ReleaseOutcome | Promise<ReleaseOutcome> {
    const stages = this.options.stages ?? [];
    for (; i < stages.length; i++) {
      const stage = stages[i]!;
      let out: StageOutput | Promise<StageOutput>;
      try {
        if (stage.appliesTo && !stage.appliesTo(this.file, this.options.config)) {
          this.stages.push({ name: stage.name, ran: false });
          continue;
        }
        out = stage.run({
          file: this.file,
          source: this.file.source,
          header: this.header,
          edits: this.edits,
          config: this.options.config,
        });
      } catch (e) {
        this.failed(stage, e);
        continue;
      }
      if (isPromise(out)) {
        const next = i + 1;
        return out.then(
          (o) => {
            this.absorb(stage, o);
            return this.continueFrom(next);
          },
          (e: unknown) => {
            this.failed(stage, e);
            return this.continueFrom(next);
          },
        );
      }
      this.absorb(stage, out);
    }
    return this.finish();
  }

  /** The pixel claims the configuration asks for, checked against what the stages earned on this file. */
  checkPixelRequests(): void {
    const want = this.options.config.pixels;
    if (!want?.cleanPixelData && !want?.cleanRecognizableVisualFeatures) return;
    const pixels = PIXEL_TAGS.map((t) => findElement(this.file.dataset, t)).find((e) => e !== undefined);
    if (!pixels) return; // no image: nothing to clean, and nothing is claimed either
    const code = this.pixelStagesRan === 0 ? 'PIXELS_STAGE_UNAVAILABLE' : 'PIXELS_NOT_CLEANED';
    const tagPath = `(7FE0,${(pixels.tag & 0xffff).toString(16).toUpperCase().padStart(4, '0')})`;
    if (want.cleanPixelData && !this.claims.burnedInAnnotationNo) {
      this.findings.push({ stage: 'pixels', detector: 'clean-pixel-data', tagPath, code, level: 'error' });
    }
    if (want.cleanRecognizableVisualFeatures && !this.claims.recognizableVisualFeaturesNo) {
      this.findings.push({ stage: 'pixels', detector: 'clean-visual-features', tagPath, code, level: 'error' });
    }
  }

  finish(): ReleaseOutcome {
    const { config, keys } = this.options;
    this.checkPixelRequests();
    if (hasClaims(this.claims)) {
      const truncated = this.header.quarantines.some((q) => q.code === TRUNCATED);
      this.edits = claimEdits(this.file, this.edits, config, this.claims, !truncated);
    }
    let plan: RewritePlan;
    try {
      plan = planDeidentified(this.file, { ...this.header, edits: this.edits as Edit[] });
    } catch (e) {
      this.findings.push(errorFinding('plan', 'rewriter', e, 'REWRITE_FAILED'));
      return this.quarantined(undefined);
    }
    const verdict = verifyOutput(
      { source: this.file.source, plan },
      this.file,
      config,
      keys.key,
      this.options.verifyLevels,
    );
    for (const f of verdict.findings) {
      this.findings.push({
        stage: 'verify',
        detector: f.detector,
        tagPath: f.tagPath,
        code: verifyReasonCode(f.detector),
        level: f.level,
        detail: f.code,
      });
    }
    const acked = this.options.acknowledged;
    const isAcked = (f: ReleaseFinding): boolean => {
      if (!acked) return false;
      const k = findingKey(f);
      return acked instanceof Set ? acked.has(k) : (acked as readonly string[]).includes(k);
    };
    const holds: ReleaseFinding[] = [];
    const acknowledged: ReleaseFinding[] = [];
    for (const f of this.findings) {
      if (f.level !== 'error') continue;
      if (isAcked(f)) acknowledged.push(f);
      else holds.push(f);
    }
    if (holds.length > 0) return this.quarantined(plan, holds);
    return {
      kind: 'released',
      file: this.file,
      header: this.header,
      edits: this.edits,
      claims: this.claims,
      stages: this.stages,
      findings: this.findings,
      acknowledged,
      plan,
      verdict,
    };
  }

  quarantined(plan: RewritePlan | undefined, holds?: ReleaseFinding[]): Quarantined {
    const h = holds ?? this.findings.filter((f) => f.level === 'error');
    const first = h[0];
    return {
      kind: 'quarantined',
      code: first?.code ?? 'RELEASE_FAILED',
      tagPath: first?.tagPath ?? '',
      holds: h,
      findings: this.findings,
      file: this.file,
      header: this.header,
      ...(plan ? { plan } : {}),
      stages: this.stages,
    };
  }
}

/**
 * Runs one input through the release path (see the module comment). Returns a plain value when every stage is
 * synchronous, a Promise otherwise; `await` works on both.
 */
export function releaseFile(
  source: ByteSource | Uint8Array,
  options: ReleaseOptions,
): ReleaseOutcome | Promise<ReleaseOutcome> {
  let file: DicomFile;
  try {
    file = scanFile(source, options.scan ?? { limits: options.config.limits });
  } catch (e) {
    if (isVeilError(e) && e.code === 'DICOM_NOT_DICOM') return { kind: 'not-dicom', code: e.code };
    const f = errorFinding('scan', 'scanner', e, 'SCAN_FAILED');
    return { kind: 'quarantined', code: f.code, tagPath: f.tagPath, holds: [f], findings: [f], stages: [] };
  }
  return releaseScanned(file, options);
}

/** The release path from an already scanned input (the caller scanned it for its own routing decisions). */
export function releaseScanned(file: DicomFile, options: ReleaseOptions): ReleaseOutcome | Promise<ReleaseOutcome> {
  let header: DeidResult;
  try {
    header = deidentify(file, options.config, options.keys);
  } catch (e) {
    const f = errorFinding('deid', 'engine', e, 'DEID_FAILED');
    return { kind: 'quarantined', code: f.code, tagPath: f.tagPath, holds: [f], findings: [f], file, stages: [] };
  }
  return new Path(file, header, options).continueFrom(0);
}
