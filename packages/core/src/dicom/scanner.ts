/**
 * The element scanner: walks a Part 10 file or a bare dataset and records every element's tag, VR, offsets and
 * length, at every depth, without copying values. Lenient reader: odd lengths, trailing padding, a wrong meta group
 * length or a dataset in another syntax than declared become findings; only what cannot be walked is an error.
 *
 * Example:
 *   const file = scanFile(bytesSource(bytes));
 *   for (const el of file.dataset.elements) console.log(formatTag(el.tag), el.vr, el.length);
 */
import { type ByteSource, bytesSource } from './byte-source.ts';
import {
  type DicomDataset,
  type DicomElement,
  type DicomFile,
  type DicomItem,
  type ElementContainer,
  EXPLICIT_LE,
  type Finding,
  type Fragment,
  IMPLICIT_LE,
  type Syntax,
} from './dataset.ts';
import { implicitVR, lookupTag } from './dictionary/index.ts';
import { VeilError } from './errors.ts';
import { inflateDataset } from './inflate.ts';
import { inflateLimit, resolveScanLimits, type ScanLimits } from './limits.ts';
import {
  formatTag,
  ITEM,
  ITEM_DELIMITATION,
  PIXEL_DATA,
  PIXEL_REPRESENTATION,
  privateCreatorTagOf,
  SEQUENCE_DELIMITATION,
  SPECIFIC_CHARACTER_SET,
  TRANSFER_SYNTAX_UID,
  UNDEFINED_LENGTH,
} from './tag.ts';
import { containerPath } from './tag-path.ts';
import {
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  type TransferSyntax,
  transferSyntax,
} from './transfer-syntax.ts';
import { hasLongLength, vrForm, vrName } from './vr.ts';

export interface ScanOptions {
  /** Caps against hostile input (limits.ts); absent keys take the defaults, which apply whatever the caller. */
  readonly limits?: Partial<ScanLimits> | undefined;
  /**
   * For diagnostics only (`veil dump`): bytes that are not elements (a stray delimiter, data after the data set, zero
   * padding) become findings instead of errors. Never on a release path: there they mean quarantine (fail closed).
   */
  readonly lenient?: boolean;
  /** Stop after the file meta information (for a quick transfer syntax check). */
  readonly metaOnly?: boolean;
  /** Bytes read at a time from a source that is not in memory (default 64 KiB). */
  readonly windowSize?: number;
}

const WINDOW = 64 * 1024;

/**
 * A cursor over a ByteSource that keeps one window of bytes; an in-memory source is one window that never moves.
 */
class Reader {
  buf: Uint8Array;
  base = 0;
  view: DataView;
  readonly length: number;

  constructor(
    readonly source: ByteSource,
    readonly window = WINDOW,
  ) {
    this.length = source.length;
    this.buf = source.bytes ?? source.read(0, Math.min(source.length, window));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Makes [pos, pos + n) addressable; returns the index of pos in buf. */
  at(pos: number, n: number): number {
    const i = pos - this.base;
    if (i >= 0 && i + n <= this.buf.length) return i;
    if (pos + n > this.length) throw new RangeError('past end');
    this.buf = this.source.read(pos, Math.min(this.length, pos + Math.max(n, this.window)));
    this.base = pos;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return 0;
  }

  // Each reader computes the index first: at() may move the window, and `this.view.getX(this.at(...))` would
  // read from the old window (the member is evaluated before the argument).
  u16(pos: number, le: boolean): number {
    const i = this.at(pos, 2);
    return this.view.getUint16(i, le);
  }

  u32(pos: number, le: boolean): number {
    const i = this.at(pos, 4);
    return this.view.getUint32(i, le);
  }

  tag(pos: number, le: boolean): number {
    const i = this.at(pos, 4);
    return ((this.view.getUint16(i, le) << 16) | this.view.getUint16(i + 2, le)) >>> 0;
  }

  byte(pos: number): number {
    const i = this.at(pos, 1);
    return this.buf[i]!;
  }

  /** Latin-1 text of a short value (VR codes, UIDs, charset terms, private creators). */
  ascii(pos: number, n: number): string {
    const i = this.at(pos, n);
    let s = '';
    for (let k = 0; k < n; k++) s += String.fromCharCode(this.buf[i + k]!);
    return s;
  }
}

function isUpper(b: number): boolean {
  return b >= 0x41 && b <= 0x5a;
}

function trimValue(s: string): string {
  return s.replace(/[\0 ]+$/, '').replace(/^ +/, '');
}

/** Pixel data values (7FE0,xxxx) are bulk: not decoded by the stages that follow, not counted as decoded bytes. */
const BULK_GROUP = 0x7fe0;

class Scanner {
  readonly findings: Finding[] = [];
  readonly maxDepth: number;
  readonly maxElements: number;
  readonly maxDecodedBytes: number;
  /** Elements, items and fragments read so far (kept across the meta and the data set). */
  count = 0;
  /** Bytes of values other than pixel data read so far. */
  decoded = 0;
  constructor(
    readonly r: Reader,
    limits: ScanLimits,
    readonly lenient: boolean,
    shared?: Scanner,
  ) {
    this.maxDepth = limits.maxDepth;
    this.maxElements = limits.maxElements;
    this.maxDecodedBytes = limits.maxDecodedBytes;
    if (shared) {
      this.count = shared.count;
      this.decoded = shared.decoded;
    }
  }

