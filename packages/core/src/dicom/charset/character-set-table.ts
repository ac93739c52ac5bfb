/**
 * Defined Terms of Specific Character Set (0008,0005) (PS3.3 Tables C.12-2 to C.12-5) and the decoding/encoding plan
 * derived from a list of them.
 *
 * Example:
 *   const plan = planFor(['', 'ISO 2022 IR 87']);
 *   plan.kind; // 'iso2022'; plan.g0 === ISO_IR_6; plan.sets: [ISO_IR_6, ISO_IR_87]
 */
import {
  type GraphicSet,
  ISO_IR_6,
  ISO_IR_13,
  ISO_IR_14,
  ISO_IR_58,
  ISO_IR_87,
  ISO_IR_100,
  ISO_IR_101,
  ISO_IR_109,
  ISO_IR_110,
  ISO_IR_126,
  ISO_IR_127,
  ISO_IR_138,
  ISO_IR_144,
  ISO_IR_148,
  ISO_IR_149,
  ISO_IR_159,
  ISO_IR_166,
  ISO_IR_203,
} from './graphic-sets.ts';

type StandAlone = 'utf8' | 'gb18030' | 'gbk';

interface TermSets {
  /** The sets the term designates (G0 and/or G1); value 1's are the initial state. */
  readonly sets: readonly GraphicSet[];
  /** Multi-byte sets without code extensions (PS3.3 Table C.12-5): the only term in effect. */
  readonly standAlone?: StandAlone;
}

const DEFAULT: TermSets = { sets: [ISO_IR_6] };

/** Single-byte sets: the ISO 8859 right half with ASCII (or, for IR 13, JIS X 0201 Roman) in G0. */
const SINGLE_BYTE: ReadonlyArray<readonly [number, GraphicSet]> = [
  [100, ISO_IR_100],
  [101, ISO_IR_101],
  [109, ISO_IR_109],
  [110, ISO_IR_110],
  [126, ISO_IR_126],
  [127, ISO_IR_127],
  [138, ISO_IR_138],
  [144, ISO_IR_144],
  [148, ISO_IR_148],
  [166, ISO_IR_166],
  [203, ISO_IR_203],
];

const TERMS = new Map<string, TermSets>([
  ['', DEFAULT],
  ['ISO_IR 6', DEFAULT],
  ['ISO 2022 IR 6', DEFAULT],
  ['ISO_IR 13', { sets: [ISO_IR_14, ISO_IR_13] }],
  ['ISO 2022 IR 13', { sets: [ISO_IR_14, ISO_IR_13] }],
  ['ISO 2022 IR 87', { sets: [ISO_IR_87] }],
  ['ISO 2022 IR 159', { sets: [ISO_IR_159] }],
  ['ISO 2022 IR 149', { sets: [ISO_IR_149] }],
  ['ISO 2022 IR 58', { sets: [ISO_IR_58] }],
  ['ISO_IR 192', { sets: [], standAlone: 'utf8' }],
  ['GB18030', { sets: [], standAlone: 'gb18030' }],
  ['GBK', { sets: [], standAlone: 'gbk' }],
  ...SINGLE_BYTE.flatMap(([n, set]): [string, TermSets][] => [
    [`ISO_IR ${n}`, { sets: [ISO_IR_6, set] }],
    [`ISO 2022 IR ${n}`, { sets: [ISO_IR_6, set] }],
  ]),
]);

/**
 * The Defined Term a value of (0008,0005) stands for, tolerating the common misspellings pydicom and dcmtk accept
 * ('ISO-IR 100', 'ISO_IR_100', 'iso 2022 ir 87', 'UTF-8'...), or undefined when it is not a known term.
 */
