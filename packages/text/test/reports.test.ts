/**
 * The report formats (src/reports/): an HL7 v2 ORU^R01 radiology result and a FHIR R4 Bundle (Patient,
 * DiagnosticReport with narrative, conclusion and a text/plain presentedForm, Observation), both written for these
 * tests (test/fixtures/) after the shapes of real messages. Checked: every PHI value gone, the structure kept
 * (segments, field counts, codes, JSON keys), clinical words and hard negatives kept, names known only from the
 * structure found in the report text (the lowercase "kowalczyk"), surrogates consistent across fields.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deidentifyFhir, deidentifyHl7, looksLikeFhir, looksLikeHl7 } from '@veil/text';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const ORU = readFileSync(join(dir, 'oru-r01.hl7'), 'utf8');
const FHIR = readFileSync(join(dir, 'diagnostic-report-bundle.json'), 'utf8');
const key = new Uint8Array(32).fill(5);

const PHI = [
  'KOWALCZYK',
  'Kowalczyk',
  'kowalczyk',
  'HENRIETTA',
  'Henrietta',
  'BRANDSTETTER',
  'Brandstetter',
  'Lindqvist',
  'Marek',
  '80412279',
  '123-45-6789',
  'Woodland',
  'Springfield',
  '01105',
  '555-0142',
  '555-0187',
  'ACC99812',
  'PLC77812',
  'FIL99120',
  'V000451276',
  '1234567',
  '19580412',
  '1958-04-12',
  '03/14/2021',
  '03/15/2021',
  'January 5, 2020',
  '01/05/2020',
  '20210314',
  '2021-03-14',
  'h.kowalczyk',
];
const KEPT_CLINICAL = ['9 mm nodule in the right upper lobe', 'No pleural effusion', "Parkinson's disease", 'Room 4'];

function leaks(text: string): string[] {
  return PHI.filter((p) => text.includes(p));
}

test('format sniffing', () => {
  assert.ok(looksLikeHl7(ORU) && !looksLikeFhir(ORU));
  assert.ok(looksLikeFhir(FHIR) && !looksLikeHl7(FHIR));
  assert.ok(!looksLikeHl7('MSH is an abbreviation') && !looksLikeFhir('{"text": "x"}'));
});

test('HL7 ORU^R01: PHI gone, segments, fields and codes kept, report text cleaned with the PID names', () => {
  const r = deidentifyHl7(ORU);
  assert.deepEqual(leaks(r.text), []);
  const inSegs = ORU.split('\r');
  const outSegs = r.text.split('\r');
  assert.equal(outSegs.length, inSegs.length, 'same segments, same terminator');
  for (let i = 0; i < inSegs.length; i++)
    assert.equal(outSegs[i]!.split('|').length, inSegs[i]!.split('|').length, `field count of segment ${i}`);
  assert.equal(outSegs[0], 'MSH|^~\\&|RIS|ST MARYS HOSPITAL|EHR|CLINIC|2021||ORU^R01^ORU_R01|MSG0004127|P|2.5.1');
  assert.match(
    r.text,
    /\rPID\|1\|\|\[ID\]\^\^\^STMARYS\^MR~\[ID\]\^\^\^SSA\^SS\|\|\[NAME\]\^\[NAME\]\^\[NAME\]\|\|1958\|F\|/,
  );
  assert.match(r.text, /\^MA\^\[ADDRESS\]\^USA\|/, 'state and country stay');
  assert.match(r.text, /\|18782-3\^Radiology Study observation\^LN\|/, 'LOINC code kept');
  assert.match(r.text, /Patient \[NAME\] tolerated contrast/, 'lowercase surname found through PID-5');
  assert.match(r.text, /\\\.br\\No pleural effusion/, 'formatting escape kept');
  assert.match(r.text, /\|DT\|ADDENDUM-DATE\^Addendum date\^L\|\|2021\|/, 'an OBX of type DT keeps the year');
  for (const k of KEPT_CLINICAL) assert.ok(r.text.includes(k), k);
  assert.ok((r.counts.NAME ?? 0) >= 10);
});

test('HL7: surrogates consistent between the structured fields and the report text; dates shifted alike', () => {
  const r = deidentifyHl7(ORU, { mode: 'surrogate', key, patientKey: 'P1' });
  assert.deepEqual(leaks(r.text), []);
  const pid5 = r.text.split('\r')[1]!.split('|')[5]!.split('^');
  assert.ok(r.text.includes(`Patient ${pid5[0]!.toLowerCase()} tolerated`), 'the same surname in PID-5 and the text');
  // The study date 2021-03-14 in OBR-7 and in the text "03/14/2021" move by the same number of days.
  const obr7 = r.text.split('\r')[4]!.split('|')[7]!;
  const m = /CT chest with contrast, (\d\d)\/(\d\d)\/(\d{4})\./.exec(r.text)!;
  assert.equal(obr7.slice(0, 8), `${m[3]}${m[1]}${m[2]}`);
  assert.equal(obr7.slice(8), '091500', 'time kept');
  assert.equal(deidentifyHl7(ORU, { mode: 'surrogate', key, patientKey: 'P1' }).text, r.text, 'keyed, repeatable');
});

test('HL7: delimiter escapes decoded for the engine and encoded again; a non-HL7 input is refused with a code', () => {
  const msg =
    'MSH|^~\\&|A|B|C|D|20200101||ORU^R01|1|P|2.5\rOBX|1|TX|X^Y^L||Seen by Dr. Ana Ortiz \\T\\ team\\F\\ ok||||||F\r';
  const r = deidentifyHl7(msg);
  assert.match(r.text, /\|Seen by Dr\. \[NAME\] \\T\\ team\\F\\ ok\|/);
  assert.throws(() => deidentifyHl7('hello'), /^Error: TEXT_HL7_INVALID/);
});

test('FHIR Bundle: PHI gone, keys and codes kept, narrative and text attachment cleaned, size updated', () => {
  const r = deidentifyFhir(FHIR);
  const out = JSON.parse(r.text) as { entry: { resource: Record<string, unknown> }[] };
  const form = (out.entry[1]!.resource.presentedForm as { data: string; size: number }[])[0]!;
  const attached = new TextDecoder().decode(Uint8Array.from(atob(form.data), (c) => c.charCodeAt(0)));
  assert.deepEqual(leaks(r.text), []);
  assert.deepEqual(leaks(attached), []);
  assert.equal(form.size, new TextEncoder().encode(attached).length);
  assert.match(attached, /FINDINGS: Patient \[NAME\] tolerated contrast\. A 9 mm nodule in the right upper lobe/);
  // Same shape: every key path of the input is in the output.
  const paths = (v: unknown, p = ''): string[] =>
    typeof v === 'object' && v !== null
      ? Object.entries(v).flatMap(([k, x]) => [`${p}/${Array.isArray(v) ? '#' : k}`, ...paths(x, `${p}/${k}`)])
      : [];
  assert.deepEqual(paths(out).sort(), paths(JSON.parse(FHIR)).sort());
  const report = out.entry[1]!.resource;
  assert.equal(report.effectiveDateTime, '2021');
  assert.equal(report.issued, '2021-01-01T00:00:00Z', 'an instant stays a valid instant');
  assert.deepEqual(report.subject, { reference: 'Patient/[ID]', display: '[NAME]' });
  assert.match(
    String((report.text as { div: string }).div),
    /^<div xmlns="http:\/\/www\.w3\.org\/1999\/xhtml"><p><b>CT chest<\/b> for \[NAME\], \[DATE\]<\/p>/,
  );
  assert.match(String((report.text as { div: string }).div), /Parkinson&apos;s disease history/);
  assert.equal((report.code as { coding: { code: string }[] }).coding[0]!.code, '24627-2', 'LOINC code kept');
  const patient = out.entry[0]!.resource;
  assert.equal(patient.birthDate, '1958');
  assert.deepEqual((patient.address as { state: string; country: string }[])[0]!.state, 'MA');
  const obs = out.entry[2]!.resource;
  assert.match(String(obs.valueString), /Patient \[NAME\], 34-year-old brother in Room 4\./);
  assert.ok(r.text.endsWith('}\n'), 'trailing newline kept');
});

test('FHIR: surrogate mode keeps the patient consistent; a non-text attachment fails closed', () => {
  const r = deidentifyFhir(FHIR, { mode: 'surrogate', key, patientKey: 'P1' });
  assert.deepEqual(leaks(r.text), []);
  const out = JSON.parse(r.text) as { entry: { resource: Record<string, unknown> }[] };
  const family = (out.entry[0]!.resource.name as { family: string }[])[0]!.family;
  assert.match(String(out.entry[1]!.resource.conclusion), /compared with \w+ \d+, 20\d\d\./);
  assert.ok(String(out.entry[2]!.resource.valueString).includes(`Patient ${family.toLowerCase()},`));
  const pdf = JSON.stringify({
    resourceType: 'DiagnosticReport',
    status: 'final',
    presentedForm: [{ contentType: 'application/pdf', data: 'JVBERi0xLjQK' }],
  });
  assert.throws(() => deidentifyFhir(pdf), /^Error: TEXT_FHIR_ATTACHMENT_UNREADABLE/);
  assert.throws(() => deidentifyFhir('{"a":1}'), /^Error: TEXT_FHIR_INVALID/);
});