  /** A finding when lenient, else a VeilError: for bytes that are not elements. */
  unparsed(lenientCode: string, code: string, container: ElementContainer, offset: number, tag?: number): void {
    if (!this.lenient) this.fail(code, container, offset, tag);
    this.finding(lenientCode, container, offset, tag);
  }

  finding(code: string, container: ElementContainer, offset: number, tag?: number): void {
    this.findings.push({ code, path: containerPath(container) + (tag !== undefined ? formatTag(tag) : ''), offset });
  }

  fail(code: string, container: ElementContainer, offset: number, tag?: number): never {
    throw new VeilError(code, { path: containerPath(container) + (tag !== undefined ? formatTag(tag) : ''), offset });
  }

  /**
   * Reads elements from pos until end (exclusive) or, for an undefined-length item, until an item delimitation
   * item. Returns the offset after the last element (after the delimitation item, if any).
   */
  readElements(c: ElementContainer, pos: number, end: number, untilDelimiter: boolean, depth: number): number {
    const r = this.r;
    const { explicitVR, littleEndian: le } = c.syntax;
    const stop = Math.min(end, r.length);
    let privateCreators: Map<number, string> | undefined;
    // Pixel Representation decides the 'US or SS' attributes of implicit VR datasets, as dcmtk does.
    let signedPixels = false;
    while (pos < stop) {
      if (pos + 8 > stop) {
        if (this.allZero(pos, stop)) {
          this.unparsed('TRAILING_PADDING', 'DICOM_TRAILING_DATA', c, pos);
          c.contentEnd = pos;
          return stop;
        }
        this.fail('DICOM_TRUNCATED_HEADER', c, pos);
      }
      const tag = r.tag(pos, le);
      if (tag === ITEM_DELIMITATION) {
        c.contentEnd = pos;
        if (untilDelimiter) return pos + 8;
        // A stray delimiter inside a defined-length item or at dataset level: what follows it is read by some readers
        // (GDCM) and not by others (dcmtk stops). Lenient: note it, treat as the end.
        this.unparsed('STRAY_ITEM_DELIMITATION', 'DICOM_STRAY_DELIMITER', c, pos);
        return pos + 8;
      }
      if (tag === SEQUENCE_DELIMITATION || tag === ITEM) {
        if (c.kind === 'dataset' && this.allZeroOrDelims(pos, stop, le)) {
          this.unparsed('TRAILING_DELIMITER', 'DICOM_STRAY_DELIMITER', c, pos);
          c.contentEnd = pos;
          return stop;
        }
        // A sequence delimitation where an element should start is a stray delimiter; an item outside a sequence
        // is not an item.
        this.fail(tag === SEQUENCE_DELIMITATION ? 'DICOM_STRAY_DELIMITER' : 'DICOM_BAD_ITEM', c, pos, tag);
      }
      if (tag === 0 && this.allZero(pos, stop)) {
        this.unparsed('TRAILING_PADDING', 'DICOM_TRAILING_DATA', c, pos);
        c.contentEnd = pos;
        return stop;
      }
      let vr: string;
      const vrExplicit = explicitVR;
      let length: number;
      let header: number;
      const group = tag >>> 16;
      if (explicitVR) {
        const b0 = r.byte(pos + 4);
        const b1 = r.byte(pos + 5);
        if (isUpper(b0) && isUpper(b1)) {
          vr = vrName(b0, b1);
          const form = vrForm(b0, b1);
          if (form !== 1) {
            if (form === 0) this.finding('UNKNOWN_VR', c, pos, tag);
            length = r.u32(pos + 8, le);
            header = 12;
          } else {
            length = r.u16(pos + 6, le);
            header = 8;
          }
        } else {
          // Not a VR (e.g. two spaces): read it as dcmtk does, with a 16-bit length, and assume the dictionary VR.
          this.finding('INVALID_VR', c, pos, tag);
          vr = this.dictionaryVR(tag, group, privateCreators);
          if (hasLongLength(vr)) vr = 'UN';
          length = r.u16(pos + 6, le);
          header = 8;
        }
      } else {
        vr = this.dictionaryVR(tag, group, privateCreators);
        if (signedPixels && vr === 'US' && lookupTag(tag)?.vr.startsWith('US or SS')) vr = 'SS';
        length = r.u32(pos + 4, le);
        header = 8;
      }
      const valueOffset = pos + header;
      const el: DicomElement = {
        tag,
        vr,
        vrExplicit,
        offset: pos,
        valueOffset,
        length,
        end: 0,
        parent: c,
      };
      c.elements.push(el);
      if (++this.count > this.maxElements) this.fail('DICOM_TOO_MANY_ELEMENTS', c, pos, tag);
      if (length === UNDEFINED_LENGTH) {
        if (tag === PIXEL_DATA && vr !== 'SQ' && vr !== 'UN') {
          el.end = this.readFragments(el, c);
        } else {
          if (depth >= this.maxDepth) this.fail('DICOM_TOO_DEEP', c, pos, tag);
          // SQ, or UN / unknown-VR with undefined length: a sequence; UN content is implicit VR LE (PS3.5 6.2.2).
          const itemSyntax = vr === 'SQ' ? c.syntax : IMPLICIT_LE;
          if (vr !== 'SQ' && vr !== 'UN') this.finding('UNDEFINED_LENGTH_NON_SQ', c, pos, tag);
          el.end = this.readItems(el, valueOffset, UNDEFINED_LENGTH, itemSyntax, depth + 1);
        }
      } else {
        const valueEnd = valueOffset + length;
        if (valueEnd > end || valueEnd > r.length) {
          this.fail('DICOM_TRUNCATED_ELEMENT', c, pos, tag);
        }
        if (length % 2 === 1) this.finding('ODD_LENGTH', c, pos, tag);
        el.end = valueEnd;
        if (vr === 'SQ') {
          if (depth >= this.maxDepth) this.fail('DICOM_TOO_DEEP', c, pos, tag);
          this.readItems(el, valueOffset, length, c.syntax, depth + 1);
        } else if ((vr === 'UN' || (!vrExplicit && group % 2 === 1)) && length >= 8 && depth < this.maxDepth) {
          this.tryImplicitSequence(el, valueOffset, length, depth + 1);
        }
        if (!el.items && group !== BULK_GROUP) {
          this.decoded += length;
          if (this.decoded > this.maxDecodedBytes) this.fail('DICOM_DECODED_LIMIT', c, pos, tag);
        }
        if (tag === SPECIFIC_CHARACTER_SET) c.characterSet = r.ascii(valueOffset, length);
        else if (tag === PIXEL_REPRESENTATION && length === 2) signedPixels = r.u16(valueOffset, le) === 1;
        else if (group % 2 === 1 && (tag & 0xff00) === 0 && (tag & 0xff) >= 0x10) {
          privateCreators ??= new Map();
          privateCreators.set(tag, trimValue(r.ascii(valueOffset, Math.min(length, 64))));
        }
      }
      pos = el.end;
    }
    c.contentEnd = Math.min(pos, stop);
    // An undefined-length item that runs to the end of the data without its delimiter: dcmtk accepts it.
    if (untilDelimiter) this.finding('ITEM_UNTERMINATED', c, pos);
    return pos;
  }

