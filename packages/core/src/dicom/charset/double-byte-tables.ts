/**
 * Double-byte coded character sets of DICOM (PS3.3 Table C.12-4, C.12-5), built lazily on first use.
 *
 * The 94x94 sets used with ISO 2022 code extensions (JIS X 0208, JIS X 0212, KS X 1001, GB 2312) are read out of the
 * platform's TextDecoder (euc-jp, euc-kr, gbk) once, restricted to the cells the standard set defines (so vendor
 * extensions such as NEC row 13 are not accepted) and corrected where TextDecoder implementations disagree with the
 * standard mapping tables (ICU in Node and WHATWG in browsers differ on a handful of cells: wave dash, cent sign...).
 * The result matches Python's codecs (pydicom's oracle) except for the cells listed in DELIBERATE_DEVIATIONS.
 *
 * GB18030 and GBK are decoded by TextDecoder directly; their encoder tables are the inverse of that decoder.
 *
 * Example:
 *   const jis = doubleByteSet('jisx0208');
 *   jis.decode[(0x3b - 0x21) * 94 + (0x33 - 0x21)]; // 0x5c71 '山'
 *   jis.encode.get(0x5c71); // 0x3b33
 */

export type DoubleByteSetId = 'jisx0208' | 'jisx0212' | 'ksx1001' | 'gb2312';

export interface DoubleByteTable {
  /** Code unit per cell, index (row - 0x21) * 94 + (cell - 0x21); 0 = not defined. All characters are in the BMP. */
  readonly decode: Uint16Array;
  /** Code unit -> (row << 8) | cell, rows and cells in 0x21..0x7E. */
  readonly encode: ReadonlyMap<number, number>;
}

interface DoubleByteSpec {
  /** TextDecoder label of an EUC-style encoding holding the set in its GR (0xA1..0xFE) double-byte area. */
  readonly label: string;
  /** Bytes before the two GR bytes (0x8F: single shift 3 of EUC-JP, for JIS X 0212). */
  readonly prefix: readonly number[];
  /** Defined cells: 'RR:CC-CC,...' or 'RR-RR:CC-CC,...' in hex, space separated. */
  readonly cells: string;
  /** [row << 8 | cell, code unit] pairs applied after the TextDecoder read. */
  readonly overrides: readonly (readonly [number, number])[];
}

const SPECS: Record<DoubleByteSetId, DoubleByteSpec> = {
  // JIS X 0208-1990 (ISO-IR 87), 6879 characters. Mapping of JIS0208.TXT, except 0x2140 -> U+FF3C (not U+005C,
  // which is the DICOM value delimiter) as Python's and every browser's tables do.
  jisx0208: {
    label: 'euc-jp',
    prefix: [],
    cells:
      '21:21-7E 22:21-2E,3A-41,4A-50,5C-6A,72-79,7E-7E 23:30-39,41-5A,61-7A 24:21-73 25:21-76 26:21-38,41-58 ' +
      '27:21-41,51-71 28:21-40 30-4E:21-7E 4F:21-53 50-73:21-7E 74:21-26',
    overrides: [
      [0x2131, 0xffe3], // FULLWIDTH MACRON
      [0x2140, 0xff3c], // FULLWIDTH REVERSE SOLIDUS
      [0x2141, 0x301c], // WAVE DASH (ICU: U+FF5E)
      [0x2142, 0x2016], // DOUBLE VERTICAL LINE (ICU: U+2225)
      [0x215d, 0x2212], // MINUS SIGN (ICU: U+FF0D)
      [0x2171, 0x00a2], // CENT SIGN (ICU: U+FFE0)
      [0x2172, 0x00a3], // POUND SIGN (ICU: U+FFE1)
      [0x224c, 0x00ac], // NOT SIGN (ICU: U+FFE2)
    ],
  },
  // JIS X 0212-1990 (ISO-IR 159), 6067 characters.
  jisx0212: {
    label: 'euc-jp',
    prefix: [0x8f],
    cells:
      '22:2F-39,42-44,6B-71 26:61-65,67-67,69-6A,6C-6C,71-7C 27:42-4E,72-7E ' +
      '29:21-22,24-24,26-26,28-29,2B-2D,2F-30,41-50 2A:21-38,3A-77 2B:21-3B,3D-43,45-77 30-6C:21-7E 6D:21-63',
    overrides: [
      [0x2237, 0xff5e], // FULLWIDTH TILDE (JIS0212.TXT and Python: U+007E, which would alias ASCII '~')
    ],
  },
  // KS X 1001:1998 (ISO-IR 149), 8226 characters (0x2454 is the Hangul filler U+3164).
  ksx1001: {
    label: 'euc-kr',
    prefix: [],
    cells:
      '21:21-7E 22:21-67 23:21-7E 24:21-7E 25:21-2A,30-39,41-58,61-78 26:21-64 27:21-6F ' +
      '28:21-24,26-26,28-2F,31-7E 29:21-7E 2A:21-73 2B:21-76 2C:21-41,51-71 30-48:21-7E 4A-7D:21-7E',
    overrides: [
      [0x2266, 0x20ac], // EURO SIGN (added in KS X 1001:1998; missing from ICU's table)
      [0x2267, 0x00ae], // REGISTERED SIGN (idem)
    ],
  },
  // GB 2312-80 (ISO-IR 58), 7445 characters. Mapping of GB2312.TXT: GBK/GB18030 map 0x2124 and 0x212A differently.
  gb2312: {
    label: 'gb18030',
    prefix: [],
    cells:
      '21:21-7E 22:31-62,65-6E,71-7C 23:21-7E 24:21-73 25:21-76 26:21-38,41-58 27:21-41,51-71 28:21-3A,45-69 ' +
      '29:24-6F 30-56:21-7E 57:21-79 58-77:21-7E',
    overrides: [
      [0x2124, 0x30fb], // KATAKANA MIDDLE DOT (GBK: U+00B7)
      [0x212a, 0x2015], // HORIZONTAL BAR (GBK: U+2014)
    ],
  },
};

