/**
 * The de-identification engine on small synthetic files whose every attribute is known: the Basic Profile, each
 * option, overrides, private tag policies, nested sequences, overlays and curves, the file meta, the attributes Veil
 * adds, quarantine, determinism, and that no record carries a value.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  concat,
  type DeidConfig,
  type DeidResult,
  type DicomFile,
  deidentify,
  type ElementContainer,
  EXPLICIT_LE,
  encodeElement,
  encodeItems,
  findElement,
  IMPLICIT_LE,
  lookupTag,
  materialize,
  parseDeidConfig,
  planDeidentified,
  readString,
  remapUID,
  type Syntax,
  scanFile,
  VEIL_IMPLEMENTATION_CLASS_UID,
  valueBytes,
  walkElements,
  writeDeidentified,
} from '../src/index.ts';

// -------------------------------------------------------------------------------------------------------------------
// A tiny file builder

interface E {
  readonly tag: number;
  readonly vr: string;
  readonly value: string | Uint8Array | E[][];
}

const e = (tag: number, vr: string, value: string | Uint8Array | E[][]): E => ({ tag, vr, value });
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const u16 = (n: number, le = true) => {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, n, le);
  return b;
};

function encode(elements: readonly E[], syntax: Syntax): Uint8Array {
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  return concat(
    sorted.map((x) => {
      if (Array.isArray(x.value)) {
        return encodeElement(
          x.tag,
          'SQ',
          encodeItems(
            x.value.map((item) => [encode(item, syntax)]),
            syntax,
          ),
          syntax,
        );
      }
      const v = typeof x.value === 'string' ? latin1(x.value) : x.value;
      return encodeElement(x.tag, x.vr, v, syntax);
    }),
  );
}

const BIG_ENDIAN: Syntax = Object.freeze({ explicitVR: true, littleEndian: false });

function part10(dataset: readonly E[], opts: { ts?: string; sop?: string } = {}): Uint8Array {
  const ts = opts.ts ?? '1.2.840.10008.1.2.1';
  const syntax = ts === '1.2.840.10008.1.2' ? IMPLICIT_LE : ts === '1.2.840.10008.1.2.2' ? BIG_ENDIAN : EXPLICIT_LE;
  const meta = encode(
    [
      e(0x00020001, 'OB', new Uint8Array([0, 1])),
      e(0x00020002, 'UI', '1.2.840.10008.5.1.4.1.1.2'),
      e(0x00020003, 'UI', opts.sop ?? SOP),
      e(0x00020010, 'UI', ts),
      e(0x00020012, 'UI', '1.2.826.0.1.3680043.99.1'),
      e(0x00020013, 'SH', 'MODALITY_9'),
      e(0x00020016, 'AE', 'CT_GENERAL_HOSP'),
    ],
    EXPLICIT_LE,
  );
  const gl = new Uint8Array(4);
  new DataView(gl.buffer).setUint32(0, meta.length, true);
  const preamble = new Uint8Array(132).fill(0x41); // a preamble with content: it must be cleared
  preamble.set(latin1('DICM'), 128);
  return concat([preamble, encodeElement(0x00020000, 'UL', gl, EXPLICIT_LE), meta, encode(dataset, syntax)]);
}

// -------------------------------------------------------------------------------------------------------------------
// The sample

const SOP = '1.2.826.0.1.3680043.99.100.1';
const REF_SOP = '1.2.826.0.1.3680043.99.100.2';
const STUDY = '1.2.826.0.1.3680043.99.100';
const SERIES = '1.2.826.0.1.3680043.99.100.5';
const FOR = '1.2.826.0.1.3680043.99.100.9';
const CT = '1.2.840.10008.5.1.4.1.1.2';

/** Values that identify the patient and must not survive (with default options). */
const PHI = ['Smith', 'John', 'MRN0001', 'ACC12345', '19500310', 'General Hospital', 'Who^Doctor', '555-123-4567'];

