/**
 * The de-identification engine: turns a scanned file and a configuration into a list of byte-range edits (for
 * rewrite()), a record of what was done to which attribute (no values), the identities for the encrypted crosswalk
 * and, when the file must not go out, a quarantine code.
 *
 * One run (run.ts) goes through the stages in order: the dataset, element by element at every depth (walk.ts, which
 * decides with policy.ts and carries out with apply.ts); then the file meta information (file-meta.ts, its own
 * rules); then the attributes that describe the de-identification (method.ts). policy.ts gives the order of decisions
 * for one element; README.md the reasoning.
 *
 * Example:
 *   const config = parseDeidConfig({ options: { retainPatientCharacteristics: true } });
 *   const result = deidentify(file, config, { key });
 *   if (!result.quarantine) out = writeDeidentified(file, result);
 */

import type { DicomFile } from '../dicom/dataset.ts';
import * as Tag from '../dicom/dictionary/tags.ts';
import { VeilError } from '../dicom/errors.ts';
import { type Edit, materialize, planRewrite, type RewritePlan, zeroPrefix } from '../dicom/rewriter.ts';
import { findElement, readString } from '../dicom/value.ts';
import { pseudoAccession } from '../pseudonym/accession.ts';
import { MIN_KEY_BYTES } from '../pseudonym/hmac.ts';
import type { DeidConfig } from './config.ts';
import { walkMeta } from './file-meta.ts';
import { addMethodAttributes } from './method.ts';
import { compile } from './policy.ts';
import { type ActionRecord, type FreeTextCleaner, isSequence, Run } from './run.ts';
import { walkDataset } from './walk.ts';

export { VEIL_IMPLEMENTATION_CLASS_UID, VEIL_IMPLEMENTATION_VERSION_NAME } from './file-meta.ts';
export type { ActionRecord, FreeTextCleaner } from './run.ts';

export interface DeidKeys {
  /** The project secret, at least 32 bytes. */
  readonly key: Uint8Array;
  /**
   * An injected free-text de-identifier (the app passes @veil/text's textCleaner): called first on every free-text
   * value the C action cleans (Clean Descriptors, Clean Structured Content...), with the file's identifying values;
   * the built-in scrubber still runs after it as a safety net. Absent: the built-in scrubber alone.
   */
  readonly cleanFreeText?: FreeTextCleaner | undefined;
}

export interface DeidResult {
  readonly edits: Edit[];
  readonly actions: ActionRecord[];
  /**
   * Set when the output must not be released as is: SOP_CLASS_NOT_ALLOWED, PATIENT_NOT_IN_LOOKUP,
   * DEID_DICOMDIR (directory offsets would be wrong), DICOM_TRUNCATED (the input is cut short: the attributes Veil adds
   * at the end of the dataset are left out), DEID_ENCAPSULATED_DOCUMENT (its content cannot be
   * de-identified here), CHARSET_UNENCODABLE (an override value; the element was removed instead),
   * DEID_FREE_TEXT_LIMIT (more free text than limits.maxFreeTextChars for the text engine). The edits are
   * complete all the same, so a caller that writes them anyway leaks nothing the profile removes.
   */
  readonly quarantine: { code: string; path: string } | undefined;
  /** Every reason to hold the file back, in the order found (the first is `quarantine`); empty when none. */
  readonly quarantines: readonly { code: string; path: string }[];
  /** PHI: only for the encrypted crosswalk. */
  readonly identity: {
    patientId?: string;
    pseudoPatientId?: string;
    accession?: string;
    pseudoAccession?: string;
    studyUID?: string;
    pseudoStudyUID?: string;
  };
  /** The patient's date shift, when at least one value was shifted. */
  readonly dateShiftDays: number | undefined;
  /** The preamble (first 128 bytes) may hold anything (TIFF headers...): writeDeidentified() zeroes it. */
  readonly clearPreamble: boolean;
}

const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';

/**
 * De-identifies one scanned file: returns the edits that make the de-identified file (apply them with rewrite(),
 * or writeDeidentified() which also clears the preamble), what was done where, the identities for the crosswalk
 * and whether to quarantine. Pure: the same file, config and key always give the same result.
 */
export function deidentify(file: DicomFile, config: DeidConfig, keys: DeidKeys): DeidResult {
  if (!(keys.key instanceof Uint8Array) || keys.key.length < MIN_KEY_BYTES) throw new VeilError('DEID_KEY_TOO_SHORT');
  const compiled = compile(config);
  const ds = file.dataset;
  const str = (tag: number): string | undefined => {
    const el = findElement(ds, tag);
    return el && !isSequence(el) ? readString(el) : undefined;
  };
  const originalPatientId = str(Tag.PatientID)?.trim();
  const run = new Run(file, config, compiled, keys.key, originalPatientId, keys.cleanFreeText);

  const sopClass = str(Tag.SOPClassUID) ?? '';
  if (compiled.allow && !compiled.allow.has(sopClass)) run.setQuarantine('SOP_CLASS_NOT_ALLOWED', '(0008,0016)');
  if (config.lookup && (originalPatientId === undefined || !config.lookup.has(originalPatientId))) {
    run.setQuarantine('PATIENT_NOT_IN_LOOKUP', '(0010,0020)');
  }
  const metaClass = file.meta ? findElement(file.meta, Tag.MediaStorageSOPClassUID) : undefined;
  if (sopClass === MEDIA_STORAGE_DIRECTORY || (metaClass && readString(metaClass) === MEDIA_STORAGE_DIRECTORY)) {
    run.setQuarantine('DEID_DICOMDIR', '(0002,0002)');
  }

  walkDataset(run);
  walkMeta(run);
  addMethodAttributes(run);

  const identity: {
    patientId?: string;
    pseudoPatientId?: string;
    accession?: string;
    pseudoAccession?: string;
    studyUID?: string;
    pseudoStudyUID?: string;
  } = { pseudoPatientId: run.pseudoId };
  if (originalPatientId !== undefined && originalPatientId !== '') identity.patientId = originalPatientId;
  const accession = str(Tag.AccessionNumber)?.trim();
  if (accession) {
    identity.accession = accession;
    identity.pseudoAccession = pseudoAccession(accession, keys.key);
  }
  const study = str(Tag.StudyInstanceUID)?.trim();
  if (study) {
    identity.studyUID = study;
    identity.pseudoStudyUID = run.newStudyUID ?? study;
  }
  return {
    edits: run.edits,
    actions: run.actions,
    quarantine: run.quarantine,
    quarantines: run.quarantines,
    identity,
    dateShiftDays: run.shifted ? run.shiftDays() : undefined,
    clearPreamble: file.hasPreamble,
  };
}

/** Plans the de-identified file: the edits, and the 128-byte preamble zeroed (PS3.15 E.1.1). */
export function planDeidentified(file: DicomFile, result: DeidResult): RewritePlan {
  const plan = planRewrite(file, result.edits);
  return result.clearPreamble ? zeroPrefix(plan, 128) : plan;
}

/** Applies a de-identification result in memory: the rewritten file, with its preamble zeroed. */
export function writeDeidentified(file: DicomFile, result: DeidResult): Uint8Array {
  return materialize(file.source, planDeidentified(file, result).segments);
}
