/**
 * Targeted tests of the rewriter: lengths fixed in nested defined-length items and sequences, the meta and other
 * group lengths, inserts into empty containers, big endian, implicit VR and deflated files, padding, and the edit
 * errors. Every output is rescanned, and read by dcmdump where it is a file dcmdump should read.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { inflateSync } from 'fflate';
import {
  concat,
  type DicomElement,
  type DicomFile,
  type Edit,
  type ElementContainer,
  EXPLICIT_LE,
  encodeElement,
  encodeItems,
  findElement,
  IMPLICIT_LE,
  isVeilError,
  readNumbers,
  readString,
  rewrite,
  type Syntax,
  scanFile,
  UNDEFINED_LENGTH,
  valueBytes,
  walkElements,
} from '../src/index.ts';
import { dataDir, readBytes } from './support/corpus.ts';
import { dcmdumpAll } from './support/dcmdump.ts';
import { part10, TS, text, undefinedLengthElement, undefinedLengthItem } from './support/encode.ts';
import { snapshot } from './support/snapshot.ts';

const EXPLICIT_BE: Syntax = { explicitVR: true, littleEndian: false };
const SYNTAXES: [string, Syntax, string][] = [
  ['explicit VR little endian', EXPLICIT_LE, TS.explicitLE],
  ['implicit VR little endian', IMPLICIT_LE, TS.implicitLE],
  ['explicit VR big endian', EXPLICIT_BE, TS.explicitBE],
  ['deflated explicit VR little endian', EXPLICIT_LE, TS.deflated],
];

const PYDICOM = path.join(dataDir, 'dicom/pydicom-test-files/test_files');

const tmp = mkdtempSync(path.join(tmpdir(), 'veil-rewriter-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let dumps = 0;

/** dcmdump's text for the bytes; fails the test when dcmdump cannot read them. */
function dcmdump(bytes: Uint8Array): string {
  const file = path.join(tmp, `${dumps++}.dcm`);
  writeFileSync(file, bytes);
  const text = dcmdumpAll([file]).get(file);
  assert.ok(text !== undefined, 'dcmdump cannot read the output');
  return text;
}

const el = (tag: number, vr: string, value: string | Uint8Array, s: Syntax): Uint8Array =>
  encodeElement(tag, vr, typeof value === 'string' ? text(value) : value, s);

function u16(n: number, s: Syntax): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, n, s.littleEndian);
  return b;
}

function u32(n: number, s: Syntax): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, s.littleEndian);
  return b;
}

interface SqOptions {
  readonly seq?: 'defined' | 'undefined';
  readonly items?: 'defined' | 'undefined';
}

/** A sequence element around items given as lists of encoded elements. */
function sq(tag: number, s: Syntax, items: Uint8Array[][], o: SqOptions = {}): Uint8Array {
  const encoded = o.items === 'undefined' ? concat(items.map((i) => undefinedLengthItem(i, s))) : encodeItems(items, s);
  return o.seq === 'undefined' ? undefinedLengthElement(tag, 'SQ', encoded, s) : encodeElement(tag, 'SQ', encoded, s);
}

/** Every defined length of a sequence or item matches what it holds; rescanning worked, so they lie in the file. */
function assertLengths(c: ElementContainer): void {
  for (const e of c.elements) {
    if (!e.items) continue;
    if (e.length !== UNDEFINED_LENGTH) assert.equal(e.length, e.end - e.valueOffset, `length of ${e.tag.toString(16)}`);
    for (const item of e.items) {
      if (item.length !== UNDEFINED_LENGTH) assert.equal(item.length, item.end - item.offset - 8, 'item length');
      else assert.equal(item.end - item.contentEnd, 8, 'item delimiter kept');
      assertLengths(item);
    }
  }
}

/** Every group length element (gggg,0000) in the container equals the size of the rest of its group. */
function assertGroupLengths(c: ElementContainer): void {
  for (const gl of c.elements) {
    if ((gl.tag & 0xffff) !== 0) continue;
    const group = gl.tag >>> 16;
    const size = c.elements
      .filter((e) => e.tag >>> 16 === group && e !== gl)
      .reduce((n, e) => n + (e.end - e.offset), 0);
    assert.deepEqual(readNumbers(gl), [size], `group length of ${group.toString(16)}`);
  }
  for (const e of c.elements) for (const item of e.items ?? []) assertGroupLengths(item);
}

/** The element at a path of tags and item indexes: [tag, index, tag, ...]. */
function at(c: ElementContainer, ...p: number[]): DicomElement {
  let container = c;
  for (let i = 0; ; i += 2) {
    const found = findElement(container, p[i]!);
    assert.ok(found, `no ${p[i]!.toString(16)}`);
    if (i + 1 >= p.length) return found;
    const item = found.items?.[p[i + 1]!];
    assert.ok(item, `no item ${p[i + 1]}`);
    container = item;
  }
}