function sample(extra: E[] = []): E[] {
  const base: E[] = [
    e(0x00080005, 'CS', 'ISO_IR 100'),
    e(0x00080016, 'UI', CT),
    e(0x00080018, 'UI', SOP),
    e(0x00080020, 'DA', '20200115'),
    e(0x00080021, 'DA', '20200115'),
    e(0x00080030, 'TM', '101500'),
    e(0x00080050, 'SH', 'ACC12345'),
    e(0x00080080, 'LO', 'General Hospital'),
    e(0x00080090, 'PN', 'Who^Doctor'),
    e(0x00081010, 'SH', 'CTSTATION7'),
    e(0x00081030, 'LO', 'CT chest for John Smith 555-123-4567'),
    e(0x0008103e, 'LO', 'AXIAL 5mm'),
    e(0x00081140, 'SQ', [[e(0x00081150, 'UI', CT), e(0x00081155, 'UI', REF_SOP)]]),
    e(0x00090010, 'LO', 'ACME'),
    e(0x00091001, 'LO', 'secret'),
    e(0x00100010, 'PN', 'Smith^John'),
    e(0x00100020, 'LO', 'MRN0001'),
    e(0x00100030, 'DA', '19500310'),
    e(0x00100040, 'CS', 'M'),
    e(0x00101000, 'LO', 'OTHER77'),
    e(0x00101010, 'AS', '093Y'),
    e(0x00101030, 'DS', '80'),
    e(0x00181000, 'LO', 'SN-42'),
    e(0x00190010, 'LO', 'GEMS_ACQU_01'),
    e(0x00191023, 'DS', '39.37'),
    e(0x00191099, 'LO', 'not safe'),
    e(0x0020000d, 'UI', STUDY),
    e(0x0020000e, 'UI', SERIES),
    e(0x00200052, 'UI', FOR),
    e(0x0040a730, 'SQ', [
      [e(0x0040a010, 'CS', 'HAS OBS CONTEXT'), e(0x0040a040, 'CS', 'PNAME'), e(0x0040a123, 'PN', 'Who^Doctor')],
      [e(0x0040a040, 'CS', 'TEXT'), e(0x0040a160, 'UT', 'Seen by Dr Who on 01/15/2020 for John Smith')],
    ]),
    e(0x00880200, 'SQ', [[e(0x00280004, 'CS', 'MONOCHROME2'), e(0x7fe00010, 'OB', new Uint8Array(4))]]),
    e(0x50000005, 'US', u16(2)),
    e(0x60000010, 'US', u16(2)),
    e(0x60003000, 'OW', new Uint8Array([1, 2, 3, 4])),
    e(0x60004000, 'LT', 'overlay of John Smith'),
    e(0x7fe00010, 'OW', new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2])),
  ];
  return [...base, ...extra];
}

const KEY = new Uint8Array(32).map((_, i) => i + 1);
const OTHER_KEY = new Uint8Array(32).map((_, i) => 255 - i);

interface Out {
  readonly result: DeidResult;
  readonly bytes: Uint8Array;
  readonly file: DicomFile;
  readonly input: DicomFile;
}

function run(config: unknown = {}, dataset: E[] = sample(), opts: { ts?: string; key?: Uint8Array } = {}): Out {
  const input = scanFile(part10(dataset, opts.ts === undefined ? {} : { ts: opts.ts }));
  const cfg: DeidConfig = parseDeidConfig(config);
  const result = deidentify(input, cfg, { key: opts.key ?? KEY });
  const bytes = writeDeidentified(input, result);
  return { result, bytes, file: scanFile(bytes), input };
}

function str(c: ElementContainer | undefined, tag: number): string | undefined {
  if (!c) return undefined;
  const el = findElement(c, tag);
  return el ? readString(el) : undefined;
}

function item(c: ElementContainer, tag: number, index = 0): ElementContainer | undefined {
  return findElement(c, tag)?.items?.[index];
}

