/**
 * The byte-range rewriter: applies edits (replace a value, remove an element, insert an element) at any depth and
 * copies every untouched byte range verbatim. Lengths of enclosing defined-length items and sequences, group lengths
 * and the file meta group length are fixed. With no edits the output is the input, byte for byte.
 *
 * The plan is a list of segments: ranges of the input and new bytes. A caller that holds the file in memory uses
 * `rewrite`; one that streams a 2 GB file writes the segments itself, copying ranges from disk.
 *
 * Example:
 *   const file = scanFile(bytes);
 *   const name = findElement(file.dataset, 0x00100010)!;
 *   const out = rewrite(file, [{ op: 'replace', element: name, value: new TextEncoder().encode('ANON') }]);
 */
import { deflateSync } from 'fflate';
import type { ByteSource } from './byte-source.ts';
import type { DicomElement, DicomFile, DicomItem, ElementContainer, Syntax } from './dataset.ts';
import { VeilError } from './errors.ts';
import { formatTag, UNDEFINED_LENGTH } from './tag.ts';
import { containerPath, elementPath } from './tag-path.ts';
import { hasLongLength, paddingByte } from './vr.ts';

export type Edit =
  | {
      readonly op: 'replace';
      readonly element: DicomElement;
      readonly value: Uint8Array;
      readonly vr?: string;
      /**
       * The value is encapsulated items (PS3.5 A.4: the offset table item, the fragment items, the sequence
       * delimiter; see encapsulated.ts) and the element is written with undefined length.
       */
      readonly encapsulated?: boolean;
    }
  | { readonly op: 'remove'; readonly element: DicomElement }
  | {
      /**
       * Bytes [start, end) of an element's value (offsets into the value) replaced by `value`, the rest of the value
       * copied from the input: a large value (a multi-frame's Pixel Data) changed in a few places without holding it
       * whole. An element of defined length keeps its length (value.length === end - start); one of undefined length
       * (encapsulated Pixel Data) may grow or shrink. Several patches of one element must not overlap.
       */
      readonly op: 'patch';
      readonly element: DicomElement;
      readonly start: number;
      readonly end: number;
      readonly value: Uint8Array;
    }
  | {
      readonly op: 'insert';
      readonly container: ElementContainer;
      readonly tag: number;
      readonly vr: string;
      readonly value: Uint8Array;
    };

/** A range [start, end) of the input file, or new bytes. */
export type Segment = { readonly start: number; readonly end: number } | Uint8Array;

export interface RewritePlan {
  readonly segments: Segment[];
  readonly length: number;
}

interface Splice {
  start: number;
  end: number;
  bytes: Uint8Array;
  /** Where the size change happens, and the tag of the element that grows or shrinks there. */
  container: ElementContainer | undefined;
  tag: number;
  order: number;
}

function put16(out: Uint8Array, at: number, v: number, le: boolean): void {
  out[at + (le ? 0 : 1)] = v & 0xff;
  out[at + (le ? 1 : 0)] = (v >>> 8) & 0xff;
}

function put32(out: Uint8Array, at: number, v: number, le: boolean): void {
  for (let i = 0; i < 4; i++) out[at + (le ? i : 3 - i)] = (v >>> (8 * i)) & 0xff;
}

/**
 * Encodes one element (header, value, padding to even length) in a syntax. `path` names the element in an error: a
 * string, or a function that builds it (only called when the value does not fit).
 */
export function encodeElement(
  tag: number,
  vr: string,
  value: Uint8Array,
  syntax: Syntax,
  path: string | (() => string) = '',
): Uint8Array {
  const padded = value.length % 2 === 1;
  const length = value.length + (padded ? 1 : 0);
  const le = syntax.littleEndian;
  let header: number;
  if (!syntax.explicitVR) header = 8;
  else header = hasLongLength(vr) ? 12 : 8;
  if (syntax.explicitVR && header === 8 && length > 0xffff) {
    throw new VeilError('DICOM_VALUE_TOO_LONG', {
      path: (typeof path === 'function' ? path() : path) || formatTag(tag),
    });
  }
  const out = new Uint8Array(header + length);
  // Byte by byte rather than through a DataView: a view of a small array makes V8 move it off the heap first.
  put16(out, 0, tag >>> 16, le);
  put16(out, 2, tag & 0xffff, le);
  if (!syntax.explicitVR) {
    put32(out, 4, length, le);
  } else {
    out[4] = vr.charCodeAt(0);
    out[5] = vr.charCodeAt(1);
    if (header === 12) put32(out, 8, length, le);
    else put16(out, 6, length, le);
  }
  out.set(value, header);
  if (padded) out[header + value.length] = paddingByte(vr);
  return out;
}

