/**
 * deidentify: detect, then rewrite each finding as a typed placeholder (`[NAME]`), a keyed surrogate, or a mask
 * (`*` for every letter and digit, layout kept). Returns the new text, the spans (offsets into the input, no
 * values) and, in surrogate mode, the replacements (original and surrogate per span) that a caller such as the LLM
 * proxy keeps in memory to restore answers; they hold PHI and must never be logged.
 *
 * Example:
 *   deidentify('Dr. Ana Ortiz saw him on 3/4/2021.', { mode: 'placeholder' }).text;
 *   // 'Dr. [NAME] saw him on [DATE].'
 *   deidentify(text, { mode: 'surrogate', key, patientKey: 'MRN 1234' });
 */
import { type DetectOptions, detectPhi } from './detect.ts';
import { type SurrogateOptions, Surrogates } from './surrogates.ts';
import type { PhiType, Span } from './types.ts';

export type OutputMode = 'placeholder' | 'surrogate' | 'mask';

export interface DeidentifyOptions extends DetectOptions, Partial<SurrogateOptions> {
  mode?: OutputMode;
  /** Reuse one surrogate generator across calls (the proxy does, per request). */
  surrogates?: Surrogates;
}

export interface Replacement {
  span: Span;
  original: string;
  replacement: string;
}

export interface DeidentifyResult {
  text: string;
  spans: Span[];
  replacements: Replacement[];
  counts: Partial<Record<PhiType, number>>;
}

export function deidentify(text: string, options: DeidentifyOptions = {}): DeidentifyResult {
  const mode = options.mode ?? 'placeholder';
  const spans = detectPhi(text, options);
  let gen = options.surrogates;
  if (mode === 'surrogate' && gen === undefined) {
    if (!options.key) throw new Error('TEXT_KEY_REQUIRED: surrogate mode needs a key');
    gen = new Surrogates({
      key: options.key,
      ...(options.patientKey !== undefined ? { patientKey: options.patientKey } : {}),
      ...(options.maxShiftDays !== undefined ? { maxShiftDays: options.maxShiftDays } : {}),
      ...(options.dateOrder !== undefined ? { dateOrder: options.dateOrder } : {}),
    });
  }
  let out = '';
  let pos = 0;
  const replacements: Replacement[] = [];
  const counts: Partial<Record<PhiType, number>> = {};
  for (const s of spans) {
    const original = text.slice(s.start, s.end);
    let r: string;
    if (mode === 'placeholder') r = `[${s.type}]`;
    else if (mode === 'mask') r = original.replace(/[\p{L}\p{N}]/gu, '*');
    else r = gen!.for(s.type, original);
    out += text.slice(pos, s.start) + r;
    pos = s.end;
    replacements.push({ span: s, original, replacement: r });
    counts[s.type] = (counts[s.type] ?? 0) + 1;
  }
  out += text.slice(pos);
  return { text: out, spans, replacements, counts };
}
