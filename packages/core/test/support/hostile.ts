/**
 * The hostile corpus, generated: files built to crash a parser, exhaust its memory, or hide PHI from one reader and
 * show it to another. Nothing is stored as a binary blob; every file is a function of this code. The deflate bombs are
 * written bit by bit (fixed Huffman codes, matches of 258 bytes), so a bomb that inflates to half a gigabyte costs
 * milliseconds and half a megabyte to make.
 *
 * Each case names the code a fail-closed reader must stop with (scanFile, or the release path: VERIFY_* when the
 * scanner reads it and the gate refuses it) and the hidden values it carries, so a test can grep any output for them.
 *
 * Example:
 *   for (const c of hostileCorpus()) assert.throws(() => scanFile(c.bytes), { code: c.code });
 */
import { deflateSync } from 'fflate';
import { concat, EXPLICIT_LE, encodeElement, encodeItems } from '../../src/index.ts';
import { part10, TS, text, undefinedLengthElement, undefinedLengthItem } from './encode.ts';

/** Values that must never appear in any output, log or report: planted where a lenient reader would not look. */
export const HIDDEN = {
  name: 'ZEBULON^QUIXOTE',
  mrn: 'MRN-99887766',
  phone: '555-867-5309',
} as const;

export const HIDDEN_VALUES: readonly string[] = Object.values(HIDDEN);

export interface HostileCase {
  readonly name: string;
  readonly about: string;
  readonly bytes: Uint8Array;
  /** The stable code a fail-closed scan stops with. */
  readonly code: string;
}

const le = EXPLICIT_LE;
const el = (tag: number, vr: string, value: string | Uint8Array): Uint8Array =>
  encodeElement(tag, vr, typeof value === 'string' ? text(value) : value, le);

/** A small, ordinary secondary capture: released by `veil deid` with the default configuration. */
export function normalDataset(sopInstanceUid = '1.2.826.0.1.3680043.10.999.1'): Uint8Array {
  return concat([
    el(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.7'),
    el(0x00080018, 'UI', sopInstanceUid),
    el(0x00080060, 'CS', 'OT'),
    el(0x00100010, 'PN', 'HOSTILE^TEST'),
    el(0x00100020, 'LO', 'HOSTILE-1'),
    el(0x0020000d, 'UI', '1.2.826.0.1.3680043.10.999.2'),
    el(0x0020000e, 'UI', '1.2.826.0.1.3680043.10.999.3'),
    el(0x00280002, 'US', new Uint8Array([1, 0])),
    el(0x00280004, 'CS', 'MONOCHROME2'),
    el(0x00280010, 'US', new Uint8Array([4, 0])),
    el(0x00280011, 'US', new Uint8Array([4, 0])),
    el(0x00280100, 'US', new Uint8Array([8, 0])),
    el(0x00280101, 'US', new Uint8Array([8, 0])),
    el(0x00280102, 'US', new Uint8Array([7, 0])),
    el(0x00280103, 'US', new Uint8Array([0, 0])),
  ]);
}

const PIXELS = el(0x7fe00010, 'OB', new Uint8Array(16).fill(0x40));

/** The planted elements: a private block whose value holds every hidden value. */
export function hiddenElements(): Uint8Array {
  return concat([
    el(0x00090010, 'LO', 'EVIL CREATOR'),
    el(0x00091001, 'LO', `${HIDDEN.name} ${HIDDEN.mrn} ${HIDDEN.phone}`),
  ]);
}

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

function delim(tag: number, length = 0): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, tag >>> 16, true);
  dv.setUint16(2, tag & 0xffff, true);
  dv.setUint32(4, length, true);
  return b;
}

// ---------------------------------------------------------------------------------------------------------------------
// A deflate writer for bombs: one dynamic-Huffman block in which a 258-byte match costs 2 or 3 bits (the length code
// 285 and the distance code get 1-bit codes), so the stream inflates ~700-1000 times its size, as real bombs do.

