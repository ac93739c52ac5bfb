/**
 * A text dump of a scanned file in the layout of DCMTK's dcmdump, so the two can be compared line by line:
 *
 *   (0010,0010) PN [Yamada^Tarou=山田^太郎]                    #  40, 1 PatientName
 *
 * one line per element (tag, VR, value, "# length, VM keyword"), two spaces of indentation per nesting level, items as
 * `(fffe,e000) na (Item with explicit length #=3)`, encapsulated Pixel Data fragments as `(fffe,e000) pi 00\01...`
 * and delimitation items where the file has them (dcmdump also prints made-up ones "for re-encoding"; Veil does not).
 * Tags are in lowercase hex, as dcmdump prints them. Differences from dcmdump: text is decoded to Unicode with the
 * Specific Character Set in force and control characters are shown as '.', UIDs are not mapped to names, an explicit
 * VR UN sequence (CP-246) keeps its VR UN where dcmdump says SQ, and a defined-length UN value that parsed as an
 * implicit VR sequence is shown with its items where dcmdump shows bytes.
 *
 * Values longer than maxValueLength (default 70 characters, as dcmdump) are cut and end in "..."; binary values are
 * only read as far as they are shown, so dumping a file with large Pixel Data costs no more than its header.
 *
 * Examples:
 *   console.log(dumpText(scanFile(bytes)));
 *   console.log(dumpDataset(scanDataset(pdv, IMPLICIT_LE), { maxValueLength: Number.POSITIVE_INFINITY }));
 */
import type { DicomDataset, DicomElement, DicomFile, ElementContainer } from './dataset.ts';
import { lookupPrivate, lookupTag } from './dictionary/index.ts';
import { shortestFloat32 } from './json-model.ts';
import { isPrivateCreator, isPrivateTag, privateCreatorTagOf, UNDEFINED_LENGTH } from './tag.ts';
import { readString } from './value.ts';
import { isTextVR } from './vr.ts';

export interface DumpOptions {
  /** Longest value shown before it is cut with "..."; default 70 (dcmdump's default); Infinity shows everything. */
  readonly maxValueLength?: number;
}

