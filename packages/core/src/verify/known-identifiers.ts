/**
 * The identifying values of an original file, in the forms the verifier looks for them in the output:
 *
 *  - person names: every PN value at any depth (patient, other names, physicians, operators, SR observers...) and
 *    names written after a cue word in the original's free text. A name of two components or more is searched as
 *    a phrase in every order people write it: "Family Given", "Given Family", "Given Middle Family", "Family Given
 *    Middle", "Given M. Family" (separators and case do not matter: "Davidson, Douglas", "DAVIDSON^DOUGLAS" and
 *    "douglas davidson" are one form). Scripts written without spaces (山田太郎) are also searched without spaces;
 *  - name parts (warn only): each name word of four letters or more alone, and initials of three letters or more
 *    as a whole value. Shorter parts and two-letter initials are not searched: "Li", "JD", "CT" are everywhere in
 *    de-identified headers (abbreviations, codes) and identify no one alone; longer surnames are still common
 *    words often enough ("Brown", "Chest") that a person has to look, hence 'warn';
 *  - identifiers: Patient ID, Other Patient IDs, accession, study, admission, order and procedure step IDs, MRNs
 *    written after a cue word; as whole words, when they can be told from ordinary numbers (four characters with a
 *    digit, five digits, or six letters);
 *  - dates: every DA value and DT date at any depth, as YYYYMMDD (searched in text in all written forms, and
 *    compared with the output's DA/DT values by path), with the path of each;
 *  - addresses (whole, each line or comma part with a digit, and the street: number and two words), telephone
 *    numbers (digits only, the last ten), institution names and addresses;
 *  - instance UIDs: every UI value that is not a class, transfer syntax or coding scheme UID, and not a UID of the
 *    standard (1.2.840.10008...).
 *
 * Placeholder values that identify no one (ANONYMIZED, UNKNOWN, PHANTOM, TEST...) and the de-identifier's own
 * dummies (19000101) are left out: test data is full of them and finding them in the output means nothing.
 *
 * The result holds clear values: it lives in memory for one comparison and is never printed or stored.
 *
 * Example:
 *   const known = extractKnownIdentifiers(scanFile(originalBytes));
 *   known.needles.length; // e.g. 23
 */

import type { DicomElement, DicomFile } from '../dicom/dataset.ts';
import { lookupTag } from '../dicom/dictionary/index.ts';
import * as Tag from '../dicom/dictionary/tags.ts';
import { elementPath } from '../dicom/tag-path.ts';
import { readString, readStrings, walkElements } from '../dicom/value.ts';
import { usesCharacterSet } from '../dicom/vr.ts';
import type { DetectorName } from './finding.ts';
import { maskLength, maskName } from './mask.ts';
import { memoize } from './memo.ts';
import { compactForm, datesOfValue, digitsOf, stripNuls, wordForm } from './normalize.ts';
import { findCuedIds, findCuedNames } from './patterns.ts';

export interface KnownNeedle {
  readonly detector: DetectorName;
  readonly code: string;
  /**
   * 'words': `text` (' WORD WORD ') occurs in the word form of the output text. 'compact': `text` occurs in the
   * compact form. 'digits': `text` occurs in the digits of a number-like run. 'whole': the compact form of the whole
   * value equals `text`.
   */
  readonly match: 'words' | 'compact' | 'digits' | 'whole';
  readonly text: string;
  /** The needle masked, for the finding. */
  readonly masked: string;
}

export interface KnownIdentifiers {
  readonly needles: readonly KnownNeedle[];
  /** Every date of the original, YYYYMMDD. */
  readonly dates: readonly string[];
  /** The dates of each DA/DT element of the original by tag path, joined by backslashes. */
  readonly datesByPath: Readonly<Record<string, string>>;
  /** Instance UIDs of the original. */
  readonly uids: readonly string[];
}

const PATIENT_NAME_TAGS = new Set([
  Tag.PatientName,
  Tag.OtherPatientNames,
  Tag.PatientBirthName,
  Tag.PatientMotherBirthName,
]);

const ID_CODES = ['KNOWN_PATIENT_ID', 'KNOWN_ACCESSION', 'KNOWN_OTHER_ID'] as const;