function latin1Text(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

// -------------------------------------------------------------------------------------------------------------------

describe('Basic Profile, no options', () => {
  const out = run();
  const ds = out.file.dataset;

  test('no identifying value survives anywhere in the output bytes', () => {
    const text = latin1Text(out.bytes);
    for (const v of PHI) assert.ok(!text.includes(v), `${v} is still in the output`);
    for (const uid of [SOP, REF_SOP, STUDY, SERIES, FOR]) assert.ok(!text.includes(uid), `${uid} survived`);
  });

  test("Patient's Name and Patient ID are the keyed pseudonym, Birth Date and Sex are empty", () => {
    const id = str(ds, 0x00100020)!;
    assert.match(id, /^P[0-9A-Z]{15}$/);
    assert.equal(str(ds, 0x00100010), id);
    assert.equal(out.result.identity.pseudoPatientId, id);
    assert.equal(out.result.identity.patientId, 'MRN0001');
    assert.equal(str(ds, 0x00100030), '');
    assert.equal(str(ds, 0x00100040), '');
    assert.equal(findElement(ds, 0x00101000), undefined, 'Other Patient IDs removed');
    assert.equal(findElement(ds, 0x00101010), undefined, "Patient's Age removed");
    assert.equal(findElement(ds, 0x00101030), undefined, "Patient's Weight removed");
  });

  test('accession number pseudonym, study date and time emptied, series date dummied (X/D -> D)', () => {
    assert.match(str(ds, 0x00080050)!, /^A[0-9A-Z]{15}$/);
    assert.equal(out.result.identity.pseudoAccession, str(ds, 0x00080050));
    assert.equal(str(ds, 0x00080020), '');
    assert.equal(str(ds, 0x00080030), '');
    assert.equal(str(ds, 0x00080021), '19000101');
  });

  test('compound actions: X/Z/D -> D (Institution Name, Station Name), Z (Referring Physician), X (Study Description)', () => {
    assert.equal(str(ds, 0x00080080), 'ANONYMIZED');
    assert.equal(str(ds, 0x00081010), 'ANONYMIZED');
    assert.equal(str(ds, 0x00080090), '');
    assert.equal(findElement(ds, 0x00081030), undefined);
    assert.equal(findElement(ds, 0x0008103e), undefined, 'Series Description is X in the Basic Profile');
    assert.equal(str(ds, 0x00181000), 'ANONYMIZED', 'Device Serial Number X/Z/D -> D');
  });

  test('UIDs are remapped consistently, references included, and the file meta follows', () => {
    const sop = str(ds, 0x00080018)!;
    assert.equal(sop, remapUID(SOP, KEY));
    assert.match(sop, /^2\.25\.\d+$/);
    assert.equal(str(out.file.meta, 0x00020003), sop);
    assert.equal(str(ds, 0x0020000d), remapUID(STUDY, KEY));
    assert.equal(out.result.identity.pseudoStudyUID, remapUID(STUDY, KEY));
    assert.equal(str(ds, 0x00200052), remapUID(FOR, KEY));
    const ref = item(ds, 0x00081140)!;
    assert.equal(str(ref, 0x00081155), remapUID(REF_SOP, KEY));
    assert.equal(str(ref, 0x00081150), CT, 'class UIDs never change');
    assert.equal(str(ds, 0x00080016), CT);
  });

  test('file meta describes Veil; source AE title removed; preamble cleared', () => {
    assert.equal(str(out.file.meta, 0x00020012), VEIL_IMPLEMENTATION_CLASS_UID);
    assert.equal(str(out.file.meta, 0x00020013), 'VEIL_0_1');
    assert.equal(findElement(out.file.meta!, 0x00020016), undefined);
    assert.ok(out.bytes.subarray(0, 128).every((b) => b === 0));
  });

  test('private attributes and their creators are removed', () => {
    walkElements(ds, (el) => {
      assert.equal((el.tag >>> 16) % 2, 0, `private ${el.tag.toString(16)} survived`);
    });
  });

  test('sequences: Content Sequence (D) keeps its tree with text dummies; Icon Image Sequence removed', () => {
    const first = item(ds, 0x0040a730, 0)!;
    assert.equal(str(first, 0x0040a040), 'PNAME', 'CS kept');
    assert.equal(str(first, 0x0040a123), 'ANONYMIZED', 'Person Name (D) dummy');
    const second = item(ds, 0x0040a730, 1)!;
    assert.equal(str(second, 0x0040a160), 'ANONYMIZED', 'Text Value dummied inside a D sequence');
    assert.equal(findElement(ds, 0x00880200), undefined);
  });

  test('overlays and curves: Overlay Data X removes the whole overlay group; curve group removed', () => {
    walkElements(ds, (el) => {
      const g = el.tag >>> 16;
      assert.ok((g & 0xff00) !== 0x6000 && (g & 0xff00) !== 0x5000, `(${g.toString(16)},...) survived`);
    });
  });

  test('pixel data bytes are identical', () => {
    const a = findElement(out.input.dataset, 0x7fe00010)!;
    const b = findElement(ds, 0x7fe00010)!;
    assert.deepEqual(valueBytes(b), valueBytes(a));
  });

  test('Patient Identity Removed, method text and codes, Longitudinal Temporal Information Modified', () => {
    assert.equal(str(ds, 0x00120062), 'YES');
    assert.match(str(ds, 0x00120063)!, /^Veil; PS3\.15-2024b Basic Profile/);
    const codes = findElement(ds, 0x00120064)!.items!.map((i) => [str(i, 0x00080100), str(i, 0x00080102)]);
    assert.deepEqual(codes, [['113100', 'DCM']]);
    assert.equal(str(ds, 0x00280303), 'REMOVED');
    assert.equal(out.result.quarantine, undefined);
    assert.equal(out.result.dateShiftDays, undefined);
  });

  test('records name attributes and rules, never values', () => {
    assert.ok(out.result.actions.length > 20);
    const text = JSON.stringify(out.result.actions);
    for (const v of [...PHI, SOP, STUDY]) assert.ok(!text.includes(v), `${v} in an action record`);
    const rec = (kw: string) => out.result.actions.find((a) => a.keyword === kw);
    assert.deepEqual(rec('StudyDescription'), {
      tagPath: '(0008,1030)',
      keyword: 'StudyDescription',
      action: 'X',
      rule: 'basic',
    });
    assert.equal(rec('PatientName')?.rule, 'pseudonym');
    assert.equal(rec('SOPInstanceUID')?.action, 'U');
    assert.ok(out.result.actions.some((a) => a.tagPath === '(0040,A730)[0](0040,A123)' && a.action === 'D'));
  });
});

describe('options flip the attributes Table E.1-1 says', () => {
  test('Retain UIDs keeps every UID, the meta included', () => {
    const { file, result } = run({ options: { retainUIDs: true } });
    assert.equal(str(file.dataset, 0x00080018), SOP);
    assert.equal(str(file.dataset, 0x0020000d), STUDY);
    assert.equal(str(file.meta, 0x00020003), SOP);
    assert.equal(str(item(file.dataset, 0x00081140)!, 0x00081155), REF_SOP);
    assert.ok(result.actions.some((a) => a.keyword === 'StudyInstanceUID' && a.rule === 'option:retainUIDs'));
    assert.deepEqual(
      findElement(file.dataset, 0x00120064)!.items!.map((i) => str(i, 0x00080100)),
      ['113100', '113110'],
    );
  });

  test('Retain Patient Characteristics keeps sex, weight and age (ages over 89 become 090Y)', () => {
    const { file } = run({ options: { retainPatientCharacteristics: true } });
    assert.equal(str(file.dataset, 0x00100040), 'M');
    assert.equal(str(file.dataset, 0x00101030), '80');
    assert.equal(str(file.dataset, 0x00101010), '090Y');
    assert.equal(str(file.dataset, 0x00100030), '', 'birth date is not a characteristic');
  });

  test('Retain Device Identity keeps station name and device serial number', () => {
    const { file } = run({ options: { retainDeviceIdentity: true } });
    assert.equal(str(file.dataset, 0x00081010), 'CTSTATION7');
    assert.equal(str(file.dataset, 0x00181000), 'SN-42');
  });

  test('Retain Institution Identity keeps the institution name', () => {
    const { file } = run({ options: { retainInstitutionIdentity: true } });
    assert.equal(str(file.dataset, 0x00080080), 'General Hospital');
  });

  test('Retain Longitudinal Full Dates keeps dates and says UNMODIFIED', () => {
    const { file } = run({ options: { retainLongitudinalFullDates: true } });
    assert.equal(str(file.dataset, 0x00080020), '20200115');
    assert.equal(str(file.dataset, 0x00080030), '101500');
    assert.equal(str(file.dataset, 0x00280303), 'UNMODIFIED');
  });

  test('Retain Longitudinal Modified Dates shifts dates by the patient offset, keeps times, says MODIFIED', () => {
    const { file, result } = run({ options: { retainLongitudinalModifiedDates: true } });
    const shifted = str(file.dataset, 0x00080020)!;
    assert.match(shifted, /^\d{8}$/);
    assert.notEqual(shifted, '20200115');
    assert.equal(str(file.dataset, 0x00080021), shifted, 'series date shifted by the same offset');
    assert.equal(str(file.dataset, 0x00080030), '101500');
    assert.equal(str(file.dataset, 0x00280303), 'MODIFIED');
    assert.ok(result.dateShiftDays !== undefined && result.dateShiftDays !== 0);
    assert.ok(Math.abs(result.dateShiftDays) <= 365);
    const days = (d: string) => Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8)) / 86400000;
    assert.equal(days(shifted) - days('20200115'), result.dateShiftDays);
  });

  test("modified dates with mode 'year' keep only the year", () => {
    const { file } = run({ options: { retainLongitudinalModifiedDates: true }, dates: { mode: 'year' } });
    assert.equal(str(file.dataset, 0x00080020), '20200101');
  });

  test('Clean Descriptors keeps descriptions with the identifying parts redacted', () => {
    const { file } = run({ options: { cleanDescriptors: true } });
    assert.equal(str(file.dataset, 0x00081030), 'CT chest for [REDACTED] [REDACTED]');
    assert.equal(str(file.dataset, 0x0008103e), 'AXIAL 5mm');
  });

  test('Clean Structured Content keeps the content tree and cleans its text', () => {
    const { file } = run({ options: { cleanStructuredContent: true } });
    const second = item(file.dataset, 0x0040a730, 1)!;
    assert.equal(str(second, 0x0040a160), 'Seen by Dr [REDACTED] on [REDACTED] for [REDACTED]');
    assert.equal(str(item(file.dataset, 0x0040a730, 0)!, 0x0040a123), 'ANONYMIZED', 'Person Name stays D');
  });

  test('Clean Graphics cleans overlays by removing them (no stage reads a bitmap for text): never kept as cleaned', () => {
    const { file, result } = run({ options: { cleanGraphics: true } });
    assert.equal(findElement(file.dataset, 0x60003000), undefined, 'Overlay Data removed');
    assert.equal(findElement(file.dataset, 0x60000010), undefined, 'the whole overlay group goes with it');
    assert.equal(findElement(file.dataset, 0x60004000), undefined);
    assert.ok(result.actions.some((a) => a.tagPath === '(6000,3000)' && a.action === 'X'));
    assert.ok(!result.actions.some((a) => a.tagPath.startsWith('(6000,') && a.action === 'C'));
  });

  test('Retain Safe Private keeps Table E.3.10-1 elements and their creator, removes the rest', () => {
    const { file, result } = run({ options: { retainSafePrivate: true } });
    assert.equal(str(file.dataset, 0x00190010), 'GEMS_ACQU_01');
    assert.equal(str(file.dataset, 0x00191023), '39.37');
    assert.equal(findElement(file.dataset, 0x00191099), undefined);
    assert.equal(findElement(file.dataset, 0x00090010), undefined, 'a creator with nothing kept goes');
    assert.equal(findElement(file.dataset, 0x00091001), undefined);
    assert.ok(result.actions.some((a) => a.tagPath === '(0019,1023)' && a.action === 'K'));
  });
});

