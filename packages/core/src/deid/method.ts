/**
 * What a de-identified instance says about its de-identification (PS3.15 E.1.1, E.2, E.3.6): Patient Identity
 * Removed (0012,0062) YES, De-identification Method (0012,0063) as text, De-identification Method Code Sequence
 * (0012,0064) with the CID 7050 codes of the profile and options applied, Longitudinal Temporal Information
 * Modified (0028,0303). Burned In Annotation (0028,0301) NO, Recognizable Visual Features (0028,0302) NO and the codes
 * 113101 / 113102 are never derived from the configuration: only a pixel stage that ran on the file earns them (the
 * release path, release/claims.ts, adds them from the stage's claims).
 *
 * Example:
 *   methodCodes(config); // [{ scheme: 'DCM', value: '113100', meaning: 'Basic Application Confidentiality Profile' }, ...]
 */

import type { Syntax } from '../dicom/dataset.ts';
import * as Tag from '../dicom/dictionary/tags.ts';
import { encodeElement, encodeItems } from '../dicom/rewriter.ts';
import { formatTag } from '../dicom/tag.ts';
import { findElement } from '../dicom/value.ts';
import type { DeidConfig } from './config.ts';
import {
  BASIC_PROFILE_CODE,
  CLEAN_PIXEL_DATA_CODE,
  CLEAN_VISUAL_FEATURES_CODE,
  type MethodCode,
  OPTION_CODES,
  OPTION_KEYS,
} from './options.ts';
import { PS315_EDITION } from './profiles/_generated/ps315-2024b.ts';
import { latin1, type Run } from './run.ts';

export const PATIENT_IDENTITY_REMOVED = Tag.PatientIdentityRemoved;
export const DEIDENTIFICATION_METHOD = Tag.DeidentificationMethod;
export const DEIDENTIFICATION_METHOD_CODE_SEQUENCE = Tag.DeidentificationMethodCodeSequence;
export const BURNED_IN_ANNOTATION = Tag.BurnedInAnnotation;
export const RECOGNIZABLE_VISUAL_FEATURES = Tag.RecognizableVisualFeatures;
export const LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED = Tag.LongitudinalTemporalInformationModified;

/**
 * The CID 7050 codes of a file: the Basic Profile, each header option of the configuration, and the pixel options a
 * stage earned on this file (`earned`: '113101', '113102'), in code order. config.pixels alone adds nothing: it is a
 * request that the release path checks, not a record of work done.
 */
