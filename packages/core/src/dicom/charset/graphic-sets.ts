/**
 * The graphic character sets of DICOM's ISO 2022 model (PS3.3 C.12.1.1.2, PS3.5 6.1.2.5), with the escape sequence
 * that designates each one and lookups from bytes to characters and back.
 *
 * In the 8-bit ISO 2022 model DICOM uses, G0 is always invoked into GL (bytes 21..7E) and G1 into GR (A1..FE):
 *   - 'ascii': ISO-IR 6 (ASCII) or ISO-IR 14 (JIS X 0201 Roman) in G0. DICOM reads 5C and 7E of ISO-IR 14 as ASCII
 *     backslash and tilde (5C is the value delimiter), as pydicom and dcmtk do.
 *   - 'sb96': a 96-character ISO 8859 right half in G1.
 *   - 'kana': ISO-IR 13 (JIS X 0201 Katakana) in G1, bytes A1..DF = U+FF61..U+FF9F.
 *   - 'db94': a 94x94 double-byte set in G0 (JIS X 0208, JIS X 0212) or G1 (KS X 1001, GB 2312).
 *
 * Example:
 *   const set = setForEscape(bytes, i); // ESC $ B at bytes[i] -> { set: ISO_IR_87, length: 3 }
 *   encodeInSet(ISO_IR_87, 0x5c71); // 0x3b33 ('山' is row 0x3B cell 0x33)
 */
import { type DoubleByteSetId, doubleByteSet } from './double-byte-tables.ts';
import {
  GR_ARABIC,
  GR_CYRILLIC,
  GR_GREEK,
  GR_HEBREW,
  GR_LATIN_2,
  GR_LATIN_3,
  GR_LATIN_4,
  GR_LATIN_5,
  GR_LATIN_9,
  GR_THAI,
} from './single-byte-tables.ts';

export type GraphicSetKind = 'ascii' | 'sb96' | 'kana' | 'db94';

export interface GraphicSet {
  /** ISO-IR registration, e.g. 'ISO-IR 87'. */
  readonly name: string;
  /** 0: designated to G0 (GL bytes), 1: designated to G1 (GR bytes). */
  readonly slot: 0 | 1;
  readonly kind: GraphicSetKind;
  /** The designation escape sequence, ESC included. */
  readonly escape: readonly number[];
  /** sb96: the 96 characters of bytes A0..FF. */
  readonly gr?: string;
  /** db94: the double-byte table. */
  readonly table?: DoubleByteSetId;
}

const ESC = 0x1b;
const seq = (s: string): number[] => [ESC, ...Array.from(s, (c) => c.charCodeAt(0))];

const sb96 = (name: string, final: string, gr: string): GraphicSet => ({
  name,
  slot: 1,
  kind: 'sb96',
  escape: seq(`-${final}`),
  gr,
});

let latin1 = '';
for (let b = 0xa0; b <= 0xff; b++) latin1 += String.fromCharCode(b);

export const ISO_IR_6: GraphicSet = { name: 'ISO-IR 6', slot: 0, kind: 'ascii', escape: seq('(B') };
export const ISO_IR_14: GraphicSet = { name: 'ISO-IR 14', slot: 0, kind: 'ascii', escape: seq('(J') };
export const ISO_IR_13: GraphicSet = { name: 'ISO-IR 13', slot: 1, kind: 'kana', escape: seq(')I') };
export const ISO_IR_100 = sb96('ISO-IR 100', 'A', latin1);
export const ISO_IR_101 = sb96('ISO-IR 101', 'B', GR_LATIN_2);
export const ISO_IR_109 = sb96('ISO-IR 109', 'C', GR_LATIN_3);
export const ISO_IR_110 = sb96('ISO-IR 110', 'D', GR_LATIN_4);
export const ISO_IR_126 = sb96('ISO-IR 126', 'F', GR_GREEK);
export const ISO_IR_127 = sb96('ISO-IR 127', 'G', GR_ARABIC);
export const ISO_IR_138 = sb96('ISO-IR 138', 'H', GR_HEBREW);
export const ISO_IR_144 = sb96('ISO-IR 144', 'L', GR_CYRILLIC);
export const ISO_IR_148 = sb96('ISO-IR 148', 'M', GR_LATIN_5);
export const ISO_IR_166 = sb96('ISO-IR 166', 'T', GR_THAI);
export const ISO_IR_203 = sb96('ISO-IR 203', 'b', GR_LATIN_9);
export const ISO_IR_87: GraphicSet = {
  name: 'ISO-IR 87',
  slot: 0,
  kind: 'db94',
  escape: seq('$B'),
  table: 'jisx0208',
};
export const ISO_IR_159: GraphicSet = {
  name: 'ISO-IR 159',
  slot: 0,
  kind: 'db94',
  escape: seq('$(D'),
  table: 'jisx0212',
};
export const ISO_IR_149: GraphicSet = {
  name: 'ISO-IR 149',
  slot: 1,
  kind: 'db94',
  escape: seq('$)C'),
  table: 'ksx1001',
};
export const ISO_IR_58: GraphicSet = { name: 'ISO-IR 58', slot: 1, kind: 'db94', escape: seq('$)A'), table: 'gb2312' };

