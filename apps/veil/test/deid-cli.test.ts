/**
 * Proof tests of `veil deid` and `veil reidentify`, run through the real executable
 * (apps/veil/bin/veil.mjs, worker threads and all) on the bundled samples and on ~40 varied files from
 * ../shared/data/dicom (VEIL_SHARED_DIR overrides). Checked with real peers: DCMTK dcmdump and pydicom
 * (/usr/bin/python3). Every test writes only to its own temp folder.
 *
 * The burned-in text stage (on by default) runs on the samples; the corpus runs here are about the header path and
 * what is printed, so they turn it off explicitly (pixels.text.enabled: false, a user's own choice: then nothing is
 * claimed clean), which keeps this file ~1.5 min instead of several. The stage's own end-to-end proofs:
 * pixels-default.test.ts, pixels-jsl.test.ts.
 */

import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { hashTree } from './server-support.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repoRoot, 'apps/veil/bin/veil.mjs');
const samplesDir = join(repoRoot, 'samples');
const sharedDir = process.env.VEIL_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
const inventory = join(sharedDir, 'data', 'INVENTORY.tsv');
const PYTHON = '/usr/bin/python3';

const tmpRoot = mkdtempSync(join(tmpdir(), 'veil-deid-cli-'));
after(() => rmSync(tmpRoot, { recursive: true, force: true }));

/** Everything any command printed or wrote that is not a DICOM output: searched for PHI at the end. */
const textOutputs: { what: string; text: string }[] = [];

const baseEnv: NodeJS.ProcessEnv = { ...process.env };
delete baseEnv.VEIL_KEY;
delete baseEnv.NODE_TEST_CONTEXT;
delete baseEnv.NODE_OPTIONS;

