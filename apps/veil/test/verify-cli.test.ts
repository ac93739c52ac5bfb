/**
 * Proof tests of `veil verify`, run through the real executable (apps/veil/bin/veil.mjs), and of the release gate
 * inside `veil deid`. Leaky outputs are made from files with synthetic PHI (jsl-dicom-deid-dataset) by the core
 * engine and rewriter: a configuration that keeps Patient's Name, the name copied into Study Description, into a
 * nested sequence item and into a private tag, a date left unshifted, an original UID left in a Referenced SOP
 * Instance UID. Each must be caught (by `veil verify`) and quarantined (by `veil deid`). At the end, everything the
 * commands printed or wrote besides DICOM files is searched for the originals' names and IDs. Files get neutral
 * names: the dataset's own file names spell the patient.
 *
 * These files carry synthetic PHI burned into their pixels too. The header checks here run with the pixel text stage
 * turned off explicitly (HEADER_ONLY: a user's own choice, then nothing is claimed clean); one test shows the pixel
 * half, on by default, failing the header-clean output (VERIFY_PIXEL_TEXT). More in pixels-default.test.ts.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
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
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  characterSetOf,
  type DicomFile,
  deidentify,
  type Edit,
  type ElementContainer,
  encodeText,
  findElement,
  parseDeidConfig,
  readString,
  rewrite,
  scanFile,
  writeDeidentified,
} from '@veil/core';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repoRoot, 'apps/veil/bin/veil.mjs');
const sharedDir = process.env.VEIL_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
const JSL = join(sharedDir, 'data/dicom/jsl-dicom-deid-dataset');
const XR = join(JSL, '292821506_07-13-2013-XR_CHEST_AP_PORTABLE_for_Douglas_Davidson-46198_1001_000000-37718_1-1.dcm');
const MR = join(
  JSL,
  '8732322741_01-05-2008-MRI_PROSTATE_W_WO_CONTRAST-39318_4_000000-t2spcrstaxial_oblProstate-50358_1-54.dcm',
);
/** The originals' identifying values: none may appear in anything the commands print or write (but DICOM outputs). */
const PHI = ['DAVIDSON', 'DOUGLAS', '292821506', '19760616', 'JAMES^THOMAS', 'THOMAS JAMES', '8732322741', '19441119'];

const KEY_HEX = 'a1'.repeat(32);
const KEY = new Uint8Array(32).fill(0xa1);

const tmpRoot = mkdtempSync(join(tmpdir(), 'veil-verify-cli-'));
after(() => rmSync(tmpRoot, { recursive: true, force: true }));
const keyFile = join(tmpRoot, 'veil.key');
writeFileSync(keyFile, `${KEY_HEX}\n`, { mode: 0o600 });

const textOutputs: { what: string; text: string }[] = [];
const baseEnv: NodeJS.ProcessEnv = { ...process.env };
delete baseEnv.VEIL_KEY;
delete baseEnv.NODE_TEST_CONTEXT;
delete baseEnv.NODE_OPTIONS;