/** An element of undefined length: its header, then `content` (items and their delimiter) as given. */
export function encodeUndefinedLength(tag: number, vr: string, content: Uint8Array, syntax: Syntax): Uint8Array {
  const le = syntax.littleEndian;
  const header = syntax.explicitVR ? 12 : 8;
  const out = new Uint8Array(header + content.length);
  put16(out, 0, tag >>> 16, le);
  put16(out, 2, tag & 0xffff, le);
  if (syntax.explicitVR) {
    out[4] = vr.charCodeAt(0);
    out[5] = vr.charCodeAt(1);
    put32(out, 8, UNDEFINED_LENGTH, le);
  } else put32(out, 4, UNDEFINED_LENGTH, le);
  out.set(content, header);
  return out;
}

/** Encodes sequence items (each a list of already encoded elements) as defined-length items. */
export function encodeItems(items: readonly (readonly Uint8Array[])[], syntax: Syntax): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const elements of items) {
    const length = elements.reduce((n, e) => n + e.length, 0);
    const header = new Uint8Array(8);
    put16(header, 0, 0xfffe, syntax.littleEndian);
    put16(header, 2, 0xe000, syntax.littleEndian);
    put32(header, 4, length, syntax.littleEndian);
    parts.push(header, ...elements);
  }
  return concat(parts);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function rootOf(c: ElementContainer): ElementContainer {
  let cur = c;
  while (cur.kind === 'item') cur = (cur as DicomItem).parent.parent;
  return cur;
}

function insertionPoint(container: ElementContainer, tag: number): number {
  for (const el of container.elements) {
    if (el.tag === tag) throw new VeilError('DICOM_BAD_EDIT', { path: containerPath(container) + formatTag(tag) });
    if (el.tag > tag) return el.offset;
  }
  return container.contentEnd;
}

/** The bytes of a removal (shared: never written to). */
const NO_BYTES = new Uint8Array(0);

function toSplice(edit: Edit, order: number): Splice {
  if (edit.op === 'insert') {
    const c = edit.container;
    const pos = insertionPoint(c, edit.tag);
    const bytes = encodeElement(edit.tag, edit.vr, edit.value, c.syntax, () => containerPath(c) + formatTag(edit.tag));
    return { start: pos, end: pos, bytes, container: c, tag: edit.tag, order };
  }
  const el = edit.element;
  if (edit.op === 'patch') {
    const defined = el.length !== UNDEFINED_LENGTH;
    const size = defined ? el.length : el.end - el.valueOffset;
    if (
      edit.start < 0 ||
      edit.end < edit.start ||
      edit.end > size ||
      (defined && edit.value.length !== edit.end - edit.start)
    ) {
      throw new VeilError('DICOM_BAD_EDIT', { path: elementPath(el) });
    }
    const start = el.valueOffset + edit.start;
    return { start, end: el.valueOffset + edit.end, bytes: edit.value, container: el.parent, tag: el.tag, order };
  }
  if (edit.op === 'remove') {
    return { start: el.offset, end: el.end, bytes: NO_BYTES, container: el.parent, tag: el.tag, order };
  }
  const vr = edit.vr ?? el.vr;
  if (edit.encapsulated) {
    const bytes = encodeUndefinedLength(el.tag, vr, edit.value, el.parent.syntax);
    return { start: el.offset, end: el.end, bytes, container: el.parent, tag: el.tag, order };
  }
  const bytes = encodeElement(el.tag, vr, edit.value, el.parent.syntax, () => elementPath(el));
  return { start: el.offset, end: el.end, bytes, container: el.parent, tag: el.tag, order };
}

