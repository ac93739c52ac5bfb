/**
 * dumpText (dcmdump layout) and toDicomJson (PS3.18 F.2) on real files of the shared corpus, and `veil dump` run on
 * every file under ../shared/data/dicom. The oracle tests (oracle.test.ts) compare both with DCMTK on every file;
 * these pin down the formats themselves.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  base64,
  type DicomFile,
  type DicomJsonObject,
  dumpDataset,
  dumpText,
  findElement,
  scanFile,
  stringifyDicomJson,
  toDicomJson,
  valueBytes,
} from '../src/index.ts';
import { dataDir, inventory, readBytes, repoRoot } from './support/corpus.ts';

const DICOM = path.join(dataDir, 'dicom');
const PYDICOM = path.join(DICOM, 'pydicom-test-files', 'test_files');
const CHARSET = path.join(DICOM, 'fo-dicom', 'Test_Data', 'charset');

function scan(file: string): DicomFile {
  return scanFile(readBytes(file));
}

function lines(file: DicomFile): string[] {
  return dumpText(file).split('\n');
}

describe('dumpText', () => {
  test('prints meta and dataset with dcmdump columns: value padded to 40, "# length, VM keyword"', () => {
    const out = lines(scan(path.join(PYDICOM, 'rtplan.dcm')));
    assert.equal(out[1], '# Dicom-File-Format');
    assert.ok(out.includes('# Dicom-Meta-Information-Header'));
    assert.ok(
      out.includes('(0002,0000) UL 156                                      #   4, 1 FileMetaInformationGroupLength'),
    );
    assert.ok(
      out.includes('(0002,0001) OB 00\\01                                    #   2, 1 FileMetaInformationVersion'),
    );
    assert.ok(out.includes('# Used TransferSyntax: 1.2.840.10008.1.2 (Implicit VR Little Endian)'));
    assert.ok(out.includes('(0008,0050) SH (no value available)                     #   0, 0 AccessionNumber'));
    assert.ok(out.includes('(0010,0010) PN [Last^First^mid^pre]                     #  18, 1 PatientName'));
  });

  test('nests items two spaces deeper, with explicit-length sequences and items as in the file', () => {
    const out = lines(scan(path.join(PYDICOM, 'rtplan.dcm')));
    const i = out.indexOf('(300a,0010) SQ (Sequence with explicit length #=2)      # 324, 1 DoseReferenceSequence');
    assert.ok(i > 0);
    assert.equal(out[i + 1], '  (fffe,e000) na (Item with explicit length #=7)          # 170, 1 Item');
    assert.equal(
      out[i + 2],
      '    (300a,0012) IS [1]                                      #   2, 1 DoseReferenceNumber',
    );
    assert.equal(
      out[i + 5],
      '    (300a,0018) DS [239.531250000000\\239.531250000000\\-741.87000000000] #  50, 3 DoseReferencePointCoordinates',
    );
    // dcmdump invents delimitation items "for re-encoding" after defined-length ones; the file has none.
    assert.ok(!out.some((l) => l.includes('re-encod') || l.includes('(fffe,e00d)') || l.includes('(fffe,e0dd)')));
  });

  test('undefined-length sequences and items end with the delimitation items the file has', () => {
    const out = lines(scan(path.join(PYDICOM, 'nested_priv_SQ.dcm')));
    const i = out.indexOf('(0001,0001) SQ (Sequence with undefined length #=1)     # u/l, 1 Unknown Tag & Data');
    assert.ok(i > 0, 'an implicit VR element of undefined length is shown as SQ');
    assert.deepEqual(out.slice(i + 1, i + 10), [
      '  (fffe,e000) na (Item with undefined length #=2)         # u/l, 1 Item',
      '    (0001,0001) SQ (Sequence with undefined length #=1)     # u/l, 1 Unknown Tag & Data',
      '      (fffe,e000) na (Item with undefined length #=1)         # u/l, 1 Item',
      '        (0001,0001) UN 44\\6f\\75\\62\\6c\\65\\20\\4e\\65\\73\\74\\65\\64\\20\\53\\51 #  16, 1 Unknown Tag & Data',
      '      (fffe,e00d) na (ItemDelimitationItem)                   #   0, 0 ItemDelimitationItem',
      '    (fffe,e0dd) na (SequenceDelimitationItem)               #   0, 0 SequenceDelimitationItem',
      '    (0001,0002) UN 4e\\65\\73\\74\\65\\64\\20\\53\\51               #   9, 1 Unknown Tag & Data',
      '  (fffe,e00d) na (ItemDelimitationItem)                   #   0, 0 ItemDelimitationItem',
      '(fffe,e0dd) na (SequenceDelimitationItem)               #   0, 0 SequenceDelimitationItem',
    ]);
  });

  test('encapsulated Pixel Data: a pixel sequence, one "pi" line per item, long values cut as dcmdump cuts them', () => {
    const out = lines(scan(path.join(PYDICOM, 'SC_rgb_rle_2frame.dcm')));
    const i = out.indexOf('(7fe0,0010) OB (PixelSequence #=3)                      # u/l, 1 PixelData');
    assert.ok(i > 0);
    assert.deepEqual(out.slice(i + 1, i + 5), [
      '  (fffe,e000) pi 00\\00\\00\\00\\a0\\02\\00\\00                  #   8, 1 Item',
      '  (fffe,e000) pi 03\\00\\00\\00\\40\\00\\00\\00\\08\\01\\00\\00\\d0\\01\\00\\00\\00\\00\\00\\00\\00\\00... # 664, 1 Item',
      '  (fffe,e000) pi 03\\00\\00\\00\\40\\00\\00\\00\\08\\01\\00\\00\\d0\\01\\00\\00\\00\\00\\00\\00\\00\\00... # 664, 1 Item',
      '(fffe,e0dd) na (SequenceDelimitationItem)               #   0, 0 SequenceDelimitationItem',
    ]);
  });

  test('numbers, AT and OW as dcmdump prints them; maxValueLength: Infinity prints everything', () => {
    const file = scan(path.join(PYDICOM, 'rtdose.dcm'));
    const out = lines(file);
    assert.ok(out.includes('(0028,0009) AT (3004,000c)                              #   4, 1 FrameIncrementPointer'));
    assert.ok(out.includes('(0028,0010) US 10                                       #   2, 1 Rows'));
    assert.ok(
      out.includes(
        '(3004,000c) DS [0.0\\5.00000000000000\\10.0000000000000\\15.0000000000000\\20.00000000... # 242,15 GridFrameOffsetVector',
      ),
    );
    assert.ok(
      out.includes(
        '(7fe0,0010) OW 0ee8\\0013\\0ee8\\0013\\12d0\\0013\\12d0\\0013\\0718\\0013\\fb60\\0012\\1aa0... # 6000, 1 PixelData',
      ),
    );
    const full = dumpText(file, { maxValueLength: Number.POSITIVE_INFINITY }).split('\n');
    const pixels = full.find((l) => l.startsWith('(7fe0,0010)'))!;
    assert.equal(pixels.split('\\').length, 3000, 'all 3000 words');
    assert.ok(!pixels.includes('...'));
  });

  test('dumpDataset: the dataset lines alone', () => {
    const file = scan(path.join(PYDICOM, 'rtplan.dcm'));
    const whole = dumpText(file);
    const dataset = dumpDataset(file.dataset);
    assert.ok(whole.endsWith(dataset));
    assert.ok(dataset.startsWith('(0008,0012) DA [20030903]'));
  });

  test('text is decoded with the character set in force, at every depth', () => {
    const out = dumpText(scan(path.join(CHARSET, 'chrSQEncoding.dcm')));
    assert.ok(out.includes('    (0010,0010) PN [ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう]'));
  });

  test('a 500 KB file dumps in well under 20 ms (values are read only as far as they are shown)', () => {
    const file = inventory().find((f) => f.size > 450_000 && f.size < 600_000)!;
    const bytes = readBytes(file.path);
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      dumpText(scanFile(bytes));
      best = Math.min(best, performance.now() - t);
    }
    assert.ok(best < 20, `${file.rel} (${file.size} bytes): ${best.toFixed(1)} ms`);
  });
});

describe('toDicomJson', () => {
  const json = (file: string, options = {}): DicomJsonObject => toDicomJson(scan(file).dataset, options);

  test('PN groups: Alphabetic, Ideographic, Phonetic (ISO 2022 IR 87, PS3.5 H.3.1)', () => {
    const j = json(path.join(CHARSET, 'chrH31.dcm'));
    assert.deepEqual(j['00100010'], {
      vr: 'PN',
      Value: [{ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }],
    });
    // "^^^^" is an empty name (PS3.5 6.2.1): no Value.
    assert.deepEqual(j['00080090'], { vr: 'PN' });
    // An empty value among several is null.
    assert.deepEqual(j['00080005'], { vr: 'CS', Value: [null, 'ISO 2022 IR 87'] });
  });

  test("PN in an item decoded with the item's own character set (ISO 2022 IR 13 and 87)", () => {
    const seq = json(path.join(CHARSET, 'chrSQEncoding.dcm'))['00321064']!;
    assert.equal(seq.vr, 'SQ');
    const item = seq.Value![0] as DicomJsonObject;
    assert.deepEqual(item['00100010'], {
      vr: 'PN',
      Value: [{ Alphabetic: 'ﾔﾏﾀﾞ^ﾀﾛｳ', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }],
    });
  });

  test('numbers are numbers (IS, DS, US, FL), AT is "GGGGEEEE", sequences are arrays of objects', () => {
    const plan = json(path.join(PYDICOM, 'rtplan.dcm'));
    const refs = plan['300A0010']!;
    assert.equal(refs.vr, 'SQ');
    assert.equal(refs.Value!.length, 2);
    const first = refs.Value![0] as DicomJsonObject;
    assert.deepEqual(first['300A0012'], { vr: 'IS', Value: [1] });
    assert.deepEqual(first['300A0018'], { vr: 'DS', Value: [239.53125, 239.53125, -741.87] });
    assert.deepEqual(plan['00080050'], { vr: 'SH' }, 'an empty value has no Value');
    const dose = json(path.join(PYDICOM, 'rtdose.dcm'));
    assert.deepEqual(dose['00280009'], { vr: 'AT', Value: ['3004000C'] });
    assert.deepEqual(dose['00280010'], { vr: 'US', Value: [10] });
    assert.deepEqual(dose['3004000E'], { vr: 'DS', Value: [0.000001] });
    assert.ok(!Object.keys(dose).some((k) => k.endsWith('0000')), 'no group lengths');
  });

  test('binary values: InlineBinary up to the threshold, BulkDataURI above it', () => {
    const file = path.join(PYDICOM, 'rtdose.dcm');
    const pixels = findElement(scan(file).dataset, 0x7fe00010)!;
    const inline = json(file)['7FE00010']!;
    assert.deepEqual(inline, { vr: 'OW', InlineBinary: Buffer.from(valueBytes(pixels)).toString('base64') });
    assert.deepEqual(json(file, { bulkDataThreshold: 1024 })['7FE00010'], {
      vr: 'OW',
      BulkDataURI: 'bulkdata/7FE00010',
    });
    const custom = json(file, { bulkDataThreshold: 0, bulkDataUri: () => 'https://example.org/bulk/1' });
    assert.deepEqual(custom['7FE00010'], { vr: 'OW', BulkDataURI: 'https://example.org/bulk/1' });
  });

  test('OW from a big endian file is little endian in JSON: the same image gives the same InlineBinary', () => {
    const le = json(path.join(PYDICOM, 'MR_small.dcm'))['7FE00010']!;
    const be = json(path.join(PYDICOM, 'MR_small_bigendian.dcm'))['7FE00010']!;
    assert.equal(be.vr, 'OW');
    assert.equal(be.InlineBinary, le.InlineBinary);
  });

  test('encapsulated Pixel Data is OB; its InlineBinary is the encoded item sequence', () => {
    const file = path.join(PYDICOM, 'SC_rgb_rle_2frame.dcm');
    const el = findElement(scan(file).dataset, 0x7fe00010)!;
    const attr = json(file)['7FE00010']!;
    assert.equal(attr.vr, 'OB');
    const bytes = Buffer.from(attr.InlineBinary!, 'base64');
    assert.equal(bytes.length, el.end - el.valueOffset);
    assert.deepEqual([...bytes.subarray(0, 4)], [0xfe, 0xff, 0x00, 0xe0], 'starts with an item tag');
    assert.deepEqual([...bytes.subarray(-8)], [0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0], 'ends with the delimiter');
  });

  test('base64 matches RFC 4648 for every tail length and for large values', () => {
    for (let n = 0; n < 40; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 151 + n * 7) & 255);
      assert.equal(base64(b), Buffer.from(b).toString('base64'), `length ${n}`);
    }
    const big = Uint8Array.from({ length: 1_000_003 }, (_, i) => (i * 2654435761) >>> 24);
    assert.equal(base64(big), Buffer.from(big).toString('base64'));
    assert.equal(base64(big.subarray(1, 7)), Buffer.from(big.subarray(1, 7)).toString('base64'), 'unaligned view');
  });

  test('stringifyDicomJson writes attributes in tag order and parses back to the same object', () => {
    const j = json(path.join(PYDICOM, 'rtstruct.dcm'));
    const text = stringifyDicomJson(j, 2);
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(j)));
    const keys = [...text.matchAll(/^ {2}"([0-9A-F]{8})"/gm)].map((m) => m[1]!);
    assert.deepEqual(keys, [...keys].sort());
    // JSON.stringify would put the all-digit key "30060020" first.
    assert.ok(keys.indexOf('30060020') > keys.indexOf('00080005'));
    assert.ok(!stringifyDicomJson(j).includes('\n'), 'compact without an indent');
  });
});

// ---------------------------------------------------------------------------------------------------------------

const VEIL = path.join(repoRoot, 'apps', 'veil', 'bin', 'veil.mjs');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function veil(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [VEIL, ...args], { maxBuffer: 1 << 30, cwd: repoRoot }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

describe('veil dump', () => {
  const files = inventory();

  test('dumps every file under the corpus folder in one run (non-DICOM files in folders are skipped)', async () => {
    const r = await veil(['dump', DICOM]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n# Dicom-File-Format\n').length - 1, files.length);
    assert.match(r.stderr, /^veil dump: skipped \d+ files that are not DICOM\n$/);
  });

  test('--json: one JSON line per file, each parses, for every inventory file in one run', async () => {
    const r = await veil(['dump', '--json', ...files.map((f) => f.path)]);
    assert.equal(r.code, 0, r.stderr);
    const docs = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { path: string; dataset: DicomJsonObject });
    assert.deepEqual(
      docs.map((d) => d.path),
      files.map((f) => f.path),
    );
    for (const d of docs) assert.ok(Object.keys(d.dataset).length > 0, d.path);
    // Default threshold: large binary values are placeholders.
    assert.ok(r.stdout.length < 64 * 1024 * 1024);
  });

  test('--json on one file: an indented DICOM JSON object; --meta adds group 0002; --bulk-threshold', async () => {
    const file = path.join(PYDICOM, 'rtdose.dcm');
    const r = await veil(['dump', '--json', '--meta', '--bulk-threshold', '0', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith('{\n  "00020001": {\n    "vr": "OB",'));
    const j = JSON.parse(r.stdout) as DicomJsonObject;
    assert.deepEqual(j['7FE00010'], { vr: 'OW', BulkDataURI: 'bulkdata/7FE00010' });
    assert.deepEqual(j['00020010'], { vr: 'UI', Value: ['1.2.840.10008.1.2'] });
  });

  test('a failing file prints its code and tag path, never a value; the others still dump; exit 1', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'veil-dump-'));
    try {
      // rtplan.dcm cut inside Dose Reference Sequence.
      const plan = readBytes(path.join(PYDICOM, 'rtplan.dcm'));
      const seq = findElement(scanFile(plan).dataset, 0x300a0010)!;
      const truncated = path.join(dir, 'truncated.dcm');
      writeFileSync(truncated, plan.subarray(0, seq.valueOffset + 40));
      const missing = path.join(dir, 'missing.dcm');
      const text = path.join(DICOM, 'pydicom-test-files', 'README.txt');
      const r = await veil(['dump', missing, truncated, text, path.join(PYDICOM, 'CT_small.dcm')]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        [
          `veil dump: ${missing}: ENOENT`,
          `veil dump: ${truncated}: DICOM_TRUNCATED_ELEMENT at (300A,0010)`,
          `veil dump: ${text}: DICOM_NOT_DICOM`,
          '',
        ].join('\n'),
      );
      assert.match(r.stdout, /\(0010,0010\) PN \[CompressedSamples\^CT1\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a usage error exits 2', async () => {
    const r = await veil(['dump', '--bulk-threshold', 'lots', path.join(PYDICOM, 'CT_small.dcm')]);
    assert.equal(r.code, 2);
  });
});
