/**
 * `veil risk`: on a synthetic dataset made from a real file of ../shared/data (rewritten with the core's byte
 * rewriter) with five planted unique records, each found and no other; on real `veil deid` output, records and
 * quasi-identifiers counted independently with dcmdump. Runs the real executable; writes only to a temp folder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Edit, findElement, lookupTag, rewrite, scanFile, tagForKeyword } from '@veil/core';
import { assessRisk, parsePopulationCsv } from '../src/risk/metrics.ts';
import { mergeRecords } from '../src/risk/quasi-identifiers.ts';
import type { RiskReportJson } from '../src/risk/run.ts';
import { bin, corpusDir, keyFile } from './server-support.ts';

const tmp = mkdtempSync(join(tmpdir(), 'veil-risk-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const env: NodeJS.ProcessEnv = { ...process.env };
delete env.NODE_TEST_CONTEXT;
delete env.NODE_OPTIONS;
delete env.VEIL_KEY;

function veil(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const enc = new TextEncoder();

/** Sets (or removes, with null) top-level attributes by keyword through the core rewriter; values are ASCII. */
function setAttributes(bytes: Uint8Array, values: Record<string, string | null>): Uint8Array {
  const file = scanFile(bytes);
  const edits: Edit[] = [];
  for (const [keyword, value] of Object.entries(values)) {
    const tag = tagForKeyword(keyword);
    assert.ok(tag !== undefined, keyword);
    const el = findElement(file.dataset, tag);
    if (value === null) {
      if (el) edits.push({ op: 'remove', element: el });
      continue;
    }
    const vr = lookupTag(tag)!.vr.slice(0, 2);
    const v = enc.encode(vr === 'UI' && value.length % 2 === 1 ? `${value}\0` : value);
    if (el) edits.push({ op: 'replace', element: el, value: v });
    else edits.push({ op: 'insert', container: file.dataset, tag, vr, value: v });
  }
  return rewrite(file, edits);
}

const SOURCE = join(corpusDir, 'dcm4che/test-data/MR-JPEGLosslessSV1.dcm');

interface Planted {
  readonly study: string;
  readonly values: Record<string, string | null>;
}

/**
 * 24 ordinary studies (3 ages x 2 sexes x 4 copies; women 70 kg, men 80 kg; one scanner; one description), two
 * instances each, and five planted studies: age 97, weight 182.5, a one-off device serial, a rare description, and
 * one unique only by its combination (a 45-year-old man of 70 kg: each value alone is common).
 */
function buildSynthetic(dir: string): { planted: string[]; studies: string[] } {
  const src = new Uint8Array(readFileSync(SOURCE));
  const common = {
    PatientBirthDate: null,
    StudyDate: '20200115',
    DeviceSerialNumber: 'SN-COMMON',
    StudyDescription: 'MR BRAIN',
    InstitutionName: 'SITE A',
    PatientSize: '1.70',
  };
  const studies: Planted[] = [];
  let n = 0;
  for (const age of ['045Y', '060Y', '072Y']) {
    for (const sex of ['F', 'M']) {
      for (let c = 0; c < 4; c++) {
        studies.push({
          study: `2.25.1000${++n}`,
          values: { ...common, PatientAge: age, PatientSex: sex, PatientWeight: sex === 'F' ? '70' : '80' },
        });
      }
    }
  }
  const base = { ...common, PatientAge: '060Y', PatientSex: 'F', PatientWeight: '70' };
  const planted: Planted[] = [
    { study: '2.25.9001', values: { ...base, PatientAge: '097Y' } },
    { study: '2.25.9002', values: { ...base, PatientWeight: '182.5' } },
    { study: '2.25.9003', values: { ...base, DeviceSerialNumber: 'SN-ONEOFF' } },
    { study: '2.25.9004', values: { ...base, StudyDescription: 'EXPERIMENTAL PROC' } },
    { study: '2.25.9005', values: { ...base, PatientAge: '045Y', PatientSex: 'M', PatientWeight: '70' } },
  ];
  for (const s of [...studies, ...planted]) {
    for (const i of [1, 2]) {
      const out = setAttributes(src, {
        ...s.values,
        StudyInstanceUID: s.study,
        SeriesInstanceUID: `${s.study}.1`,
        SOPInstanceUID: `${s.study}.1.${i}`,
        PatientID: `P${s.study.slice(5)}`,
      });
      writeFileSync(join(dir, `${s.study}-${i}.dcm`), out);
    }
  }
  return { planted: planted.map((p) => p.study), studies: [...studies, ...planted].map((s) => s.study) };
}

