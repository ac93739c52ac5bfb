/**
 * The encapsulated Pixel Data edit: real encapsulated files from ../shared/data (with and without a Basic Offset
 * Table, one and several fragments per frame) written back with their own fragments come out byte-identical; new
 * fragments of other sizes give a file whose items, offset tables and every other element are right (rescanned and
 * read by dcmdump); an Extended Offset Table is rewritten, or removed when a frame has several fragments.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  type DicomElement,
  type DicomFile,
  encapsulatedPixelEdits,
  findElement,
  readNumbers,
  rewrite,
  scanFile,
  walkElements,
} from '../src/index.ts';
import { dataDir, readBytes } from './support/corpus.ts';

const PIXEL_DATA = 0x7fe00010;
const FILES = [
  'dicom/dicomParser/testImages/encapsulated/multi-frame/CT0012.not_fragmented_bot_jpeg_ls.80.dcm',
  'dicom/dicomParser/testImages/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_ls.80.dcm',
  'dicom/dicomParser/testImages/encapsulated/single-frame/CT1_UNC.fragmented_bot_jpeg_ls.80.dcm',
  'dicom/pydicom-test-files/test_files/SC_rgb_rle_2frame.dcm',
];

const tmp = mkdtempSync(path.join(tmpdir(), 'veil-encap-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function load(rel: string): DicomFile {
  return scanFile(readBytes(path.join(dataDir, rel)));
}

/** Each frame's fragment values, grouped by the Basic Offset Table (or one frame of all fragments). */
function framesOf(file: DicomFile): Uint8Array[][] {
  const el = findElement(file.dataset, PIXEL_DATA)!;
  const frags = el.fragments!;
  const read = (i: number) => file.source.read(frags[i]!.valueOffset, frags[i]!.valueOffset + frags[i]!.length);
  const bot = frags[0]!;
  const starts: number[] = [];
  if (bot.length > 0) {
    const raw = read(0);
    for (let i = 0; i < raw.length; i += 4) starts.push(new DataView(raw.buffer, raw.byteOffset).getUint32(i, true));
  } else starts.push(0);
  const first = frags[1]!.offset;
  const frames: Uint8Array[][] = starts.map(() => []);
  for (let k = 1; k < frags.length; k++) {
    let f = 0;
    while (f + 1 < starts.length && frags[k]!.offset - first >= starts[f + 1]!) f++;
    frames[f]!.push(read(k).slice());
  }
  return frames;
}

function fragmentValues(file: DicomFile): Uint8Array[] {
  const el = findElement(file.dataset, PIXEL_DATA)!;
  return el.fragments!.map((f) => file.source.read(f.valueOffset, f.valueOffset + f.length).slice());
}

function dcmdumpOk(bytes: Uint8Array, name: string): boolean {
  const p = path.join(tmp, name);
  writeFileSync(p, bytes);
  const r = spawnSync('dcmdump', ['-q', p], { encoding: 'utf8' });
  return r.status === 0 && !/E: /.test(r.stderr);
}