/**
 * Cells where this module knowingly differs from Python's codecs (used by the table test):
 * JIS X 0212 0x2237 (see above) and KS X 1001 0x2454 (Python decodes it only as the start of a KS X 1001 Annex 3
 * eight-byte Hangul composition sequence).
 */
export const DELIBERATE_DEVIATIONS: Readonly<Record<DoubleByteSetId, readonly number[]>> = {
  jisx0208: [],
  jisx0212: [0x2237],
  ksx1001: [0x2454],
  gb2312: [],
};

function parseCells(spec: string): number[] {
  const cells: number[] = [];
  for (const group of spec.split(' ')) {
    const [rows = '', cols = ''] = group.split(':');
    const [r0 = '', r1 = r0] = rows.split('-');
    for (let r = Number.parseInt(r0, 16); r <= Number.parseInt(r1, 16); r++) {
      for (const range of cols.split(',')) {
        const [c0 = '', c1 = c0] = range.split('-');
        for (let c = Number.parseInt(c0, 16); c <= Number.parseInt(c1, 16); c++) cells.push((r << 8) | c);
      }
    }
  }
  return cells;
}

function tryDecoder(label: string): TextDecoder | undefined {
  try {
    return new TextDecoder(label);
  } catch {
    return undefined; // an engine without this legacy encoding: the set decodes to U+FFFD and encodes nothing
  }
}

/**
 * Decodes many short byte sequences with one TextDecoder call: the sequences are joined by LF (0x0A, which no legacy
 * decoder folds into a neighbouring character) and the text split on LF again. Returns, per sequence, its single
 * code unit or 0 when it decoded to anything else (U+FFFD, nothing, a pair).
 */
export function decodeEach(decoder: TextDecoder, sequences: readonly (readonly number[])[]): Uint16Array {
  const out = new Uint16Array(sequences.length);
  let size = 0;
  for (const s of sequences) size += s.length + 1;
  const bytes = new Uint8Array(size);
  let p = 0;
  for (const s of sequences) {
    for (const b of s) bytes[p++] = b;
    bytes[p++] = 0x0a;
  }
  const parts = decoder.decode(bytes).split('\n');
  const aligned = parts.length === sequences.length + 1;
  for (let i = 0; i < sequences.length; i++) {
    const text = aligned ? parts[i]! : decoder.decode(new Uint8Array(sequences[i]!));
    if (text.length === 1 && text !== '\ufffd') out[i] = text.charCodeAt(0);
  }
  return out;
}

function build(spec: DoubleByteSpec): DoubleByteTable {
  const decode = new Uint16Array(94 * 94);
  const cells = parseCells(spec.cells);
  const decoder = tryDecoder(spec.label);
  if (decoder) {
    const units = decodeEach(
      decoder,
      cells.map((cell) => [...spec.prefix, (cell >> 8) | 0x80, (cell & 0xff) | 0x80]),
    );
    cells.forEach((cell, i) => {
      decode[((cell >> 8) - 0x21) * 94 + (cell & 0xff) - 0x21] = units[i]!;
    });
  }
  for (const [cell, unit] of spec.overrides) decode[((cell >> 8) - 0x21) * 94 + (cell & 0xff) - 0x21] = unit;
  const encode = new Map<number, number>();
  for (let i = 0; i < decode.length; i++) {
    const unit = decode[i]!;
    if (unit !== 0 && !encode.has(unit)) encode.set(unit, ((Math.floor(i / 94) + 0x21) << 8) | ((i % 94) + 0x21));
  }
  return { decode, encode };
}