  dictionaryVR(tag: number, group: number, creators: Map<number, string> | undefined): string {
    if (group % 2 === 1) {
      const e = tag & 0xffff;
      if (e >= 0x10 && e <= 0xff) return 'LO';
      if (e === 0) return 'UL';
      const creator = creators?.get(privateCreatorTagOf(tag));
      return creator === undefined ? 'UN' : implicitVR(tag, creator);
    }
    return implicitVR(tag);
  }

  /**
   * A UN or unknown private element with a defined length may hold an implicit VR sequence (a converter that did
   * not know the VR wrote it so). Parse its items when they walk cleanly to the exact end; otherwise it stays opaque.
   */
  tryImplicitSequence(el: DicomElement, valueOffset: number, length: number, depth: number): void {
    const r = this.r;
    if (r.tag(valueOffset, true) !== ITEM) return;
    const itemLength = r.u32(valueOffset + 4, true);
    if (itemLength !== UNDEFINED_LENGTH && itemLength > length - 8) return;
    const saved = this.findings.length;
    const { count, decoded } = this;
    const undo = (): void => {
      delete el.items;
      this.findings.length = saved;
      this.count = count;
      this.decoded = decoded;
    };
    try {
      this.readItems(el, valueOffset, length, IMPLICIT_LE, depth);
    } catch {
      undo();
      return;
    }
    // Anything odd inside means this was probably not a sequence: keep it opaque.
    if (this.findings.length > saved) undo();
  }

