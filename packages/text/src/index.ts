/**
 * @veil/text: free-text PHI detection and replacement for reports, DICOM text values and LLM prompts. Pure and
 * offline: a layered rule and lexicon engine (no model), no Node built-ins, no I/O, no clock.
 *
 * Example:
 *   import { deidentify, detectPhi } from '@veil/text';
 *   detectPhi('Pt John Smith, DOB 01/02/1950, MRN 123456');      // spans with type and confidence
 *   deidentify(report, { mode: 'surrogate', key, patientKey: 'P1' }).text;
 */
export { dateShiftDays } from './calendar.ts';
export { ibanValid, luhnValid, nhsValid } from './checksums.ts';
export { type DateOrder, shiftDateText } from './date-shift.ts';
export {
  type DeidentifyOptions,
  type DeidentifyResult,
  deidentify,
  type OutputMode,
  type Replacement,
} from './deidentify.ts';
export { type DetectOptions, detectPhi } from './detect.ts';
export { type IdentifyingValuesLike, knownValuesFrom, textCleaner } from './dicom-text.ts';
/** The medical safe-lists (also read by scripts/codegen/text-lexicons.ts, which keeps clinical words out of places). */
export { LATIN_CLINICAL, SAFE_ACRONYMS, SAFE_PROPER } from './lexicon/medical.ts';
export type { ReportResult } from './reports/common.ts';
export { deidentifyFhir, looksLikeFhir } from './reports/fhir.ts';
export { deidentifyHl7, looksLikeHl7 } from './reports/hl7.ts';
export { type SurrogateOptions, Surrogates } from './surrogates.ts';
export { type KnownValue, PHI_TYPES, type PhiType, type Span } from './types.ts';