const ID_TAGS: ReadonlyMap<number, (typeof ID_CODES)[number]> = new Map([
  [Tag.PatientID, 'KNOWN_PATIENT_ID'],
  [Tag.OtherPatientIDs, 'KNOWN_PATIENT_ID'],
  [Tag.MedicalRecordLocator, 'KNOWN_PATIENT_ID'],
  [Tag.AccessionNumber, 'KNOWN_ACCESSION'],
  [Tag.SpecimenAccessionNumber, 'KNOWN_ACCESSION'],
  [Tag.StudyID, 'KNOWN_OTHER_ID'],
  [Tag.AdmissionID, 'KNOWN_OTHER_ID'],
  [Tag.ServiceEpisodeID, 'KNOWN_OTHER_ID'],
  [Tag.ScheduledProcedureStepID, 'KNOWN_OTHER_ID'],
  [Tag.PerformedProcedureStepID, 'KNOWN_OTHER_ID'],
  [Tag.RequestedProcedureID, 'KNOWN_OTHER_ID'],
  [Tag.PlacerOrderNumberImagingServiceRequest, 'KNOWN_OTHER_ID'],
  [Tag.FillerOrderNumberImagingServiceRequest, 'KNOWN_OTHER_ID'],
  [Tag.InsurancePlanIdentification, 'KNOWN_OTHER_ID'],
]);

const ADDRESS_TAGS = new Set([
  Tag.PatientAddress,
  Tag.ReferringPhysicianAddress,
  Tag.PersonAddress,
  Tag.PatientInstitutionResidence,
]);

const PHONE_TAGS = new Set([
  Tag.PatientTelephoneNumbers,
  Tag.ReferringPhysicianTelephoneNumbers,
  Tag.PersonTelephoneNumbers,
  Tag.OrderCallbackPhoneNumber,
  Tag.PatientTelecomInformation,
  Tag.PersonTelecomInformation,
]);

/** Values that identify no one (word forms, spaces removed). */
const PLACEHOLDERS = new Set([
  'ANONYMIZED',
  'ANONYMISED',
  'ANONYMOUS',
  'ANON',
  'UNKNOWN',
  'NONE',
  'NULL',
  'NA',
  'TEST',
  'TESTPATIENT',
  'PATIENT',
  'PATIENTNAME',
  'PHANTOM',
  'DEMO',
  'SAMPLE',
  'NAME',
  'NONAME',
  'REMOVED',
  'DELETED',
  'REDACTED',
  'HOSPITAL',
  'INSTITUTION',
  'INSTITUTIONNAME',
  'DEPARTMENT',
  'RADIOLOGY',
  'CLINIC',
  'ADDRESS',
]);

const PLACEHOLDER_DATES = new Set(['19000101', '00010101']);

const CLASS_UID_KEYWORD =
  /ClassUID|ClassesInStudy|SOPClassesSupported|TransferSyntaxUID|CodingSchemeUID|ContextGroupExtensionCreatorUID|PrivateInformationCreatorUID|MappingResourceUID|CreatorVersionUID|ContextUID$/;
const classUIDAttributes = new Map<number, boolean>();

/** UI attributes that name a class of things, not an instance: never remapped, never identifying. */
function isClassUIDAttribute(tag: number): boolean {
  let yes = classUIDAttributes.get(tag);
  if (yes === undefined) {
    yes =
      tag === Tag.TransferSyntaxUID ||
      tag === Tag.ImplementationClassUID ||
      tag === Tag.MediaStorageSOPClassUID ||
      CLASS_UID_KEYWORD.test(lookupTag(tag)?.keyword ?? '');
    // Public tags are a fixed set; private ones could be many: only the former are remembered.
    if ((tag >>> 16) % 2 === 0) classUIDAttributes.set(tag, yes);
  }
  return yes;
}

function letterCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return (s.match(/\p{L}/gu) ?? []).length;
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) n++;
  }
  return n;
}

/**
 * A needle whose masked form is made when a finding asks for it: most needles never match, and masking each one as
 * it was made (a name's words split, each masked) cost about as much as making the needle. `shown` is the value as
 * the masked form describes it, held in memory like `text` and never printed.
 */
