/**
 * Specific Character Set (0008,0005): parsing the attribute, decoding element values to text and encoding text back
 * to bytes (PS3.3 C.12.1.1.2, PS3.5 6.1 and Annexes H, I, J, K).
 *
 * Supported: the default repertoire (ISO_IR 6), the single-byte sets ISO_IR 100, 101, 109, 110, 126, 127, 138, 144,
 * 148, 166, 203 and 13 (JIS X 0201) with and without code extensions, the multi-byte sets with code extensions
 * ISO 2022 IR 87 (JIS X 0208), 159 (JIS X 0212), 149 (KS X 1001) and 58 (GB 2312), and the stand-alone ISO_IR 192
 * (UTF-8), GB18030 and GBK. Only the VRs the attribute applies to (SH, LO, ST, LT, PN, UC, UT) use it; others are in
 * the default repertoire.
 *
 * Pure: uses only the global TextDecoder/TextEncoder (any WHATWG engine); tables are built on first use.
 *
 * Example:
 *   const cs = parseSpecificCharacterSet('\\ISO 2022 IR 149');
 *   decodeText(bytes, cs, 'PN'); // 'Hong^Gildong=洪^吉洞=홍^길동'
 *   encodeText('Hong^Gildong=洪^吉洞=홍^길동', cs, 'PN'); // the bytes of PS3.5 Annex I
 */
import { VeilError } from '../errors.ts';
import { type Plan, planFor } from './character-set-table.ts';
import { encodeGb, gb18030Decoder } from './double-byte-tables.ts';
import { decodeIso2022, encodeIso2022, resetTable, Unencodable } from './iso-2022.ts';

export interface CharacterSet {
  /** The values of (0008,0005) as given, padding removed, e.g. ['', 'ISO 2022 IR 87']; [] when absent or empty. */
  readonly terms: readonly string[];
  /**
   * True for the default repertoire and ISO_IR 192: ASCII bytes are the text, and other bytes are UTF-8 (or, without
   * a character set, invalid: decodeText reads them as ISO 8859-1, as pydicom does).
   */
  readonly isUtf8OrAscii: boolean;
  /** Terms that were not used: unknown (the default repertoire stands in), or not allowed where they are. */
  readonly unknownTerms?: readonly string[];
}

const plans = new WeakMap<CharacterSet, Plan>();
let lastSet: CharacterSet | undefined;
let lastPlan: Plan | undefined;

function planOf(cs: CharacterSet): Plan {
  if (cs === lastSet) return lastPlan!;
  let plan = plans.get(cs);
  if (!plan) {
    plan = planFor(cs.terms);
    plans.set(cs, plan);
  }
  lastSet = cs;
  lastPlan = plan;
  return plan;
}

/**
 * Parses the raw value of (0008,0005): backslash-separated terms with optional space/NUL padding; undefined or empty
 * is the default repertoire. Lenient: common misspellings are understood, unknown terms are listed in unknownTerms
 * and otherwise ignored (an unknown value 1 means the default repertoire). Never throws.
 */
export function parseSpecificCharacterSet(value: string | undefined): CharacterSet {
  const raw = value ?? '';
  const terms = /^[\s\0]*$/.test(raw) ? [] : raw.split('\\').map((t) => t.replace(/^[ \0]+|[ \0]+$/g, ''));
  const plan = planFor(terms);
  const cs: CharacterSet = Object.freeze({
    terms: Object.freeze(terms),
    isUtf8OrAscii: plan.isUtf8OrAscii,
    unknownTerms: Object.freeze([...plan.unknownTerms]),
  });
  plans.set(cs, plan);
  return cs;
}

/** The default repertoire (no (0008,0005)). */
export const DEFAULT_CHARACTER_SET: CharacterSet = parseSpecificCharacterSet(undefined);

const DEFAULT_PLAN = planOf(DEFAULT_CHARACTER_SET);

/** VRs whose values are in the Specific Character Set (PS3.5 6.1.2.3); all others use the default repertoire. */
const CHARSET_VRS = new Set(['SH', 'LO', 'ST', 'LT', 'PN', 'UC', 'UT']);

const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/**
 * Whether every byte is below 0x80 and, with noEscape, none is ESC (0x1B). Long inputs are read four bytes at a time.
 */