function rescan(bytes: Uint8Array): DicomFile {
  const file = scanFile(bytes);
  assert.deepEqual(
    file.findings.filter((f) => f.code !== 'ODD_LENGTH'),
    [],
    'the output scans without findings',
  );
  assertLengths(file.dataset);
  if (file.meta) assertGroupLengths(file.meta);
  return file;
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => isVeilError(e) && e.code === code, `expected VeilError ${code}`);
}

const PN = 0x00100010;
const RefSeriesSeq = 0x00081115;
const RefImageSeq = 0x00081140;
const RefSOPClass = 0x00081150;
const RefSOPInstance = 0x00081155;

/**
 * SOP Class, then (0008,1115) > item > (0008,1140) > item > (0008,1150), (0010,0010), then (0010,0010) at the top.
 */
function nested(s: Syntax, outer: SqOptions, inner: SqOptions): Uint8Array {
  const innerItem = [
    el(RefSOPClass, 'UI', '1.2.3.4', s),
    el(RefSOPInstance, 'UI', '1.2.3.4.5', s),
    el(PN, 'PN', 'INNER', s),
  ];
  const innerSeq = sq(RefImageSeq, s, [innerItem, [el(RefSOPClass, 'UI', '1.2.3.4', s)]], inner);
  const outerItem = [innerSeq, el(0x0020000e, 'UI', '1.2.3.6', s)];
  return concat([
    el(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.7', s),
    sq(RefSeriesSeq, s, [outerItem], outer),
    el(PN, 'PN', 'OUTER', s),
  ]);
}

describe('replace inside nested sequences', () => {
  const shapes: [string, SqOptions, SqOptions][] = [
    ['defined in defined', {}, {}],
    ['defined in undefined', { seq: 'undefined', items: 'undefined' }, {}],
    ['undefined in defined', {}, { seq: 'undefined', items: 'undefined' }],
    ['defined items in undefined sequences', { seq: 'undefined' }, { seq: 'undefined' }],
  ];
  for (const [syntaxName, s, ts] of SYNTAXES) {
    for (const [shape, outer, inner] of shapes) {
      test(`${syntaxName}, ${shape}`, () => {
        const file = scanFile(part10(nested(s, outer, inner), ts));
        const target = at(file.dataset, RefSeriesSeq, 0, RefImageSeq, 0, PN);
        const before = snapshot(file.dataset);
        const out = rewrite(file, [{ op: 'replace', element: target, value: text('A MUCH LONGER NAME^GIVEN') }]);
        const again = rescan(out);
        assert.equal(readString(at(again.dataset, RefSeriesSeq, 0, RefImageSeq, 0, PN)), 'A MUCH LONGER NAME^GIVEN');
        // Nothing else changed.
        const after = snapshot(again.dataset);
        const edited = after[1]!.items![0]!.elements[0]!.items![0]!.elements[2]!;
        assert.equal(edited.tag, '(0010,0010)');
        edited.value = before[1]!.items![0]!.elements[0]!.items![0]!.elements[2]!.value!;
        assert.deepStrictEqual(after, before);
        // Undefined lengths stay undefined.
        const seq = at(again.dataset, RefSeriesSeq);
        assert.equal(seq.length === UNDEFINED_LENGTH, outer.seq === 'undefined');
        const dump = dcmdump(out);
        assert.match(dump, /^ {8}\(0010,0010\) PN \[A MUCH LONGER NAME\^GIVEN\]/m);
        // dcmdump reads the same defined lengths: "(0008,1115) SQ (Sequence with explicit length #=1)  # 134, 1 ...".
        const dumped = (tag: string): string | undefined =>
          new RegExp(`^ *\\(${tag}\\) SQ .*# *(\\d+|u/l),`, 'm').exec(dump)?.[1];
        const innerSeq = at(again.dataset, RefSeriesSeq, 0, RefImageSeq);
        for (const [tag, e] of [
          ['0008,1115', seq],
          ['0008,1140', innerSeq],
        ] as const) {
          assert.equal(
            dumped(tag),
            e.length === UNDEFINED_LENGTH ? 'u/l' : String(e.length),
            `dcmdump's length of (${tag})`,
          );
        }
      });
    }
  }

  test('rtplan.dcm (implicit VR): a value two sequences deep grows, every enclosing length follows', () => {
    const bytes = readBytes(path.join(PYDICOM, 'rtplan.dcm'));
    const file = scanFile(bytes);
    const deep = at(file.dataset, 0x300a00b0, 0, 0x300a00b6, 1, 0x300a00b8);
    const out = rewrite(file, [{ op: 'replace', element: deep, value: text('ASYMY') }]);
    const again = rescan(out);
    assert.equal(readString(at(again.dataset, 0x300a00b0, 0, 0x300a00b6, 1, 0x300a00b8)), 'ASYMY');
    assert.equal(out.length, bytes.length + 4);
    assert.match(dcmdump(out), /^ {8}\(300a,00b8\) CS \[ASYMY\]/m);
  });

  test('a VR change from a short to a long header form grows the enclosing lengths by the header too', () => {
    const s = EXPLICIT_LE;
    const file = scanFile(part10(nested(s, {}, {}), TS.explicitLE));
    const target = at(file.dataset, RefSeriesSeq, 0, RefImageSeq, 0, PN);
    const out = rewrite(file, [{ op: 'replace', element: target, vr: 'UN', value: text('INNER ') }]);
    const again = rescan(out);
    const replaced = at(again.dataset, RefSeriesSeq, 0, RefImageSeq, 0, PN);
    assert.equal(replaced.vr, 'UN');
    assert.equal(replaced.valueOffset - replaced.offset, 12);
    assert.equal(out.length, scanFile(part10(nested(s, {}, {}), TS.explicitLE)).source.length + 4);
    dcmdump(out);
  });
});

describe('insert', () => {
  for (const [syntaxName, s, ts] of SYNTAXES) {
    test(`into an empty dataset (${syntaxName})`, () => {
      const file = scanFile(part10(new Uint8Array(0), ts));
      assert.equal(file.dataset.elements.length, 0);
      const out = rewrite(file, [
        { op: 'insert', container: file.dataset, tag: 0x00080016, vr: 'UI', value: text('1.2.3') },
        { op: 'insert', container: file.dataset, tag: PN, vr: 'PN', value: text('DOE^JOHN') },
      ]);
      const again = rescan(out);
      assert.deepEqual(
        again.dataset.elements.map((e) => [e.tag, readString(e)]),
        [
          [0x00080016, '1.2.3'],
          [PN, 'DOE^JOHN'],
        ],
      );
      assert.match(dcmdump(out), /^\(0010,0010\) PN \[DOE\^JOHN\]/m);
    });

    for (const items of ['defined', 'undefined'] as const) {
      test(`into an empty ${items}-length item (${syntaxName})`, () => {
        const ds = concat([
          sq(RefImageSeq, s, [[], [el(RefSOPClass, 'UI', '1.2', s)]], { items }),
          el(PN, 'PN', 'X', s),
        ]);
        const file = scanFile(part10(ds, ts));
        const item = at(file.dataset, RefImageSeq).items![0]!;
        assert.equal(item.elements.length, 0);
        const out = rewrite(file, [
          { op: 'insert', container: item, tag: RefSOPClass, vr: 'UI', value: text('1.2.3.4') },
          { op: 'insert', container: item, tag: RefSOPInstance, vr: 'UI', value: text('1.2.3.4.5') },
        ]);
        const again = rescan(out);
        const seq = at(again.dataset, RefImageSeq);
        assert.deepEqual(
          seq.items!.map((i) => i.elements.map((e) => readString(e))),
          [['1.2.3.4', '1.2.3.4.5'], ['1.2']],
        );
        assert.equal(readString(at(again.dataset, PN)), 'X');
        dcmdump(out);
      });
    }
  }

  test('several inserts at one point are written in tag order, whatever the edit order', () => {
    const file = scanFile(part10(new Uint8Array(0), TS.explicitLE));
    const out = rewrite(file, [
      { op: 'insert', container: file.dataset, tag: PN, vr: 'PN', value: text('DOE^JOHN') },
      { op: 'insert', container: file.dataset, tag: 0x00080016, vr: 'UI', value: text('1.2.3') },
    ]);
    assert.deepEqual(
      rescan(out).dataset.elements.map((e) => e.tag),
      [0x00080016, PN],
    );
  });

  test("inserts at one offset into an item and into its parent: the item's go first, inside it", () => {
    // (0008,1115) holds one empty defined-length item: the item's end is the sequence's end, where a dataset
    // insert of a greater tag also goes.
    const s = EXPLICIT_LE;
    const ds = concat([el(0x00080016, 'UI', '1.2', s), sq(RefSeriesSeq, s, [[]])]);
    const file = scanFile(part10(ds, TS.explicitLE));
    const item = at(file.dataset, RefSeriesSeq).items![0]!;
    const out = rewrite(file, [
      { op: 'insert', container: item, tag: 0x00100020, vr: 'LO', value: text('IN ITEM') },
      { op: 'insert', container: file.dataset, tag: PN, vr: 'PN', value: text('TOP') },
    ]);
    const again = rescan(out);
    assert.equal(readString(at(again.dataset, RefSeriesSeq, 0, 0x00100020)), 'IN ITEM');
    assert.equal(readString(at(again.dataset, PN)), 'TOP');
  });

  test('goes before the first element with a greater tag', () => {
    const s = EXPLICIT_LE;
    const file = scanFile(
      part10(concat([el(0x00080016, 'UI', '1.2', s), el(0x00100020, 'LO', 'ID', s)]), TS.explicitLE),
    );
    const out = rewrite(file, [{ op: 'insert', container: file.dataset, tag: PN, vr: 'PN', value: text('A') }]);
    assert.deepEqual(
      rescan(out).dataset.elements.map((e) => e.tag),
      [0x00080016, PN, 0x00100020],
    );
  });

  test('into an item of a UN sequence is encoded in implicit VR little endian', () => {
    const file = scanFile(readBytes(path.join(PYDICOM, 'UN_sequence.dcm')));
    let item: ElementContainer | undefined;
    walkElements(file.dataset, (e) => {
      if (e.vr === 'UN' && e.items?.[0] && !item) item = e.items[0];
    });
    assert.ok(item, 'UN_sequence.dcm has a UN element parsed as a sequence');
    assert.equal(item.syntax.explicitVR, false);
    const out = rewrite(file, [{ op: 'insert', container: item, tag: 0x00100021, vr: 'LO', value: text('ISSUER') }]);
    const again = rescan(out);
    let found: DicomElement | undefined;
    walkElements(again.dataset, (e) => {
      if (e.tag === 0x00100021) found = e;
    });
    assert.ok(found);
    assert.equal(found.vrExplicit, false);
    assert.equal(readString(found), 'ISSUER');
    dcmdump(out);
  });
});

describe('remove', () => {
  for (const [syntaxName, s, ts] of SYNTAXES) {
    for (const items of ['defined', 'undefined'] as const) {
      test(`the last element of a ${items}-length item, then the only one (${syntaxName})`, () => {
        const item = [el(RefSOPClass, 'UI', '1.2.3.4', s), el(RefSOPInstance, 'UI', '1.2.3.4.5', s)];
        const ds = concat([sq(RefImageSeq, s, [item], { items }), el(PN, 'PN', 'AFTER', s)]);
        const file = scanFile(part10(ds, ts));
        const last = at(file.dataset, RefImageSeq, 0, RefSOPInstance);
        const out = rewrite(file, [{ op: 'remove', element: last }]);
        const again = rescan(out);
        assert.deepEqual(
          at(again.dataset, RefImageSeq).items!.map((i) => i.elements.map((e) => e.tag)),
          [[RefSOPClass]],
        );
        assert.equal(readString(at(again.dataset, PN)), 'AFTER');
        dcmdump(out);

        const out2 = rewrite(again, [{ op: 'remove', element: at(again.dataset, RefImageSeq, 0, RefSOPClass) }]);
        const third = rescan(out2);
        const emptied = at(third.dataset, RefImageSeq).items!;
        assert.equal(emptied.length, 1);
        assert.equal(emptied[0]!.elements.length, 0);
        assert.equal(emptied[0]!.length, items === 'defined' ? 0 : UNDEFINED_LENGTH);
        assert.equal(readString(at(third.dataset, PN)), 'AFTER');
        dcmdump(out2);
      });
    }
  }
});

describe('group lengths', () => {
  test('the file meta group length follows inserts, removals and replacements in the meta', () => {
    const s = EXPLICIT_LE;
    const file = scanFile(part10(el(PN, 'PN', 'X', s), TS.explicitLE));
    const meta = file.meta!;
    const out = rewrite(file, [
      { op: 'insert', container: meta, tag: 0x00020013, vr: 'SH', value: text('VEIL_0.1') },
      { op: 'insert', container: meta, tag: 0x00020016, vr: 'AE', value: text('VEIL') },
      { op: 'replace', element: findElement(meta, 0x00020003)!, value: text('1.2.3.4.5.6.7.8.9.10.11') },
      { op: 'remove', element: findElement(meta, 0x00020012)! },
    ]);
    const again = rescan(out); // checks (0002,0000) against the meta's elements
    assert.deepEqual(
      again.meta!.elements.map((e) => e.tag),
      [0x00020000, 0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020013, 0x00020016],
    );
    assert.ok(!again.findings.some((f) => f.code.startsWith('META_GROUP_LENGTH')));
    assert.match(dcmdump(out), /^\(0002,0013\) SH \[VEIL_0\.1\]/m);
  });

  test('meta and dataset edits together in a deflated file', () => {
    const s = EXPLICIT_LE;
    const file = scanFile(part10(concat([el(0x00080016, 'UI', '1.2', s), el(PN, 'PN', 'DOE', s)]), TS.deflated));
    const out = rewrite(file, [
      { op: 'insert', container: file.meta!, tag: 0x00020013, vr: 'SH', value: text('VEIL') },
      { op: 'replace', element: findElement(file.dataset, PN)!, value: text('ANON^PATIENT') },
    ]);
    const again = rescan(out);
    assert.equal(readString(findElement(again.meta!, 0x00020013)!), 'VEIL');
    assert.equal(readString(findElement(again.dataset, PN)!), 'ANON^PATIENT');
    assert.match(dcmdump(out), /^\(0010,0010\) PN \[ANON\^PATIENT\]/m);
  });

  for (const [syntaxName, s, ts] of SYNTAXES) {
    test(`dataset and item group lengths follow edits at any depth (${syntaxName})`, () => {
      const group = (elements: Uint8Array[]): Uint8Array[] => {
        const g = new DataView(elements[0]!.buffer, elements[0]!.byteOffset).getUint16(0, s.littleEndian);
        const n = elements.reduce((k, e) => k + e.length, 0);
        return [el((g << 16) >>> 0, 'UL', u32(n, s), s), ...elements];
      };
      const item = [
        ...group([el(RefSOPClass, 'UI', '1.2.3.4', s), el(RefSOPInstance, 'UI', '1.2.3.4.5', s)]),
        ...group([el(PN, 'PN', 'IN^ITEM', s)]),
      ];
      const ds = concat([
        ...group([el(0x00080016, 'UI', '1.2.3', s), sq(RefSeriesSeq, s, [item]), el(0x00080060, 'CS', 'OT', s)]),
        ...group([el(PN, 'PN', 'DOE^JOHN', s), el(0x00100030, 'DA', '19700101', s)]),
        ...group([el(0x00280010, 'US', u16(2, s), s)]),
      ]);
      const file = scanFile(part10(ds, ts));
      assertGroupLengths(file.dataset);
      const edits: Edit[] = [
        { op: 'replace', element: at(file.dataset, RefSeriesSeq, 0, PN), value: text('A^MUCH^LONGER^NAME') },
        { op: 'remove', element: at(file.dataset, RefSeriesSeq, 0, RefSOPInstance) },
        { op: 'insert', container: file.dataset, tag: 0x00100040, vr: 'CS', value: text('O') },
        { op: 'replace', element: at(file.dataset, 0x00080060), value: text('CT') },
      ];
      const out = rewrite(file, edits);
      const again = rescan(out);
      assertGroupLengths(again.dataset);
      assert.deepEqual(readNumbers(at(again.dataset, 0x00280000)), readNumbers(at(file.dataset, 0x00280000)));
      assert.equal(readString(at(again.dataset, 0x00100040)), 'O');
      dcmdump(out);
    });
  }
});

describe('length patches inside edited ranges', () => {
  for (const [syntaxName, s, ts] of SYNTAXES) {
    test(`a removed group length, a replaced sequence: their patches are moot (${syntaxName})`, () => {
      const groupOf = (elements: Uint8Array[]): Uint8Array[] => {
        const g = new DataView(elements[0]!.buffer, elements[0]!.byteOffset).getUint16(0, s.littleEndian);
        const n = elements.reduce((k, e) => k + e.length, 0);
        return [el((g << 16) >>> 0, 'UL', u32(n, s), s), ...elements];
      };
      const item = [el(RefSOPClass, 'UI', '1.2.3.4', s), el(RefSOPInstance, 'UI', '1.2.3.4.5', s)];
      const ds = concat([
        ...groupOf([
          el(0x00080016, 'UI', '1.2.3', s),
          sq(RefSeriesSeq, s, [item, item]),
          el(0x00080060, 'CS', 'OT', s),
        ]),
        ...groupOf([el(PN, 'PN', 'DOE^JOHN', s), el(0x00100030, 'DA', '19700101', s)]),
      ]);
      const file = scanFile(part10(ds, ts));
      const seq = at(file.dataset, RefSeriesSeq);
      const out = rewrite(file, [
        // The group length of 0010 goes, and the name in its group shrinks: the patch of (0010,0000) is moot.
        { op: 'remove', element: at(file.dataset, 0x00100000) },
        { op: 'replace', element: at(file.dataset, PN), value: text('X') },
        // The sequence is replaced whole and an element inside it changes: the patches of its items are moot.
        { op: 'replace', element: seq, value: new Uint8Array(0) },
        { op: 'remove', element: at(file.dataset, RefSeriesSeq, 0, RefSOPInstance) },
      ]);
      const again = rescan(out);
      assert.equal(findElement(again.dataset, 0x00100000), undefined);
      assert.equal(readString(at(again.dataset, PN)), 'X');
      assert.equal(readString(at(again.dataset, 0x00100030)), '19700101');
      assert.equal(at(again.dataset, RefSeriesSeq).length, 0);
      assertGroupLengths(again.dataset);
      dcmdump(out);
    });
  }
});

describe('corpus files', () => {
  test('big endian: text, numbers, insert and remove (MR_small_bigendian.dcm)', () => {
    const file = scanFile(readBytes(path.join(PYDICOM, 'MR_small_bigendian.dcm')));
    const ds = file.dataset;
    assert.equal(ds.syntax.littleEndian, false);
    const rows = findElement(ds, 0x00280010)!;
    const out = rewrite(file, [
      { op: 'replace', element: findElement(ds, PN)!, value: text('BIG^ENDIAN^NAME') },
      { op: 'replace', element: rows, value: new Uint8Array([0x01, 0x02]) },
      { op: 'insert', container: ds, tag: 0x00104000, vr: 'LT', value: text('inserted comment') },
      { op: 'remove', element: findElement(ds, 0x00080008)! },
    ]);
    const again = rescan(out);
    assert.equal(readString(findElement(again.dataset, PN)!), 'BIG^ENDIAN^NAME');
    assert.deepEqual(readNumbers(findElement(again.dataset, 0x00280010)!), [0x0102]);
    assert.equal(readString(findElement(again.dataset, 0x00104000)!), 'inserted comment');
    assert.equal(findElement(again.dataset, 0x00080008), undefined);
    // The pixel data is untouched.
    assert.deepEqual(valueBytes(findElement(again.dataset, 0x7fe00010)!), valueBytes(findElement(ds, 0x7fe00010)!));
    const dump = dcmdump(out);
    assert.match(dump, /^\(0028,0010\) US 258 /m);
    assert.match(dump, /^\(0010,4000\) LT \[inserted comment\]/m);
  });

  test('implicit VR: text, numbers, insert and remove (MR_small_implicit.dcm)', () => {
    const file = scanFile(readBytes(path.join(PYDICOM, 'MR_small_implicit.dcm')));
    const ds = file.dataset;
    assert.equal(ds.syntax.explicitVR, false);
    const le = new Uint8Array([0x02, 0x01]);
    const out = rewrite(file, [
      { op: 'replace', element: findElement(ds, PN)!, value: text('IMPLICIT^NAME') },
      { op: 'replace', element: findElement(ds, 0x00280010)!, value: le },
      { op: 'insert', container: ds, tag: 0x00104000, vr: 'LT', value: text('comment') },
      { op: 'remove', element: findElement(ds, 0x00080008)! },
    ]);
    const again = rescan(out);
    assert.equal(readString(findElement(again.dataset, PN)!), 'IMPLICIT^NAME');
    assert.deepEqual(readNumbers(findElement(again.dataset, 0x00280010)!), [0x0102]);
    assert.equal(findElement(again.dataset, 0x00104000)!.vr, 'LT');
    assert.equal(findElement(again.dataset, 0x00080008), undefined);
    const dump = dcmdump(out);
    assert.match(dump, /^\(0028,0010\) US 258 /m);
    assert.match(dump, /^\(0010,0010\) PN \[IMPLICIT\^NAME\]/m);
  });

  test('deflated: the output inflates and rescans with the edit applied (image_dfl)', () => {
    const bytes = readBytes(path.join(dataDir, 'dicom/dicomParser/testImages/deflate/image_dfl'));
    const file = scanFile(bytes);
    assert.ok(file.transferSyntax.deflated);
    const name = findElement(file.dataset, PN)!;
    const out = rewrite(file, [{ op: 'replace', element: name, value: text('DEFLATED^NAME') }]);
    // The meta is copied; the dataset is a new deflate stream.
    assert.deepEqual(out.subarray(0, file.datasetOffset), bytes.subarray(0, file.datasetOffset));
    const inflated = inflateSync(out.subarray(file.datasetOffset));
    const again = rescan(out);
    assert.equal(again.datasetSource.length, inflated.length);
    assert.equal(readString(findElement(again.dataset, PN)!), 'DEFLATED^NAME');
    const before = snapshot(file.dataset).filter((e) => e.tag !== '(0010,0010)');
    assert.deepStrictEqual(
      snapshot(again.dataset).filter((e) => e.tag !== '(0010,0010)'),
      before,
    );
    assert.match(dcmdump(out), /^\(0010,0010\) PN \[DEFLATED\^NAME\]/m);
  });
});

describe('values', () => {
  for (const [syntaxName, s, ts] of SYNTAXES) {
    test(`odd lengths are padded: UI with NUL, text with space, OB with NUL (${syntaxName})`, () => {
      const ds = concat([
        el(0x00080016, 'UI', '1.2', s),
        el(0x00080060, 'CS', 'OT', s),
        el(PN, 'PN', 'AB', s),
        el(0x00420011, 'OB', new Uint8Array([9, 9]), s),
      ]);
      const file = scanFile(part10(ds, ts));
      const d = file.dataset;
      const out = rewrite(file, [
        { op: 'replace', element: findElement(d, 0x00080016)!, value: text('1.2.3') },
        { op: 'replace', element: findElement(d, PN)!, value: text('ABC') },
        { op: 'replace', element: findElement(d, 0x00420011)!, value: new Uint8Array([1, 2, 3]) },
        { op: 'insert', container: d, tag: 0x00100020, vr: 'LO', value: text('ID1') },
      ]);
      const again = rescan(out).dataset;
      assert.deepEqual(valueBytes(findElement(again, 0x00080016)!), text('1.2.3\0'));
      assert.deepEqual(valueBytes(findElement(again, PN)!), text('ABC '));
      assert.deepEqual(valueBytes(findElement(again, 0x00420011)!), new Uint8Array([1, 2, 3, 0]));
      assert.deepEqual(valueBytes(findElement(again, 0x00100020)!), text('ID1 '));
      dcmdump(out);
    });
  }

  test('a value too long for a 16-bit length is DICOM_VALUE_TOO_LONG; 32-bit forms take it', () => {
    const s = EXPLICIT_LE;
    const file = scanFile(part10(concat([el(PN, 'PN', 'A', s), el(0x00104000, 'LT', 'B', s)]), TS.explicitLE));
    const name = findElement(file.dataset, PN)!;
    throwsCode(
      () => rewrite(file, [{ op: 'replace', element: name, value: new Uint8Array(0x10000).fill(0x41) }]),
      'DICOM_VALUE_TOO_LONG',
    );
    // 65535 bytes pad to 65536: too long as well.
    throwsCode(
      () => rewrite(file, [{ op: 'replace', element: name, value: new Uint8Array(0xffff).fill(0x41) }]),
      'DICOM_VALUE_TOO_LONG',
    );
    throwsCode(
      () =>
        rewrite(file, [
          { op: 'insert', container: file.dataset, tag: 0x00100020, vr: 'LO', value: new Uint8Array(70000) },
        ]),
      'DICOM_VALUE_TOO_LONG',
    );
    assert.equal(
      rewrite(file, [{ op: 'replace', element: name, value: new Uint8Array(0xfffe).fill(0x41) }]).length,
      file.source.length + 0xfffe - 2,
    );
    // Long VR forms and implicit VR have 32-bit lengths.
    const ut = rewrite(file, [{ op: 'replace', element: name, vr: 'UT', value: new Uint8Array(70000).fill(0x41) }]);
    assert.equal(findElement(rescan(ut).dataset, PN)!.length, 70000);
    const implicit = scanFile(part10(el(PN, 'PN', 'A', IMPLICIT_LE), TS.implicitLE));
    const big = rewrite(implicit, [
      { op: 'replace', element: findElement(implicit.dataset, PN)!, value: new Uint8Array(70000).fill(0x41) },
    ]);
    assert.equal(findElement(rescan(big).dataset, PN)!.length, 70000);
  });
});

describe('edit lists', () => {
  const s = EXPLICIT_LE;
  const build = (): DicomFile => scanFile(part10(nested(s, {}, {}), TS.explicitLE));

  test('partly overlapping edits are DICOM_BAD_EDIT', () => {
    const file = build();
    const [sop, seq] = file.dataset.elements as [DicomElement, DicomElement];
    // An element that straddles two others (a stale or forged tree): its range overlaps both.
    const straddling: DicomElement = { ...seq, offset: sop.offset + 2, valueOffset: sop.offset + 10 };
    throwsCode(
      () =>
        rewrite(file, [
          { op: 'replace', element: sop, value: text('1.2') },
          { op: 'remove', element: straddling },
        ]),
      'DICOM_BAD_EDIT',
    );
  });

  test('two edits of one element are DICOM_BAD_EDIT', () => {
    const file = build();
    const name = findElement(file.dataset, PN)!;
    throwsCode(
      () =>
        rewrite(file, [
          { op: 'replace', element: name, value: text('A') },
          { op: 'replace', element: name, value: text('B') },
        ]),
      'DICOM_BAD_EDIT',
    );
    throwsCode(
      () =>
        rewrite(file, [
          { op: 'remove', element: name },
          { op: 'replace', element: name, value: text('B') },
        ]),
      'DICOM_BAD_EDIT',
    );
  });

  test('inserting a tag the container already has is DICOM_BAD_EDIT', () => {
    const file = build();
    throwsCode(
      () => rewrite(file, [{ op: 'insert', container: file.dataset, tag: PN, vr: 'PN', value: text('A') }]),
      'DICOM_BAD_EDIT',
    );
  });

  test('inserting one tag twice into a container is DICOM_BAD_EDIT', () => {
    const file = build();
    const insert: Edit = { op: 'insert', container: file.dataset, tag: 0x00100020, vr: 'LO', value: text('A') };
    throwsCode(() => rewrite(file, [insert, { ...insert, value: text('B') }]), 'DICOM_BAD_EDIT');
  });

  test('edits nested inside a removed element are dropped', () => {
    const file = build();
    const seq = at(file.dataset, RefSeriesSeq);
    const removeOnly = rewrite(file, [{ op: 'remove', element: seq }]);
    const inner = at(file.dataset, RefSeriesSeq, 0, RefImageSeq);
    const withNested = rewrite(file, [
      { op: 'replace', element: at(file.dataset, RefSeriesSeq, 0, RefImageSeq, 0, PN), value: text('NESTED') },
      { op: 'remove', element: seq },
      { op: 'insert', container: inner.items![1]!, tag: PN, vr: 'PN', value: text('X') },
      { op: 'remove', element: at(file.dataset, RefSeriesSeq, 0, 0x0020000e) },
    ]);
    assert.deepEqual(withNested, removeOnly);
    assert.equal(findElement(rescan(withNested).dataset, RefSeriesSeq), undefined);
  });

  test('edits nested inside a replaced element are dropped', () => {
    const file = build();
    const seq = at(file.dataset, RefSeriesSeq);
    const empty: Edit = { op: 'replace', element: seq, value: new Uint8Array(0) };
    const replaceOnly = rewrite(file, [empty]);
    const withNested = rewrite(file, [
      empty,
      { op: 'remove', element: at(file.dataset, RefSeriesSeq, 0, RefImageSeq, 0, PN) },
      { op: 'insert', container: seq.items![0]!, tag: PN, vr: 'PN', value: text('X') },
    ]);
    assert.deepEqual(withNested, replaceOnly);
    assert.deepEqual(at(rescan(withNested).dataset, RefSeriesSeq).items, []);
  });

  test('an insert at the very end of the last item of a removed sequence is dropped too', () => {
    const file = build();
    const seq = at(file.dataset, RefSeriesSeq);
    const lastItem = seq.items![seq.items!.length - 1]!;
    assert.equal(lastItem.contentEnd, seq.end, 'the item ends where the sequence ends');
    const removeOnly = rewrite(file, [{ op: 'remove', element: seq }]);
    const withNested = rewrite(file, [
      { op: 'remove', element: seq },
      { op: 'insert', container: lastItem, tag: 0x00400275, vr: 'SQ', value: new Uint8Array(0) },
    ]);
    assert.deepEqual(withNested, removeOnly);
  });

  test('a UN sequence read from an element with an invalid VR (16-bit length) has that length fixed', () => {
    // (0009,1000) with VR bytes "  ": the scanner reads a 16-bit length, assumes UN and finds an implicit VR item.
    const items = encodeItems([[encodeElement(PN, 'PN', text('ABCD'), IMPLICIT_LE)]], IMPLICIT_LE);
    const head = concat([u16(0x0009, s), u16(0x1000, s), text('  '), u16(items.length, s)]);
    const ds = concat([
      el(0x00080016, 'UI', '1.2', s),
      el(0x00090010, 'LO', 'CREATOR', s),
      head,
      items,
      el(PN, 'PN', 'AFTER', s),
    ]);
    const file = scanFile(part10(ds, TS.explicitLE));
    const un = at(file.dataset, 0x00091000);
    assert.equal(un.valueOffset - un.offset, 8);
    assert.equal(un.items?.length, 1);
    const out = rewrite(file, [
      { op: 'replace', element: at(file.dataset, 0x00091000, 0, PN), value: text('LONGER NAME') },
    ]);
    const again = scanFile(out);
    assert.equal(readString(at(again.dataset, 0x00091000, 0, PN)), 'LONGER NAME');
    assert.equal(readString(at(again.dataset, PN)), 'AFTER');
  });

  test('edit order does not matter', () => {
    const file = build();
    const edits: Edit[] = [
      { op: 'replace', element: at(file.dataset, RefSeriesSeq, 0, RefImageSeq, 0, PN), value: text('NESTED^NAME') },
      { op: 'remove', element: at(file.dataset, RefSeriesSeq, 0, RefImageSeq, 1, RefSOPClass) },
      { op: 'insert', container: file.dataset, tag: 0x00100020, vr: 'LO', value: text('ID') },
      { op: 'replace', element: findElement(file.dataset, PN)!, value: text('TOP') },
    ];
    const forward = rewrite(file, edits);
    assert.deepEqual(rewrite(file, edits.slice().reverse()), forward);
    rescan(forward);
    dcmdump(forward);
  });
});
