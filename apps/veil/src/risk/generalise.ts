/**
 * Generalisation hierarchies of the quasi-identifiers: each has levels from "as released" (0) to "removed" (last),
 * and a function that gives a record's value at a level (age bands, date granularity, size bins, dropped
 * attributes). Pure. A level vector (one level per quasi-identifier) defines the equivalence classes of a dataset.
 *
 * Example:
 *   const levels = releasedLevels();             // every QI as released
 *   const key = recordKey(record, { ...levels, age: 2 });   // age in 10-year bands
 */
import { type QiName, QUASI_IDENTIFIERS, type RiskRecord } from './quasi-identifiers.ts';

export type Levels = Readonly<Record<QiName, number>>;

export interface Hierarchy {
  /** Level names, from "as released" to "removed". */
  readonly levels: readonly string[];
  /** The record's value at a level below the last; undefined when the record has no value. */
  value(record: RiskRecord, level: number): string | undefined;
}

const ABSENT = '∅';

function ageBand(age: number, width: number): string {
  if (age >= 90) return '90+';
  const lo = Math.floor(age / width) * width;
  return `${lo}-${Math.min(lo + width - 1, 89)}`;
}

function dateAt(date: string | undefined, level: number): string | undefined {
  if (date === undefined) return undefined;
  if (!/^\d{8}$/.test(date)) return level === 0 ? date : date.slice(0, 4);
  return level === 0 ? date : level === 1 ? date.slice(0, 6) : date.slice(0, 4);
}

function bin(v: number | undefined, width: number): string | undefined {
  if (v === undefined) return undefined;
  const lo = Math.floor(v / width) * width;
  return `${lo}-${lo + width}`;
}

const dateHierarchy = (pick: (r: RiskRecord) => string | undefined): Hierarchy => ({
  levels: ['day', 'month', 'year', 'removed'],
  value: (r, level) => dateAt(pick(r), level),
});

const category = (pick: (r: RiskRecord) => string | undefined): Hierarchy => ({
  levels: ['as released', 'removed'],
  value: (r) => pick(r),
});

const set = (pick: (r: RiskRecord) => readonly string[]): Hierarchy => ({
  levels: ['as released', 'removed'],
  value: (r) => {
    const v = pick(r);
    return v.length === 0 ? undefined : v.join('|');
  },
});

export const HIERARCHIES: Readonly<Record<QiName, Hierarchy>> = {
  age: {
    levels: ['years', '5-year bands, 90+', '10-year bands, 90+', '20-year bands, 90+', 'removed'],
    value: (r, level) => {
      const a = r.ageYears;
      if (a === undefined) return undefined;
      return level === 0 ? String(a) : ageBand(a, [5, 10, 20][level - 1]!);
    },
  },
  sex: category((r) => r.sex),
  ethnicGroup: category((r) => r.ethnicGroup),
  birthDate: dateHierarchy((r) => r.birthDate),
  studyDate: dateHierarchy((r) => r.studyDate),
  height: {
    levels: ['1 cm', '5 cm bins', '10 cm bins', '20 cm bins', 'removed'],
    value: (r, level) => (level === 0 ? bin(r.heightCm, 1)?.split('-')[0] : bin(r.heightCm, [5, 10, 20][level - 1]!)),
  },
  weight: {
    levels: ['0.1 kg', '5 kg bins', '10 kg bins', '20 kg bins', 'removed'],
    value: (r, level) =>
      level === 0
        ? r.weightKg === undefined
          ? undefined
          : String(r.weightKg)
        : bin(r.weightKg, [5, 10, 20][level - 1]!),
  },
  institution: category((r) => r.institution),
  station: category((r) => r.station),
  device: category((r) => r.device),
  deviceSerial: set((r) => r.deviceSerial),
  procedure: {
    levels: ['modalities + body part + description', 'modalities + body part', 'modalities', 'removed'],
    value: (r, level) => {
      const parts = [r.modalities.join('+'), r.bodyParts.join('+'), r.studyDescription ?? ''].slice(0, 3 - level);
      return parts.every((p) => p === '') ? undefined : parts.join(' | ');
    },
  },
  privateCreators: set((r) => r.privateCreators),
};

export const QI_NAMES: readonly QiName[] = QUASI_IDENTIFIERS.map((q) => q.name);

export function maxLevel(name: QiName): number {
  return HIERARCHIES[name].levels.length - 1;
}

/** Every quasi-identifier as released (level 0). */
export function releasedLevels(): Levels {
  return Object.fromEntries(QI_NAMES.map((n) => [n, 0])) as Record<QiName, number>;
}

/** The record's value of one quasi-identifier at a level ('∅' when absent; undefined when the level removes it). */
export function valueAt(record: RiskRecord, name: QiName, level: number): string | undefined {
  if (level >= maxLevel(name)) return undefined;
  return HIERARCHIES[name].value(record, level) ?? ABSENT;
}

/** The equivalence-class key of a record under a level vector (QIs at their last level do not count). */
export function recordKey(record: RiskRecord, levels: Levels, names: readonly QiName[] = QI_NAMES): string {
  let key = '';
  for (const n of names) {
    const v = valueAt(record, n, levels[n]);
    if (v !== undefined) key += `${n}=${v}\u0000`;
  }
  return key;
}

/** The released values of the quasi-identifiers that count at these levels, for display. */
export function describeRecord(record: RiskRecord, levels: Levels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of QI_NAMES) {
    const v = valueAt(record, n, levels[n]);
    if (v !== undefined) out[n] = v;
  }
  return out;
}

/** How much of the detail is given up, 0 (as released) to 1 (everything removed), averaged over the QIs that vary. */
export function informationLoss(levels: Levels, names: readonly QiName[]): number {
  if (names.length === 0) return 0;
  return names.reduce((s, n) => s + levels[n] / maxLevel(n), 0) / names.length;
}