/** Length field position of a defined-length sequence element: decided by the header as it was read. */
function lengthFieldOffset(el: DicomElement): number {
  const header = el.valueOffset - el.offset;
  if (header === 12) return el.offset + 8;
  return el.vrExplicit ? el.offset + 6 : el.offset + 4;
}

/**
 * The elements the edits remove or replace whole, as a set made on first use: only an edit inside an item asks
 * (enclosedBy), and most plans have none (putting each edited element in a set gave each a hash of its own).
 */
class WholeEdits {
  #set: Set<DicomElement> | undefined;
  constructor(private readonly edits: readonly Edit[]) {}
  has(el: DicomElement): boolean {
    if (this.#set === undefined) {
      this.#set = new Set();
      for (const edit of this.edits) if (edit.op === 'replace' || edit.op === 'remove') this.#set.add(edit.element);
    }
    return this.#set.has(el);
  }
}

/** The element (removed or replaced whole) that encloses a container, if any. */
function enclosedBy(c: ElementContainer | undefined, whole: WholeEdits): boolean {
  let cur = c;
  while (cur && cur.kind === 'item') {
    const seq = (cur as DicomItem).parent;
    if (whole.has(seq)) return true;
    cur = seq.parent;
  }
  return false;
}

function depthOf(c: ElementContainer | undefined): number {
  let d = 0;
  for (let cur = c; cur && cur.kind === 'item'; cur = (cur as DicomItem).parent.parent) d++;
  return d;
}

/**
 * Inserts at one point: the more deeply nested container first (the end of a defined-length item is also the point
 * after its sequence), then tag order; an insert goes before the element that starts where it is inserted.
 */
function spliceOrder(a: Splice, b: Splice): number {
  return (
    a.start - b.start ||
    a.end - a.start - (b.end - b.start) ||
    (a.end === a.start ? depthOf(b.container) - depthOf(a.container) : 0) ||
    a.tag - b.tag ||
    a.order - b.order
  );
}

/**
 * Plans the splices of one byte space (the file, or the inflated dataset): drops edits nested in removed or replaced
 * elements, rejects conflicting edits, and adds length patches for every enclosing defined-length item, sequence and
 * group length.
 */