describe('private tag policies', () => {
  test("'tcia' keeps what TCIA's knowledge base keeps and hashes what it hashes", () => {
    const extra: E[] = [
      e(0x00130010, 'LO', 'CTP'),
      e(0x00131010, 'LO', 'Pseudo-PHI-DICOM-Data'),
      e(0x37110010, 'LO', 'A.L.I. Technologies, Inc.'),
      e(0x3711100c, 'UI', '1.2.3.4.5.6'),
    ];
    const { file } = run({ privateTags: 'tcia' }, sample(extra));
    assert.equal(str(file.dataset, 0x00131010), 'Pseudo-PHI-DICOM-Data');
    assert.equal(str(file.dataset, 0x3711100c), remapUID('1.2.3.4.5.6', KEY));
    assert.equal(str(file.dataset, 0x00191023), '39.37', 'safe private rows are kept too');
    assert.equal(findElement(file.dataset, 0x00091001), undefined);
  });

  test("dates in kept private tags (TCIA 'o') follow the temporal options", () => {
    const ds = sample().filter((x) => x.tag !== 0x00090010 && x.tag !== 0x00091001);
    ds.push(e(0x00090010, 'LO', 'GEMS_PETD_01'), e(0x0009100d, 'DT', '20200115101500'));
    const basic = run({ privateTags: 'tcia' }, ds);
    assert.equal(findElement(basic.file.dataset, 0x0009100d), undefined);
    const full = run({ privateTags: 'tcia', options: { retainLongitudinalFullDates: true } }, ds);
    assert.equal(str(full.file.dataset, 0x0009100d), '20200115101500');
    const modified = run({ privateTags: 'tcia', options: { retainLongitudinalModifiedDates: true } }, ds);
    const shifted = str(modified.file.dataset, 0x0009100d)!;
    assert.match(shifted, /^\d{8}101500$/);
    assert.equal(shifted.slice(0, 8), str(modified.file.dataset, 0x00080020), 'shifted like the study date');
    assert.equal(str(modified.file.dataset, 0x00090010), 'GEMS_PETD_01');
  });

  test('orphan private elements (no creator) are removed even when safe-listed', () => {
    const ds = sample().filter((x) => x.tag !== 0x00190010);
    const { file } = run({ privateTags: 'safe-private' }, ds);
    assert.equal(findElement(file.dataset, 0x00191023), undefined);
  });
});