describe('veil risk on a synthetic dataset with planted unique records', () => {
  const input = join(tmp, 'synthetic');
  const out = join(tmp, 'report');
  let planted: string[] = [];
  let studies: string[] = [];
  let report: RiskReportJson;
  before(() => {
    mkdirSync(input);
    ({ planted, studies } = buildSynthetic(input));
    const population = join(tmp, 'population.csv');
    writeFileSync(population, 'sex,age,count\nF,40-49,4000\nF,60-69,3500\nF,90+,1\nM,40-49,3900\nM,60-79,6000\n');
    const r = veil(['risk', input, '--out', out, '--json', '--k', '3', '--population', population]);
    assert.equal(r.status, 0, r.stderr);
    report = JSON.parse(r.stdout) as RiskReportJson;
  });

  test('finds each planted unique record and no other', () => {
    const res = report.result;
    assert.equal(res.records, studies.length);
    assert.equal(res.files, studies.length * 2);
    assert.deepEqual(res.uniqueRecords.map((u) => u.id).sort(), [...planted].sort());
    assert.equal(res.released.k, 1);
    assert.equal(res.released.uniqueRecords, 5);
    assert.equal(res.released.atRiskRecords, 5);
    const why = Object.fromEntries(res.uniqueRecords.map((u) => [u.id, u.rareQis]));
    assert.deepEqual(why['2.25.9001'], ['age']);
    assert.deepEqual(why['2.25.9002'], ['weight']);
    assert.deepEqual(why['2.25.9003'], ['deviceSerial']);
    assert.deepEqual(why['2.25.9004'], ['procedure']);
    assert.deepEqual(why['2.25.9005'], []); // unique by the combination only
    assert.deepEqual(
      res.rareProcedures.map((p) => p.records),
      [1],
    );
  });

  test('advice: drop the serial, top-code 90+, and a generalisation that reaches k', () => {
    const res = report.result;
    const texts = res.advice.map((a) => a.text).join('\n');
    assert.match(texts, /Drop DeviceSerialNumber \(0018,1000\): kept in 29 of 29 records/);
    assert.match(texts, /1 records have an age of 90 or more/);
    assert.ok(res.generalisation.steps.length > 0);
    assert.equal(res.generalisation.reached, true);
    const last = res.generalisation.steps.at(-1)!;
    assert.ok(last.after.k >= 3, 'the last step reaches k');
    // Removing deviceSerial alone resolves the one-off serial's uniqueness.
    assert.equal(res.quasiIdentifiers.find((q) => q.name === 'deviceSerial')!.uniquesResolvedByRemoving, 1);
  });

  test('population estimates: the one person over 90 is unique in the population', () => {
    const p = report.result.population!;
    assert.deepEqual(p.columns, ['age', 'sex']);
    assert.equal(p.populationUnique, 1);
    assert.deepEqual(
      p.recordsAtRisk.map((r) => r.id),
      ['2.25.9001'],
    );
    // 72-year-old women have no cell: unmatched, not guessed.
    assert.equal(p.unmatched, 4);
  });

  test('HTML with inline SVG charts and nothing fetched from elsewhere; JSON written too', () => {
    const html = readFileSync(join(out, 'risk-report.html'), 'utf8');
    assert.ok((html.match(/<svg /g) ?? []).length >= 3);
    assert.doesNotMatch(html, /<script|<link|src=|href=/);
    assert.deepEqual(readdirSync(out).sort(), ['risk-report.html', 'risk-report.json']);
    const json = JSON.parse(readFileSync(join(out, 'risk-report.json'), 'utf8')) as RiskReportJson;
    assert.equal(json.result.uniqueRecords.length, 5);
  });

  test('l-diversity of a named sensitive attribute; --check fails under k', () => {
    const r = veil(['risk', input, '--json', '--k', '3', '--sensitive', 'StudyDescription']);
    assert.equal(r.status, 0, r.stderr);
    const res = (JSON.parse(r.stdout) as RiskReportJson).result;
    // StudyDescription is the sensitive attribute: the procedure QI leaves the classes, so the rare description no
    // longer makes its record unique, and every class holds one description (l = 1).
    assert.equal(res.lDiversity!.attribute, 'StudyDescription');
    assert.equal(res.lDiversity!.l, 1);
    assert.equal(res.uniqueRecords.length, 4);
    const check = veil(['risk', input, '--k', '3', '--check']);
    assert.equal(check.status, 1);
    assert.match(check.stdout, /5 unique records/);
    assert.doesNotMatch(check.stdout + check.stderr, /SN-ONEOFF|EXPERIMENTAL|SITE A/);
    assert.equal(veil(['risk', input, '--sensitive', 'NoSuchKeyword']).status, 2);
  });
});

