/**
 * Clean Descriptors through @veil/text (issue 15): a real MR of the JSL de-identification dataset whose Study
 * Description and Image Comments were set (with @veil/core's rewriter) to sentences carrying a name, a phone number
 * and a date the header does not hold, run through the real `veil deid` executable. With cleanDescriptors the
 * name, phone and date are gone, the clinical words stay and the file is released (the gate passes); the core
 * engine alone (no injected cleaner) leaves the name in, which is what the text engine adds.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deidentify, findElement, parseDeidConfig, readString, rewrite, scanFile, writeDeidentified } from '@veil/core';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repoRoot, 'apps/veil/bin/veil.mjs');
const sharedDir = process.env.VEIL_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
const source = join(
  sharedDir,
  'data/dicom/jsl-dicom-deid-dataset',
  '8732322741_01-05-2008-MRI_PROSTATE_W_WO_CONTRAST-39318_4_000000-t2spcrstaxial_oblProstate-50358_1-05.dcm',
);

const STUDY_DESCRIPTION = 0x00081030; // LO, 64 characters
const IMAGE_COMMENTS = 0x00204000; // LT
// Not in the header (patient JAMES^THOMAS, study date 20080105): only a free-text engine finds them.
const DESCRIPTION = 'Prostate MRI for Maria Gonzalez, call 617-555-0199';
const COMMENTS =
  'Seen by Dr. Robert Miller on March 3, 2021; call (617) 555-0142. Lesion in the left peripheral zone, ' +
  'no extracapsular extension.';
const PHI = ['Maria', 'Gonzalez', 'Robert', 'Miller', '555-0199', '555-0142', 'March 3, 2021', '2021'];

const tmpRoot = mkdtempSync(join(tmpdir(), 'veil-deid-free-text-'));
after(() => rmSync(tmpRoot, { recursive: true, force: true }));

const ascii = (s: string) => new TextEncoder().encode(s.length % 2 ? `${s} ` : s);

function veil(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.VEIL_KEY;
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return spawnSync(process.execPath, [bin, ...args], { cwd: tmpRoot, encoding: 'utf8', env, timeout: 120_000 });
}

function dicomUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !/veil-report\.(json|html)$|\.png$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

function text(bytes: Uint8Array, tag: number): string {
  const el = findElement(scanFile(bytes).dataset, tag);
  return el ? readString(el) : '';
}

describe('veil deid: Clean Descriptors uses the free-text engine', { skip: !existsSync(source) }, () => {
  const input = join(tmpRoot, 'in');
  let key = '';
  let withText: Uint8Array;

  before(() => {
    const file = scanFile(new Uint8Array(readFileSync(source)));
    const desc = findElement(file.dataset, STUDY_DESCRIPTION);
    assert.ok(desc && !findElement(file.dataset, IMAGE_COMMENTS));
    withText = rewrite(file, [
      { op: 'replace', element: desc, value: ascii(DESCRIPTION) },
      { op: 'insert', container: file.dataset, tag: IMAGE_COMMENTS, vr: 'LT', value: ascii(COMMENTS) },
    ]);
    assert.equal(text(withText, IMAGE_COMMENTS), COMMENTS);
    mkdirSync(input);
    writeFileSync(join(input, 'mr.dcm'), withText);
    const k = veil(['keygen']);
    assert.equal(k.status, 0, k.stderr);
    key = join(tmpRoot, 'key');
    writeFileSync(key, k.stdout, { mode: 0o600 });
  });

  test('the core engine alone (built-in scrubber) leaves a name the header does not hold', () => {
    const config = parseDeidConfig({ options: { cleanDescriptors: true } });
    const file = scanFile(withText);
    const out = writeDeidentified(file, deidentify(file, config, { key: new Uint8Array(32).fill(7) }));
    assert.match(text(out, IMAGE_COMMENTS), /Robert Miller/);
  });

  test('with cleanDescriptors: name, phone and date gone, clinical words kept, released', () => {
    const cfg = join(tmpRoot, 'clean.json');
    writeFileSync(cfg, JSON.stringify({ options: { cleanDescriptors: true } }));
    const out = join(tmpRoot, 'out');
    const r = veil(['deid', input, '--out', out, '--key-file', key, '--config', cfg, '--jobs', '1']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(dicomUnder(`${out}.quarantine`), [], 'the file was held back');
    const outputs = dicomUnder(out);
    assert.equal(outputs.length, 1);
    const bytes = new Uint8Array(readFileSync(outputs[0] as string));
    const desc = text(bytes, STUDY_DESCRIPTION);
    const comments = text(bytes, IMAGE_COMMENTS);
    for (const v of [desc, comments]) for (const p of PHI) assert.ok(!v.includes(p), `PHI left in ${v.length} chars`);
    assert.ok(desc.length <= 64);
    assert.match(desc, /^Prostate MRI for \[NAME\]/);
    assert.match(comments, /\[NAME\]/);
    assert.match(comments, /Lesion in the left peripheral zone, no extracapsular extension\./);
    const all = Buffer.from(bytes).toString('latin1');
    for (const p of ['Gonzalez', 'Miller', '555-0142', '555-0199']) assert.ok(!all.includes(p), 'PHI in the output');
    for (const s of [r.stdout, r.stderr]) for (const p of PHI) assert.ok(!s.includes(p), 'PHI in the CLI output');
  });

  test('more free text than limits.maxFreeTextChars: quarantined with DEID_FREE_TEXT_LIMIT, never released', () => {
    // The description (50 characters) fits a budget of 60, the comments after it do not.
    const cfg = join(tmpRoot, 'limit.json');
    writeFileSync(cfg, JSON.stringify({ options: { cleanDescriptors: true }, limits: { maxFreeTextChars: 60 } }));
    const out = join(tmpRoot, 'out-limit');
    const r = veil(['deid', input, '--out', out, '--key-file', key, '--config', cfg, '--jobs', '1']);
    assert.deepEqual(dicomUnder(out), [], 'released past the free-text limit');
    assert.equal(r.status, 1, 'exit status 1: a file was quarantined');
    const held = dicomUnder(`${out}.quarantine`);
    assert.deepEqual(held.map((f) => f.slice(`${out}.quarantine`.length + 1)).sort(), ['mr.dcm', 'mr.dcm.veil.json']);
    const records = held.filter((f) => f.endsWith('.json')).map((f) => readFileSync(f, 'utf8'));
    // The record names the code and the tag path of the value past the budget (Image Comments), not its text.
    assert.match(records.join('\n'), /DEID_FREE_TEXT_LIMIT/);
    assert.match(records.join('\n'), /\(0020,4000\)/);
    for (const s of [r.stdout, r.stderr, ...records])
      for (const p of PHI) assert.ok(!s.includes(p), 'PHI in the output');
  });

  test('without the option the descriptors follow the profile, no free-text engine', () => {
    const cfg = join(tmpRoot, 'plain.json');
    writeFileSync(cfg, JSON.stringify({ options: { retainUIDs: false } }));
    const out = join(tmpRoot, 'out-plain');
    const r = veil(['deid', input, '--out', out, '--key-file', key, '--config', cfg, '--jobs', '1']);
    assert.equal(r.status, 0, r.stderr);
    const outputs = dicomUnder(out);
    assert.equal(outputs.length, 1);
    const bytes = new Uint8Array(readFileSync(outputs[0] as string));
    // The basic profile removes both (X): nothing was cleaned into placeholders.
    for (const tag of [STUDY_DESCRIPTION, IMAGE_COMMENTS]) assert.ok(!text(bytes, tag).includes('[NAME]'));
  });
});
