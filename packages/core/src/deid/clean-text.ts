/**
 * Cleaning free text (the C action on descriptors, PS3.15 E.3.5; text in structured content, E.3.4; text
 * annotations, E.3.3). Veil removes from the text every occurrence of the file's own identifying values and of
 * common identifier patterns, and puts REDACTED in their place:
 *
 *  - names: every PN value of the file, at any depth (patient, physicians, operators...), as "Family^Given",
 *    "Given Family", "Family, Given", each component of two letters or more alone, and initials ("J.D.", "J. D.",
 *    and undotted "JMD" when there are three or more);
 *  - identifiers: Patient ID, Other Patient IDs, Accession Number, Study ID, admission/order/procedure IDs...
 *    (three characters or more, as whole words);
 *  - dates: every DA value (and the date of every DT value) in the common written forms: 20130713, 2013-07-13,
 *    2013/07/13, 2013.07.13, 07/13/2013, 13/07/2013, 13.07.2013, 7/13/2013, 07/13/13, 2013 Jul 13, Jul 13, 2013,
 *    13 July 2013...;
 *  - addresses (the whole value and each line / comma-separated part of four characters or more), telephone
 *    numbers (digits in any formatting), institution and station names unless their Retain option is set;
 *  - patterns: e-mail addresses, SSN-like numbers (123-45-6789), telephone-like numbers with separators, numeric
 *    dates with a 19xx/20xx year.
 *
 * This catches what the file itself knows and the obvious patterns; free-text PHI detection in general (names the
 * file does not contain) is packages/text's job.
 *
 * Example:
 *   const scrub = buildScrubber(collectIdentifyingValues(file.dataset, options));
 *   scrub('CT chest for Douglas Davidson 06/16/1976'); // 'CT chest for [REDACTED] [REDACTED]'
 */

import type { ElementContainer } from '../dicom/dataset.ts';
import * as Tag from '../dicom/dictionary/tags.ts';
import { readStrings, walkElements } from '../dicom/value.ts';
import type { DeidOptions } from './options.ts';

export const REDACTED = '[REDACTED]';

export interface IdentifyingValues {
  readonly names: readonly string[];
  readonly ids: readonly string[];
  /** YYYYMMDD */
  readonly dates: readonly string[];
  readonly addresses: readonly string[];
  readonly phones: readonly string[];
  readonly others: readonly string[];
}

const ID_TAGS = new Set([
  Tag.PatientID,
  Tag.OtherPatientIDs,
  Tag.IssuerOfPatientID,
  Tag.MedicalRecordLocator,
  Tag.InsurancePlanIdentification,
  Tag.AccessionNumber,
  Tag.StudyID,
  Tag.AdmissionID,
  Tag.ServiceEpisodeID,
  Tag.ScheduledProcedureStepID,
  Tag.PerformedProcedureStepID,
  Tag.RequestedProcedureID,
  Tag.PlacerOrderNumberImagingServiceRequest,
  Tag.FillerOrderNumberImagingServiceRequest,
  Tag.SpecimenAccessionNumber,
  Tag.ClinicalTrialSubjectID, // a site may use the MRN
]);
const ADDRESS_TAGS = new Set([
  Tag.PatientAddress,
  Tag.InstitutionAddress,
  Tag.ReferringPhysicianAddress,
  Tag.PersonAddress,
  Tag.RegionOfResidence,
  Tag.PatientInstitutionResidence,
]);
const PHONE_TAGS = new Set([
  Tag.PatientTelephoneNumbers,
  Tag.ReferringPhysicianTelephoneNumbers,
  Tag.PersonTelephoneNumbers,
  Tag.OrderCallbackPhoneNumber,
  Tag.TelephoneNumberTrial,
]);
const INSTITUTION_TAGS = new Set([Tag.InstitutionName, Tag.InstitutionalDepartmentName, Tag.PerformedLocation]);
const DEVICE_TAGS = new Set([Tag.StationName, Tag.DeviceSerialNumber]);