function veil(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: tmpRoot,
    encoding: 'utf8',
    env: { ...baseEnv, ...env },
    timeout: 120_000,
    maxBuffer: 256 << 20, // a dry run over the corpus prints megabytes
  });
  textOutputs.push(
    { what: `stdout of veil ${args[0]}`, text: r.stdout },
    { what: `stderr of veil ${args[0]}`, text: r.stderr },
  );
  return r;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function dicomOutputs(dir: string): string[] {
  return filesUnder(dir).filter((f) => !/veil-report\.(json|html)$|veil-report-previews\//.test(f));
}

function collectReports(dir: string): void {
  for (const f of filesUnder(dir)) {
    if (/\.(json|html)$/.test(f)) textOutputs.push({ what: relative(tmpRoot, f), text: readFileSync(f, 'utf8') });
  }
}

/** A configuration file with the pixel text stage turned off (see the module comment). */
function pixelsOffConfig(): string {
  const p = join(tmpRoot, 'pixels-off.json');
  if (!existsSync(p)) writeFileSync(p, JSON.stringify({ pixels: { text: { enabled: false } } }));
  return p;
}

function newKey(name: string): string {
  const r = veil(['keygen']);
  assert.equal(r.status, 0, r.stderr);
  const p = join(tmpRoot, name);
  writeFileSync(p, r.stdout, { mode: 0o600 });
  return p;
}

interface Phi {
  file: string;
  PatientName: string;
  PatientID: string;
  PatientBirthDate: string;
  SOPInstanceUID: string;
  error?: string;
}

/** Header values read by pydicom (an independent reader), for the PHI checks. */
function readWithPydicom(files: string[]): Phi[] {
  const script = `
import json, sys, pydicom
out = []
for f in json.load(sys.stdin):
    try:
        d = pydicom.dcmread(f, force=True)
        d.PatientName  # force a parse of the header
        out.append({'file': f, 'PatientName': str(d.get('PatientName', '') or ''), 'PatientID': str(d.get('PatientID', '') or ''),
                    'PatientBirthDate': str(d.get('PatientBirthDate', '') or ''), 'SOPInstanceUID': str(d.get('SOPInstanceUID', '') or '')})
    except Exception as e:
        out.append({'file': f, 'PatientName': '', 'PatientID': '', 'PatientBirthDate': '', 'SOPInstanceUID': '', 'error': type(e).__name__})
print(json.dumps(out))
`;
  const r = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(files), encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Phi[];
}

/** The identifying strings of the inputs worth searching for (short or generic values would match anything). */
function phiNeedles(values: Phi[]): string[] {
  const needles = new Set<string>();
  for (const v of values) {
    for (const s of [v.PatientName, v.PatientID, v.PatientBirthDate]) {
      const t = s.trim();
      if (t.length >= 4) needles.add(t);
    }
    const family = v.PatientName.split('^')[0]?.trim() ?? '';
    if (family.length >= 5) needles.add(family);
  }
  return [...needles];
}

function assertNoPhi(needles: string[]): void {
  assert.ok(needles.length > 5, 'too few PHI values to search for: is pydicom reading the inputs?');
  assert.ok(textOutputs.length > 10, 'nothing to search');
  // A value counts as found when it is not part of a longer run of letters and digits: the 4-digit PatientID "0819"
  // occurs inside many a 2.25.<decimal> UID, which is no leak.
  const patterns = needles.map(
    (n) => new RegExp(`(?<![A-Za-z0-9])${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9])`),
  );
  // Control: the same search finds the identities in a dump of an input.
  const control = spawnSync('dcmdump', ['-q', join(samplesDir, 'jsl_mr_prostate.dcm')], { encoding: 'utf8' }).stdout;
  assert.ok(patterns.filter((re) => re.test(control)).length >= 3, 'the PHI search finds nothing in an input dump');
  for (const [k, re] of patterns.entries()) {
    for (const { what, text } of textOutputs) {
      assert.ok(!re.test(text), `${what} contains an input's identifying value (${needles[k]!.length} chars)`);
    }
  }
}

function sharedCorpus(): string[] {
  // Round robin over the source collections, smallest files first, up to 40 files of at most 1.5 MB.
  const rows = readFileSync(inventory, 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .filter((f) => f.length > 2 && Number(f[1]) <= 1_500_000 && !/DICOMDIR|DIRFILE/.test(f[0]!));
  const bySource = new Map<string, string[]>();
  for (const f of rows) {
    const source = f[0]!.split('/')[1]!;
    if (!bySource.has(source)) bySource.set(source, []);
    bySource.get(source)!.push(f[0]!);
  }
  for (const list of bySource.values()) list.sort();
  const picked: string[] = [];
  for (let round = 0; picked.length < 40 && round < 40; round++) {
    for (const source of [...bySource.keys()].sort()) {
      const list = bySource.get(source)!;
      // Spread picks through each collection rather than taking its first files.
      const i = Math.floor((round * 7919) % Math.max(list.length, 1));
      const p = list[i];
      if (p && !picked.includes(p) && picked.length < 40) picked.push(p);
    }
  }
  return picked.map((p) => join(sharedDir, 'data', p));
}

describe('veil deid on the bundled samples', () => {
  let key: string;
  const out = join(tmpRoot, 'samples-out');
  const crosswalk = join(tmpRoot, 'samples-crosswalk.sqlite');
  let samplesHashes: Map<string, string>;
  before(() => {
    key = newKey('samples.key');
    samplesHashes = hashTree(samplesDir);
  });

  test('writes every sample, skips the non-DICOM files, exits 0; outputs parse with dcmdump and pydicom', () => {
    const r = veil(['deid', samplesDir, '--out', out, '--key-file', key, '--jobs', '2', '--crosswalk', crosswalk]);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(readFileSync(join(out, 'veil-report.json'), 'utf8'));
    const dcm = filesUnder(samplesDir).filter((f) => f.endsWith('.dcm'));
    assert.equal(report.counts.written, dcm.length);
    assert.equal(report.counts.skippedNonDicom, filesUnder(samplesDir).length - dcm.length);
    assert.equal(report.counts.quarantined, 0);
    assert.ok(existsSync(join(out, 'veil-report.html')));
    assert.ok(report.actions.PatientName, 'actions per attribute include PatientName');
    const outputs = dicomOutputs(out);
    assert.equal(outputs.length, dcm.length);
    for (const f of outputs) {
      const d = spawnSync('dcmdump', ['-q', f], { encoding: 'utf8' });
      assert.equal(d.status, 0, `dcmdump failed on ${relative(out, f)}: ${d.stderr}`);
    }
    const inputs = readWithPydicom(dcm);
    const outputsRead = readWithPydicom(outputs);
    for (const o of outputsRead) assert.equal(o.error, undefined, `pydicom cannot read ${o.file}`);
    for (const i of inputs) {
      const o = outputsRead.find((x) => x.file === join(out, relative(samplesDir, i.file)))!;
      if (i.PatientID.length >= 2) assert.notEqual(o.PatientID, i.PatientID);
      if (i.PatientName.length >= 2) assert.notEqual(o.PatientName, i.PatientName);
      if (i.PatientBirthDate) assert.notEqual(o.PatientBirthDate, i.PatientBirthDate);
    }
    collectReports(out);
  });

  test('the input folder is unchanged', () => {
    assert.deepEqual(hashTree(samplesDir), samplesHashes);
  });

  test('crosswalk: reidentify with the right key prints the original; a wrong key exits 3 and is audited', () => {
    const sample = join(out, 'CT_small.dcm');
    const [orig] = readWithPydicom([join(samplesDir, 'CT_small.dcm')]);
    const [pseudo] = readWithPydicom([sample]);
    assert.ok(pseudo && orig && pseudo.PatientID && pseudo.PatientID !== orig.PatientID);
    const ok = veil(['reidentify', '--crosswalk', crosswalk, '--key-file', key, pseudo.PatientID]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, `${orig.PatientID}\n`);
    textOutputs.pop();
    textOutputs.pop(); // reidentify prints an identity by design: not part of the PHI-free outputs

    const wrong = veil(['reidentify', '--crosswalk', crosswalk, '--key-file', newKey('wrong.key'), pseudo.PatientID]);
    assert.equal(wrong.status, 3);
    assert.equal(wrong.stdout, '');
    assert.ok(!wrong.stderr.includes(orig.PatientID));
    const missing = veil(['reidentify', '--crosswalk', crosswalk, '--key-file', key, 'NO-SUCH-PSEUDONYM']);
    assert.equal(missing.status, 1);

    const db = new Database(crosswalk, { readonly: true });
    try {
      const audit = db.prepare('SELECT outcome, pseudonym_sha256 FROM audit ORDER BY id').all() as {
        outcome: string;
        pseudonym_sha256: string;
      }[];
      assert.deepEqual(
        audit.map((a) => a.outcome),
        ['ok', 'fail-wrong-key', 'not-found'],
      );
      assert.equal(audit[0]!.pseudonym_sha256, createHash('sha256').update(pseudo.PatientID).digest('hex'));
      // Nothing in the file is in clear: neither identities nor pseudonyms.
      const raw = readFileSync(crosswalk);
      assert.ok(!raw.includes(Buffer.from(orig.PatientID)) && !raw.includes(Buffer.from(pseudo.PatientID)));
    } finally {
      db.close();
    }
  });

  test('a separate crosswalk key: re-identification needs it and not the pseudonym key; the wrong kind is named', () => {
    const cwKey = newKey('crosswalk.key');
    const cw2 = join(tmpRoot, 'separate-crosswalk.sqlite');
    const out2 = join(tmpRoot, 'separate-out');
    const sample = join(samplesDir, 'CT_small.dcm');
    const same = veil([
      'deid',
      sample,
      '--out',
      out2,
      '--key-file',
      key,
      '--crosswalk',
      cw2,
      '--crosswalk-key-file',
      key,
    ]);
    assert.equal(same.status, 3, 'the pseudonym key itself is refused as the crosswalk key');
    const r = veil([
      'deid',
      sample,
      '--out',
      out2,
      '--key-file',
      key,
      '--crosswalk',
      cw2,
      '--crosswalk-key-file',
      cwKey,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const [orig] = readWithPydicom([sample]);
    const [pseudo] = readWithPydicom([join(out2, 'CT_small.dcm')]);
    assert.ok(orig && pseudo);
    const ok = veil(['reidentify', '--crosswalk', cw2, '--crosswalk-key-file', cwKey, pseudo.PatientID], {
      VEIL_KEY: '',
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, `${orig.PatientID}\n`);
    textOutputs.pop();
    textOutputs.pop(); // reidentify prints an identity by design
    const withProjectKey = veil(['reidentify', '--crosswalk', cw2, '--key-file', key, pseudo.PatientID]);
    assert.equal(withProjectKey.status, 3);
    assert.match(withProjectKey.stderr, /separate crosswalk key: pass --crosswalk-key-file/);
    const db = new Database(cw2, { readonly: true });
    try {
      const kind = db.prepare("SELECT value FROM veil_meta WHERE name = 'key'").get() as { value: string };
      assert.equal(kind.value, 'crosswalk');
    } finally {
      db.close();
    }
  });

  test('dry run prints masked changes and writes nothing', () => {
    const dry = join(tmpRoot, 'dry-out');
    const r = veil(['deid', samplesDir, '--out', dry, '--key-file', key, '--dry-run', '--jobs', '1']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /CT_small\.dcm: would write/);
    assert.match(r.stdout, /\(0010,0010\) PatientName \S+: .* -> /);
    assert.ok(!existsSync(dry), 'dry run created the output folder');
    assert.ok(!existsSync(`${dry}.quarantine`));
  });

  test('hierarchy layout names files by de-identified UIDs only', () => {
    const h = join(tmpRoot, 'hier-out');
    const cfg = join(tmpRoot, 'hier.yaml');
    writeFileSync(cfg, 'layout: hierarchy\n');
    const r = veil(['deid', samplesDir, '--out', h, '--key-file', key, '--config', cfg, '--jobs', '1']);
    assert.equal(r.status, 0, r.stderr);
    const outputs = dicomOutputs(h);
    const inputs = readWithPydicom(filesUnder(samplesDir).filter((f) => f.endsWith('.dcm')));
    assert.equal(outputs.length, inputs.length);
    for (const o of outputs) {
      const parts = relative(h, o).split('/');
      assert.equal(parts.length, 4, relative(h, o));
      for (const i of inputs) {
        for (const v of [i.PatientID, i.SOPInstanceUID]) if (v.length >= 4) assert.ok(!relative(h, o).includes(v));
      }
    }
    const read = readWithPydicom(outputs);
    for (const o of read) assert.equal(`${o.SOPInstanceUID}.dcm`, o.file.split('/').pop());
    collectReports(h);
  });
});

describe('veil deid on ~40 varied files from the shared corpus', {
  skip: !existsSync(inventory) && `no ${inventory}`,
}, () => {
  const input = join(tmpRoot, 'corpus-in');
  let corpus: string[] = [];
  let key1: string;
  let key2: string;
  let inputHashes: Map<string, string>;
  const runs: Record<string, string> = {};

  before(() => {
    corpus = sharedCorpus();
    // Neutral names: real file names can hold identities (the JSL files start with the patient ID).
    corpus.forEach((src, i) => {
      const dest = join(input, `group-${i % 3}`, `case-${String(i).padStart(2, '0')}.dcm`);
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(src, dest);
    });
    writeFileSync(join(input, 'notes.txt'), 'not a DICOM file\n');
    writeFileSync(join(input, 'group-1', 'empty.bin'), '');
    const ct = readFileSync(join(samplesDir, 'CT_small.dcm'));
    writeFileSync(join(input, 'group-2', 'truncated.dcm'), ct.subarray(0, Math.floor(ct.length / 2)));
    key1 = newKey('corpus1.key');
    key2 = newKey('corpus2.key');
    inputHashes = hashTree(input);
    // a: two worker threads; b and c: on the main thread (--jobs 1 --inline: every other run has a worker thread),
    // which must give the same bytes as the workers.
    for (const [name, key, jobs] of [
      ['a', key1, ['--jobs', '2']],
      ['b', key1, ['--jobs', '1', '--inline']],
      ['c', key2, ['--jobs', '1', '--inline']],
    ] as const) {
      const out = join(tmpRoot, `corpus-out-${name}`);
      const r = veil(['deid', input, '--out', out, '--key-file', key, ...jobs, '--config', pixelsOffConfig()]);
      assert.equal(r.status, 1, `the truncated file makes the run exit 1: ${r.stderr}`);
      runs[name] = out;
      collectReports(out);
      collectReports(`${out}.quarantine`);
    }
  });

  test('counts: written, skipped non-DICOM, truncated file quarantined with a code and a sidecar', () => {
    assert.ok(corpus.length >= 35, `only ${corpus.length} corpus files`);
    const report = JSON.parse(readFileSync(join(runs.a!, 'veil-report.json'), 'utf8'));
    assert.equal(report.counts.processed, corpus.length + 3);
    assert.equal(report.counts.skippedNonDicom, 2);
    assert.equal(report.counts.written + report.counts.quarantined + report.counts.errors, corpus.length + 1);
    assert.equal(report.counts.errors, 0, JSON.stringify(report.errorFiles));
    const truncated = report.quarantinedFiles.find((q: { file: string }) => q.file === 'group-2/truncated.dcm');
    assert.ok(truncated, 'truncated file quarantined');
    assert.match(truncated.code, /^DICOM_TRUNCATED/);
    const sidecar = JSON.parse(readFileSync(join(`${runs.a}.quarantine`, 'group-2/truncated.dcm.veil.json'), 'utf8'));
    assert.deepEqual(Object.keys(sidecar).sort(), ['code', 'file', 'findings', 'tagPath']);
    assert.equal(sidecar.file, 'group-2/truncated.dcm');
    // Every finding listed (stage, detector, code, tag path, level), the headline first; no values.
    assert.ok(sidecar.findings.length >= 1);
    assert.equal(sidecar.findings[0].code, sidecar.code);
    for (const f of sidecar.findings) {
      assert.deepEqual(
        Object.keys(f)
          .filter((k) => k !== 'detail')
          .sort(),
        ['code', 'detector', 'level', 'stage', 'tagPath'],
      );
    }
    assert.ok(existsSync(join(`${runs.a}.quarantine`, 'group-2/truncated.dcm')));
    assert.ok(report.counts.written >= corpus.length - 5, `${report.counts.written} written`);
  });

  test('outputs parse with dcmdump and pydicom', () => {
    const outputs = dicomOutputs(runs.a!);
    assert.ok(outputs.length >= 30);
    for (const f of outputs) {
      const d = spawnSync('dcmdump', ['-q', f], { encoding: 'utf8' });
      assert.equal(d.status, 0, `dcmdump failed on ${relative(runs.a!, f)}`);
    }
    for (const o of readWithPydicom(outputs)) assert.equal(o.error, undefined, `pydicom cannot read ${o.file}`);
  });

  test('same key twice (workers, then main thread): byte-identical outputs; another key: different outputs', () => {
    const a = hashTree(runs.a!);
    const b = hashTree(runs.b!);
    const c = hashTree(runs.c!);
    for (const m of [a, b, c]) {
      m.delete('veil-report.json');
      m.delete('veil-report.html');
    }
    assert.deepEqual(b, a);
    assert.deepEqual([...c.keys()], [...a.keys()]);
    const same = [...a].filter(([k, h]) => c.get(k) === h).map(([k]) => k);
    assert.deepEqual(same, [], 'files identical under two keys');
  });

  test('the input folder is unchanged', () => {
    assert.deepEqual(hashTree(input), inputHashes);
  });

  test('dry run on the corpus writes nothing', () => {
    const dry = join(tmpRoot, 'corpus-dry');
    const r = veil([
      'deid',
      input,
      '--out',
      dry,
      '--key-file',
      key1,
      '--dry-run',
      '--jobs',
      '1',
      '-c',
      pixelsOffConfig(),
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /truncated\.dcm: would quarantine \(DICOM_TRUNCATED/);
    assert.ok(!existsSync(dry) && !existsSync(`${dry}.quarantine`));
  });

  test('exit codes: 2 for usage errors, 3 for key and config errors (details in deid-units.test.ts)', () => {
    const out = join(tmpRoot, 'never');
    const noKey = veil(['deid', input, '--out', out]);
    assert.equal(noKey.status, 3);
    assert.match(noKey.stderr, /no key/);
    const badConfig = join(tmpRoot, 'bad.json');
    writeFileSync(badConfig, '{ "options": { "retainEverything": true } }');
    assert.equal(veil(['deid', input, '--out', out, '--key-file', key1, '--config', badConfig]).status, 3);
    const env = { VEIL_KEY: readFileSync(key1, 'utf8').trim() };
    assert.equal(veil(['deid', input], env).status, 2, 'no --out');
    assert.equal(veil(['deid', input, '--out', join(input, 'out')], env).status, 2, '--out inside the input');
    assert.equal(veil(['deid', input, '--out', out, '--jobs', '0'], env).status, 2);
    assert.equal(veil(['deid', input, '--out', out, '--bogus'], env).status, 2);
    assert.ok(!existsSync(out), 'a refused run wrote nothing');
    assert.deepEqual(hashTree(input), inputHashes);
  });

  test('no PHI in any stdout, stderr, report, HTML or sidecar', () => {
    const phi = readWithPydicom([...filesUnder(samplesDir).filter((f) => f.endsWith('.dcm')), ...corpus]);
    assertNoPhi(phiNeedles(phi));
  });
});

describe('veil deid, dry run and verify on the whole shared corpus: no PHI in anything printed or written', {
  skip: existsSync(inventory) ? false : `shared data not found at ${sharedDir}`,
}, () => {
  const input = join(tmpRoot, 'all-in');
  const out = join(tmpRoot, 'all-out');
  let all: string[] = [];

  before(() => {
    all = readFileSync(inventory, 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t')[0] ?? '')
      .filter((p) => p !== '')
      .map((p) => join(sharedDir, 'data', p));
    // Neutral names: real file names can hold identities (the JSL files start with the patient ID).
    all.forEach((src, i) => {
      const dest = join(input, `d${i % 10}`, `f${String(i).padStart(4, '0')}.dcm`);
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(src, dest);
    });
    const key = newKey('all.key');
    const off = ['--config', pixelsOffConfig()];
    const run = veil(['deid', input, '--out', out, '--key-file', key, ...off]);
    assert.ok(run.status === 0 || run.status === 1, run.stderr);
    collectReports(out);
    collectReports(`${out}.quarantine`);
    const dry = veil(['deid', input, '--out', join(tmpRoot, 'all-dry'), '--key-file', key, '--dry-run', ...off]);
    assert.ok(dry.status === 0 || dry.status === 1, dry.stderr);
    const verify = veil([
      'verify',
      out,
      '--originals',
      input,
      '--key-file',
      key,
      '--report',
      join(tmpRoot, 'all-verify'),
      ...off,
    ]);
    assert.ok(verify.status === 0 || verify.status === 1, verify.stderr);
    collectReports(join(tmpRoot, 'all-verify'));
  });

  test('every input was processed: written or quarantined with a code', () => {
    const written = dicomOutputs(out).length;
    const quarantined = filesUnder(`${out}.quarantine`).filter((f) => f.endsWith('.veil.json')).length;
    assert.ok(written > 500, `written ${written}`);
    assert.equal(written + quarantined, all.length);
  });

  test('no input PatientName, PatientID or birth date in any stdout, stderr, report, dry-run line or sidecar', () => {
    const dummies = new Set(['ANONYMIZED', '19000101', 'Anonymized', 'ANONYMOUS']);
    // Purely numeric IDs under 6 digits would match counts and sizes in reports: too generic to search for.
    const needles = phiNeedles(readWithPydicom(all)).filter((n) => !dummies.has(n) && !/^\d{1,5}$/.test(n));
    assertNoPhi(needles);
  });
});
