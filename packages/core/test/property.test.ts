/**
 * Property tests of the codec and the rewriter (fast-check). Random datasets (public and private elements, every
 * common VR with a value of its kind, sequences and items of defined and undefined length nested up to depth 4, UN
 * sequences) are encoded in explicit VR LE, implicit VR LE and explicit VR BE and scanned back: read(write(ds)) = ds.
 * Random edit lists on such datasets, wrapped in Part 10 files, rescan with exactly the edits applied, and dcmdump
 * reads the outputs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  binaryUnitSize,
  concat,
  type DicomElement,
  type Edit,
  type ElementContainer,
  EXPLICIT_LE,
  encodeElement,
  encodeItems,
  formatTag,
  IMPLICIT_LE,
  implicitVR,
  isTextVR,
  paddingByte,
  readNumbers,
  rewrite,
  type Syntax,
  scanDataset,
  scanFile,
  UNDEFINED_LENGTH,
  walkElements,
} from '../src/index.ts';
import { dcmdumpAll, topLevelTags } from './support/dcmdump.ts';
import { part10, TS, text, undefinedLengthElement, undefinedLengthItem } from './support/encode.ts';
import { hex, type SnapElement, snapshot } from './support/snapshot.ts';

const EXPLICIT_BE: Syntax = { explicitVR: true, littleEndian: false };
/** VEIL_PROPERTY_SCALE=10 runs ten times as many cases (a longer hunt than the suite's). */
const SCALE = Number(process.env.VEIL_PROPERTY_SCALE) || 1;

// ---------------------------------------------------------------------------------------------------------------------
// The model: what a generated dataset holds, and what scanning it must give back.

interface Leaf {
  readonly kind: 'leaf';
  readonly tag: number;
  /** The VR written (explicit VR) and the one the scanner must report. */
  readonly vr: string;
  /** The value as given to encodeElement, before padding. */
  readonly raw: Uint8Array;
  /** For numeric VRs: what readNumbers must return. */
  readonly numbers?: readonly number[];
}

interface Seq {
  readonly kind: 'seq';
  readonly tag: number;
  /** SQ, or UN holding an implicit VR little endian sequence (also how implicit VR private sequences read). */
  readonly vr: 'SQ' | 'UN';
  readonly undefinedLength: boolean;
  readonly items: readonly Item[];
}

interface Item {
  readonly undefinedLength: boolean;
  readonly elements: readonly Node[];
}

type Node = Leaf | Seq;

/** A leaf or sequence whose tag is chosen by the caller (private blocks, dictionary tags). */
type Body = Omit<Leaf, 'tag'> | Omit<Seq, 'tag'>;

const withTag = (tag: number, body: Body): Node => ({ ...body, tag }) as Node;

function pad(raw: Uint8Array, vr: string): Uint8Array {
  if (raw.length % 2 === 0) return raw;
  const out = new Uint8Array(raw.length + 1);
  out.set(raw);
  out[raw.length] = paddingByte(vr);
  return out;
}

function itemSyntax(seq: Seq, s: Syntax): Syntax {
  return seq.vr === 'UN' ? IMPLICIT_LE : s;
}

function encodeNodes(nodes: readonly Node[], s: Syntax): Uint8Array[] {
  return nodes.map((n) => {
    if (n.kind === 'leaf') return encodeElement(n.tag, n.vr, n.raw, s);
    const is = itemSyntax(n, s);
    const items = concat(
      n.items.map((i) =>
        i.undefinedLength
          ? undefinedLengthItem(encodeNodes(i.elements, is), is)
          : encodeItems([encodeNodes(i.elements, is)], is),
      ),
    );
    return n.undefinedLength ? undefinedLengthElement(n.tag, n.vr, items, s) : encodeElement(n.tag, n.vr, items, s);
  });
}

/** What snapshot() of the scanned dataset must be. */
function expectedSnapshot(nodes: readonly Node[]): SnapElement[] {
  return nodes.map((n) => {
    const tag = formatTag(n.tag);
    if (n.kind === 'leaf') return { tag, vr: n.vr, value: hex(pad(n.raw, n.vr)) };
    // A defined-length UN with no items is just an empty value: nothing marks it as a sequence.
    if (n.vr === 'UN' && !n.undefinedLength && n.items.length === 0) return { tag, vr: 'UN', value: '' };
    const s: SnapElement = { tag, vr: n.vr };
    if (n.undefinedLength) s.undefinedLength = true;
    s.items = n.items.map((i) =>
      i.undefinedLength
        ? { undefinedLength: true, elements: expectedSnapshot(i.elements) }
        : { elements: expectedSnapshot(i.elements) },
    );
    return s;
  });
}

