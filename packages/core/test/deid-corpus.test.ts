/**
 * De-identification over the shared corpus (every file of INVENTORY.tsv): the output is written and rescanned, every
 * attribute the profile does not keep is gone or replaced at any depth, pixel data is untouched, the JohnSnowLabs
 * files' header PHI is nowhere in the output bytes, output is deterministic, date intervals survive date shifting,
 * a 160-slice MR series keeps one study/series/frame of reference and resolvable references, and dcmdump and
 * pydicom read the outputs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  compileProfile,
  type DeidConfig,
  type DeidResult,
  type DicomElement,
  type DicomFile,
  deidentify,
  elementPath,
  findElement,
  formatTag,
  isWellKnownUID,
  NO_OPTIONS,
  parseDeidConfig,
  readString,
  ruleFor,
  scanFile,
  UNDEFINED_LENGTH,
  walkElements,
  writeDeidentified,
} from '../src/index.ts';
import { dataDir, type InventoryFile, inventory, readBytes } from './support/corpus.ts';
import { dcmdumpAll, hasDcmdump } from './support/dcmdump.ts';

const noShared = existsSync(path.join(dataDir, 'INVENTORY.tsv')) ? false : `shared data not found at ${dataDir}`;
const KEY = new Uint8Array(32).map((_, i) => (i * 7 + 3) & 0xff);
const OTHER_KEY = new Uint8Array(32).map((_, i) => (i * 11 + 5) & 0xff);
const PROFILE = compileProfile(NO_OPTIONS);
/** Values that are dummies already (an input de-identified before): D may leave them as they are. */
const DUMMIES = new Set(['ANONYMIZED', '19000101', '000000', '19000101000000', '0']);

/**
 * Files whose group length elements (gggg,0000) disagree with the group's real size: the rewriter recomputes the
 * group length from the group's real extent, so removing elements cannot drive it below zero.
 */
const WRONG_GROUP_LENGTH = new Set([
  'dicom/fo-dicom/Test_Data/GH178.dcm',
  'dicom/fo-dicom/Test_Data/GH179A.dcm',
  'dicom/fo-dicom/Test_Data/charset/chrJapMulti.dcm',
]);

interface Done {
  readonly f: InventoryFile;
  readonly input: DicomFile;
  readonly result: DeidResult;
  readonly out: Uint8Array;
  readonly output: DicomFile;
}

const tmp = mkdtempSync(path.join(tmpdir(), 'veil-deid-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function deid(input: DicomFile, config: DeidConfig, key = KEY): { result: DeidResult; out: Uint8Array } {
  const result = deidentify(input, config, { key });
  return { result, out: writeDeidentified(input, result) };
}

/** Values by tag path, at every depth (sequences excluded). */
function valuesByPath(file: DicomFile): Map<string, { el: DicomElement; value: string }> {
  const out = new Map<string, { el: DicomElement; value: string }>();
  walkElements(file.dataset, (el) => {
    if (el.items !== undefined || el.vr === 'SQ') return;
    if (el.length === UNDEFINED_LENGTH || el.length > 4096) return;
    out.set(elementPath(el), { el, value: readString(el) });
  });
  return out;
}

function pixelBytes(file: DicomFile): Uint8Array | undefined {
  const el = findElement(file.dataset, 0x7fe00010);
  if (!el) return undefined;
  const bytes = file.datasetSource.bytes ?? file.datasetSource.read(0, file.datasetSource.length);
  return bytes.subarray(el.valueOffset, el.end);
}

function indexOf(haystack: Uint8Array, needle: string): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle, 0, 'latin1');
}

/** Where `word` occurs in the bytes as a whole word (not inside a longer run of letters or digits), else -1. */
function indexOfWord(haystack: Uint8Array, word: string): number {
  const buf = Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength);
  const isWordByte = (b: number | undefined) =>
    b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a));
  for (let i = buf.indexOf(word, 0, 'latin1'); i >= 0; i = buf.indexOf(word, i + 1, 'latin1')) {
    if (!isWordByte(buf[i - 1]) && !isWordByte(buf[i + word.length])) return i;
  }
  return -1;
}