describe('veil risk on real veil deid output', () => {
  test('records per study and the quasi-identifiers kept, checked with dcmdump', () => {
    const input = join(tmp, 'real-in');
    const deidOut = join(tmp, 'real-out');
    mkdirSync(input);
    const picks = [
      'dcm4che/test-data/CT-JPEGLosslessSV1.dcm',
      'dcm4che/test-data/MR-JPEGLosslessSV1.dcm',
      'dcm4che/test-data/NM-MONO2-16-13x-heart',
      'dcm_qa_ct/Philips/S21570/S4010/I10',
      'dcm_qa_ct/Philips/S21570/S4010/I20',
      'dcm_qa_ct/Philips/S21570/S4010/I30',
    ];
    picks.forEach((p, i) => {
      copyFileSync(join(corpusDir, p), join(input, `f${i}.dcm`));
    });
    const key = keyFile(tmp);
    const d = veil(['deid', input, '--out', deidOut, '--key-file', key.path]);
    assert.equal(d.status, 0, d.stderr);
    const r = veil(['risk', deidOut, '--json', '--unit', 'study']);
    assert.equal(r.status, 0, r.stderr);
    const res = (JSON.parse(r.stdout) as RiskReportJson).result;
    const outputs = readdirSync(deidOut, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.dcm'))
      .map((e) => join(e.parentPath, e.name));
    const dump = (f: string, tag: string): string | undefined => {
      const t = spawnSync('dcmdump', ['-q', '+P', tag, f], { encoding: 'utf8' }).stdout.trim();
      return t === '' ? undefined : t;
    };
    const studies = new Set(outputs.map((f) => dump(f, '0020,000d')));
    assert.equal(res.files, outputs.length);
    assert.equal(res.records, studies.size);
    // Per study; the de-identifier's dummy (ANONYMIZED) is no serial.
    const withSerial = new Set(
      outputs
        .filter((f) => /\[(?!ANONYMIZED\])[^\]]+\]/.test(dump(f, '0018,1000') ?? ''))
        .map((f) => dump(f, '0020,000d')),
    ).size;
    assert.equal(res.quasiIdentifiers.find((q) => q.name === 'deviceSerial')!.present, withSerial);
    const withSex = new Set(
      outputs.filter((f) => dump(f, '0010,0040')?.match(/\[[A-Z]+\]/)).map((f) => dump(f, '0020,000d')),
    ).size;
    assert.equal(res.quasiIdentifiers.find((q) => q.name === 'sex')!.present, withSex);
    // Each study of this small sample has its own scanner (Manufacturer and model are kept): all unique, and the
    // advice says so rather than generalising for nothing.
    assert.equal(res.released.uniqueRecords, res.records);
    assert.ok(res.advice.some((a) => a.qi === 'general'));
  });
});

test('assessRisk: an empty dataset and population rows parse', () => {
  const res = assessRisk(mergeRecords([]), { k: 5, l: 2, unit: 'study' });
  assert.equal(res.records, 0);
  assert.equal(res.released.k, 0);
  assert.deepEqual(parsePopulationCsv('sex,count\nF,10\n'), [{ cells: { sex: 'F' }, count: 10 }]);
  assert.throws(() => parsePopulationCsv('sex,n\nF,10\n'), /RISK_POPULATION_NO_COUNT/);
  assert.throws(() => parsePopulationCsv('shoeSize,count\n40,10\n'), /RISK_POPULATION_COLUMN/);
});
