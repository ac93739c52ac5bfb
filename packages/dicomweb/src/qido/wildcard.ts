/**
 * Wild card matching for QIDO-RS (PS3.4 C.2.2.2.4): `*` matches any run of characters (including none), `?` any one
 * character. Linear in the value's length for any pattern: the pattern is cut at its `*`s into segments; the first
 * must match at the start, the last at the end, and each middle one is found, leftmost, after the previous one with
 * a bit-parallel (Shift-And) scan that reads each character of the value once. A regular expression built from the
 * pattern (what this replaces) backtracks: `*a*a*a*a*a*a*a*a*a*b` against a long run of `a` took seconds.
 *
 * Example:
 *   wildcardMatch('DOE^JOHN', 'DOE*');          // true
 *   wildcardMatch('doe^john', 'DOE^J?HN', true); // true (ignore case)
 */

/** Counts the matcher's inner steps (for tests that bound its work). */
export interface StepCounter {
  steps: number;
}

const WORD = 32;

/** Whether `value` matches `pattern` in full. */
export function wildcardMatch(value: string, pattern: string, ignoreCase = false, counter?: StepCounter): boolean {
  const v = ignoreCase ? value.toLowerCase() : value;
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const segs = p.split('*');
  if (segs.length === 1) return v.length === p.length && matchAt(v, 0, p, counter);
  const first = segs[0]!;
  const last = segs[segs.length - 1]!;
  if (first.length + last.length > v.length) return false;
  if (!matchAt(v, 0, first, counter)) return false;
  const end = v.length - last.length;
  if (!matchAt(v, end, last, counter)) return false;
  let at = first.length;
  for (let i = 1; i < segs.length - 1; i++) {
    const seg = segs[i]!;
    if (seg.length === 0) continue;
    const found = findSegment(v, at, end, seg, counter);
    if (found < 0) return false;
    at = found + seg.length;
  }
  return true;
}

/** Whether `seg` (with `?`) matches `v` at `at`. */
function matchAt(v: string, at: number, seg: string, counter?: StepCounter): boolean {
  for (let i = 0; i < seg.length; i++) {
    if (counter) counter.steps++;
    const c = seg.charCodeAt(i);
    if (c !== 63 /* ? */ && v.charCodeAt(at + i) !== c) return false;
  }
  return true;
}

/** The leftmost start of `seg` in v[from, to), or -1: Shift-And over ceil(|seg| / 32) words. */
function findSegment(v: string, from: number, to: number, seg: string, counter?: StepCounter): number {
  const k = seg.length;
  if (to - from < k) return -1;
  const words = Math.ceil(k / WORD);
  // Masks: bit j set when position j of the segment accepts the character; '?' positions accept every character.
  const any = new Uint32Array(words);
  const byChar = new Map<number, Uint32Array>();
  for (let j = 0; j < k; j++) if (seg.charCodeAt(j) === 63) any[j >>> 5]! |= 1 << (j & 31);
  for (let j = 0; j < k; j++) {
    const c = seg.charCodeAt(j);
    if (c === 63) continue;
    let m = byChar.get(c);
    if (!m) {
      m = Uint32Array.from(any);
      byChar.set(c, m);
    }
    m[j >>> 5]! |= 1 << (j & 31);
  }
  const state = new Uint32Array(words);
  const lastWord = (k - 1) >>> 5;
  const lastBit = 1 << ((k - 1) & 31);
  for (let i = from; i < to; i++) {
    const mask = byChar.get(v.charCodeAt(i)) ?? any;
    let carry = 1;
    for (let w = 0; w < words; w++) {
      if (counter) counter.steps++;
      const s = state[w]!;
      const next = ((s << 1) | carry) >>> 0;
      carry = s >>> 31;
      state[w] = next & mask[w]!;
    }
    if ((state[lastWord]! & lastBit) !== 0) return i - k + 1;
  }
  return -1;
}
