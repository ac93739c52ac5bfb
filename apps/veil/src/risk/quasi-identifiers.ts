/**
 * Quasi-identifiers of de-identified DICOM: the attributes that, combined, can single a person out even without a
 * name or an ID (age, sex, dates, body size, institution and device, rare procedures, private tags kept). Pure: a
 * scanned file in, one instance's values out; instances are then merged into records (one per study by default).
 *
 * Example:
 *   const inst = instanceQuasiIdentifiers(scanFile(bytes), { sensitive: 'StudyDescription' });
 *   const records = mergeRecords([inst], 'study');
 */
import {
  type DicomFile,
  dummyText,
  type ElementContainer,
  findElement,
  isPrivateCreator,
  readString,
  tagForKeyword,
} from '@veil/core';

/** What a quasi-identifier is made of, which decides how it can be generalised. */
export type QiKind = 'age' | 'date' | 'measure' | 'category' | 'procedure' | 'set';

export type QiName =
  | 'age'
  | 'sex'
  | 'ethnicGroup'
  | 'birthDate'
  | 'studyDate'
  | 'height'
  | 'weight'
  | 'institution'
  | 'station'
  | 'device'
  | 'deviceSerial'
  | 'procedure'
  | 'privateCreators';

export interface QiDefinition {
  readonly name: QiName;
  readonly kind: QiKind;
  /** The DICOM keywords it is read from (for the advice: which attribute to change). */
  readonly keywords: readonly string[];
  readonly about: string;
}

/** The quasi-identifiers Veil measures, in report order. */
export const QUASI_IDENTIFIERS: readonly QiDefinition[] = [
  { name: 'age', kind: 'age', keywords: ['PatientAge', 'PatientBirthDate'], about: 'age in years at the study' },
  { name: 'sex', kind: 'category', keywords: ['PatientSex'], about: 'sex' },
  { name: 'ethnicGroup', kind: 'category', keywords: ['EthnicGroup'], about: 'ethnic group' },
  { name: 'birthDate', kind: 'date', keywords: ['PatientBirthDate'], about: 'date of birth' },
  { name: 'studyDate', kind: 'date', keywords: ['StudyDate'], about: 'date of the study' },
  { name: 'height', kind: 'measure', keywords: ['PatientSize'], about: 'height in cm' },
  { name: 'weight', kind: 'measure', keywords: ['PatientWeight'], about: 'weight in kg' },
  {
    name: 'institution',
    kind: 'category',
    keywords: ['InstitutionName', 'InstitutionAddress', 'InstitutionalDepartmentName'],
    about: 'institution, address and department',
  },
  { name: 'station', kind: 'category', keywords: ['StationName'], about: 'station name' },
  {
    name: 'device',
    kind: 'category',
    keywords: ['Manufacturer', 'ManufacturerModelName', 'SoftwareVersions'],
    about: 'manufacturer, model and software version',
  },
  { name: 'deviceSerial', kind: 'set', keywords: ['DeviceSerialNumber'], about: 'device serial numbers' },
  {
    name: 'procedure',
    kind: 'procedure',
    keywords: ['Modality', 'BodyPartExamined', 'StudyDescription'],
    about: 'modalities, body part and study description',
  },
  { name: 'privateCreators', kind: 'set', keywords: ['(gggg,00xx) private creators'], about: 'private blocks kept' },
];

/** One instance's quasi-identifiers: raw values as released (absent: undefined). */
export interface InstanceQi {
  readonly studyUid: string | undefined;
  readonly patientId: string | undefined;
  readonly sopInstanceUid: string | undefined;
  readonly ageYears: number | undefined;
  /** True when the age was computed from the birth date and the study date (no Patient's Age element). */
  readonly ageFromBirthDate: boolean;
  readonly sex: string | undefined;
  readonly ethnicGroup: string | undefined;
  readonly birthDate: string | undefined;
  readonly studyDate: string | undefined;
  readonly heightCm: number | undefined;
  readonly weightKg: number | undefined;
  readonly institution: string | undefined;
  readonly station: string | undefined;
  readonly device: string | undefined;
  readonly deviceSerial: readonly string[];
  readonly modality: string | undefined;
  readonly bodyPart: string | undefined;
  readonly studyDescription: string | undefined;
  readonly privateCreators: readonly string[];
  readonly sensitive: string | undefined;
}