export function methodCodes(config: DeidConfig, earned: readonly string[] = []): MethodCode[] {
  const codes: MethodCode[] = [BASIC_PROFILE_CODE];
  if (earned.includes(CLEAN_PIXEL_DATA_CODE.value)) codes.push(CLEAN_PIXEL_DATA_CODE);
  if (earned.includes(CLEAN_VISUAL_FEATURES_CODE.value)) codes.push(CLEAN_VISUAL_FEATURES_CODE);
  for (const k of OPTION_KEYS) if (config.options[k]) codes.push(OPTION_CODES[k]);
  return codes.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

/**
 * The values of De-identification Method (LO, one per line, each at most 64 characters): the tool and table
 * edition, then how dates, private tags and overrides were handled.
 */
export function methodText(config: DeidConfig): string[] {
  const lines = [`Veil; PS3.15-${PS315_EDITION} Basic Profile`];
  if (config.options.retainLongitudinalModifiedDates) {
    lines.push(config.dates.mode === 'shift' ? 'Dates shifted per patient' : 'Dates reduced to the year');
  }
  if (config.privateTags === 'tcia') lines.push('Private tags per TCIA Private Tag KB 2024-02-01');
  else if (config.privateTags === 'safe-private') lines.push('Private tags per PS3.15 Table E.3.10-1');
  if (config.overrides.length > 0) lines.push(`Site overrides: ${config.overrides.length}`);
  return lines;
}

/** 'UNMODIFIED' with full dates, 'MODIFIED' with modified dates, else 'REMOVED' (PS3.15 E.2, E.3.6). */
export function longitudinalTemporalInformationModified(config: DeidConfig): 'UNMODIFIED' | 'MODIFIED' | 'REMOVED' {
  if (config.options.retainLongitudinalFullDates) return 'UNMODIFIED';
  if (config.options.retainLongitudinalModifiedDates) return 'MODIFIED';
  return 'REMOVED';
}

function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** The value of De-identification Method Code Sequence: one defined-length item per code, in `syntax`. */
export function encodeMethodCodeSequence(codes: readonly MethodCode[], syntax: Syntax): Uint8Array {
  return encodeItems(
    codes.map((c) => [
      encodeElement(Tag.CodeValue, 'SH', ascii(c.value), syntax),
      encodeElement(Tag.CodingSchemeDesignator, 'SH', ascii(c.scheme), syntax),
      encodeElement(Tag.CodeMeaning, 'LO', ascii(c.meaning), syntax),
    ]),
    syntax,
  );
}

/** Scanner findings after which the end of the dataset is not where a re-reader will find it. */
const TRUNCATION_FINDINGS = new Set(['ITEM_TRUNCATED', 'ITEM_UNTERMINATED', 'SEQUENCE_UNTERMINATED']);

const METHOD_KEYWORDS: Readonly<Record<number, string>> = {
  [PATIENT_IDENTITY_REMOVED]: 'PatientIdentityRemoved',
  [DEIDENTIFICATION_METHOD]: 'DeidentificationMethod',
  [DEIDENTIFICATION_METHOD_CODE_SEQUENCE]: 'DeidentificationMethodCodeSequence',
  [BURNED_IN_ANNOTATION]: 'BurnedInAnnotation',
  [RECOGNIZABLE_VISUAL_FEATURES]: 'RecognizableVisualFeatures',
  [LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED]: 'LongitudinalTemporalInformationModified',
};

/**
 * Adds (or replaces) Patient Identity Removed, De-identification Method, its Code Sequence and Longitudinal Temporal
 * Information Modified in the run's dataset. A truncated file is quarantined (DICOM_TRUNCATED) and gets nothing after
 * its last element.
 */
export function addMethodAttributes(run: Run): void {
  const ds = run.file.dataset;
  // After a truncated or unterminated sequence, bytes appended at the end of the dataset would be read back as
  // part of it: such files are quarantined, and nothing is appended after their last element.
  const truncated = run.file.findings.some((f) => TRUNCATION_FINDINGS.has(f.code));
  if (truncated) run.setQuarantine('DICOM_TRUNCATED', '');
  const last = ds.elements.at(-1)?.tag ?? 0;
  const put = (tag: number, vr: string, value: Uint8Array) => {
    const el = findElement(ds, tag);
    if (!el && truncated && tag > last) return;
    if (el) run.edits.push({ op: 'replace', element: el, value, vr });
    else run.edits.push({ op: 'insert', container: ds, tag, vr, value });
    run.actions.push({
      tagPath: formatTag(tag),
      keyword: METHOD_KEYWORDS[tag] ?? '',
      action: el ? 'D' : 'add',
      rule: 'method',
    });
  };
  put(PATIENT_IDENTITY_REMOVED, 'CS', latin1('YES'));
  put(DEIDENTIFICATION_METHOD, 'LO', latin1(run.compiled.methodValue));
  const syntaxKey = `${ds.syntax.explicitVR}/${ds.syntax.littleEndian}`;
  let codes = run.compiled.codeSequences.get(syntaxKey);
  if (codes === undefined) {
    codes = encodeMethodCodeSequence(run.compiled.methodCodes, ds.syntax);
    run.compiled.codeSequences.set(syntaxKey, codes);
  }
  put(DEIDENTIFICATION_METHOD_CODE_SEQUENCE, 'SQ', codes);
  // Burned In Annotation / Recognizable Visual Features NO are not the header engine's to state: a pixel stage
  // earns them (release/claims.ts), whatever config.pixels asks for.
  put(LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED, 'CS', latin1(run.compiled.ltim));
}