class BitWriter {
  buf: Uint8Array;
  n = 0;
  private acc = 0;
  bits = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }
  /** `count` bits of `value`, least significant first (deflate's order for everything but Huffman codes). */
  bitsLE(value: number, count: number): void {
    for (let i = 0; i < count; i++) this.bit((value >>> i) & 1);
  }
  /** A Huffman code, most significant bit first. */
  code(c: { code: number; len: number }): void {
    for (let i = c.len - 1; i >= 0; i--) this.bit((c.code >>> i) & 1);
  }
  /** Whole bytes, when the writer is at a byte boundary. */
  bytes(b: Uint8Array, times: number): void {
    this.reserve(b.length * times);
    for (let t = 0; t < times; t++) {
      this.buf.set(b, this.n);
      this.n += b.length;
    }
  }
  private reserve(extra: number): void {
    if (this.n + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + extra));
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
  }
  private bit(b: number): void {
    this.acc |= b << this.bits;
    if (++this.bits === 8) {
      this.reserve(1);
      this.buf[this.n++] = this.acc;
      this.acc = 0;
      this.bits = 0;
    }
  }
  finish(): Uint8Array {
    while (this.bits !== 0) this.bit(0);
    return this.buf.slice(0, this.n);
  }
}

/** Canonical Huffman codes (RFC 1951 3.2.2) from code lengths. */
function canonical(lengths: readonly number[]): { code: number; len: number }[] {
  const max = Math.max(...lengths);
  const count = new Array<number>(max + 1).fill(0);
  for (const l of lengths) if (l > 0) count[l]!++;
  const next = new Array<number>(max + 2).fill(0);
  let code = 0;
  for (let bits = 1; bits <= max; bits++) {
    code = (code + count[bits - 1]!) << 1;
    next[bits] = code;
  }
  return lengths.map((len) => ({ code: len > 0 ? next[len]!++ : 0, len }));
}

const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
  8193, 12289, 16385, 24577,
];
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** A raw deflate stream that inflates to `prefix`, then `unit` repeated `count` times, then `suffix`. */
export function deflateRepeated(
  prefix: Uint8Array,
  unit: Uint8Array,
  count: number,
  suffix = new Uint8Array(0),
): Uint8Array {
  const distance = unit.length;
  if (distance < 1 || distance > 32768) throw new Error('unit length must be 1..32768');
  const total = unit.length * count;
  // Literal/length code: 285 (a 258-byte match) 1 bit; literals 0-254 9 bits; 255 and end-of-block 10 bits (complete).
  const litLengths = new Array<number>(286).fill(0);
  for (let i = 0; i < 255; i++) litLengths[i] = 9;
  litLengths[255] = 10;
  litLengths[256] = 10;
  litLengths[285] = 1;
  // Distance code: the unit's distance code and one other, 1 bit each.
  let dcode = DIST_BASE.length - 1;
  while (DIST_BASE[dcode]! > distance) dcode--;
  const dextra = dcode < 4 ? 0 : (dcode >> 1) - 1;
  const other = dcode === 0 ? 1 : 0;
  const distLengths = new Array<number>(Math.max(dcode, other) + 1).fill(0);
  distLengths[dcode] = 1;
  distLengths[other] = 1;
  const lit = canonical(litLengths);
  const dist = canonical(distLengths);
  // Code-length code: the lengths used (0, 1, 9, 10) get 2 bits each.
  const clLengths = new Array<number>(19).fill(0);
  for (const l of [0, 1, 9, 10]) clLengths[l] = 2;
  const cl = canonical(clLengths);

  const w = new BitWriter(4096 + 2 * (prefix.length + suffix.length) + Math.ceil(total / 258 / 2));
  w.bitsLE(1, 1); // BFINAL
  w.bitsLE(2, 2); // BTYPE 10: dynamic Huffman codes
  w.bitsLE(litLengths.length - 257, 5);
  w.bitsLE(distLengths.length - 1, 5);
  const hclen = CL_ORDER.reduce((n, sym, i) => (clLengths[sym]! > 0 ? i + 1 : n), 4);
  w.bitsLE(hclen - 4, 4);
  for (let i = 0; i < hclen; i++) w.bitsLE(clLengths[CL_ORDER[i]!]!, 3);
  for (const l of [...litLengths, ...distLengths]) w.code(cl[l]!);

  for (const b of prefix) w.code(lit[b]!);
  let written = 0;
  for (; written < Math.min(total, unit.length); written++) w.code(lit[unit[written]!]!);
  const match = (): void => {
    w.code(lit[285]!);
    w.code(dist[dcode]!);
    w.bitsLE(distance - DIST_BASE[dcode]!, dextra);
    written += 258;
  };
  // Matches bit by bit up to a byte boundary, then whole bytes: the bits of 8 matches repeat.
  while (total - written >= 258 && w.bits !== 0) match();
  const matches = Math.floor((total - written) / 258);
  if (matches >= 8) {
    const scratch = new BitWriter(16);
    for (let k = 0; k < 8; k++) {
      scratch.code(lit[285]!);
      scratch.code(dist[dcode]!);
      scratch.bitsLE(distance - DIST_BASE[dcode]!, dextra);
    }
    const pattern = scratch.finish();
    const times = Math.floor(matches / 8);
    w.bytes(pattern, times);
    written += times * 8 * 258;
  }
  while (total - written >= 258) match();
  for (; written < total; written++) w.code(lit[unit[(written - 0) % unit.length]!]!);
  for (const b of suffix) w.code(lit[b]!);
  w.code(lit[256]!); // end of block
  return w.finish();
}

