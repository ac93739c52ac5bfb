/**
 * The corpus proofs of the DICOM core: every file of the shared inventory and every pydicom edge-case file scans
 * (or fails with the expected code), rewrites byte for byte with no edits, and rewrites byte for byte when every
 * leaf element at every depth is replaced by its own value. A sample of files also loses each top-level element
 * in turn, and dcmdump must still read the result without that element.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { inflateSync } from 'fflate';
import {
  type DicomElement,
  type DicomFile,
  type Edit,
  formatTag,
  hasLongLength,
  isVeilError,
  rewrite,
  scanFile,
  UNDEFINED_LENGTH,
  walkElements,
} from '../src/index.ts';
import { inventory, PYDICOM_TEST_FILES, pydicomFiles, readBytes } from './support/corpus.ts';
import { dcmdumpAll, topLevelTags } from './support/dcmdump.ts';
import { type SnapElement, snapshot } from './support/snapshot.ts';

/**
 * The pydicom files that must not scan, with the code they must fail with and why. Everything else in the folder
 * must scan. dcmdump rejects each of these too (checked below).
 */
const PYDICOM_EXPECTED_FAILURES: Record<string, { code: string; reason: string }> = {
  'README.txt': { code: 'DICOM_NOT_DICOM', reason: 'text, not DICOM' },
  'dicomdirtests/README.txt': { code: 'DICOM_NOT_DICOM', reason: 'text, not DICOM' },
  'dicomdirtests/TINY_ALPHA/README': { code: 'DICOM_NOT_DICOM', reason: 'text, not DICOM' },
  'rtplan.dump': { code: 'DICOM_NOT_DICOM', reason: 'a text dump of rtplan.dcm' },
  'rtstruct.dump': { code: 'DICOM_NOT_DICOM', reason: 'a text dump of rtstruct.dcm' },
  'test1.json': { code: 'DICOM_NOT_DICOM', reason: 'DICOM JSON, not Part 10' },
  'test_PN.json': { code: 'DICOM_NOT_DICOM', reason: 'DICOM JSON, not Part 10' },
  'zipMR.gz': { code: 'DICOM_NOT_DICOM', reason: 'a gzip of MR_small.dcm' },
  'MR_truncated.dcm': { code: 'DICOM_TRUNCATED_ELEMENT', reason: 'Pixel Data runs past the end of the file' },
  'rtplan_truncated.dcm': { code: 'DICOM_TRUNCATED_ELEMENT', reason: 'cut inside a sequence (300A,00B0)' },
  'no_meta.dcm': {
    code: 'DICOM_NOT_DICOM',
    reason: 'no preamble and a stray byte before (0008,0005): no plausible first element at offset 0',
  },
};

/** Files that lose each top-level element in turn: every syntax family, sequences, private and UN sequences. */
const REMOVAL_SAMPLE = [
  'dicom/pydicom-test-files/test_files/CT_small.dcm',
  'dicom/pydicom-test-files/test_files/MR_small_implicit.dcm',
  'dicom/pydicom-test-files/test_files/MR_small_bigendian.dcm',
  'dicom/pydicom-test-files/test_files/ExplVR_BigEndNoMeta.dcm',
  'dicom/pydicom-test-files/test_files/rtplan.dcm',
  'dicom/pydicom-test-files/test_files/UN_sequence.dcm',
  'dicom/pydicom-test-files/test_files/nested_priv_SQ.dcm',
  'dicom/pydicom-test-files/test_files/SC_rgb_small_odd_jpeg.dcm',
  'dicom/dicomParser/testImages/deflate/image_dfl',
  'dicom/fo-dicom/Test_Data/charset/chrSQEncoding.dcm',
];

