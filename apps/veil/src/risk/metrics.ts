/**
 * Re-identification risk of a released dataset, computed from its records (see quasi-identifiers.ts): equivalence
 * classes over the quasi-identifiers, k-anonymity, the share of unique records and of records in classes smaller
 * than k, prosecutor risk, l-diversity of a named sensitive attribute, population-based estimates from
 * user-supplied population counts, and generalisation advice found by a greedy search over the hierarchies in
 * generalise.ts. Pure: records in, a JSON-ready result out.
 *
 * Example:
 *   const result = assessRisk(records, { k: 5, l: 2, unit: 'study' });
 *   result.uniqueRecords.map((u) => u.id);
 */
import {
  describeRecord,
  HIERARCHIES,
  informationLoss,
  type Levels,
  maxLevel,
  QI_NAMES,
  recordKey,
  releasedLevels,
  valueAt,
} from './generalise.ts';
import type { QiName, RecordUnit, RiskRecord } from './quasi-identifiers.ts';

export interface PopulationRow {
  /** Quasi-identifier name -> value: exact ("F"), an inclusive range ("40-49"), an open range ("90+"), a date prefix. */
  readonly cells: Readonly<Record<string, string>>;
  readonly count: number;
}

export interface RiskOptions {
  /** The k to reach (records in smaller classes are at risk). */
  readonly k: number;
  /** The l to reach for the sensitive attribute. */
  readonly l: number;
  readonly unit: RecordUnit;
  /** Keyword of the sensitive attribute (its values were read into record.sensitive). */
  readonly sensitive?: string | undefined;
  readonly population?: readonly PopulationRow[] | undefined;
  /** Quasi-identifiers left out (the one holding the sensitive attribute: it cannot be both). */
  readonly exclude?: readonly QiName[] | undefined;
}

export interface ClassStats {
  readonly k: number;
  readonly classes: number;
  readonly uniqueRecords: number;
  readonly uniqueShare: number;
  readonly atRiskRecords: number;
  readonly atRiskShare: number;
  /** Highest and mean prosecutor risk (1 / class size). */
  readonly maxRisk: number;
  readonly meanRisk: number;
}

export interface QiStat {
  readonly name: QiName;
  readonly present: number;
  readonly distinct: number;
  /** Records whose value of this QI alone is held by fewer than k records. */
  readonly rareRecords: number;
  /** Unique records that stop being unique when this QI alone is removed. */
  readonly uniquesResolvedByRemoving: number;
}

export interface UniqueRecord {
  readonly id: string;
  readonly files: number;
  /** The released values of the quasi-identifiers. */
  readonly values: Readonly<Record<string, string>>;
  /** QIs whose value alone is held by fewer than k records: what makes the record stand out. */
  readonly rareQis: readonly QiName[];
}

export interface AdviceStep {
  readonly qi: QiName;
  readonly from: string;
  readonly to: string;
  readonly after: ClassStats;
  readonly informationLoss: number;
}

export interface Advice {
  readonly qi: QiName | 'general';
  readonly severity: 'high' | 'medium' | 'low';
  readonly text: string;
  /** A `veil deid` configuration fragment that carries it out, where the configuration can. */
  readonly config?: Readonly<Record<string, unknown>>;
}

export interface LDiversity {
  readonly attribute: string;
  readonly l: number;
  readonly classesBelow: number;
  readonly recordsBelow: number;
}

export interface PopulationEstimate {
  readonly columns: readonly string[];
  readonly matched: number;
  readonly unmatched: number;
  /** Records whose population cell holds exactly one person (or fewer than the records that fall in it). */
  readonly populationUnique: number;
  /** Records whose population cell holds fewer than k people. */
  readonly populationBelowK: number;
  /** Journalist risk: highest and mean 1 / population cell size over the matched records. */
  readonly maxRisk: number;
  readonly meanRisk: number;
  /** Expected number of records an attacker with the population register re-identifies (sum of 1 / F). */
  readonly expectedReidentifications: number;
  readonly recordsAtRisk: readonly { readonly id: string; readonly population: number; readonly sample: number }[];
}

