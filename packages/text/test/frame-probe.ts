/**
 * The scoring of the developer probes (issue 15; not a test): values put into sentence frames ('{p}' marks the
 * value), as written, in lower case and in capitals, run through the engine. A value counts as found when every
 * letter and digit of it lies inside a finding; a finding that touches none of the value is over-redaction.
 * Used by fakerjs-probes.ts and pyfaker-frames.ts (runFrameProbe) and dev-frames.ts (valueCovered).
 */
import { detectPhi, type Span } from '@veil/text';

/** Whether every letter and digit of text[start, start + length) lies inside one of the spans. */
export function valueCovered(text: string, start: number, length: number, spans: readonly Span[]): boolean {
  for (let i = start; i < start + length; i++)
    if (/[\p{L}\p{N}]/u.test(text.charAt(i)) && !spans.some((s) => s.start <= i && i < s.end)) return false;
  return true;
}

export const VARIANTS: readonly [string, (s: string) => string][] = [
  ['as is', (s) => s],
  ['lower', (s) => s.toLowerCase()],
  ['upper', (s) => s.toUpperCase()],
];

export interface FrameProbeOptions {
  /** Count and print findings outside the value. */
  readonly over?: boolean;
}

/**
 * Recall per kind and variant, then the total, printed; `--misses` on the command line prints each miss (and each
 * finding outside the value when counted), `--type=KIND` runs one kind.
 */
export function runFrameProbe(
  frames: Readonly<Record<string, readonly string[]>>,
  values: Readonly<Record<string, Iterable<string>>>,
  options: FrameProbeOptions = {},
): void {
  const showMisses = process.argv.includes('--misses');
  const only = process.argv.find((a) => a.startsWith('--type='))?.slice(7);
  let allGold = 0;
  let allFound = 0;
  let allOver = 0;
  const overNote = (n: number) => (options.over ? `, findings outside the value ${n}` : '');
  for (const [type, typeFrames] of Object.entries(frames)) {
    if (only !== undefined && only !== type) continue;
    for (const [label, variant] of VARIANTS) {
      let gold = 0;
      let found = 0;
      let over = 0;
      for (const value of new Set(values[type] ?? [])) {
        if (value.trim() === '') continue;
        for (const frame of typeFrames) {
          const text = variant(frame.replace('{p}', value));
          const start = variant(frame).indexOf(variant('{p}'));
          const v = variant(value);
          const spans = detectPhi(text);
          gold++;
          if (valueCovered(text, start, v.length, spans)) found++;
          else if (showMisses)
            console.log('  MISS', type, label, JSON.stringify(v), 'in', JSON.stringify(variant(frame)));
          if (!options.over) continue;
          for (const s of spans) {
            if (s.end > start && s.start < start + v.length) continue;
            over++;
            if (showMisses)
              console.log(
                '  OVER',
                type,
                label,
                JSON.stringify(text.slice(s.start, s.end)),
                'in',
                JSON.stringify(text),
              );
          }
        }
      }
      allGold += gold;
      allFound += found;
      allOver += over;
      console.log(
        `${type.padEnd(7)} ${label.padEnd(6)} recall ${(found / gold).toFixed(3)} (${found}/${gold})${overNote(over)}`,
      );
    }
  }
  console.log(`total ${(allFound / allGold).toFixed(4)} (${allFound}/${allGold})${overNote(allOver)}`);
}