/** readNumbers of every numeric leaf (the trees are already known to match). */
function checkNumbers(nodes: readonly Node[], c: ElementContainer): void {
  nodes.forEach((n, i) => {
    const el = c.elements[i]!;
    if (n.kind === 'leaf') {
      if (n.numbers) assert.deepStrictEqual(readNumbers(el), n.numbers, `numbers of ${formatTag(n.tag)}`);
    } else {
      n.items.forEach((item, k) => {
        if (el.items?.[k]) checkNumbers(item.elements, el.items[k]);
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// Values

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
const TEXT = PRINTABLE.replace('\\', '');

const chars = (alphabet: string, maxLength: number, minLength = 0): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });
const multi = (one: fc.Arbitrary<string>, maxLength = 3): fc.Arbitrary<string> =>
  fc.array(one, { maxLength }).map((v) => v.join('\\'));
const digits = (n: number): fc.Arbitrary<string> => chars(DIGITS, n, n);
const uid = fc.array(fc.nat(999999).map(String), { minLength: 2, maxLength: 8 }).map((a) => `1.${a.join('.')}`);

/** Realistic text per VR (lengths within the VR's limits). */
const TEXT_VALUES: Record<string, fc.Arbitrary<string>> = {
  AE: chars(`${UPPER}${DIGITS}_`, 16),
  AS: fc.tuple(digits(3), fc.constantFrom('D', 'W', 'M', 'Y')).map(([n, u]) => n + u),
  CS: multi(chars(`${UPPER}${DIGITS}_ `, 16)),
  DA: multi(
    fc.tuple(fc.integer({ min: 1900, max: 2100 }), digits(4)).map(([y, md]) => `${y}${md}`),
    2,
  ),
  DS: multi(fc.integer({ min: -99999999, max: 99999999 }).map((n) => (n / 1000).toString())),
  DT: fc.tuple(digits(8), digits(6), fc.constantFrom('', '.123', '+0100')).map((p) => p.join('')),
  IS: multi(fc.integer({ min: -2147483648, max: 2147483647 }).map(String)),
  LO: multi(chars(TEXT, 64)),
  LT: chars(`${PRINTABLE}\r\n`, 200),
  PN: multi(
    fc.array(chars(`${UPPER}abc `, 12), { maxLength: 5 }).map((c) => c.join('^')),
    2,
  ),
  SH: multi(chars(TEXT, 16)),
  ST: chars(`${PRINTABLE}\r\n`, 200),
  TM: fc.tuple(digits(6), fc.constantFrom('', '.1', '.123456')).map((p) => p.join('')),
  UC: multi(chars(TEXT, 100)),
  UI: multi(uid, 2),
  UR: chars(`${UPPER}abcdefgh${DIGITS}/:.-_~`, 80).map((s) => `https://example.org/${s}`),
  UT: chars(`${PRINTABLE}\r\n`, 300),
};

interface NumberVR {
  readonly size: number;
  readonly values: fc.Arbitrary<number>;
  readonly write: (dv: DataView, at: number, v: number, le: boolean) => void;
}

const u16s = fc.integer({ min: 0, max: 0xffff });
const NUMBER_VRS: Record<string, NumberVR> = {
  US: { size: 2, values: u16s, write: (dv, at, v, le) => dv.setUint16(at, v, le) },
  SS: { size: 2, values: fc.integer({ min: -32768, max: 32767 }), write: (dv, at, v, le) => dv.setInt16(at, v, le) },
  UL: {
    size: 4,
    values: fc.tuple(u16s, u16s).map(([h, l]) => h * 0x10000 + l),
    write: (dv, at, v, le) => dv.setUint32(at, v, le),
  },
  SL: { size: 4, values: fc.integer(), write: (dv, at, v, le) => dv.setInt32(at, v, le) },
  FL: { size: 4, values: fc.float(), write: (dv, at, v, le) => dv.setFloat32(at, v, le) },
  FD: { size: 8, values: fc.double(), write: (dv, at, v, le) => dv.setFloat64(at, v, le) },
  AT: {
    size: 4,
    values: fc.tuple(u16s, u16s).map(([g, e]) => g * 0x10000 + e),
    write: (dv, at, v, le) => {
      dv.setUint16(at, Math.floor(v / 0x10000), le);
      dv.setUint16(at + 2, v & 0xffff, le);
    },
  },
};

const BYTES_VRS: Record<string, number> = { OB: 1, UN: 1, OW: 2, OF: 4, OL: 4, OD: 8, OV: 8, SV: 8, UV: 8 };

const ITEM_TAG_LE = [0xfe, 0xff, 0x00, 0xe0];

/** A UN value that starts like an item would be read as an implicit VR sequence: not a value the model expects. */
function notLikeAnItem(b: Uint8Array): Uint8Array {
  if (b.length >= 8 && ITEM_TAG_LE.every((x, i) => b[i] === x)) b[0] = 0;
  return b;
}

type Value = Pick<Leaf, 'raw' | 'numbers'>;

function valueArb(vr: string, le: boolean): fc.Arbitrary<Value> {
  const t = TEXT_VALUES[vr];
  if (t) return t.map((s) => ({ raw: text(s) }));
  const n = NUMBER_VRS[vr];
  if (n) {
    return fc.array(n.values, { maxLength: 4 }).map((values) => {
      const raw = new Uint8Array(values.length * n.size);
      const dv = new DataView(raw.buffer);
      values.forEach((v, i) => {
        n.write(dv, i * n.size, v, le);
      });
      return { raw, numbers: values };
    });
  }
  const unit = BYTES_VRS[vr];
  assert.ok(unit, `no value generator for ${vr}`);
  return fc
    .uint8Array({ maxLength: 48 })
    .map((b) => ({ raw: notLikeAnItem(b.subarray(0, b.length - (b.length % unit)).slice()) }));
}

// ---------------------------------------------------------------------------------------------------------------------
// Datasets

const LEAF_VRS = [...Object.keys(TEXT_VALUES), ...Object.keys(NUMBER_VRS), ...Object.keys(BYTES_VRS)];

/** Tags whose dictionary VR is unambiguous, one or more per VR: implicit VR datasets use only these. */
const DICTIONARY_LEAVES: readonly (readonly [number, string])[] = [
  [0x00080020, 'DA'],
  [0x00080030, 'TM'],
  [0x00080050, 'SH'],
  [0x00080054, 'AE'],
  [0x00080060, 'CS'],
  [0x00080081, 'ST'],
  [0x00080090, 'PN'],
  [0x00080119, 'UC'],
  [0x00080120, 'UR'],
  [0x0008040c, 'UV'],
  [0x0008041b, 'OB'],
  [0x00080309, 'UL'],
  [0x00081030, 'LO'],
  [0x00081150, 'UI'],
  [0x00081155, 'UI'],
  [0x00082134, 'FD'],
  [0x00089459, 'FL'],
  [0x00100010, 'PN'],
  [0x00100020, 'LO'],
  [0x00101010, 'AS'],
  [0x00104000, 'LT'],
  [0x00140202, 'AT'],
  [0x00180050, 'DS'],
  [0x00181638, 'OF'],
  [0x00186020, 'SL'],
  [0x00189219, 'SS'],
  [0x0020000d, 'UI'],
  [0x00200013, 'IS'],
  [0x00280010, 'US'],
  [0x00281201, 'OW'],
  [0x003a032e, 'OD'],
  [0x0040a120, 'DT'],
  [0x0040a160, 'UT'],
  [0x00660040, 'OL'],
  [0x00720081, 'OV'],
  [0x00720082, 'SV'],
];
const DICTIONARY_SEQUENCES = [0x00081115, 0x00081140, 0x00082112, 0x0040a043, 0x0040a730];

/** Most elements a container holds, by depth: small enough that depth 4 stays cheap. */
const MAX_ELEMENTS = [10, 4, 3, 2, 2];
const MAX_DEPTH = 4;

const publicTag = fc
  .tuple(fc.integer({ min: 4, max: 0x3fef }), fc.integer({ min: 1, max: 0xffff }))
  .map(([g, e]) => ((g * 2) << 16) | e)
  .map((t) => t >>> 0);

const memo = new Map<string, fc.Arbitrary<Node[]>>();

/** The elements of a dataset or item in syntax s at a depth: public elements, then private blocks, in tag order. */
function elementsArb(s: Syntax, depth: number): fc.Arbitrary<Node[]> {
  const key = `${s.explicitVR}${s.littleEndian}${depth}`;
  const known = memo.get(key);
  if (known) return known;
  const le = s.littleEndian;
  const nested = depth < MAX_DEPTH;
  const items = (is: Syntax): fc.Arbitrary<Item[]> =>
    nested
      ? fc.array(fc.record({ undefinedLength: fc.boolean(), elements: elementsArb(is, depth + 1) }), { maxLength: 3 })
      : fc.constant([]);

  let publicNode: fc.Arbitrary<Node>;
  let privateBody: fc.Arbitrary<Body>;
  if (s.explicitVR) {
    const leaf = fc
      .tuple(publicTag, fc.constantFrom(...LEAF_VRS))
      .chain(([tag, vr]) => valueArb(vr, le).map((v): Node => ({ kind: 'leaf', tag, vr, ...v })));
    const leafBody = fc
      .constantFrom(...LEAF_VRS)
      .chain((vr) => valueArb(vr, le).map((v): Body => ({ kind: 'leaf', vr, ...v })));
    const seqBody = (vr: 'SQ' | 'UN'): fc.Arbitrary<Body> =>
      fc
        .tuple(fc.boolean(), items(vr === 'UN' ? IMPLICIT_LE : s))
        .map(([undefinedLength, its]): Body => ({ kind: 'seq', vr, undefinedLength, items: its }));
    const seq = fc
      .tuple(publicTag, fc.constantFrom<'SQ' | 'UN'>('SQ', 'SQ', 'UN'))
      .chain(([tag, vr]) => seqBody(vr).map((b) => withTag(tag, b)));
    publicNode = nested ? fc.oneof({ weight: 5, arbitrary: leaf }, { weight: 1, arbitrary: seq }) : leaf;
    privateBody = nested
      ? fc.oneof({ weight: 5, arbitrary: leafBody }, { weight: 1, arbitrary: seqBody('SQ') })
      : leafBody;
  } else {
    const leaf = fc
      .constantFrom(...DICTIONARY_LEAVES)
      .chain(([tag, vr]) => valueArb(vr, le).map((v): Node => ({ kind: 'leaf', tag, vr, ...v })));
    const seq = fc
      .tuple(fc.constantFrom(...DICTIONARY_SEQUENCES), fc.boolean(), items(s))
      .map(([tag, undefinedLength, its]): Node => ({ kind: 'seq', tag, vr: 'SQ', undefinedLength, items: its }));
    // Private data elements of an unknown creator read as UN: bytes, or a sequence.
    const leafBody = valueArb('UN', le).map((v): Body => ({ kind: 'leaf', vr: 'UN', ...v }));
    const seqBody = fc
      .tuple(fc.boolean(), items(s))
      .map(([undefinedLength, its]): Body => ({ kind: 'seq', vr: 'UN', undefinedLength, items: its }));
    publicNode = nested ? fc.oneof({ weight: 5, arbitrary: leaf }, { weight: 1, arbitrary: seq }) : leaf;
    privateBody = nested ? fc.oneof({ weight: 5, arbitrary: leafBody }, { weight: 1, arbitrary: seqBody }) : leafBody;
  }

  const max = MAX_ELEMENTS[depth]!;
  const publics = fc.uniqueArray(publicNode, { selector: (n) => n.tag, maxLength: max });
  // A private group: creators (gggg,00bb) for one or two blocks bb, and data elements (gggg,bbee) in them.
  const privateGroup = fc
    .record({
      group: fc.integer({ min: 4, max: 0x3fff }).map((g) => g * 2 + 1),
      blocks: fc.uniqueArray(fc.integer({ min: 0x10, max: 0xff }), { minLength: 1, maxLength: 2 }),
      creator: fc.nat(9999),
      data: fc.uniqueArray(fc.tuple(fc.nat(1), fc.integer({ min: 0, max: 0xff }), privateBody), {
        selector: ([b, e]) => b * 256 + e,
        maxLength: Math.max(1, max - 1),
      }),
    })
    .map(({ group, blocks, creator, data }) => {
      const nodes: Node[] = blocks.map((b, k) => ({
        kind: 'leaf',
        tag: ((group << 16) | b) >>> 0,
        vr: 'LO',
        raw: text(`VEIL TEST ${creator} ${k}`),
      }));
      const tags = new Set<number>();
      for (const [b, e, body] of data) {
        const tag = ((group << 16) | (blocks[b % blocks.length]! << 8) | e) >>> 0;
        if (!tags.has(tag)) nodes.push(withTag(tag, body));
        tags.add(tag);
      }
      return nodes;
    });
  const privates = fc.uniqueArray(privateGroup, { selector: (g) => g[0]!.tag >>> 16, maxLength: depth === 0 ? 2 : 1 });
  const arb = fc.tuple(publics, privates).map(([pub, priv]) => [...pub, ...priv.flat()].sort((a, b) => a.tag - b.tag));
  memo.set(key, arb);
  return arb;
}

const SYNTAXES: [string, Syntax, string][] = [
  ['explicit VR little endian', EXPLICIT_LE, TS.explicitLE],
  ['implicit VR little endian', IMPLICIT_LE, TS.implicitLE],
  ['explicit VR big endian', EXPLICIT_BE, TS.explicitBE],
];

test('the dictionary VRs the implicit VR generator relies on', () => {
  for (const [tag, vr] of DICTIONARY_LEAVES) assert.equal(implicitVR(tag), vr, formatTag(tag));
  for (const tag of DICTIONARY_SEQUENCES) assert.equal(implicitVR(tag), 'SQ', formatTag(tag));
  assert.equal(implicitVR(0x00990010), 'LO');
  assert.equal(implicitVR(0x00991000, 'VEIL TEST 1 0'), 'UN');
});

describe('read(write(dataset)) = dataset', () => {
  for (const [name, s] of SYNTAXES) {
    test(name, () => {
      fc.assert(
        fc.property(elementsArb(s, 0), (nodes) => {
          const bytes = concat(encodeNodes(nodes, s));
          const ds = scanDataset(bytes, s);
          assert.deepStrictEqual(snapshot(ds), expectedSnapshot(nodes));
          checkNumbers(nodes, ds);
          assert.equal(ds.contentEnd, bytes.length);
        }),
        { numRuns: 300 * SCALE },
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------------
// Edits

interface EditStep {
  readonly op: 'replace' | 'remove' | 'insert';
  readonly pick: number;
  readonly bytes: Uint8Array;
  readonly tag: number;
  readonly vr: string;
}

const editSteps = fc.array(
  fc.record({
    op: fc.constantFrom<EditStep['op']>('replace', 'remove', 'insert'),
    pick: fc.nat(),
    bytes: fc.uint8Array({ maxLength: 40 }),
    tag: publicTag,
    vr: fc.constantFrom(...LEAF_VRS),
  }),
  { minLength: 1, maxLength: 8 },
);

/** Random bytes made into a value of the VR: text for text VRs, whole units for binary ones. */
function coerce(bytes: Uint8Array, vr: string): Uint8Array {
  if (isTextVR(vr)) {
    const alphabet = vr === 'UI' ? '0123456789.' : TEXT;
    return text(Array.from(bytes, (b) => alphabet[b % alphabet.length]).join(''));
  }
  const unit = binaryUnitSize(vr) ?? 1;
  return notLikeAnItem(bytes.slice(0, bytes.length - (bytes.length % unit)));
}

const SOP_CLASS_UID = 0x00080016;

interface Planned {
  readonly edits: Edit[];
  readonly expected: SnapElement[];
}

/** Turns random steps into edits on a scanned file, and works out the tree the output must scan to. */
function plan(dataset: ElementContainer, steps: readonly EditStep[]): Planned {
  const all: DicomElement[] = [];
  const containers: ElementContainer[] = [dataset];
  walkElements(dataset, (el) => {
    if (el.tag !== SOP_CLASS_UID) all.push(el); // keeps the first element, by which the syntax is recognised
    for (const item of el.items ?? []) containers.push(item);
  });
  const leaves = all.filter((el) => !el.items && !el.fragments);
  const replaced = new Map<DicomElement, Uint8Array>();
  const removed = new Set<DicomElement>();
  const inserted = new Map<ElementContainer, { tag: number; vr: string; value: Uint8Array }[]>();
  const edits: Edit[] = [];
  for (const step of steps) {
    if (step.op === 'insert') {
      const c = containers[step.pick % containers.length]!;
      const taken = new Set([...c.elements.map((e) => e.tag), ...(inserted.get(c) ?? []).map((i) => i.tag)]);
      let tag: number;
      let vr: string;
      if (c.syntax.explicitVR) {
        [tag, vr] = [step.tag, step.vr];
      } else {
        const free = DICTIONARY_LEAVES.filter(([t]) => !taken.has(t));
        if (free.length === 0) continue;
        [tag, vr] = free[step.pick % free.length]!;
      }
      if (taken.has(tag) || (c === dataset && tag <= SOP_CLASS_UID)) continue;
      const value = coerce(step.bytes, vr);
      inserted.set(c, [...(inserted.get(c) ?? []), { tag, vr, value }]);
      // In any order, and possibly into an element removed by another step (then it is dropped).
      edits.push({ op: 'insert', container: c, tag, vr, value });
      continue;
    }
    const pool = step.op === 'replace' ? leaves : all;
    const el = pool[step.pick % Math.max(1, pool.length)];
    // One edit per element: two edits of one element are a conflict (see rewriter.test.ts).
    if (!el || replaced.has(el) || removed.has(el)) continue;
    if (step.op === 'remove') {
      removed.add(el);
      edits.push({ op: 'remove', element: el });
    } else {
      const value = coerce(step.bytes, el.vr);
      replaced.set(el, value);
      edits.push({ op: 'replace', element: el, value });
    }
  }

  const expect = (c: ElementContainer): SnapElement[] => {
    const out: [number, SnapElement][] = [];
    for (const el of c.elements) {
      if (removed.has(el)) continue;
      const value = replaced.get(el);
      if (value) {
        out.push([el.tag, { tag: formatTag(el.tag), vr: el.vr, value: hex(pad(value, el.vr)) }]);
      } else if (el.items) {
        const s: SnapElement = { tag: formatTag(el.tag), vr: el.vr };
        if (el.length === UNDEFINED_LENGTH) s.undefinedLength = true;
        s.items = el.items.map((item) =>
          item.length === UNDEFINED_LENGTH
            ? { undefinedLength: true, elements: expect(item) }
            : { elements: expect(item) },
        );
        out.push([el.tag, s]);
      } else {
        out.push([el.tag, snapshot({ ...c, elements: [el] })[0]!]);
      }
    }
    for (const i of inserted.get(c) ?? []) {
      out.push([i.tag, { tag: formatTag(i.tag), vr: i.vr, value: hex(pad(i.value, i.vr)) }]);
    }
    return out.sort((a, b) => a[0] - b[0]).map(([, s]) => s);
  };
  return { edits, expected: expect(dataset) };
}

describe('random edits', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'veil-property-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const written: { file: string; tags: string[] }[] = [];
  const DCMDUMP_RUNS = 50; // per syntax: 200 outputs for dcmdump in all

  const fileSyntaxes: [string, Syntax, string][] = [...SYNTAXES, ['deflated', EXPLICIT_LE, TS.deflated]];
  for (const [name, s, ts] of fileSyntaxes) {
    test(`the output rescans with the edits applied (${name})`, () => {
      let run = 0;
      const sopClass = { kind: 'leaf', tag: SOP_CLASS_UID, vr: 'UI', raw: text('1.2.840.10008.5.1.4.1.1.7') } as const;
      fc.assert(
        fc.property(elementsArb(s, 0), editSteps, (generated, steps) => {
          const nodes: Node[] = [sopClass, ...generated.filter((n) => n.tag > SOP_CLASS_UID)];
          const file = scanFile(part10(concat(encodeNodes(nodes, s)), ts));
          assert.deepStrictEqual(file.findings, []);
          assert.deepStrictEqual(snapshot(file.dataset), expectedSnapshot(nodes));
          const { edits, expected } = plan(file.dataset, steps);
          const out = rewrite(file, edits);
          const again = scanFile(out);
          assert.deepStrictEqual(again.findings, []);
          assert.deepStrictEqual(snapshot(again.dataset), expected);
          if (run++ < DCMDUMP_RUNS) {
            const f = path.join(tmp, `${name.replaceAll(' ', '-')}-${run}.dcm`);
            writeFileSync(f, out);
            written.push({ file: f, tags: again.dataset.elements.map((e) => formatTag(e.tag).slice(1, -1)) });
          }
        }),
        { numRuns: 150 * SCALE },
      );
    });
  }

  test('dcmdump reads the outputs, with the same top-level elements', () => {
    assert.ok(written.length >= 4 * DCMDUMP_RUNS, `${written.length} outputs`);
    const dumps = dcmdumpAll(written.map((w) => w.file));
    for (const w of written) {
      const dump = dumps.get(w.file);
      assert.ok(dump !== undefined, `dcmdump cannot read ${w.file}`);
      assert.deepStrictEqual(
        topLevelTags(dump).filter((t) => !t.startsWith('FFFE,')),
        w.tags,
        w.file,
      );
    }
  });
});