export function canonicalTerm(term: string): string | undefined {
  if (TERMS.has(term)) return term;
  const t = term.trim().toUpperCase();
  if (TERMS.has(t)) return t;
  let m = /^ISO[ _-]?2022[ _-]?IR[ _-]?(\d+)$/.exec(t);
  if (m) return TERMS.has(`ISO 2022 IR ${m[1]}`) ? `ISO 2022 IR ${m[1]}` : undefined;
  m = /^ISO[ _-]?IR[ _-]?(\d+)$/.exec(t);
  if (m) return TERMS.has(`ISO_IR ${m[1]}`) ? `ISO_IR ${m[1]}` : undefined;
  if (t === 'UTF-8' || t === 'UTF8') return 'ISO_IR 192';
  if (t === 'GB 18030' || t === 'GB-18030') return 'GB18030';
  // CP 1234 spelled ISO 2022 IR 58 this way for a while.
  if (t === 'ISO 2022 58') return 'ISO 2022 IR 58';
  return undefined;
}

export type PlanKind = 'iso2022' | StandAlone;

export interface Plan {
  readonly kind: PlanKind;
  /** Whether escape sequences are interpreted (code extensions: several terms, or a 'ISO 2022 ...' term). */
  readonly escapes: boolean;
  /** The initial (value 1) G0 set: always a single-byte set. */
  readonly g0: GraphicSet;
  /** The initial (value 1) G1 set, or null (default repertoire: no G1). */
  readonly g1: GraphicSet | null;
  /** Every set the terms designate, in term order: the encoder's preference order. */
  readonly sets: readonly GraphicSet[];
  /** Terms that were ignored: unknown, or a stand-alone term after value 1. */
  readonly unknownTerms: readonly string[];
  /** The character set is the default repertoire (ASCII) or UTF-8. */
  readonly isUtf8OrAscii: boolean;
}

/** The plan for a list of terms (the values of (0008,0005), padding already removed). */
export function planFor(terms: readonly string[]): Plan {
  const unknownTerms: string[] = [];
  const resolved: TermSets[] = [];
  terms.forEach((term, i) => {
    const canonical = canonicalTerm(term);
    const sets = canonical === undefined ? undefined : TERMS.get(canonical);
    if (!sets) {
      unknownTerms.push(term);
      if (i === 0) resolved.push(DEFAULT); // an unknown value 1 falls back to the default repertoire (as pydicom does)
    } else if (sets.standAlone && i > 0) {
      unknownTerms.push(term); // PS3.3 C.12.1.1.2: UTF-8, GB18030 and GBK cannot be used with code extensions
    } else if (i > 0 && term === '') {
      // an empty later value means nothing
    } else {
      resolved.push(sets);
    }
  });
  const first = resolved[0] ?? DEFAULT;
  if (first.standAlone) {
    unknownTerms.push(...terms.slice(1).filter((t) => t !== '' && !unknownTerms.includes(t)));
    return {
      kind: first.standAlone,
      escapes: false,
      g0: ISO_IR_6,
      g1: null,
      sets: [],
      unknownTerms,
      isUtf8OrAscii: first.standAlone === 'utf8',
    };
  }
  const sets: GraphicSet[] = [];
  for (const r of resolved) for (const s of r.sets) if (!sets.includes(s)) sets.push(s);
  // Value 1 sets the initial state. A multi-byte G0 set as value 1 (not allowed, but seen) leaves G0 ASCII; a
  // multi-byte G1 set as value 1 (e.g. 'ISO 2022 IR 149' without the leading backslash) is in G1 from the start.
  const g0 = first.sets.find((s) => s.slot === 0 && s.kind === 'ascii') ?? ISO_IR_6;
  const g1 = first.sets.find((s) => s.slot === 1) ?? null;
  if (!sets.includes(g0)) sets.unshift(g0);
  const canonicalFirst = canonicalTerm(terms[0] ?? '') ?? '';
  const escapes = resolved.length > 1 || canonicalFirst.startsWith('ISO 2022');
  return {
    kind: 'iso2022',
    escapes,
    g0,
    g1,
    sets,
    unknownTerms,
    isUtf8OrAscii: !escapes && g0 === ISO_IR_6 && g1 === null,
  };
}