describe('overrides', () => {
  test('keep, shift, replace, hash, remove, empty', () => {
    const { file } = run({
      overrides: [
        { selector: 'PatientBirthDate', override: { action: 'shift' } },
        { selector: '(0008,0080)', override: { action: 'replace', value: 'Site 7' } },
        { selector: 'StationName', override: { action: 'hash' } },
        { selector: 'Modality', override: { action: 'remove' } },
        { selector: '(0020,000E)', override: { action: 'keep' } },
        { selector: 'PatientSex', override: { action: 'keep' } },
      ],
    });
    const birth = str(file.dataset, 0x00100030)!;
    assert.match(birth, /^\d{8}$/);
    assert.notEqual(birth, '19500310');
    assert.equal(str(file.dataset, 0x00080080), 'Site 7');
    assert.match(str(file.dataset, 0x00081010)!, /^H[0-9A-Z]{15}$/);
    assert.equal(str(file.dataset, 0x0020000e), SERIES);
    assert.equal(str(file.dataset, 0x00100040), 'M');
  });

  test('shifted birth date and shifted study date keep their interval', () => {
    const { file } = run({
      options: { retainLongitudinalModifiedDates: true },
      overrides: [{ selector: 'PatientBirthDate', override: { action: 'shift' } }],
    });
    const days = (d: string) => Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8)) / 86400000;
    const interval = days(str(file.dataset, 0x00080020)!) - days(str(file.dataset, 0x00100030)!);
    assert.equal(interval, days('20200115') - days('19500310'));
  });

  test('a path override applies only there; a bare tag at any depth', () => {
    const { file } = run({
      overrides: [
        { selector: '(0040,A730)/(0040,A160)', override: { action: 'replace', value: 'kept text' } },
        { selector: '*.(0040,A040)', override: { action: 'remove' } },
      ],
    });
    assert.equal(str(item(file.dataset, 0x0040a730, 1)!, 0x0040a160), 'kept text');
    assert.equal(findElement(item(file.dataset, 0x0040a730, 0)!, 0x0040a040), undefined);
  });

  test('a private override keeps one private element and its creator', () => {
    const { file } = run({ overrides: [{ selector: '(0009,"ACME",01)', override: { action: 'keep' } }] });
    assert.equal(str(file.dataset, 0x00091001), 'secret');
    assert.equal(str(file.dataset, 0x00090010), 'ACME');
    assert.equal(findElement(file.dataset, 0x00191023), undefined);
  });
});

