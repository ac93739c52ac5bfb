/** The PHI types the engine finds, and the span it reports for each finding. */

export const PHI_TYPES = [
  'NAME',
  'DATE',
  'AGE',
  'ID',
  'PHONE',
  'FAX',
  'EMAIL',
  'URL',
  'IP',
  'SSN',
  'ACCOUNT',
  'LICENSE',
  'DEVICE',
  'ADDRESS',
  'CITY',
  'STATE',
  'ZIP',
  'HOSPITAL',
] as const;

export type PhiType = (typeof PHI_TYPES)[number];

/** One finding: [start, end) in UTF-16 code units of the input, with the rule that made it. Never holds the value. */
export interface Span {
  start: number;
  end: number;
  type: PhiType;
  /** 0..1: how sure the rule is; spans under the engine's threshold are dropped. */
  confidence: number;
  /** The rule id (e.g. `name.title`, `id.luhn`): stable, for reports and tuning. */
  rule: string;
}

/** A value the caller already knows is PHI (e.g. from the study's DICOM header): found wherever it is written. */
export interface KnownValue {
  type: PhiType;
  value: string;
}
