/**
 * Resolves overlapping findings: spans under the threshold go; overlapping spans merge into their union (a partly
 * covered value would leak its uncovered part), typed by the most confident member (the longer on a tie).
 */
import type { Span } from './types.ts';

export function resolveSpans(spans: readonly Span[], threshold: number): Span[] {
  const kept = spans
    .filter((s) => s.confidence >= threshold && s.end > s.start)
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Span[] = [];
  for (const s of kept) {
    const last = out[out.length - 1];
    if (last && s.start < last.end) {
      const better =
        s.confidence > last.confidence || (s.confidence === last.confidence && s.end - s.start > last.end - last.start);
      if (better) {
        last.type = s.type;
        last.rule = s.rule;
        last.confidence = s.confidence;
      }
      last.end = Math.max(last.end, s.end);
      continue;
    }
    out.push({ ...s });
  }
  return out;
}
