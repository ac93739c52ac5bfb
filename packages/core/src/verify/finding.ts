/**
 * What the verifier reports: one VerifyFinding per (detector, tag path, code), with the matched text masked. A
 * finding never carries a clear value: `masked` is built from the shape of the value ('J*** S****', '<8 chars>').
 *
 * Every detector has a default level; a configuration may downgrade one to 'warn' or turn it 'off'. The defaults
 * fail closed: everything is an error except the detectors whose hits are only suspicions (a surname alone in a
 * description, an image class that often carries burned-in text) and which a person has to look at.
 *
 * Example:
 *   resolveLevels({ 'known-name-part': 'off' })['known-name']; // 'error'
 */

export type FindingLevel = 'error' | 'warn';
export type DetectorLevel = FindingLevel | 'off';

export interface VerifyFinding {
  /** Which check found it, e.g. 'known-name' (the quarantine reason is 'VERIFY_' + detector upper-snake-cased). */
  readonly detector: string;
  /** Where: "(0040,A730)[2](0040,A160)"; '' for a finding about the whole file. */
  readonly tagPath: string;
  readonly level: FindingLevel;
  /** The matched text masked ('D****** D*******', '<9 chars>'); never the clear value. */
  readonly masked: string;
  /** What exactly, stable: 'KNOWN_PATIENT_NAME', 'ORIGINAL_UID', ... */
  readonly code: string;
}

/** The detectors, their default levels and what they look for (shown by `veil verify --help` and in reports). */
export const DETECTORS = {
  'known-name': {
    level: 'error',
    about: 'a person name of the original (patient, physicians, operators...) in any order',
  },
  'known-name-part': {
    level: 'warn',
    about: 'one component of an original person name alone, or its initials as a whole value',
  },
  'known-id': {
    level: 'error',
    about: 'an identifier of the original (Patient ID, other IDs, accession, order and study IDs, MRN)',
  },
  'known-date': {
    level: 'error',
    about: 'a date of the original written in free text (20130713, 07/13/2013, Jul 13, 2013...)',
  },
  'known-address': { level: 'error', about: 'an address (or its street / postal line) of the original' },
  'known-phone': { level: 'error', about: 'a telephone number of the original, compared digits only' },
  'known-institution': { level: 'error', about: 'the institution name or address of the original' },
  'unshifted-date': {
    level: 'error',
    about: 'a DA/DT value equal to an original date that the date shift does not explain',
  },
  'original-uid': { level: 'error', about: 'an instance UID of the original (not remapped)' },
  phone: { level: 'error', about: 'a telephone number pattern in free text' },
  email: { level: 'error', about: 'an e-mail address in free text' },
  ssn: { level: 'error', about: 'an SSN-like number (123-45-6789) in free text' },
  'mrn-cue': { level: 'error', about: 'a number after a cue word (MRN, Patient ID, Chart #...)' },
  'name-cue': { level: 'error', about: 'a person name after a cue word (Dr., Patient:, Pt:, Mr./Mrs./Ms....)' },
  'identity-removed': { level: 'error', about: 'Patient Identity Removed (0012,0062) is not YES' },
  'private-tag': {
    level: 'error',
    about: 'a private element the configuration does not retain, or an orphan private creator',
  },
  'overlay-graphics': {
    level: 'error',
    about: 'overlay data or overlay / graphic annotation text, unless Clean Graphics',
  },
  'burned-in-text-suspect': {
    level: 'warn',
    about: 'an image likely to carry burned-in text (US, SC, XA, screen captures...)',
  },
  unreadable: { level: 'error', about: 'the output could not be parsed, so it could not be verified' },
  'ambiguous-structure': {
    level: 'error',
    about: 'bytes a strict second reader does not read as the scanner did (stray delimiter, overrun, trailing data)',
  },
  'original-missing': { level: 'warn', about: 'no original was found to compare with (known-value checks skipped)' },
} as const satisfies Record<string, { level: FindingLevel; about: string }>;

export type DetectorName = keyof typeof DETECTORS;

export const DETECTOR_NAMES: readonly DetectorName[] = Object.keys(DETECTORS) as DetectorName[];

export function isDetectorName(name: string): name is DetectorName {
  return Object.hasOwn(DETECTORS, name);
}

/** The level of every detector: the defaults with `overrides` applied (unknown names are ignored here). */
export function resolveLevels(
  overrides?: Readonly<Record<string, DetectorLevel>>,
): Record<DetectorName, DetectorLevel> {
  const out = {} as Record<DetectorName, DetectorLevel>;
  for (const name of DETECTOR_NAMES) out[name] = overrides?.[name] ?? DETECTORS[name].level;
  return out;
}

/** 'known-name' -> 'VERIFY_KNOWN_NAME': the quarantine reason code of a detector. */
export function verifyReasonCode(detector: string): string {
  return `VERIFY_${detector.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
}

/** The first error-level finding (the one a quarantine is named after), or undefined. */
export function firstError(findings: readonly VerifyFinding[]): VerifyFinding | undefined {
  return findings.find((f) => f.level === 'error');
}