export interface RiskResult {
  readonly unit: RecordUnit;
  readonly records: number;
  readonly files: number;
  readonly targetK: number;
  readonly released: ClassStats;
  readonly classSizeHistogram: readonly { readonly bucket: string; readonly records: number }[];
  readonly quasiIdentifiers: readonly QiStat[];
  readonly uniqueRecords: readonly UniqueRecord[];
  readonly rareProcedures: readonly { readonly value: string; readonly records: number }[];
  readonly lDiversity: LDiversity | null;
  readonly population: PopulationEstimate | null;
  readonly generalisation: {
    readonly steps: readonly AdviceStep[];
    readonly levels: Readonly<Record<QiName, string>>;
    readonly reached: boolean;
  };
  readonly advice: readonly Advice[];
}

function classesOf(records: readonly RiskRecord[], levels: Levels, names = QI_NAMES): Map<string, RiskRecord[]> {
  const classes = new Map<string, RiskRecord[]>();
  for (const r of records) {
    const key = recordKey(r, levels, names);
    const c = classes.get(key);
    if (c) c.push(r);
    else classes.set(key, [r]);
  }
  return classes;
}

function statsOf(classes: Map<string, RiskRecord[]>, n: number, k: number): ClassStats {
  let min = Number.POSITIVE_INFINITY;
  let unique = 0;
  let atRisk = 0;
  for (const c of classes.values()) {
    min = Math.min(min, c.length);
    if (c.length === 1) unique++;
    if (c.length < k) atRisk += c.length;
  }
  const share = (x: number): number => (n === 0 ? 0 : x / n);
  return {
    k: n === 0 ? 0 : min,
    classes: classes.size,
    uniqueRecords: unique,
    uniqueShare: share(unique),
    atRiskRecords: atRisk,
    atRiskShare: share(atRisk),
    maxRisk: n === 0 ? 0 : 1 / min,
    meanRisk: share(classes.size),
  };
}

const BUCKETS: readonly [string, number, number][] = [
  ['1', 1, 1],
  ['2', 2, 2],
  ['3-4', 3, 4],
  ['5-9', 5, 9],
  ['10-19', 10, 19],
  ['20-49', 20, 49],
  ['50+', 50, Number.POSITIVE_INFINITY],
];

function histogram(classes: Map<string, RiskRecord[]>): { bucket: string; records: number }[] {
  return BUCKETS.map(([bucket, lo, hi]) => ({
    bucket,
    records: [...classes.values()].filter((c) => c.length >= lo && c.length <= hi).reduce((s, c) => s + c.length, 0),
  }));
}

function counts(records: readonly RiskRecord[], name: QiName, level = 0): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) {
    const v = valueAt(r, name, level) ?? '';
    m.set(v, (m.get(v) ?? 0) + 1);
  }
  return m;
}

/** Greedy generalisation: each step raises the one QI whose next level leaves the fewest records at risk. */
function searchGeneralisation(
  records: readonly RiskRecord[],
  k: number,
  base: Levels,
): { steps: AdviceStep[]; levels: Levels; reached: boolean } {
  let levels: Record<QiName, number> = { ...base };
  const steps: AdviceStep[] = [];
  let current = statsOf(classesOf(records, levels), records.length, k);
  while (current.atRiskRecords > 0) {
    let best: { qi: QiName; level: number; stats: ClassStats; loss: number } | undefined;
    for (const qi of QI_NAMES) {
      // A QI with one value everywhere at its level separates nobody: raising it gives nothing.
      if (levels[qi] >= maxLevel(qi) || counts(records, qi, levels[qi]).size < 2) continue;
      // The first higher level that changes anything (5-year bands may merge no one where 10-year bands do).
      for (let level = levels[qi] + 1; level <= maxLevel(qi); level++) {
        const next = { ...levels, [qi]: level };
        const stats = statsOf(classesOf(records, next), records.length, k);
        // A step that neither lowers the records at risk nor merges classes gives detail away for nothing.
        if (stats.atRiskRecords >= current.atRiskRecords && stats.classes >= current.classes) continue;
        const loss = informationLoss(next, QI_NAMES);
        const helps = stats.atRiskRecords < current.atRiskRecords;
        if (
          !best ||
          stats.atRiskRecords < best.stats.atRiskRecords ||
          (stats.atRiskRecords === best.stats.atRiskRecords &&
            // Lowering the records at risk: keep as many classes (detail) as possible; only merging: merge most.
            ((helps ? stats.classes > best.stats.classes : stats.classes < best.stats.classes) ||
              (stats.classes === best.stats.classes && loss < best.loss)))
        ) {
          best = { qi, level, stats, loss };
        }
        break;
      }
    }
    if (!best) break;
    const h = HIERARCHIES[best.qi];
    steps.push({
      qi: best.qi,
      from: h.levels[levels[best.qi]]!,
      to: h.levels[best.level]!,
      after: best.stats,
      informationLoss: best.loss,
    });
    levels = { ...levels, [best.qi]: best.level };
    current = best.stats;
  }
  return { steps, levels, reached: current.atRiskRecords === 0 };
}

