/**
 * The options of the Basic Application Level Confidentiality Profile (PS3.15 E.3) that Table E.1-1 has a column
 * for, their CID 7050 codes, and the precedence among option columns.
 *
 * PS3.15 E.1.1: "A requirement for an Option, when implemented, overrides any requirement for the underlying
 * Profile." The standard does not rank options against each other; a row can have several cells (Calibration Date:
 * Retain Device Identity K, Retain Longitudinal Full Dates K, Modified Dates C). Veil takes the first enabled option
 * whose cell is not empty, in OPTION_PRECEDENCE order:
 *   1. the temporal options first, because on a date they say what happens to the value itself: Full Dates keeps
 *      it, Modified Dates shifts it (a device's calibration date kept for Retain Device Identity is still shifted
 *      when dates are modified);
 *   2. the retain options (UIDs, device, institution, patient characteristics, safe private): "each Attribute
 *      specified to be retained shall be retained";
 *   3. the clean options (descriptors, structured content, graphics).
 * Retain Longitudinal Full Dates and Modified Dates exclude each other (parseDeidConfig rejects both at once).
 *
 * Example:
 *   optionCell('.....KC...', { ...NO_OPTIONS, retainLongitudinalModifiedDates: true }); // { action: 'C', option: ... }
 */
import { PS315_OPTION_COLUMNS } from './profiles/_generated/ps315-2024b.ts';
import { CID7050 } from './profiles/_generated/ps316-cid7050.ts';

export interface DeidOptions {
  retainSafePrivate: boolean;
  retainUIDs: boolean;
  retainDeviceIdentity: boolean;
  retainInstitutionIdentity: boolean;
  retainPatientCharacteristics: boolean;
  retainLongitudinalFullDates: boolean;
  retainLongitudinalModifiedDates: boolean;
  cleanDescriptors: boolean;
  cleanStructuredContent: boolean;
  cleanGraphics: boolean;
}

export type OptionKey = keyof DeidOptions;

/** The Basic Profile alone: the strictest configuration. */
export const NO_OPTIONS: Readonly<DeidOptions> = Object.freeze({
  retainSafePrivate: false,
  retainUIDs: false,
  retainDeviceIdentity: false,
  retainInstitutionIdentity: false,
  retainPatientCharacteristics: false,
  retainLongitudinalFullDates: false,
  retainLongitudinalModifiedDates: false,
  cleanDescriptors: false,
  cleanStructuredContent: false,
  cleanGraphics: false,
});

export const OPTION_KEYS: readonly OptionKey[] = PS315_OPTION_COLUMNS;

export const OPTION_PRECEDENCE: readonly OptionKey[] = [
  'retainLongitudinalFullDates',
  'retainLongitudinalModifiedDates',
  'retainUIDs',
  'retainDeviceIdentity',
  'retainInstitutionIdentity',
  'retainPatientCharacteristics',
  'retainSafePrivate',
  'cleanDescriptors',
  'cleanStructuredContent',
  'cleanGraphics',
];

/** A code of CID 7050 "De-identification Method" (generated from PS3.16: profiles/_generated/ps316-cid7050.ts). */
export interface MethodCode {
  /** Coding Scheme Designator: 'DCM'. */
  readonly scheme: string;
  readonly value: string;
  readonly meaning: string;
}

export const BASIC_PROFILE_CODE: MethodCode = CID7050.BasicApplicationConfidentialityProfile;
export const CLEAN_PIXEL_DATA_CODE: MethodCode = CID7050.CleanPixelDataOption;
export const CLEAN_VISUAL_FEATURES_CODE: MethodCode = CID7050.CleanRecognizableVisualFeaturesOption;

export const OPTION_CODES: Readonly<Record<OptionKey, MethodCode>> = {
  cleanGraphics: CID7050.CleanGraphicsOption,
  cleanStructuredContent: CID7050.CleanStructuredContentOption,
  cleanDescriptors: CID7050.CleanDescriptorsOption,
  retainLongitudinalFullDates: CID7050.RetainLongitudinalTemporalInformationFullDatesOption,
  retainLongitudinalModifiedDates: CID7050.RetainLongitudinalTemporalInformationModifiedDatesOption,
  retainPatientCharacteristics: CID7050.RetainPatientCharacteristicsOption,
  retainDeviceIdentity: CID7050.RetainDeviceIdentityOption,
  retainUIDs: CID7050.RetainUidsOption,
  retainSafePrivate: CID7050.RetainSafePrivateOption,
  retainInstitutionIdentity: CID7050.RetainInstitutionIdentityOption,
};

/**
 * The option cell that decides a row, given the row's options string (one character per PS315_OPTION_COLUMNS
 * entry: 'K', 'C' or '.') and the enabled options; undefined when the Basic Profile action stands.
 */
export function optionCell(cells: string, options: DeidOptions): { action: 'K' | 'C'; option: OptionKey } | undefined {
  for (const option of OPTION_PRECEDENCE) {
    if (!options[option]) continue;
    const c = cells[OPTION_KEYS.indexOf(option)];
    if (c === 'K' || c === 'C') return { action: c, option };
  }
  return undefined;
}