/** Escape sequences (the bytes after ESC, as Latin-1 text) recognised when decoding. */
const BY_ESCAPE = new Map<string, GraphicSet>([
  ['(B', ISO_IR_6],
  ['(J', ISO_IR_14],
  [')I', ISO_IR_13],
  ['-A', ISO_IR_100],
  ['-B', ISO_IR_101],
  ['-C', ISO_IR_109],
  ['-D', ISO_IR_110],
  ['-F', ISO_IR_126],
  ['-G', ISO_IR_127],
  ['-H', ISO_IR_138],
  ['-L', ISO_IR_144],
  ['-M', ISO_IR_148],
  ['-T', ISO_IR_166],
  ['-b', ISO_IR_203],
  ['$B', ISO_IR_87],
  // Lenient: JIS C 6226-1978 (ESC $ @) and the long form ESC $ ( B, both read as JIS X 0208.
  ['$@', ISO_IR_87],
  ['$(B', ISO_IR_87],
  ['$(D', ISO_IR_159],
  ['$)C', ISO_IR_149],
  ['$)A', ISO_IR_58],
]);

/**
 * The set designated by the escape sequence starting at bytes[i] (an ESC) and the sequence's length, or undefined
 * when the bytes there are not an escape sequence this module knows.
 */
export function setForEscape(bytes: Uint8Array, i: number): { set: GraphicSet; length: number } | undefined {
  // ISO 2022: ESC, intermediate bytes 20..2F, one final byte 30..7E.
  let j = i + 1;
  let key = '';
  while (j < bytes.length && j - i <= 3) {
    const b = bytes[j]!;
    key += String.fromCharCode(b);
    j++;
    if (b >= 0x30 && b <= 0x7e) {
      const set = BY_ESCAPE.get(key);
      return set ? { set, length: j - i } : undefined;
    }
    if (b < 0x20 || b > 0x2f) return undefined;
  }
  return undefined;
}

const sb96Encoders = new Map<GraphicSet, Map<number, number>>();

function sb96Encoder(set: GraphicSet): Map<number, number> {
  let map = sb96Encoders.get(set);
  if (!map) {
    map = new Map();
    const gr = set.gr ?? '';
    for (let k = 0; k < gr.length; k++) {
      const unit = gr.charCodeAt(k);
      if (unit !== 0xfffd) map.set(unit, 0xa0 + k);
    }
    sb96Encoders.set(set, map);
  }
  return map;
}

/**
 * The code of a character (a BMP code unit, not ASCII) in a set, or -1: the byte (A0..FF) for sb96 and kana, the
 * row << 8 | cell (21..7E each) for db94. The caller adds 0x80 to each byte of a db94 code of a G1 set.
 */
export function encodeInSet(set: GraphicSet, unit: number): number {
  switch (set.kind) {
    case 'sb96':
      return sb96Encoder(set).get(unit) ?? -1;
    case 'kana':
      return unit >= 0xff61 && unit <= 0xff9f ? unit - 0xff61 + 0xa1 : -1;
    case 'db94':
      return doubleByteSet(set.table!).encode.get(unit) ?? -1;
    default:
      return -1;
  }
}

/** Every character of a set's graphic repertoire (for tests and documentation), in code order. */
export function repertoireOf(set: GraphicSet): string[] {
  const out: string[] = [];
  switch (set.kind) {
    case 'ascii':
      for (let b = 0x20; b < 0x7f; b++) out.push(String.fromCharCode(b));
      break;
    case 'sb96':
      for (const c of set.gr ?? '') if (c !== '\ufffd') out.push(c);
      break;
    case 'kana':
      for (let u = 0xff61; u <= 0xff9f; u++) out.push(String.fromCharCode(u));
      break;
    case 'db94':
      for (const unit of doubleByteSet(set.table!).decode) if (unit !== 0) out.push(String.fromCharCode(unit));
      break;
  }
  return out;
}