function veil(args: string[]): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: tmpRoot,
    encoding: 'utf8',
    env: baseEnv,
    timeout: 120_000,
  });
  textOutputs.push(
    { what: `stdout of veil ${args.join(' ')}`, text: r.stdout },
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

function collectTextFiles(dir: string): void {
  for (const f of filesUnder(dir)) {
    if (/\.(json|html)$/.test(f)) textOutputs.push({ what: relative(tmpRoot, f), text: readFileSync(f, 'utf8') });
  }
}

function load(path: string): DicomFile {
  const b = readFileSync(path);
  return scanFile(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
}

function insertText(c: ElementContainer, tag: number, vr: string, value: string): Edit {
  return { op: 'insert', container: c, tag, vr, value: encodeText(value, characterSetOf(c), vr) };
}

function write(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

/** De-identifies `source` with `config` (as `veil deid` would), then plants `edits` in the output. */
function leakyOutput(source: string, config: unknown, edits: (f: DicomFile) => Edit[] = () => []): Uint8Array {
  const file = load(source);
  const result = deidentify(file, parseDeidConfig(config), { key: KEY });
  const out = scanFile(writeDeidentified(file, result));
  return rewrite(out, edits(out));
}

interface JsonFinding {
  file: string;
  tagPath: string;
  detector: string;
  level: string;
  code: string;
  masked: string;
}

function jsonLines(stdout: string): JsonFinding[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as JsonFinding);
}

/** The planted leaks: output name, source, config, edits of the output, and what must be found where. */
const LEAKS: {
  name: string;
  source: string;
  config: unknown;
  edits?: (f: DicomFile) => Edit[];
  expect: { tagPath: string; detector: string };
}[] = [
  {
    name: 'kept-name.dcm',
    source: XR,
    config: { overrides: [{ selector: 'PatientName', override: { action: 'keep' } }] },
    expect: { tagPath: '(0010,0010)', detector: 'known-name' },
  },
  {
    name: 'name-in-description.dcm',
    source: XR,
    config: {},
    edits: (f) => [insertText(f.dataset, 0x00081030, 'LO', 'XR chest for Douglas Davidson')],
    expect: { tagPath: '(0008,1030)', detector: 'known-name' },
  },
  {
    name: 'deep/name-in-nested-item.dcm',
    source: MR,
    config: {},
    edits: (f) => [insertText(findElement(f.dataset, 0x00081140)!.items![1]!, 0x00080104, 'LO', 'Thomas James')],
    expect: { tagPath: '(0008,1140)[1](0008,0104)', detector: 'known-name' },
  },
  {
    name: 'name-in-private.dcm',
    source: XR,
    config: {},
    edits: (f) => [
      insertText(f.dataset, 0x00110010, 'LO', 'ACME 1.0'),
      insertText(f.dataset, 0x00111001, 'LO', 'DAVIDSON^DOUGLAS'),
    ],
    expect: { tagPath: '(0011,1001)', detector: 'known-name' },
  },
  {
    name: 'unshifted-date.dcm',
    source: XR,
    config: {
      options: { retainLongitudinalModifiedDates: true },
      overrides: [{ selector: 'StudyDate', override: { action: 'keep' } }],
    },
    expect: { tagPath: '(0008,0020)', detector: 'unshifted-date' },
  },
  {
    name: 'original-uid.dcm',
    source: MR,
    config: {},
    edits: (f) => {
      const ref = findElement(findElement(f.dataset, 0x00081140)!.items![0]!, 0x00081155)!;
      const orig = findElement(findElement(load(MR).dataset, 0x00081140)!.items![0]!, 0x00081155)!;
      return [{ op: 'replace', element: ref, value: new TextEncoder().encode(readString(orig)) }];
    },
    expect: { tagPath: '(0008,1140)[0](0008,1155)', detector: 'original-uid' },
  },
];

/** A configuration with the pixel text stage (and so the pixel half of veil verify) turned off. */
const PIXELS_OFF = { pixels: { text: { enabled: false } } };
const HEADER_ONLY = join(tmpRoot, 'header-only.json');
writeFileSync(HEADER_ONLY, JSON.stringify(PIXELS_OFF));

describe('veil verify', () => {
  const out = join(tmpRoot, 'out');
  const orig = join(tmpRoot, 'orig');
  for (const l of LEAKS) {
    write(join(out, l.name), leakyOutput(l.source, l.config, l.edits));
    mkdirSync(dirname(join(orig, l.name)), { recursive: true });
    copyFileSync(l.source, join(orig, l.name));
  }
  write(join(out, 'clean.dcm'), leakyOutput(MR, {}));
  copyFileSync(MR, join(orig, 'clean.dcm'));
  writeFileSync(join(out, 'notes.txt'), 'not DICOM\n');

  test('catches every planted leak, prints JSON lines, writes the reports, exits 1', () => {
    const report = join(tmpRoot, 'report');
    const r = veil(['verify', 'out', '--originals', 'orig', '--json', '--report', report, '-c', HEADER_ONLY]);
    assert.equal(r.status, 1, r.stderr);
    const findings = jsonLines(r.stdout);
    for (const l of LEAKS) {
      const hit = findings.find(
        (f) => f.file === l.name && f.tagPath === l.expect.tagPath && f.detector === l.expect.detector,
      );
      assert.equal(hit?.level, 'error', `${l.name}: ${l.expect.detector} at ${l.expect.tagPath}`);
    }
    assert.deepEqual(
      findings.filter((f) => f.file === 'clean.dcm' && f.level === 'error'),
      [],
      'the clean file passes',
    );
    assert.ok(findings.some((f) => f.file === 'name-in-private.dcm' && f.detector === 'private-tag'));
    const json = JSON.parse(readFileSync(join(report, 'verify-report.json'), 'utf8'));
    assert.equal(json.counts.failed, LEAKS.length);
    assert.equal(json.counts.passed, 1);
    assert.equal(json.counts.skippedNonDicom, 1);
    assert.ok(json.files.filter((f: { original: string }) => f.original === 'path').length === LEAKS.length + 1);
    const html = readFileSync(join(report, 'verify-report.html'), 'utf8');
    assert.match(html, /must not be released/);
    assert.match(html, /\(0008,1140\)\[1\]\(0008,0104\)/);
    collectTextFiles(report);
  });

  test('prints one line per finding: file, tag path, detector, level, masked value, code', () => {
    const r = veil(['verify', 'out', '--originals', 'orig', '--config', HEADER_ONLY]);
    assert.equal(r.status, 1);
    assert.match(
      r.stdout,
      /^kept-name\.dcm {2}\(0010,0010\) {2}known-name {2}error {2}D\*{7} D\*{6} {2}\(KNOWN_PATIENT_NAME\)$/m,
    );
    assert.match(r.stderr, /8 files in .*1 passed, 0 with warnings, 6 failed, 1 skipped \(not DICOM\)/);
  });

  test('matches originals by remapped SOP Instance UID with the key (hierarchy layout)', () => {
    const h = join(tmpRoot, 'hier');
    write(join(h, 'P1/S1/x1.dcm'), readFileSync(join(out, 'kept-name.dcm')));
    write(join(h, 'P2/S2/x2.dcm'), readFileSync(join(out, 'original-uid.dcm')));
    const report = join(tmpRoot, 'report-hier');
    const r = veil([
      'verify',
      'hier',
      '--originals',
      'orig',
      '--key-file',
      keyFile,
      '--json',
      '--report',
      report,
      '-c',
      HEADER_ONLY,
    ]);
    assert.equal(r.status, 1, r.stderr);
    const findings = jsonLines(r.stdout);
    assert.ok(findings.some((f) => f.file === 'P1/S1/x1.dcm' && f.detector === 'known-name' && f.level === 'error'));
    assert.ok(findings.some((f) => f.file === 'P2/S2/x2.dcm' && f.detector === 'original-uid' && f.level === 'error'));
    const json = JSON.parse(readFileSync(join(report, 'verify-report.json'), 'utf8'));
    assert.deepEqual(
      json.files.map((f: { original: string }) => f.original),
      ['uid', 'uid'],
    );
    collectTextFiles(report);
    // Without the key the originals cannot be found: the known-value checks cannot run, which is said.
    const r2 = veil(['verify', 'hier', '--originals', 'orig', '--json', '-c', HEADER_ONLY]);
    assert.equal(r2.status, 0, r2.stderr);
    assert.ok(jsonLines(r2.stdout).some((f) => f.detector === 'original-missing' && f.level === 'warn'));
  });

  test('the verify section of the configuration downgrades a detector', () => {
    const cfg = join(tmpRoot, 'downgrade.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        overrides: [{ selector: 'PatientName', override: { action: 'keep' } }],
        verify: { detectors: { 'known-name': 'warn', 'known-name-part': 'off' } },
        ...PIXELS_OFF,
      }),
    );
    const r = veil(['verify', 'out/kept-name.dcm', '--originals', 'orig', '--config', cfg, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const f = jsonLines(r.stdout).find((x) => x.detector === 'known-name');
    assert.equal(f?.level, 'warn');
  });

  test('the pixel half (on by default) fails the header-clean output: text burned into its pixels', () => {
    const r = veil(['verify', 'out/clean.dcm', '--json']);
    assert.equal(r.status, 1, r.stderr);
    const errors = jsonLines(r.stdout).filter((f) => f.level === 'error');
    assert.deepEqual(
      errors.map((f) => [f.detector, f.tagPath, f.code]),
      [['pixel-text', '(7FE0,0010)', 'VERIFY_PIXEL_TEXT']],
    );
  });

  test('usage errors exit 2, configuration and key errors exit 3', () => {
    assert.equal(veil(['verify', 'out', '--originals', 'no-such-dir']).status, 2);
    const bad = join(tmpRoot, 'bad.json');
    writeFileSync(bad, JSON.stringify({ verify: { detectors: { 'no-such-detector': 'off' } } }));
    const r = veil(['verify', 'out', '--config', bad]);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /unknown detector/);
    const badKey = join(tmpRoot, 'bad.key');
    writeFileSync(badKey, 'short\n', { mode: 0o600 });
    assert.equal(veil(['verify', 'out', '--key-file', badKey]).status, 3);
  });
});

/** Whether `veil deid` reads the configuration's verify section (config.ts, protocol.ts, worker.ts, run.ts). */

describe('veil deid quarantines what verification catches', () => {
  /** Inputs with the leak planted in the original itself, and the config under which the engine lets it through. */
  const CASES: {
    name: string;
    source: string;
    config: unknown;
    edits?: (f: DicomFile) => Edit[];
    code: string;
    tagPath: string;
  }[] = [
    {
      name: 'kept-name',
      source: XR,
      config: { overrides: [{ selector: 'PatientName', override: { action: 'keep' } }] },
      code: 'VERIFY_KNOWN_NAME',
      tagPath: '(0010,0010)',
    },
    {
      name: 'name-in-description',
      source: XR,
      config: { overrides: [{ selector: 'StudyDescription', override: { action: 'keep' } }] },
      code: 'VERIFY_KNOWN_NAME',
      tagPath: '(0008,1030)',
    },
    {
      name: 'name-in-nested-item',
      source: MR,
      config: {},
      edits: (f) => [insertText(findElement(f.dataset, 0x00081140)!.items![1]!, 0x00080104, 'LO', 'Thomas James')],
      code: 'VERIFY_KNOWN_NAME',
      tagPath: '(0008,1140)[1](0008,0104)',
    },
    {
      name: 'name-in-private',
      source: XR,
      config: { overrides: [{ selector: '(0011,"ACME 1.0",01)', override: { action: 'keep' } }] },
      edits: (f) => [
        insertText(f.dataset, 0x00110010, 'LO', 'ACME 1.0'),
        insertText(f.dataset, 0x00111001, 'LO', 'Douglas Davidson'),
      ],
      code: 'VERIFY_KNOWN_NAME',
      tagPath: '(0011,1001)',
    },
    {
      name: 'unshifted-date',
      source: XR,
      config: {
        options: { retainLongitudinalModifiedDates: true },
        overrides: [{ selector: 'StudyDate', override: { action: 'keep' } }],
      },
      code: 'VERIFY_UNSHIFTED_DATE',
      tagPath: '(0008,0020)',
    },
    {
      name: 'original-uid',
      source: MR,
      config: { overrides: [{ selector: 'ReferencedSOPInstanceUID', override: { action: 'keep' } }] },
      code: 'VERIFY_ORIGINAL_UID',
      tagPath: '(0008,1140)[0](0008,1155)',
    },
  ];

  function deidRun(name: string, source: string, config: unknown, edits?: (f: DicomFile) => Edit[]) {
    const dir = join(tmpRoot, 'deid', name);
    const input = join(dir, 'in', 'image.dcm');
    const file = load(source);
    write(input, edits ? rewrite(file, edits(file)) : readFileSync(source));
    const cfg = join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ ...(config as object), ...PIXELS_OFF }));
    const outDir = join(dir, 'out');
    const r = veil(['deid', join(dir, 'in'), '--out', outDir, '--key-file', keyFile, '--config', cfg, '--no-progress']);
    collectTextFiles(outDir);
    collectTextFiles(`${outDir}.quarantine`);
    return { r, outDir };
  }

  for (const c of CASES) {
    test(`${c.name}: quarantined as ${c.code}, not written, exit 1`, () => {
      const { r, outDir } = deidRun(c.name, c.source, c.config, c.edits);
      assert.equal(r.status, 1, r.stderr);
      assert.ok(!existsSync(join(outDir, 'image.dcm')), 'not released');
      const sidecar = JSON.parse(readFileSync(join(`${outDir}.quarantine`, 'image.dcm.veil.json'), 'utf8'));
      assert.equal(sidecar.code, c.code);
      assert.equal(sidecar.tagPath, c.tagPath);
    });
  }

  test('a site that means to keep the name downgrades the detector in its config: written, exit 0', () => {
    const config = {
      overrides: [{ selector: 'PatientName', override: { action: 'keep' } }],
      verify: { detectors: { 'known-name': 'warn', 'known-name-part': 'off' } },
    };
    const { r, outDir } = deidRun('kept-name-downgraded', XR, config);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(outDir, 'image.dcm')));
  });
});

test('nothing printed or written holds a clear name or ID of the originals', () => {
  assert.ok(textOutputs.length > 10);
  for (const { what, text } of textOutputs) {
    const upper = text.toUpperCase();
    for (const v of PHI) assert.ok(!upper.includes(v), `${what} shows an original value`);
  }
});
