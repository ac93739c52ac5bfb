/**
 * Attribute matching for QIDO-RS (PS3.18 8.3.4.1, after PS3.4 C.2.2.2): universal (empty value), single value,
 * wild card (`*`, `?`) for text, UID list (`\` or `,` separated), and range (`a-b`, `a-`, `-b`) for DA, TM and DT.
 * A multi-valued attribute matches when any of its values does. Person names match on any component group, and
 * (like most archives) without regard to case; other text is case-sensitive.
 *
 * Example:
 *   matchesAttribute({ vr: 'DA', Value: ['20240105'] }, '20240101-20240131'); // true
 */
import type { DicomJsonAttribute, DicomJsonPersonName } from '@veil/core';
import { wildcardMatch } from './wildcard.ts';

function textMatches(value: string, pattern: string, ignoreCase: boolean): boolean {
  // Linear time whatever the pattern (a regular expression built from it backtracks for seconds).
  if (pattern.includes('*') || pattern.includes('?')) return wildcardMatch(value, pattern, ignoreCase);
  return ignoreCase ? value.toLowerCase() === pattern.toLowerCase() : value === pattern;
}

/** Dates and times compared as digit strings: "2024.01.05" (old style) is "20240105", "10:30" is "1030". */
function normalizeTemporal(s: string): string {
  return s.trim().replace(/[.:]/g, '');
}

/** Range matching on the bounds' precision ("-1030" covers 103059.99). A DT's UTC offset is ignored. */
function temporalMatches(vr: string, value: string, query: string): boolean {
  const v = normalizeTemporal(vr === 'DT' ? value.replace(/[+-]\d{4}$/, '') : value);
  const dash = query.indexOf('-');
  if (dash >= 0) {
    const lo = normalizeTemporal(query.slice(0, dash));
    const hi = normalizeTemporal(query.slice(dash + 1));
    if (lo && v.slice(0, lo.length) < lo) return false;
    if (hi && v.slice(0, hi.length) > hi) return false;
    return true;
  }
  const q = normalizeTemporal(query);
  return vr === 'DA' ? v === q : v.startsWith(q);
}

function personNameMatches(pn: DicomJsonPersonName, query: string): boolean {
  return [pn.Alphabetic, pn.Ideographic, pn.Phonetic].some((c) => c !== undefined && textMatches(c, query, true));
}

/** Whether an attribute (undefined: absent) matches a QIDO-RS query value. */
export function matchesAttribute(attr: DicomJsonAttribute | undefined, query: string): boolean {
  if (query === '' || query === '*') return true;
  const values = attr?.Value;
  if (!attr || !values || values.length === 0) return false;
  const vr = attr.vr;
  if (vr === 'UI') {
    const wanted = new Set(
      query
        .split(/[\\,]/)
        .map((s) => s.trim())
        .filter(Boolean),
    );
    return values.some((v) => typeof v === 'string' && wanted.has(v));
  }
  for (const v of values) {
    if (v === null || v === undefined) continue;
    if (vr === 'PN') {
      if (typeof v === 'object' && personNameMatches(v as DicomJsonPersonName, query)) return true;
      continue;
    }
    if (vr === 'DA' || vr === 'TM' || vr === 'DT') {
      if (typeof v === 'string' && temporalMatches(vr, v, query)) return true;
      continue;
    }
    if (typeof v === 'number') {
      const q = Number(query);
      if (query.trim() !== '' && Number.isFinite(q) && q === v) return true;
      continue;
    }
    if (typeof v === 'string' && textMatches(v, query, false)) return true;
  }
  return false;
}