  readItems(el: DicomElement, start: number, length: number, syntax: Syntax, depth: number): number {
    const r = this.r;
    const le = syntax.littleEndian;
    const items: DicomItem[] = [];
    el.items = items;
    const undefinedLength = length === UNDEFINED_LENGTH;
    const end = undefinedLength ? r.length : start + length;
    let pos = start;
    for (;;) {
      if (!undefinedLength && pos >= end) break;
      if (pos + 8 > end) {
        if (undefinedLength && pos === r.length) {
          this.finding('SEQUENCE_UNTERMINATED', el.parent, el.offset, el.tag);
          break;
        }
        this.fail(undefinedLength ? 'DICOM_TRUNCATED_ELEMENT' : 'DICOM_BAD_ITEM', el.parent, pos, el.tag);
      }
      const tag = r.tag(pos, le);
      const itemLength = r.u32(pos + 4, le);
      if (tag === SEQUENCE_DELIMITATION) {
        if (!undefinedLength)
          this.unparsed('STRAY_SEQUENCE_DELIMITATION', 'DICOM_STRAY_DELIMITER', el.parent, pos, el.tag);
        pos += 8;
        break;
      }
      if (tag !== ITEM) this.fail('DICOM_BAD_ITEM', el.parent, pos, el.tag);
      const item: DicomItem = {
        kind: 'item',
        elements: [],
        contentStart: pos + 8,
        contentEnd: 0,
        syntax,
        characterSet: el.parent.characterSet,
        source: el.parent.source,
        offset: pos,
        length: itemLength,
        end: 0,
        parent: el,
        index: items.length,
      };
      items.push(item);
      if (++this.count > this.maxElements) this.fail('DICOM_TOO_MANY_ELEMENTS', el.parent, pos, el.tag);
      if (itemLength === UNDEFINED_LENGTH) {
        item.end = this.readElements(item, pos + 8, end, true, depth);
      } else {
        let itemEnd = pos + 8 + itemLength;
        if (itemEnd > end) {
          // An item longer than what is left: dcmtk reads on to the end of the data. So do we, and say so.
          if (end !== r.length) this.fail('DICOM_BAD_LENGTH', el.parent, pos, el.tag);
          this.finding('ITEM_TRUNCATED', el.parent, pos, el.tag);
          itemEnd = end;
        }
        const after = this.readElements(item, pos + 8, itemEnd, false, depth);
        // An undefined-length sequence in the item that runs on past the item's end: readers disagree on where
        // the item ends.
        if (after > itemEnd) this.unparsed('ITEM_OVERRUN', 'DICOM_BAD_LENGTH', el.parent, pos, el.tag);
        item.end = Math.max(after, itemEnd);
      }
      pos = item.end;
    }
    if (!undefinedLength && pos > end)
      this.unparsed('SEQUENCE_OVERRUN', 'DICOM_BAD_LENGTH', el.parent, el.offset, el.tag);
    return pos;
  }

