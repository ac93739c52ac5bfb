/**
 * The structural check of an output before release: a second, strict reader walks the output's bytes on its own and
 * must account for every byte exactly as the scanner did. Where a lenient reader (Veil's scanner, dcmtk, GDCM) and a
 * strict one could disagree on what a file holds, PHI can hide: after a stray delimiter, past a length that overruns
 * its item, in bytes after the data set. Any of these, or any element boundary the two readers place differently,
 * is a finding (detector 'ambiguous-structure'), and the gate refuses the output.
 *
 * Strict rules: the meta group holds group 0002 elements only, in explicit VR little endian; every explicit VR is a
 * known one (or two bytes that are no letters at all, which every reader takes as a 16-bit length); a defined length ends inside its container; an undefined length belongs to a sequence (items, then a
 * sequence delimitation of length 0) or to encapsulated pixel data (fragments); items sit only in sequences; item
 * delimitations end undefined-length items only; nothing follows the data set (or, deflated, the deflate stream:
 * the scanner refuses that part). Values are never read: only tags, VRs and lengths.
 *
 * Example:
 *   const problems = checkStructure(scanFile(outputBytes));
 *   if (problems.length > 0) quarantine('VERIFY_AMBIGUOUS_STRUCTURE', problems[0].path);
 */
import type { ByteSource } from '../dicom/byte-source.ts';
import type { DicomElement, DicomFile, ElementContainer, Syntax } from '../dicom/dataset.ts';
import {
  formatTag,
  ITEM,
  ITEM_DELIMITATION,
  PIXEL_DATA,
  SEQUENCE_DELIMITATION,
  UNDEFINED_LENGTH,
} from '../dicom/tag.ts';
import { containerPath } from '../dicom/tag-path.ts';
import { KNOWN_VRS } from '../dicom/vr.ts';

export interface StructureFinding {
  /** STRUCTURE_TRUNCATED, STRUCTURE_STRAY_DELIMITER, STRUCTURE_UNKNOWN_VR, STRUCTURE_LENGTH_OVERRUN,
   * STRUCTURE_UNTERMINATED, STRUCTURE_TRAILING_DATA, STRUCTURE_MISMATCH, STRUCTURE_META. */
  readonly code: string;
  /** Tag path of the container or element (no value). */
  readonly path: string;
  readonly offset: number;
}

/** A tag path, or what makes it (built only for a finding). */
type Where = string | (() => string);

function str(w: Where): string {
  return typeof w === 'string' ? w : w();
}

class Stop extends Error {
  constructor(readonly finding: StructureFinding) {
    super(finding.code);
  }
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
/** The VRs the walk compares by name; any other known VR is only a header form. */
const NAMED_VRS = ['SQ', 'UN', 'OB', 'OW'];

/** Header form by the two VR bytes: 0 unknown, 1 16-bit length, 2 32-bit length, 3 32-bit and named. */
const VR_FORM = new Uint8Array(65536);
const NAMED: Record<number, string> = {};
for (const vr of KNOWN_VRS) {
  const code = (vr.charCodeAt(0) << 8) | vr.charCodeAt(1);
  VR_FORM[code] = NAMED_VRS.includes(vr) ? 3 : LONG_VRS.has(vr) ? 2 : 1;
  if (NAMED_VRS.includes(vr)) NAMED[code] = vr;
}

function isUpper(b: number): boolean {
  return b >= 0x41 && b <= 0x5a;
}

/** Bytes read at a time from a source that is not in memory (an output planned over its input). */
const WINDOW = 64 * 1024;

class Walker {
  /** A window of the source: the whole of it when in memory, else 64 KB read at a time (no copy per header). */
  buf: Uint8Array;
  base = 0;
  constructor(
    readonly src: ByteSource,
    readonly le: boolean,
  ) {
    this.buf = src.bytes ?? src.read(0, Math.min(src.length, WINDOW));
  }

  /** Makes [pos, pos + n) readable; returns the index of pos in buf. */
  bytes(pos: number, n: number, where: Where): number {
    if (pos + n > this.src.length) this.stop('STRUCTURE_TRUNCATED', where, pos);
    const i = pos - this.base;
    if (i >= 0 && i + n <= this.buf.length) return i;
    this.buf = this.src.read(pos, Math.min(this.src.length, pos + Math.max(n, WINDOW)));
    this.base = pos;
    return 0;
  }