/** What the output must not hold for one file, checked against Table E.1-1 (no options). */
function checkAgainstProfile(d: Done): string[] {
  const problems: string[] = [];
  const before = valuesByPath(d.input);
  const outText = d.out;
  walkElements(d.output.dataset, (el) => {
    const where = elementPath(el);
    const group = el.tag >>> 16;
    if (group % 2 === 1) {
      problems.push(`${where}: private attribute kept`);
      return false;
    }
    if ((el.tag & 0xffff) === 0) return;
    const rule = ruleFor(PROFILE, el.tag);
    if (!rule) return;
    if (rule.action === 'X') {
      problems.push(`${where}: ${rule.name} is X but present`);
      return false;
    }
    if (el.items !== undefined || el.vr === 'SQ') return;
    const now = el.length === UNDEFINED_LENGTH ? '' : readString(el);
    const was = before.get(where)?.value;
    if (was === undefined || was === '') return;
    if (rule.action === 'Z' && now !== '' && el.tag !== 0x00100010 && el.tag !== 0x00080050) {
      problems.push(`${where}: ${rule.name} is Z but not empty`);
    }
    if ((rule.action === 'D' || rule.action === 'Z' || rule.action === 'U') && now === was) {
      const wellKnown = el.vr === 'UI' && was.split('\\').every((u) => u === '' || isWellKnownUID(u));
      const alreadyDummy = DUMMIES.has(was);
      if (!wellKnown && !alreadyDummy) problems.push(`${where}: ${rule.name} is ${rule.action} but unchanged`);
    }
    return;
  });
  // No instance UID the profile replaces appears anywhere in the output.
  for (const { el, value } of before.values()) {
    if (el.vr !== 'UI' || (el.tag >>> 16) % 2 === 1 || ruleFor(PROFILE, el.tag)?.action !== 'U') continue;
    for (const uid of value.split('\\')) {
      if (uid.length >= 10 && !isWellKnownUID(uid) && indexOf(outText, uid) >= 0) {
        problems.push(`${formatTag(el.tag)}: an original UID is still in the output`);
      }
    }
  }
  const a = pixelBytes(d.input);
  const b = pixelBytes(d.output);
  if (a && (!b || Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0)) problems.push('pixel data changed');
  return problems;
}

