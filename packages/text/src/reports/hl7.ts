/**
 * HL7 v2 messages (ORU^R01 results, MDM^T02 documents, ADT...): de-identified field by field, structure kept
 * (segments, fields, components, repetitions, the message's own delimiters and segment terminator).
 *
 *  - Fields the standard defines as identifying (PHI_FIELDS: PID names, IDs, birth date, address, phones, SSN;
 *    NK1/GT1 contacts; PV1/ORC/OBR/OBX/TXA clinicians; ORC/OBR placer and filler numbers; dates of service) are
 *    replaced by their type in the components that carry the value (an XPN's family/given/middle name, a CX's ID, an
 *    XAD's street/city/ZIP but not its state or country, an XCN's ID and names), whatever they read as.
 *  - Dates (TS/DTM fields in the table, an OBX of type DT/TS/DTM) keep the field's layout: year only, or shifted.
 *  - Every other field of every segment but MSH (OBX-5 report text, NTE comments, OBR reason for study...) goes
 *    through the free-text engine, with the message's structured PHI as known values: a report line naming the
 *    patient is cleaned even when no rule would see a name in it. Formatting escapes (\.br\, \H\, \N\...) split
 *    the text; delimiter escapes (\F\, \S\, \T\, \R\, \E\) are decoded for the engine and encoded again.
 *  - MSH keeps everything (delimiters, message type, control ID, version) except its date/time (MSH-7).
 *
 * Example:
 *   deidentifyHl7('MSH|^~\\&|RIS|...\rPID|1||123456^^^HOSP^MR||DOE^JANE||19610412|F\rOBX|1|TX|...||Jane Doe...')
 *   // PID|1||[ID]^^^HOSP^MR||[NAME]^[NAME]||1961|F ... OBX|1|TX|...||[NAME] [NAME]...
 */
import type { DeidentifyOptions } from '../deidentify.ts';
import type { KnownValue, PhiType } from '../types.ts';
import { FieldCleaner, type ReportResult } from './common.ts';

/** A field's PHI type and the 1-based components that hold the value (absent: all of them). */
interface FieldRule {
  type: PhiType | 'DATE';
  comps?: readonly number[];
}

const CX: readonly number[] = [1]; // ID number (check digit, authority and type code stay)
const XPN: readonly number[] = [1, 2, 3]; // family, given, middle (suffix, prefix, degree, type code stay)
const XCN: readonly number[] = [1, 2, 3, 4]; // ID, family, given, middle
const XAD: readonly number[] = [1, 2, 3, 5, 8, 9]; // street, other, city, ZIP, other designation, county
const XTN: readonly number[] = [1, 4, 6, 7, 12]; // formatted number, e-mail, area, local, unformatted
const EI: readonly number[] = [1]; // entity identifier

const id = (comps = CX): FieldRule => ({ type: 'ID', comps });
const name = (comps = XPN): FieldRule => ({ type: 'NAME', comps });
const doc = (): FieldRule => ({ type: 'NAME', comps: XCN });
const addr = (): FieldRule => ({ type: 'ADDRESS', comps: XAD });
const phone = (): FieldRule => ({ type: 'PHONE', comps: XTN });
const date = (): FieldRule => ({ type: 'DATE', comps: [1] });

/** HL7 v2.5 field numbers (1-based, as the standard counts them; MSH-1 is the field separator). */
const PHI_FIELDS: Record<string, Record<number, FieldRule>> = {
  MSH: { 7: date() },
  EVN: { 2: date(), 3: date(), 5: doc(), 6: date() },
  PID: {
    2: id(),
    3: id(),
    4: id(),
    5: name(),
    6: name(),
    7: date(),
    9: name(),
    11: addr(),
    13: phone(),
    14: phone(),
    18: { type: 'ACCOUNT', comps: CX },
    19: { type: 'SSN' },
    20: { type: 'LICENSE', comps: [1] },
    21: id(),
    23: { type: 'CITY' },
    29: date(),
  },
  PD1: { 3: { type: 'HOSPITAL', comps: [1] }, 4: doc() },
  NK1: {
    2: name(),
    4: addr(),
    5: phone(),
    6: phone(),
    30: name(),
    31: phone(),
    32: addr(),
    33: id(),
    37: { type: 'SSN' },
  },
  GT1: { 2: id(), 3: name(), 5: addr(), 6: phone(), 7: phone(), 8: date(), 12: { type: 'SSN' } },
  IN1: { 16: name(), 18: date(), 19: addr(), 36: id(), 49: id() },
  MRG: { 1: id(), 2: id(), 3: id(), 4: id(), 5: id(), 6: id(), 7: name() },
  PV1: { 7: doc(), 8: doc(), 9: doc(), 17: doc(), 19: id(), 44: date(), 45: date(), 50: id() },
  ORC: {
    2: id(EI),
    3: id(EI),
    4: id(EI),
    9: date(),
    10: doc(),
    11: doc(),
    12: doc(),
    15: date(),
    19: doc(),
    21: { type: 'HOSPITAL', comps: [1] },
    22: addr(),
    23: phone(),
    24: addr(),
  },
  OBR: {
    2: id(EI),
    3: id(EI),
    6: date(),
    7: date(),
    8: date(),
    14: date(),
    16: doc(),
    17: phone(),
    18: { type: 'ID' },
    19: { type: 'ID' },
    20: { type: 'ID' },
    21: { type: 'ID' },
    22: date(),
    28: doc(),
    32: { type: 'NAME', comps: [1] },
    33: { type: 'NAME', comps: [1] },
    34: { type: 'NAME', comps: [1] },
    35: { type: 'NAME', comps: [1] },
    36: date(),
  },
  OBX: { 14: date(), 16: doc(), 19: date(), 23: { type: 'HOSPITAL', comps: [1] }, 24: addr(), 25: doc() },
  TXA: { 4: date(), 5: doc(), 6: date(), 7: date(), 8: date(), 9: doc(), 10: doc(), 11: doc(), 12: id(EI), 22: doc() },
  SPM: { 2: id(EI), 17: date(), 18: date() },
};