  u16(at: number): number {
    const b = this.buf;
    return this.le ? b[at]! | (b[at + 1]! << 8) : (b[at]! << 8) | b[at + 1]!;
  }

  u32(at: number): number {
    const b = this.buf;
    return this.le
      ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
      : ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  }

  stop(code: string, where: Where, offset: number): never {
    throw new Stop({ code, path: typeof where === 'string' ? where : where(), offset });
  }

  /**
   * Walks the elements of `c` from `start`: to exactly `end` (defined length), or to an item delimitation when `end`
   * is undefined. Returns the offset after the container (after its delimitation, if any).
   */
  elements(c: ElementContainer, syntax: Syntax, start: number, end: number | undefined): number {
    const where = (): string => containerPath(c);
    const limit = end ?? this.src.length;
    let pos = start;
    let i = 0;
    for (;;) {
      if (end !== undefined && pos === end) break;
      if (pos + 8 > limit) this.stop(end === undefined ? 'STRUCTURE_UNTERMINATED' : 'STRUCTURE_TRUNCATED', where, pos);
      const headerBytes = 12 <= limit - pos ? 12 : 8;
      const h = this.bytes(pos, headerBytes, where);
      const tag = ((this.u16(h) << 16) | this.u16(h + 2)) >>> 0;
      if (tag === ITEM_DELIMITATION && end === undefined) {
        if (this.u32(h + 4) !== 0) this.stop('STRUCTURE_STRAY_DELIMITER', where, pos);
        pos += 8;
        break;
      }
      if (tag === ITEM || tag === ITEM_DELIMITATION || tag === SEQUENCE_DELIMITATION) {
        this.stop('STRUCTURE_STRAY_DELIMITER', where, pos);
      }
      const path = (): string => where() + formatTag(tag);
      let vr = '';
      let length: number;
      let header: number;
      if (syntax.explicitVR) {
        const b0 = this.buf[h + 4]!;
        const b1 = this.buf[h + 5]!;
        // Two bytes that are not a VR at all (e.g. two spaces): dcmtk and GDCM both read a 16-bit length, as the
        // scanner does (checked on fo-dicom's GH179A.dcm). An unknown two-letter VR has no agreed reading.
        const form = isUpper(b0) && isUpper(b1) ? VR_FORM[(b0 << 8) | b1]! : 1;
        if (form === 0) this.stop('STRUCTURE_UNKNOWN_VR', path, pos);
        vr = NAMED[(b0 << 8) | b1] ?? '';
        if (form >= 2) {
          if (headerBytes < 12) this.stop('STRUCTURE_TRUNCATED', path, pos);
          length = this.u32(h + 8);
          header = 12;
        } else {
          length = this.u16(h + 6);
          header = 8;
        }
      } else {
        length = this.u32(h + 4);
        header = 8;
      }
      const el = c.elements[i];
      const valueOffset = pos + header;
      let after: number;
      if (length === UNDEFINED_LENGTH) {
        if (syntax.explicitVR && vr !== 'SQ' && vr !== 'UN' && !(tag === PIXEL_DATA && (vr === 'OB' || vr === 'OW'))) {
          this.stop('STRUCTURE_UNDEFINED_LENGTH', path, pos);
        }
        const fragments = tag === PIXEL_DATA && vr !== 'SQ' && vr !== 'UN';
        after = fragments
          ? this.fragments(valueOffset, path)
          : this.items(
              el,
              vr === 'UN' ? { explicitVR: false, littleEndian: true } : syntax,
              valueOffset,
              undefined,
              path,
            );
      } else {
        after = valueOffset + length;
        if (after > limit) this.stop('STRUCTURE_LENGTH_OVERRUN', path, pos);
        // A defined-length sequence: explicit SQ, or what the scanner read as one (implicit VR by the dictionary, or a
        // UN whose value parsed as an implicit VR sequence): its items must tile its value exactly.
        if (vr === 'SQ' || el?.items) this.items(el, el?.items?.[0]?.syntax ?? syntax, valueOffset, after, path);
      }
      if (!el || el.tag !== tag || el.offset !== pos || el.end !== after) this.stop('STRUCTURE_MISMATCH', path, pos);
      pos = after;
      i++;
    }
    if (i !== c.elements.length) this.stop('STRUCTURE_MISMATCH', where, pos);
    return pos;
  }