/** Collects the identifying values of a dataset (every depth) that cleaning must remove from free text. */
export function collectIdentifyingValues(dataset: ElementContainer, options: DeidOptions): IdentifyingValues {
  const names = new Set<string>();
  const ids = new Set<string>();
  const dates = new Set<string>();
  const addresses = new Set<string>();
  const phones = new Set<string>();
  const others = new Set<string>();
  walkElements(dataset, (el) => {
    if (el.items !== undefined || (el.tag >>> 16) % 2 === 1) return; // private: removed or known to be safe
    const tag = el.tag;
    const vr = el.vr;
    const isId = ID_TAGS.has(tag);
    const isAddress = ADDRESS_TAGS.has(tag);
    const isPhone = PHONE_TAGS.has(tag);
    const isOther =
      (!options.retainInstitutionIdentity && INSTITUTION_TAGS.has(tag)) ||
      (!options.retainDeviceIdentity && DEVICE_TAGS.has(tag));
    if (vr !== 'PN' && vr !== 'DA' && vr !== 'DT' && !isId && !isAddress && !isPhone && !isOther) return;
    if (el.length === 0 || el.length === 0xffffffff || el.length > 65536) return;
    for (const v of readStrings(el)) {
      if (v === '') continue;
      if (vr === 'PN') names.add(v);
      else if (vr === 'DA') {
        if (/^\d{8}$/.test(v)) dates.add(v);
      } else if (vr === 'DT') {
        if (/^\d{8}/.test(v)) dates.add(v.slice(0, 8));
      } else if (isId) ids.add(v);
      else if (isAddress) addresses.add(v);
      else if (isPhone) phones.add(v);
      else others.add(v);
    }
  });
  return {
    names: [...names],
    ids: [...ids],
    dates: [...dates],
    addresses: [...addresses],
    phones: [...phones],
    others: [...others],
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Words of a phrase joined by any run of separators: "Douglas Davidson" ~ "DOUGLAS^DAVIDSON" ~ "Douglas, Davidson". */
function phrasePattern(words: readonly string[]): string {
  return words.map(escapeRegExp).join('[\\s^,._-]+');
}

function namePatterns(pn: string): string[] {
  const out: string[] = [];
  for (const group of pn.split('=')) {
    const parts = group
      .split('^')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    if (parts.length === 0) continue;
    const [family, given, middle] = parts as [string, string | undefined, string | undefined];
    // Each component, and each word of it, of two characters or more.
    for (const p of parts) {
      for (const w of p.split(/[\s,.-]+/)) if ([...w].length >= 2) out.push(escapeRegExp(w));
      if (/\s/.test(p)) out.push(phrasePattern(p.split(/\s+/)));
    }
    const words = (s: string | undefined) => (s === undefined ? [] : s.split(/\s+/));
    if (given !== undefined) {
      out.push(phrasePattern([...words(family), ...words(given)]));
      out.push(phrasePattern([...words(given), ...words(family)]));
      if (middle !== undefined) {
        out.push(phrasePattern([...words(given), ...words(middle), ...words(family)]));
        out.push(phrasePattern([...words(family), ...words(given), ...words(middle)]));
      }
      // Initials: "D.D.", "D. D." in both orders; undotted only with three letters or more.
      const initials = [given, middle, family].filter((x): x is string => x !== undefined).map((x) => [...x][0]!);
      for (const order of [initials, [...initials].reverse()]) {
        out.push(`${order.map(escapeRegExp).join('\\.\\s?')}\\.`);
        if (order.length >= 3) out.push(order.map(escapeRegExp).join(''));
      }
    }
  }
  return out;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

function datePatterns(ymd: string): string[] {
  const y = ymd.slice(0, 4);
  const yy = ymd.slice(2, 4);
  const m = ymd.slice(4, 6);
  const d = ymd.slice(6, 8);
  const mi = Number(m);
  const di = Number(d);
  if (mi < 1 || mi > 12 || di < 1 || di > 31) return [escapeRegExp(ymd)];
  const mm = `0?${mi}`;
  const dd = `0?${di}`;
  const month = MONTHS[mi - 1]!;
  const mon = `(?:${month.slice(0, 3)}|${month})\\.?`;
  return [
    ymd,
    `${y}[-/.]${m}[-/.]${d}`,
    `${mm}[-/.]${dd}[-/.](?:${y}|${yy})`,
    `${dd}[-/.]${mm}[-/.](?:${y}|${yy})`,
    `${y}\\s${mon}\\s${dd}`,
    `${mon}\\s${dd},?\\s${y}`,
    `${dd}\\s${mon},?\\s${y}`,
    `${dd}-${mon}-${y}`,
  ];
}

function phonePattern(phone: string): string | undefined {
  const digits = phone.replace(/\D/g, '');
  if (digits.length < 7) return undefined;
  return digits.split('').join('[\\s().+-]*');
}

const GENERIC = [
  '[\\w.+-]+@[\\w-]+(?:\\.[\\w-]+)+', // e-mail
  '\\d{3}-\\d{2}-\\d{4}', // SSN-like
  '(?:\\+?\\d{1,3}[\\s.-]?)?(?:\\(\\d{3}\\)\\s?|\\d{3}[\\s.-])\\d{3}[\\s.-]\\d{4}', // telephone-like
  '\\d{1,2}[/.-]\\d{1,2}[/.-](?:19|20)\\d{2}', // 07/13/2013, 13.07.2013
  '(?:19|20)\\d{2}[/.-](?:0?[1-9]|1[0-2])[/.-](?:0?[1-9]|[12]\\d|3[01])', // 2013-07-13
];

/**
 * A function that replaces every identifying value and pattern in a text by REDACTED. Matches are whole words
 * (not inside a longer run of letters or digits), case-insensitive, longest first.
 */
export function buildScrubber(values: IdentifyingValues): (text: string) => string {
  const alternatives = new Set<string>(GENERIC);
  for (const n of values.names) for (const p of namePatterns(n)) alternatives.add(p);
  for (const id of values.ids) if (id.length >= 3) alternatives.add(escapeRegExp(id));
  for (const d of values.dates) for (const p of datePatterns(d)) alternatives.add(p);
  for (const a of values.addresses) {
    alternatives.add(phrasePattern(a.split(/\s+/)));
    for (const part of a.split(/[\n\r^,;]+/)) {
      const t = part.trim();
      if (t.length >= 4) alternatives.add(phrasePattern(t.split(/\s+/)));
    }
  }
  for (const p of values.phones) {
    const pat = phonePattern(p);
    if (pat !== undefined) alternatives.add(pat);
  }
  for (const o of values.others) if (o.trim().length >= 3) alternatives.add(phrasePattern(o.trim().split(/\s+/)));
  // Longest pattern first, so that "Douglas Davidson" wins over "Douglas".
  const sorted = [...alternatives].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  const re = new RegExp(`(?<![\\p{L}\\p{N}])(?:${sorted.join('|')})(?![\\p{L}\\p{N}])`, 'giu');
  return (text: string) => text.replace(re, REDACTED);
}