function matchesCell(record: RiskRecord, name: QiName, cell: string): boolean {
  const c = cell.trim();
  if (name === 'age' || name === 'height' || name === 'weight') {
    const v = name === 'age' ? record.ageYears : name === 'height' ? record.heightCm : record.weightKg;
    if (v === undefined) return false;
    const plus = /^(\d+(?:\.\d+)?)\+$/.exec(c);
    if (plus) return v >= Number(plus[1]);
    const range = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(c);
    if (range) return v >= Number(range[1]) && v <= Number(range[2]);
    return Number(c) === v;
  }
  const v = valueAt(record, name, 0);
  if (v === undefined) return false;
  if (name === 'birthDate' || name === 'studyDate') return /^\d{4,8}$/.test(c) && v.startsWith(c);
  return v.toUpperCase() === c.toUpperCase();
}

function populationEstimate(
  records: readonly RiskRecord[],
  rows: readonly PopulationRow[],
  k: number,
): PopulationEstimate {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r.cells)))].sort();
  const names = columns.filter((c): c is QiName => (QI_NAMES as readonly string[]).includes(c));
  const sample = classesOf(records, releasedLevels(), names);
  const at: { id: string; population: number; sample: number }[] = [];
  let matched = 0;
  let unique = 0;
  let belowK = 0;
  let maxRisk = 0;
  let sum = 0;
  for (const r of records) {
    let population = 0;
    for (const row of rows) {
      if (Object.entries(row.cells).every(([n, cell]) => matchesCell(r, n as QiName, cell))) population += row.count;
    }
    if (population === 0) continue;
    matched++;
    const f = sample.get(recordKey(r, releasedLevels(), names))?.length ?? 1;
    // A register smaller than the sample's own count is wrong or stale: the sample is then the population.
    const F = Math.max(population, f);
    const risk = 1 / F;
    sum += risk;
    maxRisk = Math.max(maxRisk, risk);
    if (F === 1) unique++;
    if (F < k) {
      belowK++;
      at.push({ id: r.id, population: F, sample: f });
    }
  }
  return {
    columns,
    matched,
    unmatched: records.length - matched,
    populationUnique: unique,
    populationBelowK: belowK,
    maxRisk,
    meanRisk: matched === 0 ? 0 : sum / matched,
    expectedReidentifications: sum,
    recordsAtRisk: at,
  };
}

function lDiversity(classes: Map<string, RiskRecord[]>, attribute: string, l: number): LDiversity {
  let min = Number.POSITIVE_INFINITY;
  let classesBelow = 0;
  let recordsBelow = 0;
  for (const c of classes.values()) {
    const distinct = new Set(c.map((r) => r.sensitive ?? '∅')).size;
    min = Math.min(min, distinct);
    if (distinct < l) {
      classesBelow++;
      recordsBelow += c.length;
    }
  }
  return { attribute, l: classes.size === 0 ? 0 : min, classesBelow, recordsBelow };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
}

