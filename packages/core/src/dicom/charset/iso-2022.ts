/**
 * The ISO 2022 state machine of PS3.5 6.1.2.5: decoding and encoding text with the single-byte character sets and the
 * code extensions of Specific Character Set (0008,0005). Also used, with escape sequences off, for the single-byte
 * terms without code extensions (ISO_IR 100, ISO_IR 13...).
 *
 * State: the sets designated to G0 (read from bytes 21..7E) and G1 (bytes A1..FE). Value 1 of (0008,0005) sets the
 * initial state; escape sequences change it; the initial state comes back at the delimiters of PS3.5 6.1.2.5.3:
 * control characters other than ESC (CR, LF, TAB, FF...), the backslash between values, and '^' and '=' in PN.
 * A delimiter is only one while G0 holds a single-byte set: inside a JIS X 0208 run the bytes 5C, 5E and 3D are
 * halves of characters ('ま' is 24 5E).
 *
 * Example:
 *   const resets = resetTable('PN');
 *   decodeIso2022(bytes, planFor(['', 'ISO 2022 IR 87']), resets); // 'Yamada^Tarou=山田^太郎=やまだ^たろう'
 */
import type { Plan } from './character-set-table.ts';
import { doubleByteSet } from './double-byte-tables.ts';
import { encodeInSet, type GraphicSet, ISO_IR_100, setForEscape } from './graphic-sets.ts';

const ESC = 0x1b;

export type DelimiterKind = 'text' | 'multi' | 'pn';

const RESETS: Record<DelimiterKind, Uint8Array> = {
  text: new Uint8Array(128),
  multi: new Uint8Array(128),
  pn: new Uint8Array(128),
};
for (const table of Object.values(RESETS)) {
  for (let b = 0; b < 0x20; b++) if (b !== ESC) table[b] = 1; // every C0 control but ESC (PS3.5 6.1.2.5.3)
}
RESETS.multi[0x5c] = 1; // '\' ends a value
RESETS.pn[0x5c] = 1;
RESETS.pn[0x5e] = 1; // '^' between name components
RESETS.pn[0x3d] = 1; // '=' between component groups

/**
 * The bytes (below 0x80) at which the initial state returns, for a VR: ST, LT and UT are single-valued (a backslash
 * is text there), PN adds '^' and '='.
 */
export function resetTable(vr: string): Uint8Array {
  if (vr === 'PN') return RESETS.pn;
  if (vr === 'ST' || vr === 'LT' || vr === 'UT') return RESETS.text;
  return RESETS.multi;
}

const CHUNK = 4096;

/** String of the first n UTF-16 code units of units, without per-character allocations. */
export function unitsToString(units: Uint16Array | Uint8Array, n: number): string {
  if (n <= CHUNK) {
    return String.fromCharCode.apply(null, (n === units.length ? units : units.subarray(0, n)) as unknown as number[]);
  }
  let s = '';
  for (let i = 0; i < n; i += CHUNK) {
    s += String.fromCharCode.apply(null, units.subarray(i, Math.min(n, i + CHUNK)) as unknown as number[]);
  }
  return s;
}

/**
 * Decodes a value. Lenient: bytes that do not form a character of the set in force decode to U+FFFD, unknown escape
 * sequences to one U+FFFD for the ESC. Bytes 80..9F are C1 controls and decode to U+0080..U+009F. In the default
 * repertoire (no G1 set) bytes A0..FF decode as ISO 8859-1, like pydicom does.
 */