describe('de-identification over the shared corpus', { skip: noShared }, () => {
  const files = noShared ? [] : inventory();
  const config = parseDeidConfig({});
  const done: Done[] = [];
  const quarantined = new Map<string, string[]>();

  test('every inventory file: de-identified, written, rescanned, checked against Table E.1-1', () => {
    const failures: string[] = [];
    for (const f of files) {
      try {
        const input = scanFile(readBytes(f.path));
        const { result, out } = deid(input, config);
        const output = scanFile(out);
        const d: Done = { f, input, result, out, output };
        done.push(d);
        if (result.quarantine) {
          const list = quarantined.get(result.quarantine.code) ?? [];
          list.push(f.rel);
          quarantined.set(result.quarantine.code, list);
        }
        for (const p of checkAgainstProfile(d)) failures.push(`${f.rel}: ${p}`);
        const records = JSON.stringify(result.actions);
        const pid = findElement(input.dataset, 0x00100020);
        const pidValue = pid && pid.items === undefined ? readString(pid) : '';
        if (pidValue.length >= 6 && records.includes(pidValue)) failures.push(`${f.rel}: Patient ID in a record`);
      } catch (e) {
        failures.push(`${f.rel}: ${(e as Error).message}`);
      }
    }
    assert.deepEqual(failures, []);
    assert.equal(done.length, files.length);
  });

  test('quarantine: only directories and truncated inputs', () => {
    for (const [code, rels] of quarantined) {
      if (code === 'DEID_DICOMDIR') for (const r of rels) assert.match(r, /DICOMDIR|DIRFILE|dicomdir/i);
      else assert.equal(code, 'DICOM_TRUNCATED', `${code}: ${rels.join(', ')}`);
    }
  });

  test('files with wrong group length elements are written and rescan', () => {
    for (const rel of WRONG_GROUP_LENGTH) {
      const f = files.find((x) => x.rel === rel);
      assert.ok(f, rel);
      const input = scanFile(readBytes(f.path));
      scanFile(deid(input, config).out);
    }
  });

  test('determinism: the same key gives the same bytes, another key other pseudonyms', () => {
    const sample = done.filter((_, i) => i % 15 === 0);
    for (const d of sample) {
      const again = deid(d.input, config).out;
      assert.ok(Buffer.compare(Buffer.from(again), Buffer.from(d.out)) === 0, d.f.rel);
      const other = deid(d.input, config, OTHER_KEY);
      const a = findElement(d.output.dataset, 0x00100020);
      const b = findElement(scanFile(other.out).dataset, 0x00100020);
      if (a && b) assert.notEqual(readString(a), readString(b), d.f.rel);
    }
  });

  test('dcmdump parses a sample of outputs', { skip: hasDcmdump() ? false : 'dcmdump not installed' }, () => {
    const sample = done.filter((d, i) => i % 6 === 0 || d.f.rel.includes('jsl-'));
    const names = sample.map((d, i) => {
      const p = path.join(tmp, `dump-${i}.dcm`);
      writeFileSync(p, d.out);
      return p;
    });
    const dumps = dcmdumpAll(names);
    const unread = names.filter((n) => dumps.get(n) === undefined);
    assert.deepEqual(unread, []);
    sample.forEach((d, i) => {
      if (d.input.findings.some((x) => x.code === 'ITEM_TRUNCATED')) return; // nothing is appended to a truncated dataset
      assert.match(dumps.get(names[i]!)!, /\(0012,0062\) CS \[YES\]/, d.f.rel);
    });
  });

  test('pydicom 2.3 reads a sample of outputs', () => {
    const py = spawnSync('/usr/bin/python3', ['-c', 'import pydicom'], { encoding: 'utf8' });
    if (py.status !== 0) return; // pydicom not installed: covered by dcmdump
    // Directories are quarantined: their record offsets are not rewritten, and pydicom follows them.
    const sample = done.filter((d, i) => (i % 10 === 3 || d.f.rel.includes('jsl-')) && !d.result.quarantine);
    const names = sample.map((d, i) => {
      // Inputs without preamble and meta stay bare datasets (Veil keeps the input's framing): pydicom needs force.
      const p = path.join(tmp, `py-${i}${d.input.hasPreamble ? '' : '-bare'}.dcm`);
      writeFileSync(p, d.out);
      return p;
    });
    const script = [
      'import sys, pydicom',
      'bad = []',
      'for p in sys.argv[1:]:',
      '    try:',
      "        ds = pydicom.dcmread(p, force=p.endswith('-bare.dcm'))",
      '        for el in ds.iterall(): el.value',
      "        sop = ds.get('SOPInstanceUID')",
      "        meta = getattr(ds, 'file_meta', None)",
      "        msop = meta.get('MediaStorageSOPInstanceUID') if meta is not None else None",
      "        assert sop is None or msop is None or msop == sop, 'meta SOP Instance UID'",
      '    except Exception as e:',
      "        bad.append(p + ': ' + type(e).__name__ + ' ' + str(e)[:80])",
      "print('\\n'.join(bad))",
    ].join('\n');
    const r = spawnSync('/usr/bin/python3', ['-c', script, ...names], { encoding: 'utf8', maxBuffer: 1 << 26 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '');
  });
});

describe('JohnSnowLabs files: header PHI is nowhere in the output', { skip: noShared }, () => {
  const dir = path.join(dataDir, 'dicom', 'jsl-dicom-deid-dataset');
  const files = noShared ? [] : readdirSync(dir).filter((n) => n.endsWith('.dcm'));
  const PHI_TAGS = [
    0x00100010, // Patient's Name
    0x00100020, // Patient ID
    0x00100030, // Patient's Birth Date
    0x00101040, // Patient's Address
    0x00102154, // Patient's Telephone Numbers
    0x00101001, // Other Patient Names
    0x00080080, // Institution Name
    0x00080081, // Institution Address
    0x00080090, // Referring Physician's Name
    0x00080092, // Referring Physician's Address
    0x00080094, // Referring Physician's Telephone Numbers
    0x00081050, // Performing Physician's Name
    0x00081070, // Operators' Name
    0x00080050, // Accession Number
  ];

  test('22 files', () => assert.equal(files.length, 22));

  for (const config of [{}, { options: { cleanDescriptors: true, retainLongitudinalModifiedDates: true } }]) {
    test(`no header PHI in the output bytes, config ${JSON.stringify(config)}`, () => {
      let checked = 0;
      for (const name of files) {
        const input = scanFile(readBytes(path.join(dir, name)));
        const { out } = deid(input, parseDeidConfig(config));
        const values = new Set<string>();
        const words = new Set<string>();
        for (const tag of PHI_TAGS) {
          walkElements(input.dataset, (el) => {
            if (el.tag !== tag || el.items !== undefined) return;
            const v = readString(el).trim();
            if (v.length >= 4) values.add(v);
            // Name components and address words, as whole words ("MARY" may be in "PRIMARY").
            for (const part of v.split(/[\^=\\,\s]+/)) if (part.length >= 4) words.add(part);
          });
        }
        for (const v of values) {
          assert.equal(indexOf(out, v), -1, `${name}: a ${v.length}-character PHI value survived`);
          checked++;
        }
        for (const w of words) {
          assert.equal(indexOfWord(out, w), -1, `${name}: a ${w.length}-character PHI word survived`);
          checked++;
        }
      }
      assert.ok(checked > 100, `${checked} values checked`);
    });
  }

  test('StudyDate − PatientBirthDate is the same number of days after shifting', () => {
    const config = parseDeidConfig({
      options: { retainLongitudinalModifiedDates: true },
      overrides: [{ selector: 'PatientBirthDate', override: { action: 'shift' } }],
    });
    const days = (s: string) => Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8)) / 86_400_000;
    let compared = 0;
    for (const name of files) {
      const input = scanFile(readBytes(path.join(dir, name)));
      const get = (f: DicomFile, tag: number) => {
        const el = findElement(f.dataset, tag);
        return el ? readString(el) : '';
      };
      const study = get(input, 0x00080020);
      const birth = get(input, 0x00100030);
      if (!/^\d{8}$/.test(study) || !/^\d{8}$/.test(birth)) continue;
      const { out, result } = deid(input, config);
      const output = scanFile(out);
      const s2 = get(output, 0x00080020);
      const b2 = get(output, 0x00100030);
      assert.notEqual(s2, study);
      assert.equal(days(s2) - days(b2), days(study) - days(birth), name);
      assert.equal(days(s2) - days(study), result.dateShiftDays);
      compared++;
    }
    assert.ok(compared >= 10, `${compared} files compared`);
  });

  test('options flip attributes on real files', () => {
    for (const name of files.slice(0, 6)) {
      const input = scanFile(readBytes(path.join(dir, name)));
      const get = (f: DicomFile, tag: number) => {
        const el = findElement(f.dataset, tag);
        return el ? readString(el) : undefined;
      };
      const uids = scanFile(deid(input, parseDeidConfig({ options: { retainUIDs: true } })).out);
      assert.equal(get(uids, 0x0020000d), get(input, 0x0020000d));
      assert.equal(get(uids, 0x00080018), get(input, 0x00080018));
      const chars = scanFile(deid(input, parseDeidConfig({ options: { retainPatientCharacteristics: true } })).out);
      assert.equal(get(chars, 0x00100040), get(input, 0x00100040));
      assert.equal(get(chars, 0x00101030), get(input, 0x00101030));
      const basic = scanFile(deid(input, parseDeidConfig({})).out);
      assert.notEqual(get(basic, 0x0020000d), get(input, 0x0020000d));
      if (get(input, 0x00100040)) assert.equal(get(basic, 0x00100040), '');
    }
  });
});