const DEFAULT_MAX = 70;
const VALUE_WIDTH = 40;
const SINGLE_VALUED_TEXT = new Set(['LT', 'ST', 'UT', 'UR']);
const NUMERIC = new Set(['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'SV', 'UV', 'OF', 'OD']);
const HEX_UNIT: Record<string, number> = { OW: 2, OL: 4, OV: 8 };

/** The whole file: meta information (if any), then the dataset. */
export function dumpText(file: DicomFile, options: DumpOptions = {}): string {
  const out: string[] = ['', '# Dicom-File-Format', ''];
  const max = options.maxValueLength ?? DEFAULT_MAX;
  if (file.meta) {
    out.push(
      '# Dicom-Meta-Information-Header',
      '# Used TransferSyntax: 1.2.840.10008.1.2.1 (Explicit VR Little Endian)',
    );
    dumpContainer(file.meta, 0, max, out);
    out.push('');
  }
  const s = file.dataset.syntax;
  const read = `${s.explicitVR ? 'Explicit' : 'Implicit'} VR ${s.littleEndian ? 'Little' : 'Big'} Endian`;
  out.push('# Dicom-Data-Set', `# Used TransferSyntax: ${file.transferSyntax.uid} (${read})`);
  dumpContainer(file.dataset, 0, max, out);
  return `${out.join('\n')}\n`;
}

/** A dataset or item on its own, without headers. */
export function dumpDataset(dataset: DicomDataset | ElementContainer, options: DumpOptions = {}): string {
  const out: string[] = [];
  dumpContainer(dataset, 0, options.maxValueLength ?? DEFAULT_MAX, out);
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

function line(
  level: number,
  tag: string,
  vr: string,
  value: string,
  length: string,
  vm: number,
  keyword: string,
): string {
  const indent = '  '.repeat(level);
  return `${indent}${tag} ${vr} ${value.padEnd(VALUE_WIDTH)} # ${length.padStart(3)},${String(vm).padStart(2)} ${keyword}`;
}

const ITEM_TAG = '(fffe,e000)';
const ITEM_DELIM = '(fffe,e00d)';
const SEQ_DELIM = '(fffe,e0dd)';

function dumpContainer(c: ElementContainer, level: number, max: number, out: string[]): void {
  let creators: Map<number, string> | undefined;
  for (const el of c.elements) {
    let keyword: string;
    if (isPrivateTag(el.tag) && (el.tag & 0xffff) !== 0) {
      if (isPrivateCreator(el.tag)) {
        keyword = 'PrivateCreator';
      } else {
        creators ??= privateCreators(c);
        const creator = creators.get(privateCreatorTagOf(el.tag));
        keyword = (creator !== undefined ? lookupPrivate(creator, el.tag)?.keyword : undefined) || 'Unknown Tag & Data';
      }
    } else {
      keyword = lookupTag(el.tag)?.keyword || 'Unknown Tag & Data';
    }
    const tag = tagText(el.tag);
    const length = lengthText(el.length);
    if (el.fragments) {
      out.push(line(level, tag, el.vr, `(PixelSequence #=${el.fragments.length})`, length, 1, keyword));
      const src = c.source;
      for (const f of el.fragments) {
        const units = Math.min(f.length, hexUnitsShown(1, max));
        const value =
          f.length === 0
            ? '(no value available)'
            : hexValue(src.read(f.valueOffset, f.valueOffset + units), 1, true, f.length > units);
        out.push(line(level + 1, ITEM_TAG, 'pi', value, String(f.length), 1, 'Item'));
      }
      out.push(line(level, SEQ_DELIM, 'na', '(SequenceDelimitationItem)', '0', 0, 'SequenceDelimitationItem'));
      continue;
    }
    if (el.items) {
      const how = el.length === UNDEFINED_LENGTH ? 'undefined' : 'explicit';
      // An implicit VR element of undefined length is a sequence whatever the dictionary said (the file has no VR).
      const vr = el.vrExplicit || el.length !== UNDEFINED_LENGTH ? el.vr : 'SQ';
      out.push(line(level, tag, vr, `(Sequence with ${how} length #=${el.items.length})`, length, 1, keyword));
      for (const item of el.items) {
        const itemHow = item.length === UNDEFINED_LENGTH ? 'undefined' : 'explicit';
        const value = `(Item with ${itemHow} length #=${item.elements.length})`;
        out.push(line(level + 1, ITEM_TAG, 'na', value, lengthText(item.length), 1, 'Item'));
        dumpContainer(item, level + 2, max, out);
        if (item.length === UNDEFINED_LENGTH && item.end >= item.contentEnd + 8) {
          out.push(line(level + 1, ITEM_DELIM, 'na', '(ItemDelimitationItem)', '0', 0, 'ItemDelimitationItem'));
        }
      }
      const last = el.items[el.items.length - 1];
      if (el.length === UNDEFINED_LENGTH && el.end >= (last ? last.end : el.valueOffset) + 8) {
        out.push(line(level, SEQ_DELIM, 'na', '(SequenceDelimitationItem)', '0', 0, 'SequenceDelimitationItem'));
      }
      continue;
    }
    if (el.length === 0 || el.length === UNDEFINED_LENGTH) {
      out.push(line(level, tag, el.vr, '(no value available)', length, 0, keyword));
      continue;
    }
    const [value, vm] = valueText(el, max);
    out.push(line(level, tag, el.vr, value, length, vm, keyword));
  }
}

function privateCreators(c: ElementContainer): Map<number, string> {
  const map = new Map<number, string>();
  for (const el of c.elements) if (isPrivateCreator(el.tag)) map.set(el.tag, readString(el));
  return map;
}

function hex(n: number, digits: number): string {
  return n.toString(16).padStart(digits, '0');
}

function tagText(tag: number): string {
  return `(${hex(tag >>> 16, 4)},${hex(tag & 0xffff, 4)})`;
}

function lengthText(length: number): string {
  return length === UNDEFINED_LENGTH ? 'u/l' : String(length);
}

/** The text cut to max characters with "..." when it is longer, or when more values were left unread. */
function cut(text: string, unread: number, max: number): string {
  if (text.length <= max && unread >= 0) return text;
  return `${text.slice(0, Math.max(0, max - 3))}...`;
}

const NUMBER_SIZE: Record<string, number> = {
  AT: 4,
  US: 2,
  SS: 2,
  UL: 4,
  SL: 4,
  FL: 4,
  FD: 8,
  SV: 8,
  UV: 8,
  OF: 4,
  OD: 8,
};

function readPrefix(el: DicomElement, vr: string, size: number, count: number): (number | bigint)[] {
  const bytes = el.parent.source.read(el.valueOffset, el.valueOffset + count * size);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = el.parent.syntax.littleEndian;
  const out: (number | bigint)[] = [];
  for (let i = 0; i + size <= bytes.length; i += size) {
    switch (vr) {
      case 'AT':
        out.push(((dv.getUint16(i, le) << 16) | dv.getUint16(i + 2, le)) >>> 0);
        break;
      case 'US':
        out.push(dv.getUint16(i, le));
        break;
      case 'SS':
        out.push(dv.getInt16(i, le));
        break;
      case 'UL':
        out.push(dv.getUint32(i, le));
        break;
      case 'SL':
        out.push(dv.getInt32(i, le));
        break;
      case 'FL':
      case 'OF':
        out.push(dv.getFloat32(i, le));
        break;
      case 'SV':
        out.push(dv.getBigInt64(i, le));
        break;
      case 'UV':
        out.push(dv.getBigUint64(i, le));
        break;
      default:
        out.push(dv.getFloat64(i, le));
    }
  }
  return out;
}

/** How many binary units of `size` bytes fit in max characters as dcmdump shows them ("xx\xx\..."). */
function hexUnitsShown(size: number, max: number): number {
  if (!Number.isFinite(max)) return Number.MAX_SAFE_INTEGER;
  return Math.max(1, Math.floor((max - 3) / (size * 2 + 1))) * size;
}

function hexValue(bytes: Uint8Array, size: number, le: boolean, more: boolean): string {
  const parts: string[] = [];
  for (let i = 0; i + size <= bytes.length; i += size) {
    let s = '';
    for (let k = 0; k < size; k++) s += hex(bytes[le ? i + size - 1 - k : i + k]!, 2);
    parts.push(s);
  }
  // A trailing partial unit (odd length OW, say) is shown byte by byte.
  for (let i = bytes.length - (bytes.length % size); i < bytes.length; i++) parts.push(hex(bytes[i]!, 2));
  return parts.join('\\') + (more ? '...' : '');
}

/** Control characters (CR, LF, ESC, NUL...) as '.', so that one element stays one line. */
function printable(text: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      out += `${text.slice(from, i)}.`;
      from = i + 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

function valueText(el: DicomElement, max: number): [string, number] {
  const vr = el.vr;
  if (isTextVR(vr)) {
    const text = printable(readString(el));
    const vm = text === '' ? 0 : SINGLE_VALUED_TEXT.has(vr) ? 1 : text.split('\\').length;
    if (text === '') return ['(no value available)', 0];
    // dcmdump: "[" + value + "]", or "[" + the first max - 4 characters + "..." when that is longer than max.
    return [text.length + 2 > max ? `[${text.slice(0, Math.max(0, max - 4))}...` : `[${text}]`, vm];
  }
  if (vr === 'AT' || NUMERIC.has(vr)) {
    const size = NUMBER_SIZE[vr]!;
    // Enough values to fill max characters (each takes at least 2), not the whole of a large OF/OD/US array.
    const count = Math.min(Math.floor(el.length / size), Number.isFinite(max) ? Math.ceil(max / 2) + 1 : Infinity);
    const nums = readPrefix(el, vr, size, count);
    const single = vr === 'FL' || vr === 'OF';
    const text = nums
      .map((n) => (vr === 'AT' ? tagText(Number(n)) : String(single ? shortestFloat32(Number(n)) : n)))
      .join('\\');
    const all = Math.floor(el.length / size);
    return [cut(text, count < all ? -1 : max, max), vr === 'OF' || vr === 'OD' ? 1 : all];
  }
  // OB, OW, OL, OV, UN, unknown VRs: hex, read only as far as shown.
  const size = HEX_UNIT[vr] ?? 1;
  const shown = Math.min(el.length, hexUnitsShown(size, max));
  const bytes = el.parent.source.read(el.valueOffset, el.valueOffset + shown);
  return [hexValue(bytes, size, el.parent.syntax.littleEndian, el.length > shown), 1];
}