const tmp = mkdtempSync(path.join(tmpdir(), 'veil-corpus-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function sameBytes(actual: Uint8Array, expected: Uint8Array, what: string, file?: DicomFile): void {
  if (Buffer.compare(actual, expected) === 0) return;
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  let where = '';
  if (file) {
    walkElements(file.dataset, (el) => {
      if (el.offset <= i && i < el.end) where = ` inside ${formatTag(el.tag)} ${el.vr} at ${el.offset}`;
    });
  }
  assert.fail(`${what}: ${actual.length} bytes vs ${expected.length}, first difference at ${i}${where}`);
}

/**
 * Whether re-encoding the element from its tag, VR and value reproduces its header: defined even length, the header
 * size of its VR in its syntax, a VR that is the one read (not an INVALID_VR assumed from the dictionary).
 */
function canonicalHeader(el: DicomElement): boolean {
  if (el.length === UNDEFINED_LENGTH || el.length % 2 === 1) return false;
  const { explicitVR } = el.parent.syntax;
  const header = el.valueOffset - el.offset;
  if (!explicitVR) return header === 8;
  if (header !== (hasLongLength(el.vr) ? 12 : 8)) return false;
  const vr = el.parent.source.read(el.offset + 4, el.offset + 6);
  return vr[0] === el.vr.charCodeAt(0) && vr[1] === el.vr.charCodeAt(1);
}

/** Replace edits that put back every canonical leaf's own value, at every depth, meta included. */
function identityEdits(file: DicomFile): Edit[] {
  const edits: Edit[] = [];
  const visit = (el: DicomElement): void => {
    if (el.items || el.fragments || !canonicalHeader(el)) return;
    const value = el.parent.source.read(el.valueOffset, el.valueOffset + el.length).slice();
    edits.push({ op: 'replace', element: el, value });
  };
  if (file.meta) walkElements(file.meta, visit);
  walkElements(file.dataset, visit);
  return edits;
}

function isDeflated(file: DicomFile): boolean {
  return file.datasetSource !== file.source;
}

/** The no-op properties of one file that scans. */
function checkRoundTrips(bytes: Uint8Array): void {
  const file = scanFile(bytes);
  sameBytes(rewrite(file, []), bytes, 'rewrite(file, [])');

  const edits = identityEdits(file);
  assert.ok(edits.length > 0, 'no canonical leaf to replace');
  const out = rewrite(file, edits);
  if (!isDeflated(file)) {
    sameBytes(out, bytes, `rewrite with ${edits.length} identity replacements`, file);
    return;
  }
  // A deflated dataset is deflated anew: compare the meta bytes, and the dataset once inflated.
  sameBytes(out.subarray(0, file.datasetOffset), bytes.subarray(0, file.datasetOffset), 'meta of deflated file');
  const inflated = inflateSync(out.subarray(file.datasetOffset));
  sameBytes(inflated, file.datasetSource.read(0, file.datasetSource.length), 'inflated dataset');
}

describe('corpus: shared inventory', () => {
  const files = inventory();
  test('the inventory lists files', () => assert.ok(files.length > 100, `${files.length} files`));
  for (const f of files) {
    test(f.rel, () => checkRoundTrips(readBytes(f.path)));
  }
});

describe('corpus: pydicom test files', () => {
  const files = pydicomFiles();
  for (const rel of files) {
    const expected = PYDICOM_EXPECTED_FAILURES[rel];
    test(expected ? `${rel} fails: ${expected.code} (${expected.reason})` : rel, () => {
      const bytes = readBytes(path.join(PYDICOM_TEST_FILES, rel));
      if (!expected) {
        checkRoundTrips(bytes);
        return;
      }
      assert.throws(
        () => scanFile(bytes),
        (e: unknown) => isVeilError(e) && e.code === expected.code,
        `expected VeilError ${expected.code}`,
      );
    });
  }

  test('no_meta.dcm is a whole explicit VR dataset behind one stray byte', () => {
    const bytes = readBytes(path.join(PYDICOM_TEST_FILES, 'no_meta.dcm'));
    const file = scanFile(bytes.subarray(1));
    assert.deepEqual(file.findings, []);
    assert.equal(file.dataset.contentEnd, bytes.length - 1);
  });

  test('every expected failure is a file of the folder, and dcmdump cannot read it either', () => {
    const names = Object.keys(PYDICOM_EXPECTED_FAILURES);
    for (const rel of names) assert.ok(files.includes(rel), `${rel} is not in ${PYDICOM_TEST_FILES}`);
    const dumps = dcmdumpAll(names.map((rel) => path.join(PYDICOM_TEST_FILES, rel)));
    for (const [file, dump] of dumps) assert.equal(dump, undefined, `dcmdump reads ${file}`);
  });
});

/** The group length value a removal leaves behind, in the snapshot's hex form. */
function shrunkGroupLength(hex: string, by: number, littleEndian: boolean): string {
  const b = Buffer.from(hex, 'hex');
  const v = littleEndian ? b.readUInt32LE(0) : b.readUInt32BE(0);
  const out = Buffer.alloc(4);
  if (littleEndian) out.writeUInt32LE(v - by);
  else out.writeUInt32BE(v - by);
  return out.toString('hex');
}

/** Implicit VRs come from the dictionary and context (Pixel Representation, private creators): compare without them. */
function withoutVRs(snap: readonly SnapElement[]): unknown[] {
  return snap.map(({ vr: _, ...rest }) => ({
    ...rest,
    ...(rest.items ? { items: rest.items.map((i) => ({ ...i, elements: withoutVRs(i.elements) })) } : {}),
  }));
}

function countTags(tags: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of tags) if (!t.startsWith('FFFE,')) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

describe('corpus: remove each top-level element', () => {
  const byRel = new Map(inventory().map((f) => [f.rel, f]));
  const outputs: { file: string; source: string; removed: string }[] = [];

  for (const rel of REMOVAL_SAMPLE) {
    test(rel, () => {
      const f = byRel.get(rel);
      assert.ok(f, `${rel} is not in the inventory`);
      const bytes = readBytes(f.path);
      const file = scanFile(bytes);
      const meta = file.meta ? snapshot(file.meta) : undefined;
      const before = snapshot(file.dataset);
      const le = file.dataset.syntax.littleEndian;
      assert.ok(file.dataset.elements.length > 0, 'an empty dataset');
      file.dataset.elements.forEach((el, i) => {
        const out = rewrite(file, [{ op: 'remove', element: el }]);
        const again = scanFile(out);
        const expected: SnapElement[] = before.filter((_, k) => k !== i);
        // The group's length element, if any, shrinks by the removed element's size.
        const group = el.tag >>> 16;
        const gl = expected.find((s) => s.tag === formatTag((group << 16) >>> 0));
        if (gl?.value && (el.tag & 0xffff) !== 0 && gl.vr === 'UL') {
          gl.value = shrunkGroupLength(gl.value, el.end - el.offset, le);
        }
        const actual = snapshot(again.dataset);
        if (file.dataset.syntax.explicitVR)
          assert.deepStrictEqual(actual, expected, `after removing ${formatTag(el.tag)}`);
        else assert.deepStrictEqual(withoutVRs(actual), withoutVRs(expected), `after removing ${formatTag(el.tag)}`);
        if (meta) assert.deepStrictEqual(again.meta && snapshot(again.meta), meta);
        const name = path.join(tmp, `${path.basename(rel)}-${i}.dcm`);
        writeFileSync(name, out);
        outputs.push({ file: name, source: f.path, removed: formatTag(el.tag).slice(1, -1) });
      });
    });
  }

  test('dcmdump reads every output, without the removed element', () => {
    assert.ok(outputs.length > 100, `${outputs.length} outputs`);
    const sources = [...new Set(outputs.map((o) => o.source))];
    const dumps = dcmdumpAll([...sources, ...outputs.map((o) => o.file)]);
    for (const o of outputs) {
      const original = dumps.get(o.source);
      const dump = dumps.get(o.file);
      assert.ok(original !== undefined, `dcmdump cannot read ${o.source}`);
      assert.ok(dump !== undefined, `dcmdump cannot read ${o.file} (${o.source} without (${o.removed}))`);
      const want = countTags(topLevelTags(original));
      const n = want.get(o.removed) ?? 0;
      assert.ok(n > 0, `dcmdump does not show (${o.removed}) in ${o.source}`);
      if (n === 1) want.delete(o.removed);
      else want.set(o.removed, n - 1);
      assert.deepStrictEqual(countTags(topLevelTags(dump)), want, `${o.file}: (${o.removed}) removed`);
    }
  });
});