export function decodeIso2022(bytes: Uint8Array, plan: Plan, resets: Uint8Array): string {
  const n = bytes.length;
  const out = new Uint16Array(n); // every byte yields at most one code unit
  let o = 0;
  const initialG1 = plan.g1 ?? ISO_IR_100;
  let g0: GraphicSet = plan.g0;
  let g1: GraphicSet = initialG1;
  let g0Table: Uint16Array | null = null; // set while G0 holds a double-byte set
  let g1Table: Uint16Array | null = g1.kind === 'db94' ? doubleByteSet(g1.table!).decode : null;
  const escapes = plan.escapes;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      if (b === ESC && escapes) {
        const found = setForEscape(bytes, i);
        if (found) {
          const set = found.set;
          if (set.slot === 0) {
            g0 = set;
            g0Table = set.kind === 'db94' ? doubleByteSet(set.table!).decode : null;
          } else {
            g1 = set;
            g1Table = set.kind === 'db94' ? doubleByteSet(set.table!).decode : null;
          }
          i += found.length;
        } else {
          out[o++] = 0xfffd;
          i++;
        }
        continue;
      }
      if (g0Table !== null && b > 0x20 && b < 0x7f) {
        const b2 = i + 1 < n ? bytes[i + 1]! : 0;
        if (b2 > 0x20 && b2 < 0x7f) {
          out[o++] = g0Table[(b - 0x21) * 94 + b2 - 0x21] || 0xfffd;
          i += 2;
        } else {
          out[o++] = 0xfffd;
          i++;
        }
        continue;
      }
      out[o++] = b; // ASCII (and JIS X 0201 Roman, read as ASCII), SP, controls
      if (resets[b] === 1 && (g0 !== plan.g0 || g1 !== initialG1)) {
        g0 = plan.g0;
        g0Table = null;
        g1 = initialG1;
        g1Table = g1.kind === 'db94' ? doubleByteSet(g1.table!).decode : null;
      }
      i++;
      continue;
    }
    if (b < 0xa0) {
      out[o++] = b; // C1 control
      i++;
      continue;
    }
    switch (g1.kind) {
      case 'sb96':
        out[o++] = g1.gr!.charCodeAt(b - 0xa0);
        i++;
        break;
      case 'kana':
        out[o++] = b >= 0xa1 && b <= 0xdf ? 0xff61 + b - 0xa1 : 0xfffd;
        i++;
        break;
      default: {
        // db94 in G1
        const b2 = i + 1 < n ? bytes[i + 1]! : 0;
        if (g1Table !== null && b >= 0xa1 && b <= 0xfe && b2 >= 0xa1 && b2 <= 0xfe) {
          out[o++] = g1Table[(b - 0xa1) * 94 + b2 - 0xa1] || 0xfffd;
          i += 2;
        } else {
          out[o++] = 0xfffd;
          i++;
        }
      }
    }
  }
  return unitsToString(out, o);
}

/** Thrown (as a VeilError by the caller) when a character has no representation. */
export class Unencodable extends Error {}

/**
 * Encodes a value. Characters are taken from the set in force when it has them (fewest escape sequences), else from
 * the first set, in the order of the terms, that has them. Before every delimiter and at the end of the value, G0 and
 * G1 return to value 1's sets (PS3.5 6.1.2.5.3); a G1 set designated when value 1 has none is left as is, as in the
 * Korean example of PS3.5 Annex I (decoders forget it at the delimiter).
 */
export function encodeIso2022(text: string, plan: Plan, resets: Uint8Array): Uint8Array {
  const out: number[] = [];
  let g0: GraphicSet = plan.g0;
  let g1: GraphicSet | null = plan.g1;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) {
      if (unit === ESC && plan.escapes) throw new Unencodable();
      if (resets[unit] === 1) {
        restoreInitial(out, plan, g0, g1);
        g0 = plan.g0;
        g1 = plan.g1;
      } else if (g0.kind !== 'ascii') {
        pushAll(out, plan.g0.escape);
        g0 = plan.g0;
      }
      out.push(unit);
      continue;
    }
    if (unit < 0xa0) {
      out.push(unit); // C1 control
      continue;
    }
    // Characters outside the BMP (surrogates) are in none of these sets and end as Unencodable.
    if (g1 !== null) {
      const code = encodeInSet(g1, unit);
      if (code >= 0) {
        emit(out, g1, code);
        continue;
      }
    }
    if (g0.kind === 'db94') {
      const code = encodeInSet(g0, unit);
      if (code >= 0) {
        emit(out, g0, code);
        continue;
      }
    }
    let done = false;
    if (plan.escapes) {
      for (const set of plan.sets) {
        if (set === g0 || set === g1 || set.kind === 'ascii') continue;
        const code = encodeInSet(set, unit);
        if (code < 0) continue;
        pushAll(out, set.escape);
        if (set.slot === 0) g0 = set;
        else g1 = set;
        emit(out, set, code);
        done = true;
        break;
      }
    }
    if (!done) throw new Unencodable();
  }
  restoreInitial(out, plan, g0, g1);
  return new Uint8Array(out);
}

function pushAll(out: number[], bytes: readonly number[]): void {
  for (let k = 0; k < bytes.length; k++) out.push(bytes[k]!);
}

/** Appends the bytes of a character's code in a set (db94 codes in G1 with the high bit set). */
function emit(out: number[], set: GraphicSet, code: number): void {
  if (set.kind !== 'db94') out.push(code);
  else if (set.slot === 0) out.push(code >> 8, code & 0xff);
  else out.push((code >> 8) | 0x80, (code & 0xff) | 0x80);
}

/** Appends the escape sequences that bring G0 and G1 back to value 1's sets (none to forget a G1 set). */
function restoreInitial(out: number[], plan: Plan, g0: GraphicSet, g1: GraphicSet | null): void {
  if (g0 !== plan.g0) pushAll(out, plan.g0.escape);
  if (g1 !== plan.g1 && plan.g1 !== null) pushAll(out, plan.g1.escape);
}