describe('encapsulated Pixel Data edits', () => {
  for (const rel of FILES) {
    test(`own fragments back: byte-identical (${path.basename(rel)})`, () => {
      const file = load(rel);
      const el = findElement(file.dataset, PIXEL_DATA)!;
      const out = rewrite(file, encapsulatedPixelEdits(file.dataset, el, framesOf(file)));
      const input = file.source.read(0, file.source.length);
      assert.equal(out.length, input.length);
      assert.ok(
        out.every((b, i) => b === input[i]),
        'bytes differ',
      );
    });
  }

  test('new fragments: items, Basic Offset Table and every other element right; dcmdump reads it', () => {
    const file = load(FILES[0]!);
    const el = findElement(file.dataset, PIXEL_DATA)!;
    const frames = framesOf(file);
    // Frame 0 replaced by an odd-length value (padded), frame 1 split in two fragments (first even).
    const a = Uint8Array.from({ length: 1001 }, (_, i) => i & 0xff);
    const b1 = frames[1]![0]!.subarray(0, 100);
    const b2 = frames[1]![0]!.subarray(100);
    const out = scanFile(rewrite(file, encapsulatedPixelEdits(file.dataset, el, [[a], [b1, b2]])));
    const values = fragmentValues(out);
    assert.equal(values.length, 4);
    const bot = values[0]!;
    const dv = new DataView(bot.buffer, bot.byteOffset, bot.byteLength);
    assert.deepEqual([dv.getUint32(0, true), dv.getUint32(4, true)], [0, 8 + 1002]);
    assert.equal(values[1]!.length, 1002);
    assert.deepEqual(values[1]!.subarray(0, 1001), a);
    assert.equal(values[1]![1001], 0);
    assert.deepEqual(values[2], b1);
    assert.deepEqual(values[3], b2.length % 2 ? Uint8Array.of(...b2, 0) : b2);
    // Everything before Pixel Data identical, element by element.
    const all = (f: DicomFile) => {
      const list: DicomElement[] = [];
      walkElements(f.dataset, (e) => {
        if (e.tag !== PIXEL_DATA) list.push(e);
      });
      return list;
    };
    const before = all(file);
    const after = all(out);
    assert.equal(after.length, before.length);
    before.forEach((e, i) => {
      const o = after[i]!;
      assert.equal(o.tag, e.tag);
      assert.deepEqual(
        out.source.read(o.valueOffset, o.valueOffset + o.length),
        file.source.read(e.valueOffset, e.valueOffset + e.length),
      );
    });
    assert.ok(dcmdumpOk(out.source.read(0, out.source.length), 'new.dcm'));
  });

  test('odd fragment inside a frame is refused; no frames is refused', () => {
    const file = load(FILES[0]!);
    const el = findElement(file.dataset, PIXEL_DATA)!;
    assert.throws(() => encapsulatedPixelEdits(file.dataset, el, [[new Uint8Array(3), new Uint8Array(2)]]), {
      code: 'DICOM_BAD_EDIT',
    });
    assert.throws(() => encapsulatedPixelEdits(file.dataset, el, []), { code: 'DICOM_BAD_EDIT' });
  });

  test('Extended Offset Table: rewritten with one fragment per frame, removed with several', () => {
    const base = load(FILES[1]!);
    // Give the file an Extended Offset Table (values are rewritten below) and an empty Basic Offset Table.
    const withEot = scanFile(
      rewrite(base, [
        { op: 'insert', container: base.dataset, tag: 0x7fe00001, vr: 'OV', value: new Uint8Array(16) },
        { op: 'insert', container: base.dataset, tag: 0x7fe00002, vr: 'OV', value: new Uint8Array(16) },
      ]),
    );
    const el = findElement(withEot.dataset, PIXEL_DATA)!;
    const f0 = new Uint8Array(10).fill(1);
    const f1 = new Uint8Array(20).fill(2);
    const one = scanFile(rewrite(withEot, encapsulatedPixelEdits(withEot.dataset, el, [[f0], [f1]])));
    const eot = findElement(one.dataset, 0x7fe00001)!;
    const eotl = findElement(one.dataset, 0x7fe00002)!;
    assert.deepEqual(readNumbers(eot).map(Number), [0, 18]);
    assert.deepEqual(readNumbers(eotl).map(Number), [10, 20]);
    assert.equal(fragmentValues(one)[0]!.length, 0, 'no Basic Offset Table beside an extended one');
    assert.ok(dcmdumpOk(one.source.read(0, one.source.length), 'eot.dcm'));
    const two = scanFile(rewrite(withEot, encapsulatedPixelEdits(withEot.dataset, el, [[f0, f0], [f1]])));
    assert.equal(findElement(two.dataset, 0x7fe00001), undefined);
    assert.equal(findElement(two.dataset, 0x7fe00002), undefined);
  });
});
