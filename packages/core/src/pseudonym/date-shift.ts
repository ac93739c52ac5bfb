/**
 * Date de-identification (PS3.15 E.3.6 Retain Longitudinal Temporal Information with Modified Dates).
 *
 * 'shift' moves every date of a patient by the same number of days, derived from HMAC(key, 'date:' + patient key)
 * and never 0, so intervals between a patient's dates (age at scan, days between studies) stay exact while the
 * calendar dates change. Times are not changed (whole days only), so studies spanning midnight stay consistent.
 * 'year' keeps only the year (DA YYYY0101, DT YYYY); 'remove' empties the value.
 *
 * Handles DA (YYYYMMDD and the ACR-NEMA YYYY.MM.DD), DT with any precision, fraction and UTC offset (partial DT
 * values keep their precision: YYYY and YYYYMM are shifted from the middle of the year/month), ranges ("A-B", "-B",
 * "A-") and multiple values. Values that do not parse are reported as undefined: the caller must not keep them.
 * Pure calendar arithmetic (proleptic Gregorian, years 0001-9999); no clock.
 *
 * Example:
 *   const days = dateShiftDays('id:123', key, 365);   // e.g. -117
 *   transformDate('20130713', 'DA', 'shift', -117);    // '20130318'
 *   transformDate('2013', 'DT', 'shift', days);        // '2013'
 *   transformDate('20130713', 'DA', 'year', days);     // '20130101'
 *   capAge('093Y');                                    // '090Y'
 */
import { hmacUint32 } from './hmac.ts';

export type DateMode = 'shift' | 'year' | 'remove';

/** The patient's shift in days: uniform in [-max, -1] ∪ [1, max]. */
export function dateShiftDays(patientKey: string, secret: Uint8Array, maxShiftDays: number): number {
  const max = Math.max(1, Math.floor(maxShiftDays));
  const r = hmacUint32(secret, `date:${patientKey}`) % (2 * max);
  return r < max ? -(r + 1) : r - max + 1;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

function daysInMonth(y: number, m: number): number {
  return daysFromCivil(m === 12 ? y + 1 : y, m === 12 ? 1 : m + 1, 1) - daysFromCivil(y, m, 1);
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** Shifts y-m-d by days; undefined when the result leaves years 0001-9999. */
function shiftYmd(y: number, m: number, d: number, days: number): { y: number; m: number; d: number } | undefined {
  const r = civilFromDays(daysFromCivil(y, m, d) + days);
  return r.y < 1 || r.y > 9999 ? undefined : r;
}

function validYmd(y: number, m: number, d: number): boolean {
  return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

/** One DA value (no range): YYYYMMDD or YYYY.MM.DD. */
function transformOneDA(v: string, mode: DateMode, days: number): string | undefined {
  const m = /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec(v);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (!validYmd(y, mo, d)) return undefined;
  if (mode === 'remove') return '';
  if (mode === 'year') return `${m[1]}0101`;
  const r = shiftYmd(y, mo, d, days);
  return r ? pad(r.y, 4) + pad(r.m, 2) + pad(r.d, 2) : undefined;
}

/** One DT value (no range): YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]. */
function transformOneDT(v: string, mode: DateMode, days: number): string | undefined {
  const m = /^(\d{4})(\d{2})?(\d{2})?(\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?)?([+-]\d{4})?$/.exec(v);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = m[2] === undefined ? undefined : Number(m[2]);
  const d = m[3] === undefined ? undefined : Number(m[3]);
  if (mo !== undefined && (mo < 1 || mo > 12)) return undefined;
  if (mo !== undefined && d !== undefined && !validYmd(y, mo, d)) return undefined;
  if (y < 1) return undefined;
  if (mode === 'remove') return '';
  if (mode === 'year') return m[1]!;
  const rest = (m[4] ?? '') + (m[5] ?? '');
  if (mo === undefined) {
    const r = shiftYmd(y, 7, 2, days); // the middle of the year
    return r ? pad(r.y, 4) + rest : undefined;
  }
  if (d === undefined) {
    const r = shiftYmd(y, mo, 15, days);
    return r ? pad(r.y, 4) + pad(r.m, 2) + rest : undefined;
  }
  const r = shiftYmd(y, mo, d, days);
  return r ? pad(r.y, 4) + pad(r.m, 2) + pad(r.d, 2) + rest : undefined;
}

/**
 * A value or a range "A-B" / "-B" / "A-". A DT UTC offset (&ZZXX) also contains '-', so the plain value is tried
 * first, then each '-' as the range separator.
 */
function transformRange(v: string, one: (s: string) => string | undefined): string | undefined {
  const whole = one(v);
  if (whole !== undefined) return whole;
  for (let i = v.indexOf('-'); i >= 0; i = v.indexOf('-', i + 1)) {
    const a = v.slice(0, i).trim();
    const b = v.slice(i + 1).trim();
    if (a === '' && b === '') continue;
    const ta = a === '' ? '' : one(a);
    const tb = b === '' ? '' : one(b);
    if (ta === undefined || tb === undefined) continue;
    if (ta === '' && tb === '') return '';
    return `${ta}-${tb}`;
  }
  return undefined;
}

/**
 * Transforms a whole DA or DT value (multiple values, ranges). Undefined when any part does not parse as a date:
 * the caller must then remove or empty the element rather than keep an unmodified date.
 */
export function transformDate(value: string, vr: 'DA' | 'DT', mode: DateMode, days: number): string | undefined {
  const one = vr === 'DA' ? (s: string) => transformOneDA(s, mode, days) : (s: string) => transformOneDT(s, mode, days);
  const parts = value.split('\\');
  const out: string[] = [];
  for (const raw of parts) {
    const p = raw.trim();
    if (p === '') {
      out.push('');
      continue;
    }
    const t = transformRange(p, one);
    if (t === undefined) return undefined;
    out.push(t);
  }
  if (mode === 'remove') return '';
  return out.join('\\');
}

/**
 * HIPAA Safe Harbor (45 CFR 164.514(b)(2)(i)(C)): ages over 89 are aggregated into one category, written '090Y'.
 * Returns the replacement, or undefined when the age may stay as it is (89 years or less, or not an AS value).
 */
export function capAge(value: string): string | undefined {
  const m = /^(\d{3})([DWMY])$/.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const years = m[2] === 'Y' ? n : m[2] === 'M' ? n / 12 : m[2] === 'W' ? (n * 7) / 365.25 : n / 365.25;
  return years > 89 ? '090Y' : undefined;
}