describe('transfer syntaxes and character sets', () => {
  for (const ts of ['1.2.840.10008.1.2', '1.2.840.10008.1.2.2']) {
    test(`${ts}: same values as explicit little endian`, () => {
      const a = run({}, sample(), { ts });
      const b = run();
      for (const tag of [0x00100010, 0x00100020, 0x00080018, 0x0020000d, 0x00080080, 0x00120062, 0x00280303]) {
        assert.equal(str(a.file.dataset, tag), str(b.file.dataset, tag), lookupTag(tag)?.keyword);
      }
      assert.equal(a.file.dataset.syntax.littleEndian, ts !== '1.2.840.10008.1.2.2');
      assert.equal(findElement(a.file.dataset, 0x00120064)!.items!.length, 1);
    });
  }

  test('ISO 2022 Japanese: pseudonyms are ASCII, cleaned text keeps its characters', () => {
    const jis = (s: string) => latin1(s);
    // Yamada^Tarou=山田^太郎 (PS3.5 H.3.1)
    const name = jis('Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B');
    const ds = sample().map((x) =>
      x.tag === 0x00080005
        ? e(0x00080005, 'CS', '\\ISO 2022 IR 87')
        : x.tag === 0x00100010
          ? e(0x00100010, 'PN', name)
          : x,
    );
    ds.push(e(0x00204000, 'LT', jis('Image of Yamada \x1b$B;3ED\x1b(B')));
    const { file } = run({ options: { cleanDescriptors: true } }, ds);
    assert.match(str(file.dataset, 0x00100010)!, /^P[0-9A-Z]{15}$/);
    assert.equal(str(file.dataset, 0x00204000), 'Image of [REDACTED] [REDACTED]');
  });
});