class Needle implements KnownNeedle {
  /** What makes two needles one (match and text): made once per value, as the makers are memoised. */
  readonly key: string;
  constructor(
    readonly detector: DetectorName,
    readonly code: string,
    readonly match: KnownNeedle['match'],
    readonly text: string,
    private readonly shown: string,
    private readonly asName: boolean,
  ) {
    this.key = `${match}\0${text}`;
  }

  get masked(): string {
    return this.asName ? maskName(this.shown) : maskLength(this.shown);
  }
}

/** The needles of one value (a pure function of the value: see the memoized makers below). */
class Needles {
  readonly list: Needle[] = [];

  add(
    detector: DetectorName,
    code: string,
    match: KnownNeedle['match'],
    text: string,
    shown: string,
    asName: boolean,
  ): void {
    this.list.push(new Needle(detector, code, match, text, shown, asName));
  }

  /** A phrase of words (already in word form, no padding). */
  phrase(detector: DetectorName, code: string, words: readonly string[]): void {
    if (words.length === 0) return;
    const compact = words.join('');
    if (PLACEHOLDERS.has(compact) || letterCount(compact) + digitsOf(compact).length < 4) return;
    const phrase = words.join(' ');
    this.add(detector, code, 'words', ` ${phrase} `, phrase, true);
  }

  name(value: string, patient: boolean): void {
    const code = patient ? 'KNOWN_PATIENT_NAME' : 'KNOWN_PERSON_NAME';
    for (const group of value.split('=')) {
      const comps = group.split('^');
      const words = (i: number): string[] =>
        wordForm(comps[i] ?? '')
          .trim()
          .split(' ')
          .filter((w) => w !== '');
      const family = words(0);
      const given = words(1);
      const middle = words(2);
      const all = [...family, ...given, ...middle];
      if (all.length === 0) continue;
      if (family.length > 0 && given.length > 0) {
        this.phrase('known-name', code, [...family, ...given]);
        this.phrase('known-name', code, [...given, ...family]);
        if (middle.length > 0) {
          this.phrase('known-name', code, [...given, ...middle, ...family]);
          this.phrase('known-name', code, [...family, ...given, ...middle]);
          this.phrase('known-name', code, [...given, ...middle.map((w) => w[0]!), ...family]);
        }
      } else if (all.length >= 2) {
        // One component holding several words ("John Smith" without carets): the words as written, and reversed.
        this.phrase('known-name', code, all);
        if (all.length === 2) this.phrase('known-name', code, [all[1]!, all[0]!]);
      }
      // Scripts without spaces between words.
      if (/[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}]/u.test(group)) {
        const c = compactForm(group);
        if ([...c].length >= 2) this.add('known-name', code, 'compact', c, c, false);
      }
      // Parts alone (warn): a one-word name is a part too, whatever its component.
      for (const w of all) {
        if (letterCount(w) >= 4 && !PLACEHOLDERS.has(w))
          this.add('known-name-part', 'KNOWN_NAME_PART', 'words', ` ${w} `, w, true);
      }
      // Initials of a family and given name, three letters or more: "DJD" for Douglas J. Davidson, and "DDJ".
      const initial = (w: string): string => [...w][0]!;
      const initials = [...given, ...middle, ...family].map(initial);
      if (family.length > 0 && given.length > 0 && initials.length >= 3 && initials.every((x) => /\p{L}/u.test(x))) {
        for (const i of [initials.join(''), [...family, ...given, ...middle].map(initial).join('')]) {
          this.add('known-name-part', 'KNOWN_INITIALS', 'whole', i, i, false);
        }
      }
    }
  }

  id(value: string, code: string): void {
    const w = wordForm(value);
    const compact = w.replace(/ /g, '');
    if (compact === '' || PLACEHOLDERS.has(compact)) return;
    const digits = digitsOf(compact).length;
    const ok =
      (digits > 0 && digits < compact.length && compact.length >= 4) ||
      (digits === compact.length && digits >= 5) ||
      (digits === 0 && compact.length >= 6);
    if (ok) this.add('known-id', code, 'words', w, value.trim(), false);
  }

  address(value: string, detector: DetectorName, code: string): void {
    const w = wordForm(value);
    if (w.replace(/ /g, '').length >= 8) this.add(detector, code, 'words', w, value.trim(), false);
    for (const part of value.split(/[,;\n\r^\\]|\s{2,}/)) {
      const p = wordForm(part);
      const c = p.replace(/ /g, '');
      if (c.length >= 6 && /\d/.test(c) && !PLACEHOLDERS.has(c))
        this.add(detector, code, 'words', p, part.trim(), false);
      // The street: its number and the two words after it ("334 Michael Manor Sarahview" -> "334 MICHAEL MANOR").
      const street = /^ (\d+[A-Z]? \p{L}+ \p{L}+) /u.exec(p);
      if (street) this.add(detector, code, 'words', ` ${street[1]} `, street[1]!, false);
    }
  }

  phone(value: string): void {
    for (const v of value.split(/[\\\n\r,;]/)) {
      let d = digitsOf(v);
      if (d.length < 7) continue;
      if (d.length > 10) d = d.slice(-10);
      this.add('known-phone', 'KNOWN_PHONE', 'digits', d, v.trim(), false);
    }
  }

  institution(value: string): void {
    const w = wordForm(value);
    const c = w.replace(/ /g, '');
    if (c.length >= 6 && !PLACEHOLDERS.has(c))
      this.add('known-institution', 'KNOWN_INSTITUTION', 'words', w, value.trim(), false);
  }
}