  readFragments(el: DicomElement, c: ElementContainer): number {
    const r = this.r;
    const le = c.syntax.littleEndian;
    const fragments: Fragment[] = [];
    el.fragments = fragments;
    let pos = el.valueOffset;
    for (;;) {
      if (pos + 8 > r.length) this.fail('DICOM_TRUNCATED_ELEMENT', c, el.offset, el.tag);
      const tag = r.tag(pos, le);
      const length = r.u32(pos + 4, le);
      if (tag === SEQUENCE_DELIMITATION) return pos + 8;
      if (tag !== ITEM || length === UNDEFINED_LENGTH) this.fail('DICOM_BAD_ITEM', c, pos, el.tag);
      if (pos + 8 + length > r.length) this.fail('DICOM_TRUNCATED_ELEMENT', c, pos, el.tag);
      if (++this.count > this.maxElements) this.fail('DICOM_TOO_MANY_ELEMENTS', c, pos, el.tag);
      fragments.push({ offset: pos, valueOffset: pos + 8, length });
      pos += 8 + length;
    }
  }

  /** Where allZero last met a non-zero byte: a run of (0000,0000) elements asks again at every element. */
  nonZeroAt = -1;

  allZero(from: number, to: number): boolean {
    // Without the memo, 80 KB of zeros ending in one stray byte took a second (10,000 elements x the rest of the run).
    if (this.nonZeroAt >= from && this.nonZeroAt < to) return false;
    for (let p = from; p < to; p++) {
      if (this.r.byte(p) !== 0) {
        this.nonZeroAt = p;
        return false;
      }
    }
    return true;
  }

  /** Some writers leave a stray delimiter or zero padding after the dataset. */
  allZeroOrDelims(from: number, to: number, le: boolean): boolean {
    let p = from;
    while (p + 8 <= to) {
      const tag = this.r.tag(p, le);
      if (tag !== SEQUENCE_DELIMITATION && tag !== ITEM_DELIMITATION && tag !== 0) return false;
      if (this.r.u32(p + 4, le) !== 0) return false;
      p += 8;
    }
    return this.allZero(p, to);
  }
}

function newDataset(start: number, syntax: Syntax, source: ByteSource): DicomDataset {
  return {
    kind: 'dataset',
    elements: [],
    contentStart: start,
    contentEnd: start,
    syntax,
    characterSet: undefined,
    source,
  };
}

/** Guesses the syntax of a dataset that starts at pos, from its first element. */
function guessSyntax(r: Reader, pos: number): Syntax {
  if (pos + 8 > r.length) return IMPLICIT_LE;
  const b4 = r.byte(pos + 4);
  const b5 = r.byte(pos + 5);
  const explicit = vrForm(b4, b5) !== 0;
  const groupLE = r.u16(pos, true);
  const groupBE = r.u16(pos, false);
  // Datasets start with a low group number (0002..0008 typically); a byte-swapped one reads as 0x0800.
  const littleEndian = !(groupBE <= 0x00ff && groupBE !== 0 && groupLE > 0x00ff);
  return { explicitVR: explicit, littleEndian };
}

function syntaxName(s: Syntax): string {
  if (!s.explicitVR) return IMPLICIT_VR_LITTLE_ENDIAN;
  return s.littleEndian ? EXPLICIT_VR_LITTLE_ENDIAN : EXPLICIT_VR_BIG_ENDIAN;
}

/** Scans a Part 10 file, or a bare dataset with no preamble or meta. */
export function scanFile(source: ByteSource | Uint8Array, options: ScanOptions = {}): DicomFile {
  return guarded(() => scanFileUnguarded(source, options));
}

/** Turns the engine's own range and stack errors into VeilErrors: hostile input must fail with a code. */
function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof VeilError) throw e;
    if (e instanceof RangeError) {
      const tooDeep = /call stack/i.test(e.message);
      throw new VeilError(tooDeep ? 'DICOM_TOO_DEEP' : 'DICOM_TRUNCATED_HEADER');
    }
    throw e;
  }
}