function adviceFor(
  records: readonly RiskRecord[],
  k: number,
  qiStats: readonly QiStat[],
  search: { steps: AdviceStep[]; levels: Levels; reached: boolean },
  rareProcedures: number,
): Advice[] {
  const out: Advice[] = [];
  const none: QiStat = { name: 'age', present: 0, distinct: 0, rareRecords: 0, uniquesResolvedByRemoving: 0 };
  const stat = (n: QiName): QiStat => qiStats.find((q) => q.name === n) ?? none;
  const serials = stat('deviceSerial').present;
  if (serials > 0) {
    out.push({
      qi: 'deviceSerial',
      severity: 'high',
      text: `Drop DeviceSerialNumber (0018,1000): kept in ${serials} of ${records.length} records; a serial number names one machine, and with it a site.`,
      config: { overrides: [{ selector: 'DeviceSerialNumber', override: { action: 'remove' } }] },
    });
  }
  if (stat('station').present > 0) {
    out.push({
      qi: 'station',
      severity: 'high',
      text: `Drop StationName (0008,1010): kept in ${stat('station').present} records; it names a room or a device.`,
      config: { overrides: [{ selector: 'StationName', override: { action: 'remove' } }] },
    });
  }
  if (stat('institution').present > 0) {
    out.push({
      qi: 'institution',
      severity: 'medium',
      text: `Institution attributes are kept in ${stat('institution').present} records (${stat('institution').distinct} distinct): remove them unless the sponsor needs the site, and then release a site code instead.`,
      config: {
        overrides: ['InstitutionName', 'InstitutionAddress', 'InstitutionalDepartmentName'].map((s) => ({
          selector: s,
          override: { action: 'remove' },
        })),
      },
    });
  }
  const old = records.filter((r) => r.ageYears !== undefined && r.ageYears >= 90).length;
  if (old > 0) {
    out.push({
      qi: 'age',
      severity: 'high',
      text: `${old} records have an age of 90 or more: top-code them as "90+" (HIPAA Safe Harbor aggregates ages over 89).`,
    });
  }
  if (stat('birthDate').present > 0 && stat('age').present > 0) {
    out.push({
      qi: 'birthDate',
      severity: 'high',
      text: `PatientBirthDate is kept in ${stat('birthDate').present} records besides the age: remove it (the age, banded, carries what research needs).`,
      config: { overrides: [{ selector: 'PatientBirthDate', override: { action: 'remove' } }] },
    });
  }
  const pc = stat('privateCreators');
  if (pc.present > 0) {
    out.push({
      qi: 'privateCreators',
      severity: pc.rareRecords > 0 ? 'medium' : 'low',
      text: `Private blocks are kept in ${pc.present} records (${pc.distinct} distinct sets of creators${pc.rareRecords > 0 ? `, ${pc.rareRecords} records with a set fewer than ${k} records share` : ''}): they fingerprint a vendor, software and site; keep only those the analysis needs.`,
      config: { privateTags: 'remove' },
    });
  }
  if (rareProcedures > 0) {
    out.push({
      qi: 'procedure',
      severity: 'medium',
      text: `${rareProcedures} modality / body part / description combinations are held by fewer than ${k} records: a rare procedure singles a patient out; generalise or remove StudyDescription for them.`,
      config: { options: { cleanDescriptors: true } },
    });
  }
  for (const step of search.steps) {
    const base = `Generalise ${step.qi} from ${step.from} to ${step.to}: then k = ${step.after.k}, ${pct(step.after.uniqueShare)} unique, ${pct(step.after.atRiskShare)} of records in classes under ${k}.`;
    const config =
      (step.qi === 'studyDate' || step.qi === 'birthDate') && step.to === 'year'
        ? { dates: { mode: 'year' } }
        : step.to === 'removed'
          ? {
              overrides: HIERARCHY_KEYWORDS[step.qi].map((s) => ({ selector: s, override: { action: 'remove' } })),
            }
          : undefined;
    out.push({ qi: step.qi, severity: 'medium', text: base, ...(config ? { config } : {}) });
  }
  if (!search.reached) {
    out.push({
      qi: 'general',
      severity: 'high',
      text: `Generalising every quasi-identifier measured here does not reach k = ${k}: the dataset is too small for this k, or records differ in attributes Veil does not generalise; release fewer records or ask for a larger cohort.`,
    });
  }
  return out;
}

const HIERARCHY_KEYWORDS: Readonly<Record<QiName, readonly string[]>> = {
  age: ['PatientAge'],
  sex: ['PatientSex'],
  ethnicGroup: ['EthnicGroup'],
  birthDate: ['PatientBirthDate'],
  studyDate: ['StudyDate', 'SeriesDate', 'AcquisitionDate', 'ContentDate'],
  height: ['PatientSize'],
  weight: ['PatientWeight'],
  institution: ['InstitutionName', 'InstitutionAddress', 'InstitutionalDepartmentName'],
  station: ['StationName'],
  device: ['ManufacturerModelName', 'SoftwareVersions'],
  deviceSerial: ['DeviceSerialNumber'],
  procedure: ['StudyDescription', 'BodyPartExamined'],
  privateCreators: [],
};