/**
 * One memoised maker per kind and variant of value, keyed by the value itself: a key made by prefixing the variant
 * was a new string per lookup, flattened and hashed each time.
 */
function maker(build: (n: Needles, value: string) => void): (value: string) => readonly Needle[] {
  return memoize((value) => {
    const n = new Needles();
    build(n, value);
    return n.list;
  });
}

const PATIENT_NAME_NEEDLES = maker((n, v) => n.name(v, true));
const OTHER_NAME_NEEDLES = maker((n, v) => n.name(v, false));
const ID_NEEDLES = ID_CODES.map((code) => maker((n, v) => n.id(v, code)));
const OTHER_ID_NEEDLES = ID_NEEDLES[ID_CODES.indexOf('KNOWN_OTHER_ID')]!;
const ADDRESS_NEEDLES = maker((n, v) => n.address(v, 'known-address', 'KNOWN_ADDRESS'));
const INSTITUTION_ADDRESS_NEEDLES = maker((n, v) => n.address(v, 'known-institution', 'KNOWN_INSTITUTION_ADDRESS'));
const PHONE_NEEDLES = maker((n, v) => n.phone(v));
const INSTITUTION_NEEDLES = maker((n, v) => n.institution(v));

/**
 * The maker of each identifying attribute other than names, UIDs and dates: one lookup per element of the original
 * instead of one per kind (most elements are none of them).
 */
const VALUE_KINDS: ReadonlyMap<number, (value: string) => readonly Needle[]> = new Map([
  ...[...ID_TAGS].map(([tag, code]) => [tag, ID_NEEDLES[ID_CODES.indexOf(code)]!] as const),
  ...[...ADDRESS_TAGS].map((tag) => [tag, ADDRESS_NEEDLES] as const),
  ...[...PHONE_TAGS].map((tag) => [tag, PHONE_NEEDLES] as const),
  [Tag.InstitutionName, INSTITUTION_NEEDLES],
  [Tag.InstitutionAddress, INSTITUTION_ADDRESS_NEEDLES],
]);

class Collector {
  readonly needles: KnownNeedle[] = [];
  readonly dates = new Set<string>();
  readonly datesByPath: Record<string, string> = {};
  readonly uids = new Set<string>();
  private readonly seen = new Set<string>();
  /** Lists already added: the needle makers are memoised, so a value seen twice gives the same list. */
  private readonly lists = new Set<readonly Needle[]>();

  addAll(needles: readonly Needle[]): void {
    if (needles.length === 0 || this.lists.has(needles)) return;
    this.lists.add(needles);
    for (const needle of needles) {
      if (this.seen.has(needle.key)) continue;
      this.seen.add(needle.key);
      this.needles.push(needle);
    }
  }
}