/**
 * Coded fields: 'all' kept as they are (value types, set IDs, result status, patient class and location); a CE/CWE
 * (code^text^system^alt code^alt text^alt system...) keeps its codes and systems, and only its texts (components 2
 * and 5, and any component with a space in it: senders put free text in the code's place) go through the engine, so
 * "18782-3^Radiology Study observation^LN" stays a LOINC code.
 */
const CE_TEXT: readonly number[] = [2, 5];
const CODED: Record<string, Record<number, 'all' | readonly number[]>> = {
  PID: { 8: 'all', 10: CE_TEXT, 15: CE_TEXT, 16: CE_TEXT, 17: CE_TEXT, 22: CE_TEXT, 24: 'all', 30: 'all' },
  PV1: { 2: 'all', 3: 'all', 4: 'all', 10: 'all', 18: 'all' },
  ORC: { 1: 'all', 5: 'all' },
  OBR: { 4: CE_TEXT, 24: 'all', 25: 'all', 31: CE_TEXT },
  OBX: { 2: 'all', 3: CE_TEXT, 4: 'all', 6: CE_TEXT, 7: 'all', 8: 'all', 11: 'all', 17: CE_TEXT },
  MSA: { 1: 'all', 2: 'all' },
  TXA: { 2: CE_TEXT, 3: 'all', 17: 'all' },
};

/** OBX value types whose OBX-5 is a date. */
const DATE_VALUE_TYPES = new Set(['DT', 'TS', 'DTM']);
/** Formatting escapes (\.br\, \.sp\, \H\, \N\, \Xhh\, \Zxx\, \Cxx\, \Mxx\): kept, and they split the text. */
const FORMATTING = /\\(?:\.[a-z]{2}[+-]?\d*|[HN]|X[0-9A-Fa-f]*|[ZCM][^\\]*)\\/g;

interface Delims {
  field: string;
  comp: string;
  rep: string;
  esc: string;
  sub: string;
}

function decode(s: string, d: Delims): string {
  if (d.esc === '' || !s.includes(d.esc)) return s;
  const e = d.esc;
  const map: Record<string, string> = { F: d.field, S: d.comp, T: d.sub, R: d.rep, E: d.esc };
  return s.replace(new RegExp(`${escapeRe(e)}([FSTRE])${escapeRe(e)}`, 'g'), (_, c: string) => map[c] ?? '');
}

