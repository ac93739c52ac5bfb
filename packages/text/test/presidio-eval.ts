/**
 * Scores the engine on the presidio-research synthetic corpus (../shared/data/text/presidio-research-synth).
 *
 * Gold labels map to Veil's types; labels that are not identifiers under HIPAA Safe Harbor are not scored for
 * recall: TITLE, NRP (nationality/religion/politics), ORGANIZATION (companies; hospitals are rare there), AGE up
 * to 89, and GPE values that are country names (a country is not a "geographic subdivision smaller than a state").
 * Gold values written 'nan' (a generator artefact) are skipped.
 *
 * Recall (leak-based): a gold span counts as found when every letter and digit of it lies inside some detected
 * span, whatever type the detector gave it: a value partly covered still leaks. Precision: a detected span is
 * correct when it overlaps any gold span (scored or not); otherwise it is a false positive.
 * The corpus is split by template (even template ids: development set, used while writing the rules; odd: held out).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectPhi, type Span } from '@veil/text';
import { lexiconsForTest } from './support.ts';

export interface Record_ {
  full_text: string;
  spans: { entity_type: string; entity_value: string; start_position: number; end_position: number }[];
  template_id: number;
}

export const GOLD_MAP: Record<string, string | undefined> = {
  PERSON: 'NAME',
  STREET_ADDRESS: 'ADDRESS',
  GPE: 'LOCATION',
  CREDIT_CARD: 'ACCOUNT',
  IBAN_CODE: 'ACCOUNT',
  DATE_TIME: 'DATE',
  PHONE_NUMBER: 'PHONE',
  EMAIL_ADDRESS: 'EMAIL',
  ZIP_CODE: 'ZIP',
  DOMAIN_NAME: 'URL',
  US_SSN: 'SSN',
  IP_ADDRESS: 'IP',
  US_DRIVER_LICENSE: 'LICENSE',
  AGE: 'AGE',
};

export function loadCorpus(sharedDir: string): Record_[] {
  return JSON.parse(readFileSync(join(sharedDir, 'data/text/presidio-research-synth/synth_dataset_v2.json'), 'utf8'));
}

export interface Metrics {
  perType: Map<string, { gold: number; found: number }>;
  perDetected: Map<string, { tp: number; fp: number }>;
  gold: number;
  found: number;
  tp: number;
  fp: number;
  misses: { type: string; value: string; text: string }[];
  falsePositives: { type: string; value: string; text: string }[];
}

function scored(type: string, value: string): string | undefined {
  const t = GOLD_MAP[type];
  if (t === undefined || value.trim() === '' || value.trim().toLowerCase() === 'nan') return undefined;
  if (t === 'AGE') return Number(value) > 89 ? 'AGE' : undefined;
  if (
    t === 'LOCATION' &&
    lexiconsForTest().countries.has(
      value
        .trim()
        .toLowerCase()
        .replace(/\s*\(.*\)$/, ''),
    )
  )
    return undefined;
  return t;
}

/** Offsets of country names and 'nan' inside a gold value (e.g. an address block ending "Uruguay 64677"). */
function notPhiInside(value: string, offset: number): Set<number> {
  const out = new Set<number>();
  const countries = lexiconsForTest().countries;
  for (const m of value.matchAll(/[\p{L}]+(?:[ ][\p{L}]+)*(?: \([\p{L}]+\))?/gu)) {
    const words = m[0].split(' ');
    for (let a = 0; a < words.length; a++) {
      for (let b = words.length; b > a; b--) {
        const phrase = words.slice(a, b).join(' ');
        const key = phrase.toLowerCase().replace(/\s*\(.*\)$/, '');
        if (key === 'nan' || countries.has(key)) {
          const s = m.index + words.slice(0, a).join(' ').length + (a > 0 ? 1 : 0);
          for (let i = s; i < s + phrase.length; i++) out.add(offset + i);
        }
      }
    }
  }
  return out;
}

export function evaluate(records: readonly Record_[]): Metrics {
  const m: Metrics = {
    perType: new Map(),
    perDetected: new Map(),
    gold: 0,
    found: 0,
    tp: 0,
    fp: 0,
    misses: [],
    falsePositives: [],
  };
  for (const r of records) {
    const text = r.full_text;
    const spans: Span[] = detectPhi(text);
    const covered = new Uint8Array(text.length + 1);
    for (const s of spans) covered.fill(1, s.start, s.end);
    for (const g of r.spans) {
      const t = scored(g.entity_type, g.entity_value);
      if (t === undefined) continue;
      let ok = true;
      const skip = notPhiInside(g.entity_value, g.start_position);
      for (let i = g.start_position; i < g.end_position; i++) {
        if (/[\p{L}\p{N}]/u.test(text.charAt(i)) && !covered[i] && !skip.has(i)) {
          ok = false;
          break;
        }
      }
      const e = m.perType.get(t) ?? { gold: 0, found: 0 };
      e.gold++;
      m.gold++;
      if (ok) {
        e.found++;
        m.found++;
      } else m.misses.push({ type: t, value: g.entity_value, text });
      m.perType.set(t, e);
    }
    for (const s of spans) {
      const hit = r.spans.some((g) => g.start_position < s.end && s.start < g.end_position);
      const e = m.perDetected.get(s.type) ?? { tp: 0, fp: 0 };
      if (hit) {
        e.tp++;
        m.tp++;
      } else {
        e.fp++;
        m.fp++;
        m.falsePositives.push({ type: s.type, value: text.slice(s.start, s.end), text });
      }
      m.perDetected.set(s.type, e);
    }
  }
  return m;
}

const pct = (a: number, b: number) => (b === 0 ? '-' : (a / b).toFixed(3));

export function report(label: string, m: Metrics): string {
  const lines = [
    `${label}: recall ${pct(m.found, m.gold)} (${m.found}/${m.gold}), precision ${pct(m.tp, m.tp + m.fp)} (${m.tp}/${m.tp + m.fp})`,
  ];
  for (const [t, e] of [...m.perType].sort())
    lines.push(`  recall    ${t.padEnd(9)} ${pct(e.found, e.gold)} (${e.found}/${e.gold})`);
  for (const [t, e] of [...m.perDetected].sort())
    lines.push(`  precision ${t.padEnd(9)} ${pct(e.tp, e.tp + e.fp)} (${e.tp}/${e.tp + e.fp})`);
  return lines.join('\n');
}
