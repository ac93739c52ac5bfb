/**
 * detectPhi: every rule layer over one text, then overlap resolution. Pure and synchronous; the lexicons are
 * parsed on first use (about 50 ms once per process).
 *
 * Example:
 *   detectPhi('Seen by Dr. Ana Ortiz on 3/4/2021, MRN 4412-889.');
 *   // [{ start: 11, end: 19, type: 'NAME', ... }, { type: 'DATE', ... }, { type: 'ID', ... }]
 */
import { detectDates } from './detect/dates.ts';
import { compileKnown, detectKnown } from './detect/known.ts';
import { detectNames } from './detect/names.ts';
import { detectPatterns } from './detect/patterns.ts';
import { detectPlaces, glueAddressParts } from './detect/places.ts';
import { resolveSpans } from './spans.ts';
import { tokenize } from './tokens.ts';
import type { KnownValue, PhiType, Span } from './types.ts';

export interface DetectOptions {
  /** Values known to be PHI (e.g. from the DICOM header). */
  known?: readonly KnownValue[];
  /** Drop findings under this confidence (default 0.5). */
  threshold?: number;
  /** Report only these types (default: all). */
  types?: readonly PhiType[];
}

const compiledKnown = new WeakMap<readonly KnownValue[], ReturnType<typeof compileKnown>>();

export function detectPhi(text: string, options: DetectOptions = {}): Span[] {
  const threshold = options.threshold ?? 0.5;
  const tokens = tokenize(text);
  const raw: Span[] = [
    ...detectPatterns(text),
    ...detectDates(text),
    ...detectPlaces(text, tokens),
    ...detectNames(text, tokens),
  ];
  if (options.known && options.known.length > 0) {
    let c = compiledKnown.get(options.known);
    if (c === undefined && !compiledKnown.has(options.known)) {
      c = compileKnown(options.known);
      compiledKnown.set(options.known, c);
    }
    raw.push(...detectKnown(text, c));
  }
  raw.push(
    ...glueAddressParts(
      text,
      raw.filter((s) => s.confidence >= threshold),
    ),
  );
  let spans = resolveSpans(raw, threshold);
  if (options.types) {
    const allowed = new Set(options.types);
    spans = spans.filter((s) => allowed.has(s.type));
  }
  return spans;
}