/** One released unit (a study, a patient or an instance) with its merged values. */
export interface RiskRecord {
  /** The record's id in the released data (pseudonymised Study Instance UID, patient ID, or instance UID). */
  readonly id: string;
  readonly files: number;
  readonly ageYears: number | undefined;
  readonly sex: string | undefined;
  readonly ethnicGroup: string | undefined;
  readonly birthDate: string | undefined;
  readonly studyDate: string | undefined;
  readonly heightCm: number | undefined;
  readonly weightKg: number | undefined;
  readonly institution: string | undefined;
  readonly station: string | undefined;
  readonly device: string | undefined;
  readonly deviceSerial: readonly string[];
  readonly modalities: readonly string[];
  readonly bodyParts: readonly string[];
  readonly studyDescription: string | undefined;
  readonly privateCreators: readonly string[];
  readonly sensitive: string | undefined;
}

export type RecordUnit = 'study' | 'patient' | 'instance';

const tagCache = new Map<string, number>();
function tagOf(keyword: string): number {
  let t = tagCache.get(keyword);
  if (t === undefined) {
    t = tagForKeyword(keyword);
    if (t === undefined) throw new Error(`no such keyword ${keyword}`);
    tagCache.set(keyword, t);
  }
  return t;
}

function text(ds: ElementContainer, keyword: string): string | undefined {
  const el = findElement(ds, tagOf(keyword));
  if (!el || el.items) return undefined;
  const s = readString(el).trim();
  // The de-identifier's dummy (ANONYMIZED, 19000101, 000D...) says nothing about the person: as good as absent.
  return s === '' || s === dummyText(el.vr) ? undefined : s;
}

function joined(ds: ElementContainer, keywords: readonly string[]): string | undefined {
  const parts = keywords.map((k) => text(ds, k));
  return parts.every((p) => p === undefined) ? undefined : parts.map((p) => p ?? '').join(' / ');
}

/** PS3.5 AS: nnnD, nnnW, nnnM or nnnY, in years (fractions for the shorter units). */
export function parseAge(value: string | undefined): number | undefined {
  const m = /^(\d{3})([DWMY])$/.exec(value ?? '');
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2];
  if (unit === 'Y') return n;
  if (unit === 'M') return Math.floor(n / 12);
  if (unit === 'W') return Math.floor(n / 52);
  return Math.floor(n / 365);
}

/** A DA value (YYYYMMDD) as [y, m, d], or undefined. */
export function parseDate(value: string | undefined): [number, number, number] | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value ?? '');
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function ageBetween(birth: string | undefined, at: string | undefined): number | undefined {
  const b = parseDate(birth);
  const a = parseDate(at);
  if (!b || !a) return undefined;
  let years = a[0] - b[0];
  if (a[1] < b[1] || (a[1] === b[1] && a[2] < b[2])) years--;
  return years >= 0 && years < 150 ? years : undefined;
}