function encode(s: string, d: Delims): string {
  if (d.esc === '') return s;
  let out = '';
  for (const ch of s) {
    if (ch === d.esc) out += `${d.esc}E${d.esc}`;
    else if (ch === d.field) out += `${d.esc}F${d.esc}`;
    else if (ch === d.comp) out += `${d.esc}S${d.esc}`;
    else if (ch === d.sub) out += `${d.esc}T${d.esc}`;
    else if (ch === d.rep) out += `${d.esc}R${d.esc}`;
    else out += ch;
  }
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Is this text an HL7 v2 message (starts with MSH or a batch/file header and a field separator)? */
export function looksLikeHl7(text: string): boolean {
  return /^\uFEFF?\s*(?:MSH|FHS|BHS)[^\p{L}\p{N}\s]/u.test(text);
}

/** De-identifies one HL7 v2 message (or a batch of them): the same message with its PHI replaced. */
export function deidentifyHl7(message: string, options: DeidentifyOptions = {}): ReportResult {
  const start = message.search(/(?:MSH|FHS|BHS)/);
  if (start < 0) throw new Error('TEXT_HL7_INVALID: no MSH segment');
  const fieldSep = message.charAt(start + 3);
  const encChars = message.slice(start + 4, start + 8);
  const d: Delims = {
    field: fieldSep,
    comp: encChars.charAt(0) || '^',
    rep: encChars.charAt(1) || '~',
    esc: encChars.charAt(2) || '\\',
    sub: encChars.charAt(3) || '&',
  };
  if (/[\p{L}\p{N}\s]/u.test(fieldSep)) throw new Error('TEXT_HL7_INVALID: bad field separator');
  // Segments, with the terminators kept as they were (\r, \n or \r\n).
  const parts = message.split(/(\r\n|\r|\n)/);
  const segments = parts.filter((_, i) => i % 2 === 0);

  // First pass: the structured PHI becomes known values for the free text.
  const known: KnownValue[] = [];
  for (const seg of segments) {
    const fields = seg.split(d.field);
    const rules = PHI_FIELDS[fields[0]!.trim()];
    if (!rules) continue;
    for (const [n, rule] of Object.entries(rules)) {
      if (rule.type === 'DATE') continue;
      const f = fieldOf(fields, fields[0]!.trim(), Number(n));
      if (f === undefined) continue;
      for (const rep of f.split(d.rep)) {
        const comps = rep.split(d.comp);
        const values = comps
          .filter((_, i) => !rule.comps || rule.comps.includes(i + 1))
          .flatMap((c) => c.split(d.sub))
          .map((v) => decode(v, d).trim())
          .filter((v) => v.length >= 2);
        if (values.length === 0) continue;
        if (rule.type === 'NAME') known.push({ type: 'NAME', value: values.join('^') });
        else for (const v of values) known.push({ type: rule.type, value: v });
      }
    }
  }
  const cleaner = new FieldCleaner(options, known);

  const out = segments.map((seg) => cleanSegment(seg, d, cleaner));
  let text = '';
  for (let i = 0; i < parts.length; i++) text += i % 2 === 0 ? out[i / 2] : parts[i];
  return { text, counts: cleaner.counts };
}

/** Field n (1-based) of a split segment. MSH counts its field separator as MSH-1. */
function fieldOf(fields: readonly string[], segId: string, n: number): string | undefined {
  return fields[segId === 'MSH' || segId === 'FHS' || segId === 'BHS' ? n - 1 : n];
}

function cleanSegment(seg: string, d: Delims, cleaner: FieldCleaner): string {
  if (seg.trim() === '') return seg;
  const fields = seg.split(d.field);
  const segId = fields[0]!.trim();
  const header = segId === 'MSH' || segId === 'FHS' || segId === 'BHS';
  const rules = PHI_FIELDS[segId] ?? {};
  const coded = CODED[segId] ?? {};
  const valueType = segId === 'OBX' ? (fields[2] ?? '').split(d.comp)[0]!.trim().toUpperCase() : '';
  for (let i = 1; i < fields.length; i++) {
    if (header && i === 1) continue; // the encoding characters
    const n = header ? i + 1 : i;
    const rule = rules[n] ?? (segId === 'OBX' && n === 5 && DATE_VALUE_TYPES.has(valueType) ? date() : undefined);
    const code = coded[n];
    if (rule) fields[i] = cleanField(fields[i]!, d, rule, cleaner);
    else if (code === 'all' || header) continue;
    else fields[i] = freeField(fields[i]!, d, cleaner, code);
  }
  return fields.join(d.field);
}

function cleanField(field: string, d: Delims, rule: FieldRule, cleaner: FieldCleaner): string {
  return field
    .split(d.rep)
    .map((rep) =>
      rep
        .split(d.comp)
        .map((comp, ci) => {
          if (rule.comps && !rule.comps.includes(ci + 1)) return comp;
          if (rule.type === 'DATE') return ci === 0 ? cleaner.date(comp) : comp;
          return comp
            .split(d.sub)
            .map((sub) => encode(cleaner.typed(rule.type as PhiType, decode(sub, d)), d))
            .join(d.sub);
        })
        .join(d.comp),
    )
    .join(d.rep);
}

/** Free text: the engine on each stretch between formatting escapes, per repetition, component and subcomponent. */
function freeField(field: string, d: Delims, cleaner: FieldCleaner, only?: readonly number[]): string {
  if (!/[\p{L}\p{N}]/u.test(field)) return field;
  return field
    .split(d.rep)
    .map((rep) =>
      rep
        .split(d.comp)
        .map((comp, ci) =>
          only && !only.includes(ci + 1) && !/\s/.test(comp)
            ? comp
            : comp
                .split(d.sub)
                .map((sub) => {
                  let out = '';
                  let pos = 0;
                  for (const m of sub.matchAll(FORMATTING)) {
                    out += encode(cleaner.free(decode(sub.slice(pos, m.index), d)), d) + m[0];
                    pos = m.index + m[0].length;
                  }
                  return out + encode(cleaner.free(decode(sub.slice(pos), d)), d);
                })
                .join(d.sub),
        )
        .join(d.comp),
    )
    .join(d.rep);
}
