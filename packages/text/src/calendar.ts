/**
 * Proleptic Gregorian day arithmetic (H. Hinnant's days_from_civil), the same as @veil/core's date shifting, and
 * the patient's keyed shift: HMAC(key, 'date:' + patientKey) mod 2*max, never 0, so every date of one patient
 * moves by the same number of days and intervals are kept. Uses the same derivation as core's `dateShiftDays`,
 * so a report and its DICOM header shift alike under the same key and patient key.
 */
import { hmacBytes } from './hmac.ts';

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

export function daysInMonth(y: number, m: number): number {
  return daysFromCivil(m === 12 ? y + 1 : y, m === 12 ? 1 : m + 1, 1) - daysFromCivil(y, m, 1);
}

export function validYmd(y: number, m: number, d: number): boolean {
  return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

/** The patient's shift in days: uniform in [-max, -1] ∪ [1, max]. */
export function dateShiftDays(patientKey: string, secret: Uint8Array, maxShiftDays: number): number {
  const max = Math.max(1, Math.floor(maxShiftDays));
  const mac = hmacBytes(secret, `date:${patientKey}`);
  const u = ((mac[0]! << 24) | (mac[1]! << 16) | (mac[2]! << 8) | mac[3]!) >>> 0;
  const r = u % (2 * max);
  return r < max ? -(r + 1) : r - max + 1;
}