/** A Part 10 file in Deflated Explicit VR Little Endian around an already deflated data set. */
function deflatedPart10(deflated: Uint8Array): Uint8Array {
  // part10() deflates its (empty) data set itself: cut that stream off and put ours in its place.
  const meta = part10(new Uint8Array(0), TS.deflated);
  return concat([meta.subarray(0, metaLength(meta)), deflated]);
}

/** Offset after the file meta group of a file made by part10(). */
function metaLength(file: Uint8Array): number {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  return 132 + 12 + dv.getUint32(140, true);
}

// ---------------------------------------------------------------------------------------------------------------------
// The corpus

const TINY = el(0x00091001, 'LO', ''); // 8 bytes: tag, VR, length 0
const CONTENT_SEQUENCE = 0x0040a730;

/** Sequences nested `depth` deep, built flat: each level an undefined-length sequence and item around the next. */
function nested(depth: number): Uint8Array {
  const open = concat([
    undefinedLengthElement(CONTENT_SEQUENCE, 'SQ', new Uint8Array(0), le).subarray(0, 12),
    undefinedLengthItem([], le).subarray(0, 8),
  ]);
  const close = concat([delim(0xfffee00d), delim(0xfffee0dd)]);
  return concat([repeat(open, depth), el(0x0040a160, 'UT', 'leaf'), repeat(close, depth)]);
}

/**
 * Every hostile case, smallest first. Deterministic. `scale` shrinks the counts (elements, bomb sizes, nesting) for
 * the fuzz target, which mutates them thousands of times under small caps; the codes stated are those at scale 1.
 */