/** A name written in text as a PN value: "Smith, John" and "John Smith" -> "Smith^John"; other shapes as they are. */
function asPersonName(text: string): string {
  if (text.includes('^')) return text;
  const comma = /^([^,]+),\s*(.+)$/.exec(text);
  if (comma) return `${comma[1]}^${comma[2]}`;
  const two = /^(\S+)\s+(\S+)$/.exec(text);
  return two ? `${two[2]}^${two[1]}` : text;
}

const NO_VALUES: readonly string[] = [];

/** readStrings without the empty values; a single value (most) without splitting and mapping arrays. */
function safeStrings(el: DicomElement): readonly string[] {
  if (el.length === 0 || el.length === 0xffffffff || el.length > 1024 * 1024) return NO_VALUES;
  const vr = el.vr;
  if (vr === 'LT' || vr === 'ST' || vr === 'UT' || el.length > 1024) return readStrings(el).filter((v) => v !== '');
  const s = readString(el);
  if (s.includes('\\')) return readStrings(el).filter((v) => v !== '');
  const v = s.trim();
  return v === '' ? NO_VALUES : [v];
}

/** Every identifying value of an original file (see the module comment). */
export function extractKnownIdentifiers(original: DicomFile): KnownIdentifiers {
  const c = new Collector();
  // UIDs the original uses as classes anywhere (a private SOP Class, an implementation class) are not instance UIDs
  // even where they also appear in an instance attribute.
  const classUIDs = new Set<string>();
  const visit = (el: DicomElement): void => {
    if (el.items !== undefined || el.fragments !== undefined) return;
    const tag = el.tag;
    const vr = el.vr;
    if (vr === 'UI') {
      const set = isClassUIDAttribute(tag) ? classUIDs : c.uids;
      for (const u of safeStrings(el)) {
        const uid = stripNuls(u);
        if (uid !== '' && uid !== '1.2.840.10008' && !uid.startsWith('1.2.840.10008.')) set.add(uid);
      }
      return;
    }
    if (vr === 'DA' || vr === 'DT') {
      if (el.length > 4096) return;
      const dates = datesOfValue(readString(el), vr).filter((d) => !PLACEHOLDER_DATES.has(d));
      for (const d of dates) c.dates.add(d);
      if (dates.length > 0) c.datesByPath[elementPath(el)] = dates.join('\\');
      return;
    }
    if (vr === 'PN') {
      const needles = PATIENT_NAME_TAGS.has(tag) ? PATIENT_NAME_NEEDLES : OTHER_NAME_NEEDLES;
      for (const v of safeStrings(el)) c.addAll(needles(v));
      return;
    }
    const needles = VALUE_KINDS.get(tag);
    if (needles !== undefined) {
      for (const v of safeStrings(el)) c.addAll(needles(v));
      return;
    }
    // Free text of the original: names and MRNs written after cue words. Dates written in free text are not taken:
    // there they are as often versions and build stamps (CVS $Id lines, coding scheme versions) as a person's dates.
    if (usesCharacterSet(vr) && el.length > 0 && el.length <= 1024 * 1024) {
      const text = readString(el);
      for (const n of findCuedNames(text)) c.addAll(OTHER_NAME_NEEDLES(asPersonName(n)));
      for (const id of findCuedIds(text)) c.addAll(OTHER_ID_NEEDLES(id));
    }
  };
  const manufacturers: string[] = [];
  if (original.meta) walkElements(original.meta, (el) => visit(el));
  walkElements(original.dataset, (el) => {
    if (el.tag === Tag.Manufacturer && el.items === undefined) manufacturers.push(...safeStrings(el).map(wordForm));
    visit(el);
  });
  // An "institution" the original also names as the device manufacturer is the vendor (test and demo files put the
  // vendor in both), and the Manufacturer stays in every de-identified file: it identifies no site.
  const needles = c.needles.filter(
    (n) => n.code !== 'KNOWN_INSTITUTION' || !manufacturers.some((m) => m.includes(n.text) || n.text.includes(m)),
  );
  const uids = [...c.uids].filter((u) => !classUIDs.has(u));
  return { needles, dates: [...c.dates], datesByPath: c.datesByPath, uids };
}
