import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeMethodCodeSequence, methodCodes } from '../src/deid/method.ts';
import { BASIC_PROFILE_CODE, OPTION_CODES } from '../src/deid/options.ts';
import { CID7050, PS316_CID_SCHEMES } from '../src/deid/profiles/_generated/ps316-cid7050.ts';
import * as Tag from '../src/dicom/dictionary/tags.ts';
import {
  concat,
  EXPLICIT_LE,
  encodeElement,
  encodeFileMeta,
  findElement,
  parseDeidConfig,
  readString,
  scanFile,
} from '../src/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('ps316 codegen reproduces the committed file byte for byte (drift check)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-ps316-'));
  try {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'scripts', 'codegen', 'ps316.ts'), '--out-dir', dir],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const fresh = readFileSync(path.join(dir, 'ps316-cid7050.ts'), 'utf8');
    const committed = readFileSync(
      path.join(repoRoot, 'packages', 'core', 'src', 'deid', 'profiles', '_generated', 'ps316-cid7050.ts'),
      'utf8',
    );
    assert.ok(fresh === committed, 'ps316-cid7050.ts differs from a fresh codegen run: run `npm run codegen`');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CID 7050: 13 DCM codes 113100-113112, one per option column plus the profile and the two pixel options', () => {
  const codes = Object.values(CID7050);
  assert.deepEqual(
    codes.map((c) => c.value).sort(),
    Array.from({ length: 13 }, (_, i) => String(113100 + i)),
  );
  for (const c of codes) assert.equal(c.scheme, 'DCM');
  assert.equal(BASIC_PROFILE_CODE.meaning, 'Basic Application Confidentiality Profile');
  // Every option's code is a distinct CID 7050 code.
  const optionValues = Object.values(OPTION_CODES).map((c) => c.value);
  assert.equal(new Set(optionValues).size, 10);
  for (const v of optionValues)
    assert.ok(
      codes.some((c) => c.value === v),
      v,
    );
  assert.ok(PS316_CID_SCHEMES.includes('DCM') && PS316_CID_SCHEMES.includes('SCT'));
});

test('the encoded De-identification Method Code Sequence carries the generated scheme, value and meaning', () => {
  const config = parseDeidConfig({ options: { retainUIDs: true } });
  const seq = encodeMethodCodeSequence(methodCodes(config), EXPLICIT_LE);
  const meta = encodeFileMeta({
    sopClassUid: '1.2.840.10008.5.1.4.1.1.7',
    sopInstanceUid: '1.2.3',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    implementationClassUid: '1.2.3.4',
    implementationVersionName: 'TEST',
  });
  const file = scanFile(concat([meta, encodeElement(Tag.DeidentificationMethodCodeSequence, 'SQ', seq, EXPLICIT_LE)]));
  const items = findElement(file.dataset, Tag.DeidentificationMethodCodeSequence)?.items ?? [];
  const read = items.map((it) =>
    [Tag.CodingSchemeDesignator, Tag.CodeValue, Tag.CodeMeaning]
      .map((t) => readString(findElement(it, t)!).trim())
      .join('|'),
  );
  assert.deepEqual(read, [
    `DCM|113100|${CID7050.BasicApplicationConfidentialityProfile.meaning}`,
    `DCM|113110|${CID7050.RetainUidsOption.meaning}`,
  ]);
});
