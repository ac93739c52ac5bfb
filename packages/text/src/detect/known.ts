/**
 * Values the caller already knows are PHI (e.g. PatientName, PatientID, referring physician, institution from the
 * study's DICOM header): found wherever they are written, case-insensitive, with any spacing. A person name in
 * DICOM form ("DOE^JOHN^A") is also found word by word ("John", "Doe"), since reports write names every way.
 */
import type { KnownValue, Span } from '../types.ts';

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function compileKnown(
  values: readonly KnownValue[],
): { re: RegExp; types: Map<string, KnownValue['type']> } | undefined {
  const types = new Map<string, KnownValue['type']>();
  for (const k of values) {
    const v = k.value.trim();
    if (v.length < 2) continue;
    const parts = k.type === 'NAME' ? [v.replace(/\^+/g, ' ').trim(), ...v.split(/[\^\s,]+/)] : [v];
    for (const p of parts) {
      const t = p.trim();
      if (t.length < 2 || (k.type === 'NAME' && t.length < 2)) continue;
      types.set(t.toLowerCase().replace(/\s+/g, ' '), k.type);
    }
  }
  if (types.size === 0) return undefined;
  const alts = [...types.keys()].sort((a, b) => b.length - a.length).map((t) => escapeRe(t).replace(/ /g, '\\s+'));
  return { re: new RegExp(`(?<![\\p{L}\\p{N}])(?:${alts.join('|')})(?![\\p{L}\\p{N}])`, 'giu'), types };
}

export function detectKnown(text: string, compiled: ReturnType<typeof compileKnown>): Span[] {
  if (!compiled) return [];
  const out: Span[] = [];
  for (const m of text.matchAll(compiled.re)) {
    const type = compiled.types.get(m[0].toLowerCase().replace(/\s+/g, ' ')) ?? 'ID';
    out.push({ start: m.index, end: m.index + m[0].length, type, confidence: 0.99, rule: 'known' });
  }
  return out;
}