const built = new Map<DoubleByteSetId, DoubleByteTable>();

/** The table of a double-byte set, built on first use (a few milliseconds) and cached. */
export function doubleByteSet(id: DoubleByteSetId): DoubleByteTable {
  let table = built.get(id);
  if (!table) {
    table = build(SPECS[id]);
    built.set(id, table);
  }
  return table;
}

// ---------------------------------------------------------------------------------------------------------------------
// GB18030 / GBK (stand-alone, no code extensions)

let gb18030DecoderCache: TextDecoder | undefined | null = null;

/** The platform's GB18030 decoder (undefined where the engine has none). */
export function gb18030Decoder(): TextDecoder | undefined {
  if (gb18030DecoderCache === null) gb18030DecoderCache = tryDecoder('gb18030');
  return gb18030DecoderCache;
}

let twoByteIndex: Map<number, number> | undefined;
let fourByteIndex: Map<number, number> | undefined;

/** Code unit -> two-byte pointer ((lead - 0x81) * 190 + trail offset) of GB18030/GBK, the first pointer per unit. */
function gbTwoByteIndex(): Map<number, number> {
  if (!twoByteIndex) {
    twoByteIndex = new Map();
    const decoder = gb18030Decoder();
    if (decoder) {
      const sequences: number[][] = [];
      for (let pointer = 0; pointer < 126 * 190; pointer++) {
        const trail = pointer % 190;
        sequences.push([Math.floor(pointer / 190) + 0x81, trail + (trail < 0x3f ? 0x40 : 0x41)]);
      }
      const units = decodeEach(decoder, sequences);
      units.forEach((unit, pointer) => {
        if (unit !== 0 && !twoByteIndex!.has(unit)) twoByteIndex!.set(unit, pointer);
      });
    }
  }
  return twoByteIndex;
}

function fourBytes(pointer: number): number[] {
  return [
    Math.floor(pointer / 12600) + 0x81,
    (Math.floor(pointer / 1260) % 10) + 0x30,
    (Math.floor(pointer / 10) % 126) + 0x81,
    (pointer % 10) + 0x30,
  ];
}

/** BMP code unit -> four-byte pointer of GB18030 (pointers 0..39419 cover the BMP). */
function gbFourByteIndex(): Map<number, number> {
  if (!fourByteIndex) {
    fourByteIndex = new Map();
    const decoder = gb18030Decoder();
    if (decoder) {
      const sequences: number[][] = [];
      for (let pointer = 0; pointer < 39420; pointer++) sequences.push(fourBytes(pointer));
      const units = decodeEach(decoder, sequences);
      const two = gbTwoByteIndex();
      units.forEach((unit, pointer) => {
        if (unit >= 0x80 && !two.has(unit) && !fourByteIndex!.has(unit)) fourByteIndex!.set(unit, pointer);
      });
      // decodeEach cannot tell U+FFFD from an error: GB18030 gives it 84 31 A4 37.
      fourByteIndex.set(0xfffd, 39417);
    }
  }
  return fourByteIndex;
}

/**
 * Appends the GB18030 (or, with gbk, the GBK: two-byte only) bytes of one code point to out; false when the code
 * point has no representation. ASCII is handled by the caller.
 */
export function encodeGb(codePoint: number, gbk: boolean, out: number[]): boolean {
  if (gbk && codePoint === 0x20ac) {
    out.push(0x80); // GBK (CP936) has the euro sign as a single byte (as Python and WHATWG's gbk encoder write it)
    return true;
  }
  const two = gbTwoByteIndex().get(codePoint);
  if (two !== undefined) {
    const trail = two % 190;
    out.push(Math.floor(two / 190) + 0x81, trail + (trail < 0x3f ? 0x40 : 0x41));
    return true;
  }
  if (gbk) return false;
  if (codePoint >= 0x10000 && codePoint <= 0x10ffff) {
    if (!gb18030Decoder()) return false;
    out.push(...fourBytes(189000 + codePoint - 0x10000));
    return true;
  }
  const four = gbFourByteIndex().get(codePoint);
  if (four === undefined) return false;
  out.push(...fourBytes(four));
  return true;
}