describe('a 160-slice MR series stays one series', { skip: noShared }, () => {
  test('one study, series and frame of reference; every reference resolves', () => {
    const dir = path.join(dataDir, 'dicom', 'dcm_qa_uih', 'DTI_132225', 't1_gre_fsp_3d_sag__132750');
    const names = readdirSync(dir).filter((n) => !n.startsWith('.'));
    assert.equal(names.length, 160);
    const config = parseDeidConfig({});
    const studies = new Set<string>();
    const series = new Set<string>();
    const frames = new Set<string>();
    const inputSops = new Set<string>();
    const outputSops = new Set<string>();
    const refs: { was: string; now: string }[] = [];
    for (const n of names) {
      const input = scanFile(readBytes(path.join(dir, n)));
      const output = scanFile(deid(input, config).out);
      const get = (f: DicomFile, tag: number) => {
        const el = findElement(f.dataset, tag);
        return el ? readString(el) : '';
      };
      studies.add(get(output, 0x0020000d));
      series.add(get(output, 0x0020000e));
      frames.add(get(output, 0x00200052));
      inputSops.add(get(input, 0x00080018));
      outputSops.add(get(output, 0x00080018));
      const before = valuesByPath(input);
      for (const [where, now] of valuesByPath(output)) {
        if (now.el.tag === 0x00081155) refs.push({ was: before.get(where)?.value ?? '', now: now.value });
      }
    }
    assert.equal(studies.size, 1);
    assert.equal(series.size, 1);
    assert.equal(frames.size, 1);
    assert.equal(outputSops.size, 160);
    for (const s of outputSops) assert.ok(!inputSops.has(s));
    // Every slice references the same localizers (not in the folder): the references must map one to one,
    // so they still resolve wherever the localizers are de-identified with the same key.
    assert.ok(refs.length >= 160, `${refs.length} references`);
    const map = new Map<string, string>();
    for (const r of refs) {
      assert.notEqual(r.now, r.was);
      if (inputSops.has(r.was)) assert.ok(outputSops.has(r.now), 'a reference into the series resolves');
      const seen = map.get(r.was);
      if (seen === undefined) map.set(r.was, r.now);
      else assert.equal(r.now, seen, 'one original UID, one replacement');
    }
    assert.equal(new Set(map.values()).size, map.size, 'distinct originals stay distinct');
  });
});