function decimal(ds: ElementContainer, keyword: string): number | undefined {
  const s = text(ds, keyword);
  if (s === undefined) return undefined;
  const n = Number(s.split('\\')[0]);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function privateCreators(ds: ElementContainer): string[] {
  const out = new Set<string>();
  for (const el of ds.elements) {
    if (isPrivateCreator(el.tag)) {
      const s = readString(el).trim();
      out.add(s === '' ? '(empty creator)' : s);
    }
  }
  return [...out].sort();
}

export interface ExtractOptions {
  /** Keyword of the sensitive attribute for l-diversity (e.g. StudyDescription); it is read as plain text. */
  readonly sensitive?: string | undefined;
}

/** The quasi-identifiers of one de-identified instance (top-level dataset only). */
export function instanceQuasiIdentifiers(file: DicomFile, options: ExtractOptions = {}): InstanceQi {
  const ds = file.dataset;
  const birthDate = text(ds, 'PatientBirthDate');
  const studyDate = text(ds, 'StudyDate') ?? text(ds, 'SeriesDate') ?? text(ds, 'AcquisitionDate');
  const declaredAge = parseAge(text(ds, 'PatientAge'));
  const derivedAge = declaredAge === undefined ? ageBetween(birthDate, studyDate) : undefined;
  const size = decimal(ds, 'PatientSize');
  const weight = decimal(ds, 'PatientWeight');
  const serial = text(ds, 'DeviceSerialNumber');
  return {
    studyUid: text(ds, 'StudyInstanceUID'),
    patientId: text(ds, 'PatientID'),
    sopInstanceUid: text(ds, 'SOPInstanceUID'),
    ageYears: declaredAge ?? derivedAge,
    ageFromBirthDate: declaredAge === undefined && derivedAge !== undefined,
    sex: text(ds, 'PatientSex'),
    ethnicGroup: text(ds, 'EthnicGroup'),
    birthDate,
    studyDate,
    // PatientSize is in metres; a value over 3 was written in cm by a device that ignored the standard.
    heightCm: size === undefined ? undefined : Math.round(size > 3 ? size : size * 100),
    weightKg: weight === undefined ? undefined : Math.round(weight * 10) / 10,
    institution: joined(ds, ['InstitutionName', 'InstitutionAddress', 'InstitutionalDepartmentName']),
    station: text(ds, 'StationName'),
    device: joined(ds, ['Manufacturer', 'ManufacturerModelName', 'SoftwareVersions']),
    deviceSerial: serial === undefined ? [] : [serial],
    modality: text(ds, 'Modality'),
    bodyPart: text(ds, 'BodyPartExamined'),
    studyDescription: text(ds, 'StudyDescription'),
    privateCreators: privateCreators(ds),
    sensitive: options.sensitive === undefined ? undefined : text(ds, options.sensitive),
  };
}

function union(values: Iterable<readonly string[] | string | undefined>): string[] {
  const out = new Set<string>();
  for (const v of values) {
    if (v === undefined) continue;
    if (typeof v === 'string') out.add(v);
    else for (const x of v) out.add(x);
  }
  return [...out].sort();
}

function first<T>(list: readonly InstanceQi[], pick: (i: InstanceQi) => T | undefined): T | undefined {
  for (const i of list) {
    const v = pick(i);
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * Merges instances into records of a unit: one per Study Instance UID (default), per Patient ID, or per instance.
 * An instance without the unit's key is a record of its own (keyed by `fallbackId`). Single values come from the
 * first instance that has one; modalities, body parts, serials and private creators are unions.
 */
export function mergeRecords(
  instances: readonly { readonly qi: InstanceQi; readonly fallbackId: string }[],
  unit: RecordUnit = 'study',
): RiskRecord[] {
  const groups = new Map<string, InstanceQi[]>();
  for (const { qi, fallbackId } of instances) {
    const key =
      (unit === 'study' ? qi.studyUid : unit === 'patient' ? qi.patientId : qi.sopInstanceUid) ?? `file:${fallbackId}`;
    const g = groups.get(key);
    if (g) g.push(qi);
    else groups.set(key, [qi]);
  }
  const records: RiskRecord[] = [];
  for (const [id, list] of groups) {
    records.push({
      id,
      files: list.length,
      ageYears: first(list, (i) => i.ageYears),
      sex: first(list, (i) => i.sex),
      ethnicGroup: first(list, (i) => i.ethnicGroup),
      birthDate: first(list, (i) => i.birthDate),
      studyDate: first(list, (i) => i.studyDate),
      heightCm: first(list, (i) => i.heightCm),
      weightKg: first(list, (i) => i.weightKg),
      institution: first(list, (i) => i.institution),
      station: first(list, (i) => i.station),
      device: first(list, (i) => i.device),
      deviceSerial: union(list.map((i) => i.deviceSerial)),
      modalities: union(list.map((i) => i.modality)),
      bodyParts: union(list.map((i) => i.bodyPart)),
      studyDescription: first(list, (i) => i.studyDescription),
      privateCreators: union(list.map((i) => i.privateCreators)),
      sensitive: first(list, (i) => i.sensitive),
    });
  }
  return records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
