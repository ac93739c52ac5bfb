/**
 * Dates that escaped modification: a DA or DT value of the output (any depth, private ones too) that equals a date
 * of the original.
 *
 *  - At the same tag path with the same dates: the value was not modified (DATE_NOT_SHIFTED).
 *  - Elsewhere: an original date was copied or kept (ORIGINAL_DATE), unless the patient's date shift explains it.
 *    The shift is read off the file itself: every element whose original and output dates differ gives
 *    output - original in days; a value v that is some original date d shifted by one of those (v = d + shift) is a
 *    modified date that happens to fall on another original date (a series acquired three days after the study,
 *    shifted by three days), not a leak.
 *
 * Dates that identify nothing are skipped: the de-identifier's dummy 19000101, and under the 'year' date mode the
 * YYYY0101 values that keep only the year.
 *
 * Example:
 *   unshiftedDates(outputFile, known, { yearOnly: false }); // [{ path: '(0008,0020)', code: 'DATE_NOT_SHIFTED', ... }]
 */
import type { DicomElement, DicomFile } from '../dicom/dataset.ts';
import { elementPath } from '../dicom/tag-path.ts';
import { readString, walkElements } from '../dicom/value.ts';
import { daysFromCivil } from '../pseudonym/date-shift.ts';
import type { KnownIdentifiers } from './known-identifiers.ts';
import { maskLength } from './mask.ts';
import { datesOfValue } from './normalize.ts';

export interface DateHit {
  readonly path: string;
  readonly code: 'DATE_NOT_SHIFTED' | 'ORIGINAL_DATE';
  readonly masked: string;
}

const IGNORED = new Set(['19000101', '00010101']);

function days(ymd: string): number {
  return daysFromCivil(Number(ymd.slice(0, 4)), Number(ymd.slice(4, 6)), Number(ymd.slice(6, 8)));
}

export interface UnshiftedDateOptions {
  /** Under the 'year' date mode, YYYY0101 values keep only the year: not reported. */
  readonly yearOnly: boolean;
  /**
   * The patient's shift in days, when known (otherwise only the shifts the file shows explain coincidences); or a
   * function that gives it, called only when an output date needs explaining (it costs a keyed hash).
   */
  readonly shift?: number | (() => number | undefined);
}

export function unshiftedDates(output: DicomFile, known: KnownIdentifiers, opts: UnshiftedDateOptions): DateHit[] {
  const originals = new Set(known.dates);
  if (originals.size === 0) return [];
  const byPath = known.datesByPath;
  const values: { path: string; dates: string[]; raw: string }[] = [];
  const visit = (el: DicomElement): void => {
    if ((el.vr !== 'DA' && el.vr !== 'DT') || el.items !== undefined) return;
    if (el.length === 0 || el.length > 4096) return;
    const raw = readString(el);
    const dates = datesOfValue(raw, el.vr).filter((d) => !IGNORED.has(d) && !(opts.yearOnly && d.endsWith('0101')));
    if (dates.length > 0) values.push({ path: elementPath(el), dates, raw });
  };
  if (output.meta) walkElements(output.meta, visit);
  walkElements(output.dataset, visit);

  // The shifts this file shows.
  const shifts = new Set<number>();
  let patientShiftAdded = false;
  const addPatientShift = (): void => {
    patientShiftAdded = true;
    const shift = typeof opts.shift === 'function' ? opts.shift() : opts.shift;
    if (shift !== undefined && shift !== 0) shifts.add(shift);
  };
  for (const v of values) {
    const before = byPath[v.path]?.split('\\');
    if (!before || before.length !== v.dates.length) continue;
    for (let i = 0; i < before.length; i++) {
      const s = days(v.dates[i]!) - days(before[i]!);
      if (s !== 0) shifts.add(s);
    }
  }
  const originalDays = new Set([...originals].map(days));

  const hits: DateHit[] = [];
  for (const v of values) {
    const before = byPath[v.path];
    if (before !== undefined && v.dates.every((d) => before.split('\\').includes(d))) {
      hits.push({ path: v.path, code: 'DATE_NOT_SHIFTED', masked: maskLength(v.raw) });
      continue;
    }
    for (const d of v.dates) {
      if (!originals.has(d)) continue;
      if (!patientShiftAdded) addPatientShift();
      const n = days(d);
      let explained = false;
      for (const s of shifts) {
        if (originalDays.has(n - s)) {
          explained = true;
          break;
        }
      }
      if (!explained) {
        hits.push({ path: v.path, code: 'ORIGINAL_DATE', masked: maskLength(v.raw) });
        break;
      }
    }
  }
  return hits;
}
