/**
 * Override selectors: which elements a TagOverride applies to.
 *
 *   "(0010,0010)" or "PatientName"       that attribute at any depth (like the profile table itself)
 *   "(0029,\"SIEMENS CSA HEADER\",10)"   a private element: group, private creator, element low byte (or xx10)
 *   "(0040,A730)/(0040,A123)"            a path from the top-level dataset: each segment a sequence, any item
 *   "*.(0010,0010)", "*\/(0040,A123)"     explicitly at any depth; "*.(0040,A730)/(0040,A123)" a path suffix
 * Segments are separated by '/' (or '.'); keywords are PS3.6 2024b keywords, case-sensitive.
 *
 * Specificity: a path from the top beats a path suffix, which beats a single segment; among equals the last
 * override in the list wins.
 *
 * Example:
 *   parseSelector('(0040,A730)/PersonName'); // { anchored: true, segments: [{ tag: 0x0040A730 }, { tag: 0x0040A123 }] }
 */
import { tagForKeyword } from '../dicom/dictionary/index.ts';

export type SegmentMatcher =
  | { readonly kind: 'tag'; readonly tag: number }
  | { readonly kind: 'private'; readonly group: number; readonly creator: string; readonly element: number };

export interface Selector {
  /** True: the path starts at the top-level dataset. False: it may start at any depth. */
  readonly anchored: boolean;
  readonly segments: readonly SegmentMatcher[];
}

/** One step of the path from the top-level dataset to an element: its tag and, if private, its creator. */
export interface PathStep {
  readonly tag: number;
  readonly creator: string | undefined;
}

function parseSegment(text: string): SegmentMatcher | undefined {
  const pub = /^\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)$/.exec(text);
  if (pub) return { kind: 'tag', tag: Number.parseInt(pub[1]! + pub[2]!, 16) >>> 0 };
  const priv = /^\(([0-9A-Fa-f]{4}),\s*"([^"]*)"\s*,\s*(?:[xX]{2})?([0-9A-Fa-f]{2})\)$/.exec(text);
  if (priv) {
    const group = Number.parseInt(priv[1]!, 16);
    const creator = priv[2]!.replace(/ +$/, '');
    if ((group & 1) === 0 || creator === '') return undefined;
    return { kind: 'private', group, creator, element: Number.parseInt(priv[3]!, 16) };
  }
  if (/^[A-Za-z][A-Za-z0-9]*$/.test(text)) {
    const tag = tagForKeyword(text);
    return tag === undefined ? undefined : { kind: 'tag', tag };
  }
  return undefined;
}

/** Splits on '/' and '.' outside parentheses and quotes (creators may contain both). */
function splitPath(text: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  let quoted = false;
  for (const c of text) {
    if (quoted) {
      cur += c;
      if (c === '"') quoted = false;
    } else if (c === '"') {
      cur += c;
      quoted = true;
    } else if (c === '(') {
      depth++;
      cur += c;
    } else if (c === ')') {
      depth--;
      if (depth < 0) return undefined;
      cur += c;
    } else if ((c === '/' || c === '.') && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (quoted || depth !== 0) return undefined;
  out.push(cur.trim());
  return out;
}

/** Parses a selector; undefined when it is not valid (the config parser reports where). */
export function parseSelector(text: string): Selector | undefined {
  const parts = splitPath(text.trim());
  if (!parts || parts.length === 0) return undefined;
  let anchored = true;
  if (parts[0] === '*') {
    anchored = false;
    parts.shift();
  }
  if (parts.length === 0) return undefined;
  if (parts.length === 1) anchored = false;
  const segments: SegmentMatcher[] = [];
  for (const p of parts) {
    const s = parseSegment(p);
    if (!s) return undefined;
    segments.push(s);
  }
  // Every segment but the last must be able to hold items: a private one may be a sequence too.
  return { anchored, segments };
}

/** 0 single segment at any depth, 1 path suffix, 2 path from the top. */
export function specificity(s: Selector): number {
  if (s.anchored) return 2;
  return s.segments.length > 1 ? 1 : 0;
}

export function segmentMatches(m: SegmentMatcher, step: PathStep): boolean {
  if (m.kind === 'tag') return m.tag === step.tag;
  return (
    step.creator !== undefined &&
    step.tag >>> 16 === m.group &&
    (step.tag & 0xff) === m.element &&
    (step.tag & 0xffff) >= 0x1000 &&
    step.creator === m.creator
  );
}

/** Whether the selector matches an element whose path (top-level first, the element last) is `path`. */
export function selectorMatches(s: Selector, path: readonly PathStep[]): boolean {
  const n = s.segments.length;
  if (s.anchored ? path.length !== n : path.length < n) return false;
  const offset = path.length - n;
  for (let i = 0; i < n; i++) if (!segmentMatches(s.segments[i]!, path[offset + i]!)) return false;
  return true;
}