function scanFileUnguarded(source: ByteSource | Uint8Array, options: ScanOptions): DicomFile {
  const src = source instanceof Uint8Array ? bytesSource(source) : source;
  const r = new Reader(src, options.windowSize);
  const limits = resolveScanLimits(options.limits);
  const scanner = new Scanner(r, limits, options.lenient === true);
  let pos = 0;
  let hasPreamble = false;
  if (r.length >= 132 && r.ascii(128, 4) === 'DICM') {
    hasPreamble = true;
    pos = 132;
  } else if (r.length >= 4 && r.ascii(0, 4) === 'DICM') {
    // "DICM" without the preamble: seen in the wild.
    scanner.findings.push({ code: 'NO_PREAMBLE', path: '', offset: 0 });
    pos = 4;
  }
  if (r.length < pos + 8 || (!hasPreamble && !looksLikeDataset(r, pos))) {
    throw new VeilError('DICOM_NOT_DICOM', { offset: 0 });
  }

  // File meta information: group 0002, explicit VR little endian (lenient: per-element implicit is tolerated).
  let meta: DicomDataset | undefined;
  let declared: string | undefined;
  if (pos + 8 <= r.length && r.u16(pos, true) === 0x0002) {
    meta = newDataset(pos, EXPLICIT_LE, src);
    let end = pos;
    while (end + 8 <= r.length && r.u16(end, true) === 0x0002) end = metaElementEnd(r, end);
    if (end > r.length) throw new VeilError('DICOM_TRUNCATED_ELEMENT', { path: '(0002,xxxx)', offset: pos });
    scanner.readElements(meta, pos, end, false, 0);
    const groupLength = meta.elements[0];
    if (groupLength && groupLength.tag === 0x00020000 && groupLength.length === 4) {
      const declaredEnd = groupLength.end + r.u32(groupLength.valueOffset, true);
      if (declaredEnd !== end)
        scanner.findings.push({ code: 'META_GROUP_LENGTH_MISMATCH', path: '(0002,0000)', offset: groupLength.offset });
    } else {
      scanner.findings.push({ code: 'META_GROUP_LENGTH_MISSING', path: '(0002,0000)', offset: pos });
    }
    const ts = meta.elements.find((e) => e.tag === TRANSFER_SYNTAX_UID);
    if (ts) declared = trimValue(r.ascii(ts.valueOffset, ts.length));
    pos = end;
  } else if (hasPreamble) {
    scanner.findings.push({ code: 'META_MISSING', path: '', offset: pos });
  }

  let ts: TransferSyntax;
  if (declared) {
    ts = transferSyntax(declared);
  } else {
    ts = transferSyntax(syntaxName(guessSyntax(r, pos)));
    if (meta) scanner.findings.push({ code: 'TRANSFER_SYNTAX_MISSING', path: '(0002,0010)', offset: pos });
  }

  let datasetSource: ByteSource = src;
  let scanSource = scanner;
  let dsStart = pos;
  if (ts.deflated && !options.metaOnly) {
    const compressed = src.read(pos, src.length);
    const inflated = inflateDataset(compressed, inflateLimit(limits, compressed.length), pos);
    if (inflated.zlibWrapped) scanner.findings.push({ code: 'DEFLATE_ZLIB_WRAPPED', path: '', offset: pos });
    // Bytes after the deflate stream: no reader shows them, but a verbatim copy would carry them out.
    if (inflated.trailing > 0)
      scanner.unparsed(
        'TRAILING_DATA',
        'DICOM_TRAILING_DATA',
        newDataset(pos, EXPLICIT_LE, src),
        src.length - inflated.trailing,
      );
    datasetSource = bytesSource(inflated.bytes);
    scanSource = new Scanner(new Reader(datasetSource), limits, scanner.lenient, scanner);
    dsStart = 0;
  }

  let syntax: Syntax = { explicitVR: ts.explicitVR, littleEndian: ts.littleEndian };
  // A dataset that is not in the declared syntax (implicit data under an explicit UID, or the reverse).
  const sr = scanSource.r;
  if (dsStart + 8 <= sr.length) {
    const guess = guessSyntax(sr, dsStart);
    if (guess.explicitVR !== syntax.explicitVR || (guess.explicitVR && guess.littleEndian !== syntax.littleEndian)) {
      scanner.findings.push({ code: 'SYNTAX_MISMATCH', path: '(0002,0010)', offset: dsStart });
      syntax = guess;
      if (!ts.deflated) ts = { ...transferSyntax(syntaxName(guess)), uid: ts.uid, encapsulated: ts.encapsulated };
    }
  }
  const dataset = newDataset(dsStart, syntax, datasetSource);
  if (!options.metaOnly) {
    const end = scanSource.readElements(dataset, dsStart, sr.length, false, 0);
    // Whatever follows the data set (after a stray delimiter, when lenient) was not read as elements.
    if (end < sr.length) scanSource.unparsed('TRAILING_DATA', 'DICOM_TRAILING_DATA', dataset, end);
    if (scanSource !== scanner) scanner.findings.push(...scanSource.findings);
  }
  return {
    source: src,
    hasPreamble,
    meta,
    declaredTransferSyntax: declared,
    transferSyntax: ts,
    datasetOffset: pos,
    datasetSource,
    dataset,
    findings: scanner.findings,
  };
}