export function hostileCorpus(options: { scale?: number } = {}): HostileCase[] {
  const scale = options.scale ?? 1;
  const n = (count: number, min = 1): number => Math.max(min, Math.round(count * scale));
  const base = normalDataset();
  const cases: HostileCase[] = [];
  const add = (name: string, about: string, dataset: Uint8Array | null, code: string, raw?: Uint8Array): void => {
    cases.push({ name, about, code, bytes: raw ?? part10(dataset!, TS.explicitLE) });
  };

  add(
    'stray-delimiter-top',
    'an Item Delimitation (FFFE,E00D) at the top level, the hidden private block after it',
    concat([base, delim(0xfffee00d), hiddenElements(), PIXELS]),
    'DICOM_STRAY_DELIMITER',
  );
  const item = concat([el(0x00080100, 'SH', '121000'), delim(0xfffee00d), hiddenElements()]);
  add(
    'stray-delimiter-item',
    'an Item Delimitation inside a defined-length item of a sequence, the hidden block after it in the item',
    // Real World Value Mapping Sequence: not in the profile's table, so kept (with its items) by default.
    concat([base, encodeElement(0x00409096, 'SQ', encodeItems([[item]], le), le), PIXELS]),
    'DICOM_STRAY_DELIMITER',
  );
  add(
    'stray-delimiter-sequence',
    'a Sequence Delimitation (FFFE,E0DD) inside a defined-length sequence, the hidden block after it',
    concat([
      base,
      encodeElement(
        0x00409096,
        'SQ',
        concat([encodeItems([[el(0x00401001, 'SH', 'RP1')]], le), delim(0xfffee0dd), hiddenElements()]),
        le,
      ),
      PIXELS,
    ]),
    'DICOM_STRAY_DELIMITER',
  );
  add(
    'trailing-zeros',
    'zero padding after the last element',
    concat([base, PIXELS, new Uint8Array(64)]),
    'DICOM_TRAILING_DATA',
  );
  add(
    'trailing-garbage',
    'five bytes of text after the last element',
    concat([base, PIXELS, text('MRN99')]),
    'DICOM_TRUNCATED_HEADER',
  );
  add(
    'second-dataset',
    'a Sequence Delimitation after the data set, then a second data set with the hidden block',
    concat([base, PIXELS, delim(0xfffee0dd), normalDataset('1.2.826.0.1.3680043.10.999.9'), hiddenElements()]),
    'DICOM_STRAY_DELIMITER',
  );
  add(
    'length-past-eof',
    'a private LO whose 16-bit length runs past the end of the file',
    concat([
      base,
      hiddenElements().subarray(0, 20),
      el(0x00091002, 'LO', HIDDEN.mrn).subarray(0, 6),
      new Uint8Array([0xf0, 0xff]),
      text(HIDDEN.phone),
    ]),
    'DICOM_TRUNCATED_ELEMENT',
  );
  add(
    'length-4gb',
    'an OB whose 32-bit length says 4 GB in a file of a few hundred bytes',
    concat([base, el(0x00091002, 'OB', new Uint8Array(0)).subarray(0, 8), u32le(0xfffffff0), text(HIDDEN.name)]),
    'DICOM_TRUNCATED_ELEMENT',
  );
  add(
    'deflated-trailing-data',
    'a deflated data set, then the hidden block in clear after the end of the deflate stream',
    null,
    'DICOM_TRAILING_DATA',
    concat([deflatedPart10(deflateSync(concat([base, PIXELS]))), hiddenElements()]),
  );
  {
    const preamble = new Uint8Array(128);
    preamble.set(text('MZ\x90\x00 this is not a DICOM file'));
    const body = text(
      `%PDF-1.4\n1 0 obj << /Patient (${HIDDEN.name}) /MRN (${HIDDEN.mrn}) /Phone (${HIDDEN.phone}) >> endobj\n`.repeat(
        20,
      ),
    );
    add(
      'dicm-not-dicom',
      'a file with "DICM" at offset 128 whose body is a PDF-like text document',
      null,
      'DICOM_TRUNCATED_ELEMENT',
      concat([preamble, text('DICM'), body]),
    );
  }
  add(
    'nesting-10000',
    'sequences nested 10,000 deep',
    concat([base, nested(n(10_000, 100)), PIXELS]),
    'DICOM_TOO_DEEP',
  );
  add(
    'elements-1e6',
    'a million 8-byte private elements (8 MB)',
    concat([base, el(0x00090010, 'LO', 'EVIL CREATOR'), repeat(TINY, n(1_000_000)), PIXELS]),
    'DICOM_TOO_MANY_ELEMENTS',
  );
  add(
    'deflate-bomb-elements-small',
    'a deflated data set of a million empty elements: 8 MB inflated from ~30 KB',
    null,
    'DICOM_TOO_MANY_ELEMENTS',
    deflatedPart10(deflateRepeated(concat([base, el(0x00090010, 'LO', 'EVIL CREATOR')]), TINY, n(1_000_000))),
  );
  add(
    'deflate-bomb-value',
    'a deflated data set with one OB value of 1 GiB of zeros: ~1 MB on disk',
    null,
    'DICOM_INFLATE_LIMIT',
    deflatedPart10(
      deflateRepeated(
        concat([base, el(0x00091002, 'OB', new Uint8Array(0)).subarray(0, 8), u32le(n(2 ** 30))]),
        new Uint8Array(1),
        n(2 ** 30),
      ),
    ),
  );
  add(
    'deflate-bomb-elements',
    'a ~0.7 MB deflated data set that inflates to 64 million empty elements (512 MB)',
    null,
    'DICOM_INFLATE_LIMIT',
    deflatedPart10(deflateRepeated(concat([base, el(0x00090010, 'LO', 'EVIL CREATOR')]), TINY, n(64_000_000))),
  );
  return cases;
}

function repeat(unit: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(unit.length * count);
  for (let i = 0; i < count; i++) out.set(unit, i * unit.length);
  return out;
}

/** A normal file, for checking that a server still delivers after the hostile ones. */
export function normalFile(sopInstanceUid?: string): Uint8Array {
  return part10(concat([normalDataset(sopInstanceUid), PIXELS]), TS.explicitLE);
}