describe('quarantine', () => {
  test('SOP class not on the allow-list', () => {
    const { result } = run({ sopClassAllowList: ['1.2.840.10008.5.1.4.1.1.4'] });
    assert.deepEqual(result.quarantine, { code: 'SOP_CLASS_NOT_ALLOWED', path: '(0008,0016)' });
    assert.ok(result.edits.length > 10, 'the edits are complete all the same');
    assert.equal(run({ sopClassAllowList: [CT] }).result.quarantine, undefined);
  });

  test('lookup table: the subject ID replaces the pseudonym; a missing patient is quarantined', () => {
    const mapped = run({ lookup: { MRN0001: 'SUBJ-001' }, patientNamePrefix: 'TRIAL^' });
    assert.equal(str(mapped.file.dataset, 0x00100020), 'SUBJ-001');
    assert.equal(str(mapped.file.dataset, 0x00100010), 'TRIAL^SUBJ-001');
    assert.equal(mapped.result.quarantine, undefined);
    const missing = run({ lookup: [['OTHER', 'SUBJ-002']] });
    assert.deepEqual(missing.result.quarantine, { code: 'PATIENT_NOT_IN_LOOKUP', path: '(0010,0020)' });
  });
});

describe('determinism', () => {
  test('same key: identical bytes; another key: other pseudonyms and UIDs', () => {
    const a = run();
    const b = run();
    assert.deepEqual(a.bytes, b.bytes);
    const c = run({}, sample(), { key: OTHER_KEY });
    for (const tag of [0x00100020, 0x00080050, 0x00080018, 0x0020000d]) {
      assert.notEqual(str(c.file.dataset, tag), str(a.file.dataset, tag));
    }
  });

  test('a short key is refused', () => {
    const input = scanFile(part10(sample()));
    assert.throws(() => deidentify(input, parseDeidConfig({}), { key: new Uint8Array(16) }), {
      code: 'DEID_KEY_TOO_SHORT',
    });
  });
});

describe('preamble', () => {
  test('the 128-byte preamble is zeroed in the plan, so streaming writers blank it too', () => {
    const bytes = part10(sample());
    bytes.set(latin1('II*\0 Smith^John TIFF-like preamble'), 0);
    const file = scanFile(bytes);
    const result = deidentify(file, parseDeidConfig({}), { key: KEY });
    const plan = planDeidentified(file, result);
    const out = materialize(file.source, plan.segments);
    assert.equal(out.length, plan.length);
    assert.ok(out.subarray(0, 128).every((b) => b === 0));
    assert.equal(latin1Text(out.subarray(128, 132)), 'DICM');
    assert.deepEqual(out, writeDeidentified(file, result));
    assert.equal(
      scanFile(out).dataset.elements.length,
      scanFile(writeDeidentified(file, result)).dataset.elements.length,
    );
  });
});