function planSpace(splices: Splice[], whole: WholeEdits): Splice[] {
  splices.sort(spliceOrder);
  const kept: Splice[] = [];
  let coverEnd = -1;
  let prev: Splice | undefined;
  for (const s of splices) {
    // An edit inside an element that is removed or replaced whole is moot: the outer edit wins.
    if (enclosedBy(s.container, whole)) continue;
    if (prev && prev.start === s.start && prev.end === s.end && (s.end > s.start || prev.tag === s.tag)) {
      // Two edits of one element, or one tag inserted twice at one point.
      if (s.end > s.start || prev.container === s.container) {
        throw new VeilError('DICOM_BAD_EDIT', { offset: s.start });
      }
    }
    if (s.end > s.start) {
      if (s.start < coverEnd) throw new VeilError('DICOM_BAD_EDIT', { offset: s.start });
      coverEnd = s.end;
    }
    kept.push(s);
    prev = s;
  }
  // Accumulate size changes upwards.
  const itemDelta = new Map<DicomItem, number>();
  const seqDelta = new Map<DicomElement, number>();
  const groupDelta = new Map<DicomElement, number>();
  // The group length element of (container, group), looked up once per pair rather than once per size change (a
  // small file has ~50 of them over ~100 elements); null where there is none.
  const groupLengths = new Map<ElementContainer, Map<number, DicomElement | null>>();
  const groupLength = (c: ElementContainer, group: number): DicomElement | null => {
    let byGroup = groupLengths.get(c);
    if (byGroup === undefined) {
      byGroup = new Map();
      groupLengths.set(c, byGroup);
    }
    let gl = byGroup.get(group);
    if (gl === undefined) {
      const first = c.elements.find((e) => e.tag >>> 16 >= group);
      gl = first && first.tag === (group << 16) >>> 0 && first.vr === 'UL' && first.length === 4 ? first : null;
      byGroup.set(group, gl);
    }
    return gl;
  };
  const addGroup = (c: ElementContainer, tag: number, delta: number): void => {
    if ((tag & 0xffff) === 0) return;
    const first = groupLength(c, tag >>> 16);
    if (first) groupDelta.set(first, (groupDelta.get(first) ?? 0) + delta);
  };
  for (const s of kept) {
    const delta = s.bytes.length - (s.end - s.start);
    if (delta === 0 || !s.container) continue;
    let c: ElementContainer = s.container;
    let tag = s.tag;
    for (;;) {
      addGroup(c, tag, delta);
      if (c.kind !== 'item') break;
      const item = c as DicomItem;
      if (item.length !== UNDEFINED_LENGTH) itemDelta.set(item, (itemDelta.get(item) ?? 0) + delta);
      const seq = item.parent;
      if (seq.length !== UNDEFINED_LENGTH) seqDelta.set(seq, (seqDelta.get(seq) ?? 0) + delta);
      tag = seq.tag;
      c = seq.parent;
    }
  }
  const patches: Splice[] = [];
  const patch = (pos: number, value: number, le: boolean, size: 2 | 4 = 4): void => {
    const max = size === 4 ? UNDEFINED_LENGTH : 0x10000;
    if (value < 0 || value >= max) throw new VeilError('DICOM_BAD_LENGTH', { offset: pos });
    const bytes = new Uint8Array(size);
    if (size === 4) put32(bytes, 0, value, le);
    else put16(bytes, 0, value, le);
    patches.push({ start: pos, end: pos + size, bytes, container: undefined, tag: 0, order: -1 });
  };
  for (const [item, d] of itemDelta) patch(item.offset + 4, item.length + d, item.syntax.littleEndian);
  for (const [seq, d] of seqDelta) {
    // A sequence read from an element with a 16-bit length field (an invalid VR read as dcmtk does) keeps that form.
    const at = lengthFieldOffset(seq);
    const size = seq.vrExplicit && seq.valueOffset - seq.offset === 8 ? 2 : 4;
    patch(at, seq.length + d, seq.parent.syntax.littleEndian, size);
  }
  for (const [gl, d] of groupDelta) {
    // Recompute from the group's real extent: some writers store a wrong group length, and stored + delta
    // would carry the error on (or go negative).
    const group = gl.tag >>> 16;
    let last = gl;
    for (const e of gl.parent.elements) if (e.tag >>> 16 === group) last = e;
    patch(gl.valueOffset, last.end - gl.end + d, gl.parent.syntax.littleEndian);
  }
  if (patches.length === 0) return kept;
  // A patch that falls inside an edited range is moot (the range is rewritten whole).
  const all = kept.slice();
  const overlaps = overlapTest(kept);
  for (const p of patches) {
    if (!overlaps(p.start, p.end)) all.push(p);
  }
  all.sort(spliceOrder);
  return all;
}

/** Index of the first of `sorted` (ascending) that is >= x, or sorted.length. */
function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Whether [a, b) overlaps a splice (s.start < b and s.end > a), for splices as planSpace keeps them: ranges that do
 * not overlap each other, sorted, and insertion points. A binary search each instead of a scan of every splice per
 * patch (an SR file has ~100 of each).
 */
function overlapTest(splices: readonly Splice[]): (a: number, b: number) => boolean {
  const starts: number[] = [];
  const ends: number[] = [];
  const points: number[] = [];
  for (const s of splices) {
    if (s.end > s.start) {
      starts.push(s.start);
      ends.push(s.end);
    } else points.push(s.start);
  }
  points.sort((x, y) => x - y);
  return (a, b) => {
    // The last range that starts before b: if any earlier range reached past a, this one would too.
    const i = lowerBound(starts, b) - 1;
    if (i >= 0 && ends[i]! > a) return true;
    const j = lowerBound(points, a + 1);
    return j < points.length && points[j]! < b;
  };
}

