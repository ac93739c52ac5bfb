/**
 * The stage interface of the one release path (release.ts): what a step between header de-identification and
 * verification receives, and what it may return. Pixel stages (burned-in text, defacing) plug in here; the header
 * engine runs before them and the verifier after them, and neither trusts a stage's word: the verifier re-reads the
 * planned output.
 *
 * A stage earns claims. Burned In Annotation (0028,0301) NO, Recognizable Visual Features (0028,0302) NO and the CID
 * 7050 codes 113101 (Clean Pixel Data Option) / 113102 (Clean Recognizable Visual Features Option) are written into
 * the output only when a stage that ran on that very file returned the claim; a configuration that asks for Clean
 * Pixel Data without such a stage quarantines the file (PIXELS_STAGE_UNAVAILABLE), it never releases it with the claim.
 *
 * A stage may be synchronous or asynchronous (codecs and OCR are): the release path stays synchronous, and cheap,
 * while every stage returns a plain value.
 *
 * Findings and quarantine reasons name a detector, a tag path and a stable code: never a value from the file.
 *
 * Example (a stage that blanks the pixels of every frame and says so):
 *   const blank: ReleaseStage = {
 *     name: 'pixels:blank',
 *     kind: 'pixels',
 *     appliesTo: (file) => findElement(file.dataset, PIXEL_DATA) !== undefined,
 *     async run({ file }) {
 *       const el = findElement(file.dataset, PIXEL_DATA)!;
 *       return {
 *         edits: [{ op: 'replace', element: el, value: new Uint8Array(el.length) }],
 *         claims: { burnedInAnnotationNo: true, methodCodes: ['113101'] },
 *       };
 *     },
 *   };
 *   const outcome = await releaseFile(bytesSource(bytes), { config, keys, stages: [blank] });
 */

import type { DeidConfig } from '../deid/config.ts';
import type { DeidResult } from '../deid/engine.ts';
import type { CID7050 } from '../deid/profiles/_generated/ps316-cid7050.ts';
import type { ByteSource } from '../dicom/byte-source.ts';
import type { DicomFile } from '../dicom/dataset.ts';
import type { Edit } from '../dicom/rewriter.ts';

/** The CID 7050 codes a stage can earn: 113101 Clean Pixel Data Option, 113102 Clean Recognizable Visual Features. */
export type StageMethodCode = (typeof CID7050)[
  | 'CleanPixelDataOption'
  | 'CleanRecognizableVisualFeaturesOption']['value'];

/** What a stage did that the output may state (PS3.15 E.3.1, E.3.2). Absent or false: not claimed. */
export interface StageClaims {
  /** Every burned-in text the stage was asked to remove is gone: Burned In Annotation (0028,0301) NO. */
  readonly burnedInAnnotationNo?: boolean;
  /** Recognizable visual features (faces) are gone: Recognizable Visual Features (0028,0302) NO. */
  readonly recognizableVisualFeaturesNo?: boolean;
  /** CID 7050 codes to add to De-identification Method Code Sequence (0012,0064). */
  readonly methodCodes?: readonly StageMethodCode[];
}

/** A finding of any stage: who found it, where, what (stable code). Never a value. */
export interface ReleaseFinding {
  /** The stage: 'scan', 'deid', a registered stage's name (e.g. 'pixels:text'), 'verify'. */
  readonly stage: string;
  /** Which check found it within the stage ('engine', 'known-name', 'ocr'...). */
  readonly detector: string;
  /** Where, as a tag path: '(0040,A730)[2](0040,A160)'; '' for the whole file. */
  readonly tagPath: string;
  /** Stable code: 'SOP_CLASS_NOT_ALLOWED', 'VERIFY_KNOWN_NAME', 'PIXELS_STAGE_UNAVAILABLE'... */
  readonly code: string;
  /** 'error' holds the file back unless acknowledged; 'warn' is reported only. */
  readonly level: 'error' | 'warn';
  /** Finer, stable detail where the detector has one (the verifier's 'KNOWN_PATIENT_NAME'); never a value. */
  readonly detail?: string;
}

export interface StageInput {
  /** The scanned original (header and element offsets; pixel bytes are read from `source`). */
  readonly file: DicomFile;
  /** The original's bytes (file.source: in memory or read on demand). */
  readonly source: ByteSource;
  /** The header de-identification of this file: its edits, actions and identities. */
  readonly header: DeidResult;
  /** Every edit planned so far (header, then the earlier stages), for a stage that must see what goes out. */
  readonly edits: readonly Edit[];
  readonly config: DeidConfig;
}

export interface StageOutput {
  /**
   * Edits over the original's elements, applied after the header's: an edit on an element the header (or an earlier
   * stage) also edits replaces that edit, e.g. a replace of Pixel Data (7FE0,0010), or attributes to set.
   */
  readonly edits?: readonly Edit[];
  /** What this stage earned for this file (see StageClaims); only a stage that ran can claim. */
  readonly claims?: StageClaims;
  /** What it found; an 'error' finding holds the file back unless the operator acknowledged it. */
  readonly findings?: readonly ReleaseFinding[];
  /** Hold the file back with this code (shorthand for one error finding of this stage). */
  readonly quarantine?: { readonly code: string; readonly tagPath?: string };
  /** Stage-specific facts for the report (counts, boxes, timings): JSON data, never values from the file. */
  readonly report?: Readonly<Record<string, unknown>>;
}

export interface ReleaseStage {
  /** Stable name, used in findings and reports: 'pixels:text', 'pixels:deface'. */
  readonly name: string;
  /** 'pixels': a stage that can earn the pixel claims (config.pixels asks for one). */
  readonly kind?: 'pixels' | 'other';
  /** Whether the stage has work on this file (default: always). A stage that does not apply earns nothing. */
  appliesTo?(file: DicomFile, config: DeidConfig): boolean;
  run(input: StageInput): StageOutput | Promise<StageOutput>;
}