/** The whole assessment (see the module comment). */
export function assessRisk(records: readonly RiskRecord[], options: RiskOptions): RiskResult {
  const k = options.k;
  const n = records.length;
  const excluded = new Set(options.exclude ?? []);
  const released: Levels = Object.fromEntries(QI_NAMES.map((q) => [q, excluded.has(q) ? maxLevel(q) : 0])) as Record<
    QiName,
    number
  >;
  const names = QI_NAMES.filter((q) => !excluded.has(q));
  const classes = classesOf(records, released);
  const stats = statsOf(classes, n, k);
  const uniques = [...classes.values()].filter((c) => c.length === 1).map((c) => c[0]!);

  const perQiCounts = new Map(QI_NAMES.map((q) => [q, counts(records, q)] as const));
  const qiStats: QiStat[] = names.map((name) => {
    const m = perQiCounts.get(name)!;
    let present = 0;
    let rare = 0;
    for (const r of records) {
      const v = valueAt(r, name, 0)!;
      if (v === '∅') continue;
      present++;
      if ((m.get(v) ?? 0) < k) rare++;
    }
    const without = classesOf(records, { ...released, [name]: maxLevel(name) });
    const resolved = uniques.filter(
      (u) => (without.get(recordKey(u, { ...released, [name]: maxLevel(name) }))?.length ?? 1) > 1,
    ).length;
    return { name, present, distinct: m.size, rareRecords: rare, uniquesResolvedByRemoving: resolved };
  });

  const uniqueRecords: UniqueRecord[] = uniques.map((r) => ({
    id: r.id,
    files: r.files,
    values: describeRecord(r, released),
    rareQis: names.filter((q) => {
      const v = valueAt(r, q, 0)!;
      return v !== '∅' && (perQiCounts.get(q)!.get(v) ?? 0) < k;
    }),
  }));

  const rareProcedures = [...perQiCounts.get('procedure')!]
    .filter(([v, c]) => v !== '∅' && c < k)
    .map(([value, c]) => ({ value, records: c }))
    .sort((a, b) => a.records - b.records || (a.value < b.value ? -1 : 1));

  const search = searchGeneralisation(records, k, released);
  return {
    unit: options.unit,
    records: n,
    files: records.reduce((s, r) => s + r.files, 0),
    targetK: k,
    released: stats,
    classSizeHistogram: histogram(classes),
    quasiIdentifiers: qiStats,
    uniqueRecords,
    rareProcedures,
    lDiversity: options.sensitive === undefined ? null : lDiversity(classes, options.sensitive, options.l),
    population:
      options.population === undefined || options.population.length === 0
        ? null
        : populationEstimate(records, options.population, k),
    generalisation: {
      steps: search.steps,
      levels: Object.fromEntries(QI_NAMES.map((q) => [q, HIERARCHIES[q].levels[search.levels[q]]!])) as Record<
        QiName,
        string
      >,
      reached: search.reached,
    },
    advice: adviceFor(records, k, qiStats, search, rareProcedures.length),
  };
}

/**
 * Parses a population table: CSV with a header row naming quasi-identifiers (age, sex, studyDate, ...) and a
 * `count` column; each row is one population cell. Throws an Error naming the line (never a value) when malformed.
 */
export function parsePopulationCsv(text: string): PopulationRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
  if (lines.length === 0) throw new Error('RISK_POPULATION_EMPTY');
  const header = lines[0]!.split(',').map((h) => h.trim());
  const countAt = header.indexOf('count');
  if (countAt < 0) throw new Error('RISK_POPULATION_NO_COUNT');
  for (const h of header) {
    if (h !== 'count' && !(QI_NAMES as readonly string[]).includes(h)) throw new Error(`RISK_POPULATION_COLUMN ${h}`);
  }
  return lines.slice(1).map((line, i) => {
    const f = line.split(',').map((x) => x.trim());
    if (f.length !== header.length) throw new Error(`RISK_POPULATION_ROW line ${i + 2}`);
    const count = Number(f[countAt]);
    if (!Number.isInteger(count) || count < 0) throw new Error(`RISK_POPULATION_ROW line ${i + 2}`);
    const cells: Record<string, string> = {};
    header.forEach((h, j) => {
      if (j !== countAt) cells[h] = f[j]!;
    });
    return { cells, count };
  });
}