  /** Items of a sequence from `start`, to exactly `end` or to a sequence delimitation. */
  items(el: DicomElement | undefined, syntax: Syntax, start: number, end: number | undefined, path: Where): number {
    const limit = end ?? this.src.length;
    const w = syntax.littleEndian === this.le ? this : new Walker(this.src, syntax.littleEndian);
    let pos = start;
    let k = 0;
    for (;;) {
      if (end !== undefined && pos === end) break;
      if (pos + 8 > limit) this.stop(end === undefined ? 'STRUCTURE_UNTERMINATED' : 'STRUCTURE_TRUNCATED', path, pos);
      const h = w.bytes(pos, 8, path);
      const tag = ((w.u16(h) << 16) | w.u16(h + 2)) >>> 0;
      const length = w.u32(h + 4);
      if (tag === SEQUENCE_DELIMITATION && end === undefined) {
        if (length !== 0) this.stop('STRUCTURE_STRAY_DELIMITER', path, pos);
        pos += 8;
        break;
      }
      if (tag !== ITEM) this.stop('STRUCTURE_STRAY_DELIMITER', path, pos);
      const item = el?.items?.[k];
      if (!item || item.offset !== pos) this.stop('STRUCTURE_MISMATCH', () => `${str(path)}[${k}]`, pos);
      let after: number;
      if (length === UNDEFINED_LENGTH) after = w.elements(item, syntax, pos + 8, undefined);
      else {
        after = pos + 8 + length;
        if (after > limit) this.stop('STRUCTURE_LENGTH_OVERRUN', () => `${str(path)}[${k}]`, pos);
        w.elements(item, syntax, pos + 8, after);
      }
      if (item.end !== after) this.stop('STRUCTURE_MISMATCH', () => `${str(path)}[${k}]`, pos);
      pos = after;
      k++;
    }
    if (k !== (el?.items?.length ?? 0)) this.stop('STRUCTURE_MISMATCH', path, pos);
    return pos;
  }

  /** Encapsulated pixel data: items of defined length, then a sequence delimitation of length 0. */
  fragments(start: number, path: Where): number {
    let pos = start;
    for (;;) {
      const h = this.bytes(pos, 8, path);
      const tag = ((this.u16(h) << 16) | this.u16(h + 2)) >>> 0;
      const length = this.u32(h + 4);
      if (tag === SEQUENCE_DELIMITATION) {
        if (length !== 0) this.stop('STRUCTURE_STRAY_DELIMITER', path, pos);
        return pos + 8;
      }
      if (tag !== ITEM || length === UNDEFINED_LENGTH) this.stop('STRUCTURE_STRAY_DELIMITER', path, pos);
      pos += 8 + length;
      if (pos > this.src.length) this.stop('STRUCTURE_LENGTH_OVERRUN', path, pos);
    }
  }
}

/**
 * Walks a scanned output strictly and compares with what the scanner found. Returns the first problem (empty when
 * the file has one unambiguous reading). `file` must come from scanFile on the output's own bytes.
 */
export function checkStructure(file: DicomFile): StructureFinding[] {
  try {
    const src = file.source;
    if (file.meta) {
      const w = new Walker(src, true);
      const end = w.elements(
        file.meta,
        { explicitVR: true, littleEndian: true },
        file.meta.contentStart,
        file.datasetOffset,
      );
      for (const el of file.meta.elements)
        if (el.tag >>> 16 !== 0x0002) w.stop('STRUCTURE_META', formatTag(el.tag), el.offset);
      if (end !== file.datasetOffset) w.stop('STRUCTURE_META', '', end);
    }
    const ds = file.dataset;
    const dataSource = file.datasetSource;
    const w = new Walker(dataSource, ds.syntax.littleEndian);
    w.elements(ds, ds.syntax, ds.contentStart, dataSource.length);
    return [];
  } catch (e) {
    if (e instanceof Stop) return [e.finding];
    // A walk that the engine itself cannot finish (a range error on a hostile length): not a clean reading either.
    if (e instanceof RangeError) return [{ code: 'STRUCTURE_TRUNCATED', path: '', offset: 0 }];
    throw e;
  }
}