function metaElementEnd(r: Reader, pos: number): number {
  const b0 = r.byte(pos + 4);
  const b1 = r.byte(pos + 5);
  if (isUpper(b0) && isUpper(b1)) {
    if (vrForm(b0, b1) !== 1) return pos + 12 + r.u32(pos + 8, true);
    return pos + 8 + r.u16(pos + 6, true);
  }
  return pos + 8 + r.u32(pos + 4, true);
}

/**
 * Without a preamble, a file must begin with a plausible first element: a low group number (meta or a dataset's
 * first groups) and either a VR or an implicit length that fits in the file.
 */
function looksLikeDataset(r: Reader, pos: number): boolean {
  const g = r.u16(pos, true);
  const gBE = r.u16(pos, false);
  const lowGroup = (g >= 0x0002 && g <= 0x0010) || (gBE >= 0x0002 && gBE <= 0x0010);
  if (!lowGroup) return false;
  const b4 = r.byte(pos + 4);
  const b5 = r.byte(pos + 5);
  if (isUpper(b4) && isUpper(b5)) return true;
  const le = g >= 0x0002 && g <= 0x0010;
  return r.u32(pos + 4, le) <= r.length - pos - 8;
}

/** Scans a bare dataset (no preamble, no meta) in a known syntax, e.g. a DIMSE data set. */
export function scanDataset(source: ByteSource | Uint8Array, syntax: Syntax, options: ScanOptions = {}): DicomDataset {
  return guarded(() => {
    const src = source instanceof Uint8Array ? bytesSource(source) : source;
    const scanner = new Scanner(new Reader(src), resolveScanLimits(options.limits), options.lenient === true);
    const ds = newDataset(0, syntax, src);
    const end = scanner.readElements(ds, 0, src.length, false, 0);
    if (end < src.length) scanner.unparsed('TRAILING_DATA', 'DICOM_TRAILING_DATA', ds, end);
    return ds;
  });
}