function isPlainAscii(bytes: Uint8Array, noEscape: boolean): boolean {
  const n = bytes.length;
  let i = 0;
  if (n >= 64) {
    // Align, then test words: a byte >= 0x80 sets its high bit; an ESC byte becomes zero after XOR with 1B1B1B1B.
    while ((bytes.byteOffset + i) & 3) {
      const b = bytes[i++]!;
      if (b >= 0x80 || (noEscape && b === 0x1b)) return false;
    }
    const words = (n - i) >> 2;
    const w32 = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let k = 0; k < words; k++) {
      const w = w32[k]!;
      if (w & 0x80808080) return false;
      if (noEscape) {
        const x = w ^ 0x1b1b1b1b;
        if ((x - 0x01010101) & ~x & 0x80808080) return false;
      }
    }
    i += words << 2;
  }
  for (; i < n; i++) {
    const b = bytes[i]!;
    if (b >= 0x80 || (noEscape && b === 0x1b)) return false;
  }
  return true;
}

/** Whether every byte is below 0x80. */
export function isAsciiBytes(bytes: Uint8Array): boolean {
  return isPlainAscii(bytes, false);
}

/** Text of bytes that are all below 0x80, without per-character allocations. */
function asciiText(bytes: Uint8Array): string {
  return bytes.length <= 4096
    ? String.fromCharCode.apply(null, bytes as unknown as number[])
    : utf8Decoder.decode(bytes);
}

/**
 * Decodes a whole value (all of its values, backslashes included; padding is left to the caller) of an element of
 * the given VR. Lenient: never throws; bytes that are not text in the character set decode to U+FFFD.
 */
export function decodeText(bytes: Uint8Array, cs: CharacterSet, vr: string): string {
  const plan = CHARSET_VRS.has(vr) ? planOf(cs) : DEFAULT_PLAN;
  switch (plan.kind) {
    case 'utf8':
      return utf8Decoder.decode(bytes);
    case 'gb18030':
    case 'gbk': {
      if (isPlainAscii(bytes, false)) return asciiText(bytes);
      // GBK text is GB18030 text (WHATWG decodes both with the GB18030 decoder; ICU's own GBK converter drops some
      // two-byte codes GB18030 defines).
      const decoder = gb18030Decoder();
      return decoder ? decoder.decode(bytes) : decodeIso2022(bytes, DEFAULT_PLAN, resetTable(vr));
    }
    default:
      // Fast path: ASCII without escape sequences is the same text in every character set.
      return isPlainAscii(bytes, plan.escapes) ? asciiText(bytes) : decodeIso2022(bytes, plan, resetTable(vr));
  }
}

function unencodable(vr: string): VeilError {
  return new VeilError('CHARSET_UNENCODABLE', { path: vr });
}

/** Whether text has a UTF-16 surrogate without its other half. */
function hasLoneSurrogate(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return true;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      return true;
    }
  }
  return false;
}

/**
 * Encodes text (a whole value, backslashes included) for an element of the given VR. With code extensions, escape
 * sequences are emitted where needed and the initial state is restored before delimiters and at the end (PS3.5
 * 6.1.2.5.3). ASCII text encodes to the same ASCII bytes in every character set (except ESC itself, which cannot be
 * written where escape sequences are interpreted). Throws VeilError CHARSET_UNENCODABLE (path: the VR) when a
 * character has no representation.
 */
export function encodeText(text: string, cs: CharacterSet, vr: string): Uint8Array {
  const plan = CHARSET_VRS.has(vr) ? planOf(cs) : DEFAULT_PLAN;
  const n = text.length;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const u = text.charCodeAt(i);
    if (u >= 0x80 || (u === 0x1b && plan.escapes)) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = text.charCodeAt(i);
    return out;
  }
  switch (plan.kind) {
    case 'utf8':
      if (hasLoneSurrogate(text)) throw unencodable(vr);
      return utf8Encoder.encode(text);
    case 'gb18030':
    case 'gbk': {
      const out: number[] = [];
      for (const ch of text) {
        const cp = ch.codePointAt(0)!;
        if (cp < 0x80) out.push(cp);
        else if (!encodeGb(cp, plan.kind === 'gbk', out)) throw unencodable(vr);
      }
      return new Uint8Array(out);
    }
    default:
      try {
        return encodeIso2022(text, plan, resetTable(vr));
      } catch (e) {
        if (e instanceof Unencodable) throw unencodable(vr);
        throw e;
      }
  }
}
