/**
 * Unit tests of the `veil deid` app pieces that need no DICOM run: key parsing and loading, value masking, path
 * guards and input listing, configuration loading, and the crosswalk's encryption, blind index and audit.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CliError } from '../src/deid/cli-error.ts';
import { parseRunConfig, readConfigFile } from '../src/deid/config.ts';
import { Crosswalk } from '../src/deid/crosswalk.ts';
import { assertOutsideInputs, listInputs } from '../src/deid/inputs.ts';
import { generateKey, keyId, loadKey, parseKeyText, VEIL_ROOT } from '../src/deid/keys.ts';
import { maskText, showNewValue } from '../src/deid/mask.ts';
import { defaultQuarantineDir } from '../src/deid/run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'veil-deid-units-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function exitCodeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof CliError) return e.exitCode;
    throw e;
  }
  return undefined;
}

describe('keys', () => {
  const key = generateKey();
  test('base64, URL-safe base64, hex and prefixed forms decode to the same bytes', () => {
    const b = Buffer.from(key);
    for (const text of [
      b.toString('base64'),
      `${b.toString('base64')}\n`,
      b.toString('base64url'),
      b.toString('hex'),
      b.toString('hex').toUpperCase(),
      `hex:${b.toString('hex')}`,
      `base64:${b.toString('base64')}`,
    ]) {
      assert.deepEqual(parseKeyText(text), key, text.slice(0, 8));
    }
  });
  test('short or malformed keys are refused', () => {
    for (const text of ['', 'abc', Buffer.alloc(16).toString('base64'), 'xyz!'.repeat(16), 'not a key at all!']) {
      assert.equal(parseKeyText(text), undefined);
    }
  });
  test('missing key: exit 3 and no default; key file wins over VEIL_KEY', () => {
    assert.equal(
      exitCodeOf(() => loadKey({ env: {} })),
      3,
    );
    assert.equal(
      exitCodeOf(() => loadKey({ keyFile: join(tmp, 'nope.key'), env: {} })),
      3,
    );
    const file = join(tmp, 'k.key');
    writeFileSync(file, Buffer.from(key).toString('base64'), { mode: 0o600 });
    const other = Buffer.from(generateKey()).toString('hex');
    assert.deepEqual(loadKey({ keyFile: file, env: { VEIL_KEY: other } }), key);
    assert.deepEqual(loadKey({ env: { VEIL_KEY: other } }), new Uint8Array(Buffer.from(other, 'hex')));
  });
  test('a key file inside the Veil repository is refused', () => {
    assert.equal(
      exitCodeOf(() => loadKey({ keyFile: join(VEIL_ROOT, 'samples', 'README.md'), env: {} })),
      3,
    );
  });
  test('a key file others can read is warned about', () => {
    const file = join(tmp, 'open.key');
    writeFileSync(file, Buffer.from(key).toString('base64'), { mode: 0o644 });
    const warnings: string[] = [];
    loadKey({ keyFile: file, env: {}, warn: (m) => warnings.push(m) });
    assert.equal(warnings.length, 1);
  });
  test('key id: stable, 16 hex digits, differs per key, reveals no key bytes', () => {
    assert.match(keyId(key), /^[0-9a-f]{16}$/);
    assert.equal(keyId(key), keyId(new Uint8Array(key)));
    assert.notEqual(keyId(key), keyId(generateKey()));
    assert.ok(!Buffer.from(key).toString('hex').includes(keyId(key)));
  });
});

describe('masking', () => {
  test('old values show at most their first character and their length', () => {
    assert.equal(maskText(''), "''");
    assert.equal(maskText('4MR1'), '<4 chars>');
    assert.equal(maskText('JAMES^THOMAS'), "'J***' <12 chars>");
    assert.equal(maskText('Buc^Jérôme'), "'B***' <10 chars>");
  });
  test('new values: ASCII text quoted, binary and non-ASCII by size', () => {
    assert.equal(showNewValue('LO', new TextEncoder().encode('ANON1 ')), "'ANON1'");
    assert.equal(showNewValue('OB', new Uint8Array(7)), '<7 bytes>');
    assert.equal(showNewValue('PN', new Uint8Array([0xc3, 0xa9])), '<2 bytes of text>');
  });
});

describe('inputs and output guards', () => {
  const input = join(tmp, 'in');
  mkdirSync(join(input, 'a', 'b'), { recursive: true });
  writeFileSync(join(input, 'x.dcm'), 'x');
  writeFileSync(join(input, 'a', 'b', 'y.dcm'), 'y');
  symlinkSync(join(input, 'a'), join(input, 'loop'));
  test('folders are walked recursively in a stable order; symlinked folders are not followed', () => {
    assert.deepEqual(
      listInputs([input]).map((f) => f.rel),
      ['a/b/y.dcm', 'x.dcm'],
    );
  });
  test('several inputs keep apart under their folder names; a file input keeps its name', () => {
    const second = join(tmp, 'second', 'in');
    mkdirSync(second, { recursive: true });
    writeFileSync(join(second, 'x.dcm'), 'x');
    assert.deepEqual(
      listInputs([input, second, join(input, 'x.dcm'), input]).map((f) => f.rel),
      ['in/a/b/y.dcm', 'in/x.dcm', 'in-2/x.dcm'],
    );
  });
  test('a missing input is a usage error', () => {
    assert.equal(
      exitCodeOf(() => listInputs([join(tmp, 'missing')])),
      2,
    );
  });
  test('outputs inside an input, or an input inside an output, are refused (through symlinks too)', () => {
    const out = (p: string) => [{ flag: '--out', path: p }];
    assert.equal(
      exitCodeOf(() => assertOutsideInputs([input], out(join(input, 'out')))),
      2,
    );
    assert.equal(
      exitCodeOf(() => assertOutsideInputs([input], out(input))),
      2,
    );
    assert.equal(
      exitCodeOf(() => assertOutsideInputs([join(input, 'a')], out(input))),
      2,
    );
    assert.equal(
      exitCodeOf(() => assertOutsideInputs([input], out(join(input, 'loop', 'new', 'deeper')))),
      2,
    );
    assert.equal(
      exitCodeOf(() => assertOutsideInputs([input], out(join(tmp, 'in-out')))),
      undefined,
    );
  });
  test('default quarantine folder sits beside the output folder', () => {
    assert.equal(defaultQuarantineDir('/data/out/'), '/data/out.quarantine');
  });
});

describe('configuration', () => {
  test('no file: the Basic Profile with no options, mirror layout', () => {
    const c = parseRunConfig(undefined);
    assert.equal(c.layout, 'mirror');
    assert.equal(c.deid.profile, 'basic');
    assert.ok(Object.values(c.deid.options).every((v) => v === false));
  });
  test('layout is taken out before the core parses the rest', () => {
    const c = parseRunConfig({ layout: 'hierarchy', options: { retainUIDs: true } });
    assert.equal(c.layout, 'hierarchy');
    assert.deepEqual(c.deidInput, { options: { retainUIDs: true } });
    assert.equal(c.deid.options.retainUIDs, true);
  });
  test('bad settings are exit 3, and the message names no value', () => {
    assert.equal(
      exitCodeOf(() => parseRunConfig({ layout: 'sideways' })),
      3,
    );
    try {
      parseRunConfig({ lookup: { 'SECRET-MRN-123': 42 } }, 'config x.json');
      assert.fail('accepted a bad lookup');
    } catch (e) {
      assert.ok(e instanceof CliError && e.exitCode === 3);
      assert.ok(!e.message.includes('SECRET-MRN-123'), e.message);
    }
  });
  test('YAML and JSON files; other extensions and syntax errors are exit 3', () => {
    const y = join(tmp, 'c.yaml');
    writeFileSync(y, 'layout: hierarchy\noptions:\n  retainUIDs: true\n');
    assert.deepEqual(readConfigFile(y), { layout: 'hierarchy', options: { retainUIDs: true } });
    const bad = join(tmp, 'c.yml');
    writeFileSync(bad, 'options: [unclosed\n');
    assert.equal(
      exitCodeOf(() => readConfigFile(bad)),
      3,
    );
    const toml = join(tmp, 'c.toml');
    writeFileSync(toml, '');
    assert.equal(
      exitCodeOf(() => readConfigFile(toml)),
      3,
    );
  });
});

describe('crosswalk', () => {
  const key = generateKey();
  const file = join(tmp, 'cw.sqlite');
  test('round trip; rows are encrypted and found by blind index only', () => {
    const cw = Crosswalk.open(file, key, { create: true });
    cw.put('patientId', 'MRN-0042-SECRET', 'PSEUDO-A');
    cw.put('accession', 'ACC-SECRET-9', 'PSEUDO-B');
    cw.put('patientId', 'MRN-0042-SECRET', 'PSEUDO-A');
    cw.flush();
    assert.equal(cw.count(), 2);
    assert.deepEqual(cw.lookup('PSEUDO-A'), [{ kind: 'patientId', original: 'MRN-0042-SECRET' }]);
    assert.deepEqual(cw.lookup('PSEUDO-B', ['patientId']), []);
    assert.deepEqual(cw.lookup('nope'), []);
    cw.close();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const raw = readFileSync(file);
    for (const s of ['MRN-0042-SECRET', 'ACC-SECRET-9', 'PSEUDO-A', 'PSEUDO-B'])
      assert.ok(!raw.includes(Buffer.from(s)), s);
  });
  test('reopening with the same key adds to it; another key is refused with exit 3 and audited', () => {
    const cw = Crosswalk.open(file, key, { create: true });
    cw.put('studyUID', '1.2.3.4', '2.25.99');
    cw.close();
    assert.equal(
      exitCodeOf(() => Crosswalk.open(file, generateKey(), { create: true })),
      3,
    );
    assert.equal(
      exitCodeOf(() => Crosswalk.open(file, generateKey(), { create: false, auditFailure: { pseudonym: 'PSEUDO-A' } })),
      3,
    );
    const again = Crosswalk.open(file, key, { create: false });
    assert.deepEqual(again.reidentify('2.25.99'), [{ kind: 'studyUID', original: '1.2.3.4' }]);
    assert.deepEqual(again.reidentify('missing'), []);
    const audit = again.auditRows();
    again.close();
    assert.deepEqual(
      audit.map((a) => a.outcome),
      ['fail-wrong-key', 'ok', 'not-found'],
    );
    assert.equal(audit[0]!.pseudonym_sha256, createHash('sha256').update('PSEUDO-A').digest('hex'));
  });
  test('a file that is not a crosswalk, or is missing, is exit 3', () => {
    const junk = join(tmp, 'junk.sqlite');
    writeFileSync(junk, 'this is not sqlite at all, just some text to fill a page');
    assert.equal(
      exitCodeOf(() => Crosswalk.open(junk, key, { create: false })),
      3,
    );
    assert.equal(
      exitCodeOf(() => Crosswalk.open(join(tmp, 'missing.sqlite'), key, { create: false })),
      3,
    );
  });
  test('a tampered row fails authentication', () => {
    const cw = Crosswalk.open(file, key, { create: false });
    (cw as unknown as { db: { exec(s: string): void } }).db.exec(
      "UPDATE crosswalk SET ciphertext = zeroblob(length(ciphertext)) WHERE kind = 'studyUID'",
    );
    assert.equal(
      exitCodeOf(() => cw.reidentify('2.25.99')),
      3,
    );
    cw.close();
  });
});