function segmentsOf(splices: Splice[], from: number, to: number): Segment[] {
  const out: Segment[] = [];
  let pos = from;
  for (const s of splices) {
    if (s.start > pos) out.push({ start: pos, end: s.start });
    if (s.bytes.length > 0) out.push(s.bytes);
    pos = Math.max(pos, s.end);
  }
  if (pos < to) out.push({ start: pos, end: to });
  return out;
}

function segmentLength(segments: readonly Segment[]): number {
  let n = 0;
  for (const s of segments) n += s instanceof Uint8Array ? s.length : s.end - s.start;
  return n;
}

/** Materialises segments whose ranges refer to `source`. */
export function materialize(source: ByteSource, segments: readonly Segment[]): Uint8Array {
  const out = new Uint8Array(segmentLength(segments));
  let o = 0;
  for (const s of segments) {
    const part = s instanceof Uint8Array ? s : source.read(s.start, s.end);
    out.set(part, o);
    o += part.length;
  }
  return out;
}

/** Plans a rewrite of a scanned file; ranges in the plan refer to file.source. */
export function planRewrite(file: DicomFile, edits: readonly Edit[]): RewritePlan {
  const fileSource = file.source;
  if (edits.length === 0) return { segments: [{ start: 0, end: fileSource.length }], length: fileSource.length };
  const deflated = file.datasetSource !== fileSource;
  const metaSplices: Splice[] = [];
  const dataSplices: Splice[] = [];
  const whole = new WholeEdits(edits);
  edits.forEach((edit, i) => {
    const container = edit.op === 'insert' ? edit.container : edit.element.parent;
    const s = toSplice(edit, i);
    if (deflated && rootOf(container) !== file.meta) dataSplices.push(s);
    else metaSplices.push(s);
  });
  if (!deflated) {
    const planned = planSpace(metaSplices, whole);
    const segments = segmentsOf(planned, 0, fileSource.length);
    return { segments, length: segmentLength(segments) };
  }
  const metaPlanned = planSpace(metaSplices, whole);
  const segments = segmentsOf(metaPlanned, 0, file.datasetOffset);
  if (dataSplices.length === 0) {
    segments.push({ start: file.datasetOffset, end: fileSource.length });
  } else {
    const ds = file.datasetSource;
    const planned = planSpace(dataSplices, whole);
    const inflated = materialize(ds, segmentsOf(planned, 0, ds.length));
    segments.push(deflateSync(inflated, { level: 6 }));
  }
  return { segments, length: segmentLength(segments) };
}

/** Zero bytes shared by every plan's blanked preamble (zeroPrefix); never written to. */
const ZEROS = new Uint8Array(128);

/**
 * The same plan with output bytes [0, n) set to zero: used to blank a Part 10 preamble, which may carry anything
 * (PS3.10 7.1; PS3.15 E.1.1 asks for it to be cleared), without reading the rest of the file.
 */
export function zeroPrefix(plan: RewritePlan, n: number): RewritePlan {
  const zeros = Math.min(n, plan.length);
  // The preamble's zeros are one shared buffer (plans are read, never written to): a fresh 128-byte array per file
  // was memory outside V8's heap for the collector to track and free, file after file.
  const segments: Segment[] = [zeros <= ZEROS.length ? ZEROS.subarray(0, zeros) : new Uint8Array(zeros)];
  let skip = zeros;
  for (const seg of plan.segments) {
    const len = seg instanceof Uint8Array ? seg.length : seg.end - seg.start;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    if (seg instanceof Uint8Array) segments.push(skip ? seg.subarray(skip) : seg);
    else segments.push(skip ? { start: seg.start + skip, end: seg.end } : seg);
    skip = 0;
  }
  return { segments, length: plan.length };
}

/** Applies edits to a scanned file and returns the new file's bytes. */
export function rewrite(file: DicomFile, edits: readonly Edit[]): Uint8Array {
  const plan = planRewrite(file, edits);
  const only = plan.segments[0];
  if (plan.segments.length === 1 && only && !(only instanceof Uint8Array) && file.source.bytes) {
    return file.source.bytes.subarray(only.start, only.end);
  }
  return materialize(file.source, plan.segments);
}
