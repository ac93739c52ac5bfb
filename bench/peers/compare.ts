/**
 * What Veil, Orthanc and gdcmanon each do to the same ~30 real files (docs/deid-comparison.md): attributes kept,
 * replaced, emptied, removed and added, private tags, UIDs, dates, sequences and the file meta, per tool and per
 * attribute, with tag paths and keywords as examples and never a value.
 *
 * Usage: npx tsx bench/peers/compare.ts   (needs gdcmanon, Orthanc and /usr/bin/python3 with pydicom)
 *
 * - Veil: `veil deid IN --out OUT --key-file K --jobs 1` with the default configuration (PS3.15 2024b Basic Profile,
 *   no options). A file the release gate quarantines is compared through the engine's own output (deidentify +
 *   writeDeidentified, what the gate refused) and flagged.
 * - Orthanc: its own instance (temporary storage, free ports on 127.0.0.1, no plugins), POST /instances then
 *   POST /instances/{id}/anonymize with {} (Orthanc 1.10.1: PS3.15 2021b Basic Profile; "2023b" is refused).
 * - gdcmanon: `gdcmanon -e -c CERT --continue -i IN -o OUT` (GDCM 3.0.21 Basic Profile, originals encrypted into the
 *   Encrypted Attributes Sequence with a throw-away certificate).
 * Inputs and outputs are parsed by pydicom (bench/peers/flatten_dicom.py), independent of Veil's parser, into
 * (tag path, keyword path, VR, digest) rows; values are compared by digest only.
 * Prints Markdown tables and writes them to bench/out/deid-comparison.md. Env: ORTHANC (binary, default Orthanc).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deidentify, parseDeidConfig, scanFile, writeDeidentified } from '@veil/core';
import { loadProfileList } from './basic-profile.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(HERE, '../..');
const DATA = resolve(ROOT, '../shared/data/dicom');
const OUT_MD = join(ROOT, 'bench/out/deid-comparison.md');
const VEIL_BIN = join(ROOT, 'apps/veil/bin/veil.mjs');
const FLATTEN = join(HERE, 'flatten_dicom.py');

/** The files compared: label (no value from the file: some file names hold synthetic patient names) and path. */
const FILES: readonly { label: string; path: string }[] = [
  ...[
    ['jsl-01 XR chest', '292821506_07-13-2013-XR_CHEST_AP_PORTABLE_for_Douglas_Davidson-46198_1001_000000-37718_1-1'],
    ['jsl-02 CT urogram', '3209648408_09-23-1999-CT_UROGRAM-31798_3_000000-PARENCHYMAL_PHASE_Sep1999-95798_1-021'],
    ['jsl-03 CT urogram', '3209648408_09-23-1999-CT_UROGRAM-31798_3_000000-PARENCHYMAL_PHASE_Sep1999-95798_1-062'],
    ['jsl-04 DBT volume', '571403367_07-11-2019-DBT_Reconstructed_Volume-37558_DBT_slices-78838_29-01'],
    ['jsl-05 XR chest', '6774825273_09-11-2013-XR_CHEST_AP_PORTABLE_for_Scott_Kaufman-73078_1_000000-91318_1-1'],
    ['jsl-06 XR chest', '6774825273_09-11-2013-XR_CHEST_AP_PORTABLE_for_Scott_Kaufman-87318_1_000000-AP-85558_1-1'],
    [
      'jsl-07 MR prostate',
      '8732322741_01-05-2008-MRI_PROSTATE_W_WO_CONTRAST-39318_4_000000-t2spcrstaxial_oblProstate-50358_1-05',
    ],
    [
      'jsl-08 MR prostate',
      '8732322741_01-05-2008-MRI_PROSTATE_W_WO_CONTRAST-39318_4_000000-t2spcrstaxial_oblProstate-50358_1-16',
    ],
    ['jsl-09 CT hip', '9189822998_02-15-1989-CT_HIP_WO_CONTRASTBILAT-50838_5865_000000-Surview_Test-43798_1-2'],
    [
      'jsl-10 MR abdomen',
      '9894340694_04-16-1997-MRI_ABDOMEN_PELVIS_WWO_CONT-87318_15_000000-LIVER-PELVISHASTEAXIALP-65398_1-07',
    ],
    [
      'jsl-11 MR abdomen',
      '9894340694_04-16-1997-MRI_ABDOMEN_PELVIS_WWO_CONT-87318_16_000000-LIVER-PELVISHASTESAGPOS-74838_1-03',
    ],
    [
      'jsl-12 MR abdomen',
      '9894340694_04-16-1997-MRI_ABDOMEN_PELVIS_WWO_CONT-87318_6_000000-LIVER-KIDNEYTIFL2DAXIAL-30038_1-11',
    ],
  ].map(([label, name]) => ({ label: label!, path: `jsl-dicom-deid-dataset/${name}.dcm` })),
  { label: 'US burned-in text', path: 'deid-data/ultrasounds/GREYSCALE_IMAGE.dcm' },
  { label: 'US multi-frame RLE', path: 'dcm4che/test-data/US-PAL-8-10x-echo' },
  { label: 'CT burned-in text', path: 'presidio/docs-sample_data/2_ORIGINAL.dcm' },
  { label: 'MR private-heavy', path: 'pydicom-deid/examples/MR.dcm' },
  { label: 'MR Siemens overlays', path: 'pydicom-data/MR-SIEMENS-DICOM-WithOverlays.dcm' },
  { label: 'SR basic text', path: 'pydicom-test-files/test_files/reportsi.dcm' },
  { label: 'RT plan', path: 'pydicom-test-files/test_files/rtplan.dcm' },
  { label: 'RT struct', path: 'pydicom-test-files/test_files/rtstruct.dcm' },
  { label: 'SC CT brain JPEG', path: 'deid-data/humans/ctbrain1.dcm' },
  {
    label: 'MR implicit, other IDs',
    path: 'dicognito/test_mitra_global_patient_id_is_updated/global_patient_id_implicit_vr.dcm',
  },
  { label: 'NM SC burned-in YES', path: 'dicognito/test_burned_in_annotation_default/burned_in_yes.dcm' },
  { label: 'SC French charset', path: 'pydicom-test-files/charset_files/chrFrenMulti.dcm' },
  { label: 'CT Philips', path: 'dcm_qa_ct/Philips/S21570/S2010/I10' },
  { label: 'MR UIH', path: 'dcm_qa_uih/DTI_132225/t1_gre_fsp_3d_sag__132750/00000070.dcm' },
  { label: 'ECG waveform', path: 'pydicom-test-files/test_files/waveform_ecg.dcm' },
  { label: 'OT overlay', path: 'dcm4che/test-data/ovly_p01.dcm' },
  { label: 'CT small', path: 'pydicom-test-files/test_files/CT_small.dcm' },
  { label: 'NM multi-frame', path: 'dcm4che/test-data/NM-MONO2-16-13x-heart' },
];

const TOOLS = ['veil', 'orthanc', 'gdcmanon'] as const;
type ToolName = (typeof TOOLS)[number];
const TOOL_LABELS: Record<ToolName, string> = {
  veil: 'Veil (2024b Basic)',
  orthanc: 'Orthanc 1.10.1 /anonymize {} (2021b)',
  gdcmanon: 'gdcmanon -e (GDCM 3.0.21)',
};

interface El {
  p: string;
  k: string;
  vr: string;
  n: number;
  e: boolean;
  h: string;
  std?: boolean;
}
interface Flat {
  meta?: El[];
  ds?: El[];
  preambleZero?: boolean;
  error?: string;
}
type Status = 'kept' | 'replaced' | 'emptied' | 'removed' | 'added';
const CHANGED: ReadonlySet<Status> = new Set(['replaced', 'emptied', 'removed']);

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

// ---------------------------------------------------------------------------------------------------------------
// Running the tools

function stage(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return FILES.map((f, i) => {
    const name = `${String(i + 1).padStart(2, '0')}.dcm`;
    copyFileSync(join(DATA, f.path), join(dir, name));
    return name;
  });
}

interface VeilOutcome {
  quarantined: Map<string, string>;
}

function runVeil(tmp: string, inDir: string, names: readonly string[], keyFile: string, key: Uint8Array): VeilOutcome {
  const out = join(tmp, 'veil');
  const res = spawnSync(
    process.execPath,
    [VEIL_BIN, 'deid', inDir, '--out', out, '--key-file', keyFile, '--jobs', '1', '--no-progress'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (res.status !== 0 && res.status !== 1) throw new Error(`veil deid failed (${res.status}): ${res.stderr}`);
  const report = JSON.parse(readFileSync(join(out, 'veil-report.json'), 'utf8')) as {
    quarantinedFiles: { file: string; code: string; tagPath: string | null }[];
    errorFiles: { file: string; code: string }[];
  };
  const quarantined = new Map<string, string>();
  for (const q of report.quarantinedFiles) {
    quarantined.set(q.file.replace(/^.*\//, ''), `${q.code}${q.tagPath ? ` at ${q.tagPath}` : ''}`);
  }
  for (const e of report.errorFiles) quarantined.set(e.file.replace(/^.*\//, ''), `error ${e.code}`);
  // What the gate held back: the engine's output, so that its attributes are compared all the same.
  const config = parseDeidConfig({});
  for (const name of names) {
    if (!quarantined.has(name)) continue;
    try {
      const file = scanFile(new Uint8Array(readFileSync(join(inDir, name))));
      const result = deidentify(file, config, { key });
      writeFileSync(join(out, name), writeDeidentified(file, result));
    } catch {
      // Unreadable for the engine too: left out of the comparison for Veil.
    }
  }
  return { quarantined };
}

function runGdcmanon(tmp: string, inDir: string): void {
  const cert = join(tmp, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=veil-compare', '-days', '2'].concat([
      '-keyout',
      join(tmp, 'key.pem'),
      '-out',
      cert,
    ]),
    { stdio: 'ignore' },
  );
  const out = join(tmp, 'gdcmanon');
  mkdirSync(out);
  const res = spawnSync('gdcmanon', ['-e', '-c', cert, '--continue', '-i', inDir, '-o', out], { encoding: 'utf8' });
  if (res.status !== 0) log(`  gdcmanon exited ${res.status}: ${res.stderr.slice(-500)}`);
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

async function waitFor(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`Orthanc did not answer at ${url}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function runOrthanc(tmp: string, inDir: string, names: readonly string[]): Promise<Map<string, string>> {
  const failures = new Map<string, string>();
  const dir = join(tmp, 'orthanc-db');
  mkdirSync(dir);
  const httpPort = await freePort();
  const dicomPort = await freePort();
  const config = join(tmp, 'orthanc.json');
  writeFileSync(
    config,
    JSON.stringify({
      Name: 'veil-compare',
      StorageDirectory: dir,
      IndexDirectory: dir,
      HttpPort: httpPort,
      HttpBindAddress: '127.0.0.1',
      DicomPort: dicomPort,
      DicomServerEnabled: false,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      Plugins: [],
    }),
  );
  const child: ChildProcess = spawn(process.env.ORTHANC ?? 'Orthanc', [config], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${httpPort}`;
  const out = join(tmp, 'orthanc');
  mkdirSync(out);
  try {
    await waitFor(`${base}/system`, 30_000);
    for (const name of names) {
      const up = await fetch(`${base}/instances`, { method: 'POST', body: readFileSync(join(inDir, name)) });
      if (!up.ok) {
        failures.set(name, `upload HTTP ${up.status}`);
        continue;
      }
      const { ID } = (await up.json()) as { ID: string };
      const anon = await fetch(`${base}/instances/${ID}/anonymize`, { method: 'POST', body: '{}' });
      if (!anon.ok) {
        failures.set(name, `anonymize HTTP ${anon.status}`);
        continue;
      }
      writeFileSync(join(out, name), new Uint8Array(await anon.arrayBuffer()));
    }
  } finally {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  return failures;
}

function flatten(entries: { id: string; path: string }[]): Record<string, Flat> {
  const res = spawnSync('/usr/bin/python3', [FLATTEN], {
    input: JSON.stringify(entries),
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (res.status !== 0) throw new Error(`flatten_dicom.py failed: ${res.stderr.slice(-2000)}`);
  return JSON.parse(res.stdout) as Record<string, Flat>;
}

// ---------------------------------------------------------------------------------------------------------------
// Comparing

function statusOf(a: El | undefined, b: El | undefined): Status | undefined {
  if (!a && !b) return undefined;
  if (!a) return 'added';
  if (!b) return 'removed';
  if (b.e && !a.e) return 'emptied';
  return a.h === b.h ? 'kept' : 'replaced';
}

/** (0008,1110)[3]/(0008,1155) -> (0008,1110)[*]/(0008,1155). */
const generic = (p: string): string => p.replace(/\[\d+\]/g, '[*]');
const isPrivate = (p: string): boolean => /(?:^|\/)\([0-9A-F]{3}[13579BDF],/.test(p.replace(/\[\*\]/g, ''));
const isTopLevel = (p: string): boolean => !p.includes('/');
const isDate = (vr: string): boolean => vr === 'DA' || vr === 'DT' || vr === 'TM';

interface FileCmp {
  name: string;
  label: string;
  input: Map<string, El>;
  outputs: Partial<Record<ToolName, Map<string, El>>>;
  metaIn: Map<string, El>;
  metaOut: Partial<Record<ToolName, Map<string, El>>>;
  preambleZero: Partial<Record<ToolName, boolean>>;
}

const byPath = (els: El[] | undefined): Map<string, El> => new Map((els ?? []).map((e) => [e.p, e]));

function pct(n: number, d: number): string {
  return d === 0 ? '–' : `${n} (${Math.round((100 * n) / d)}%)`;
}

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function summaryTable(files: FileCmp[], notes: Record<ToolName, Map<string, string>>): string {
  const rows: string[][] = [];
  for (const tool of TOOLS) {
    const c: Record<Status, number> = { kept: 0, replaced: 0, emptied: 0, removed: 0, added: 0 };
    let total = 0;
    let priv = 0;
    let privKept = 0;
    let uid = 0;
    let uidKept = 0;
    let dates = 0;
    let datesKept = 0;
    let sq = 0;
    let sqKept = 0;
    let written = 0;
    for (const f of files) {
      const out = f.outputs[tool];
      if (!out) continue;
      written++;
      for (const [p, a] of f.input) {
        const s = statusOf(a, out.get(p))!;
        total++;
        c[s]++;
        if (isPrivate(p)) {
          priv++;
          if (s === 'kept' || s === 'replaced') privKept++;
        }
        if (a.vr === 'UI' && !a.e && !a.std) {
          uid++;
          if (s === 'kept') uidKept++;
        }
        if (isDate(a.vr) && !a.e) {
          dates++;
          if (s === 'kept') datesKept++;
        }
        if (a.vr === 'SQ' && !a.e) {
          sq++;
          if (s === 'kept') sqKept++;
        }
      }
      for (const p of out.keys()) if (!f.input.has(p)) c.added++;
    }
    const note = notes[tool].size ? `; ${notes[tool].size} held back or failed` : '';
    rows.push([
      TOOL_LABELS[tool],
      `${written}/${files.length}${note}`,
      String(total),
      pct(c.kept, total),
      pct(c.replaced, total),
      pct(c.emptied, total),
      pct(c.removed, total),
      String(c.added),
      `${privKept} of ${priv}`,
      `${uidKept} of ${uid}`,
      `${datesKept} of ${dates}`,
      `${sqKept} of ${sq}`,
    ]);
  }
  return table(
    [
      'Tool',
      'files',
      'input elements',
      'kept',
      'replaced',
      'emptied',
      'removed',
      'added',
      'private kept',
      'instance UIDs kept',
      'dates/times kept',
      'sequences kept as is',
    ],
    rows,
  );
}

/** UID consistency: input UID values that occur in 2+ places (files or paths): does each map to one output value? */
function uidTable(files: FileCmp[]): string {
  const rows: string[][] = [];
  for (const tool of TOOLS) {
    const uses = new Map<string, { k: string; s: Status; out: string }[]>();
    let sopMetaMatch = 0;
    let sopFiles = 0;
    for (const f of files) {
      const out = f.outputs[tool];
      if (!out) continue;
      for (const [p, a] of f.input) {
        if (a.vr !== 'UI' || a.e || a.std || a.n !== 1) continue;
        const b = out.get(p);
        const s = statusOf(a, b)!;
        const l = uses.get(a.h) ?? [];
        uses.set(a.h, l);
        l.push({ k: a.k, s, out: b && !b.e ? b.h : '' });
      }
      const sop = out.get('(0008,0018)');
      const msop = f.metaOut[tool]?.get('(0002,0003)');
      if (sop) {
        sopFiles++;
        if (msop && msop.h === sop.h) sopMetaMatch++;
      }
    }
    let multi = 0;
    let consistent = 0;
    const odd = new Set<string>();
    for (const l of uses.values()) {
      const outs = new Set(l.filter((u) => u.out !== '').map((u) => u.out));
      if (l.length < 2 || outs.size === 0) continue;
      multi++;
      if (outs.size === 1) consistent++;
      else odd.add([...new Set(l.map((u) => `${u.k} ${u.s}`))].join(' + '));
    }
    rows.push([
      TOOL_LABELS[tool],
      `${consistent} of ${multi}`,
      [...odd].join('; ') || '–',
      `${sopMetaMatch} of ${sopFiles}`,
    ]);
  }
  return table(
    [
      'Tool',
      'UID values used in 2+ places (across files or within one) mapped to one output value',
      'the others (keyword paths, what happened)',
      'MediaStorageSOPInstanceUID = SOPInstanceUID',
    ],
    rows,
  );
}

/**
 * Veil against the table itself: non-empty input elements whose tag has an X, Z, D or U row in Table E.1-1 (2024b)
 * that Veil's output holds unchanged. Sequences with D or U are left out: their items stay and are handled inside.
 */
function selfCheck(files: FileCmp[]): string {
  const exact = loadProfileList().exact;
  const hits = new Map<string, { n: number; example: string }>();
  let checked = 0;
  for (const f of files) {
    const v = f.outputs.veil;
    if (!v) continue;
    for (const [p, a] of f.input) {
      if (a.e) continue;
      const m = /\(([0-9A-F]{4}),([0-9A-F]{4})\)$/.exec(p);
      if (!m) continue;
      const action = exact[`${m[1]}${m[2]}`];
      if (action === undefined || action === 'K' || action === 'C') continue;
      if (a.vr === 'SQ' && (action === 'D' || action === 'U')) continue;
      checked++;
      if (statusOf(a, v.get(p)) !== 'kept') continue;
      const key = `${generic(p)} ${a.k} (${action})`;
      const h = hits.get(key) ?? { n: 0, example: `${f.label}: ${p}` };
      h.n++;
      hits.set(key, h);
    }
  }
  const list = [...hits].map(([k, h]) => `${k}: ${h.n} (e.g. ${h.example})`);
  return `Veil against Table E.1-1 itself: ${checked} non-empty input elements have an X, Z, D or U row (sequences with D or U excepted). ${list.length === 0 ? 'Veil left none of them unchanged.' : `Veil left these unchanged: ${list.join('; ')}.`}`;
}

interface Diff {
  key: string;
  kw: string;
  files: Set<string>;
  count: number;
  how: Map<string, number>;
  example: string;
}

/** Attributes where `a` (Veil) keeps the input value and `b` changes it, or the reverse (mode 'veil-changes'). */
function diffs(files: FileCmp[], peer: ToolName, mode: 'peer-changes' | 'veil-changes'): Diff[] {
  const by = new Map<string, Diff>();
  for (const f of files) {
    const v = f.outputs.veil;
    const o = f.outputs[peer];
    if (!v || !o) continue;
    for (const [p, a] of f.input) {
      // Values only: an empty element kept by one tool and dropped by another says nothing about privacy.
      if (a.e || isPrivate(p)) continue;
      const sv = statusOf(a, v.get(p))!;
      const so = statusOf(a, o.get(p))!;
      const hit = mode === 'peer-changes' ? sv === 'kept' && CHANGED.has(so) : CHANGED.has(sv) && so === 'kept';
      if (!hit) continue;
      // Children of a removed sequence are counted under the sequence.
      const parentRemoved = (m: Map<string, El>): boolean => {
        const parts = p.split('/');
        for (let i = 1; i < parts.length; i++) {
          const parent = parts
            .slice(0, i)
            .join('/')
            .replace(/\[\d+\]$/, '');
          if (!m.has(parent)) return true;
        }
        return false;
      };
      if (parentRemoved(mode === 'peer-changes' ? o : v)) continue;
      const key = generic(p);
      const d = by.get(key) ?? {
        key,
        kw: a.k,
        files: new Set(),
        count: 0,
        how: new Map(),
        example: `${f.label}: ${p}`,
      };
      by.set(key, d);
      d.files.add(f.name);
      d.count++;
      const how = mode === 'peer-changes' ? so : sv;
      d.how.set(how, (d.how.get(how) ?? 0) + 1);
    }
  }
  return [...by.values()].sort((x, y) => y.files.size - x.files.size || x.key.localeCompare(y.key));
}

/** Private elements (non-empty) that one side keeps and the other changes: counted, not listed. */
function privateDiff(files: FileCmp[], peer: ToolName, mode: 'peer-changes' | 'veil-changes'): string {
  let n = 0;
  const tags = new Set<string>();
  const inFiles = new Set<string>();
  for (const f of files) {
    const v = f.outputs.veil;
    const o = f.outputs[peer];
    if (!v || !o) continue;
    for (const [p, a] of f.input) {
      if (a.e || !isPrivate(p)) continue;
      const sv = statusOf(a, v.get(p))!;
      const so = statusOf(a, o.get(p))!;
      const hit = mode === 'peer-changes' ? sv === 'kept' && CHANGED.has(so) : CHANGED.has(sv) && so === 'kept';
      if (!hit) continue;
      n++;
      tags.add(generic(p));
      inFiles.add(f.name);
    }
  }
  return n === 0
    ? 'Private elements: none.'
    : `Private elements: ${n} (${tags.size} distinct private tags, creator-qualified) in ${inFiles.size} files.`;
}

function diffTable(ds: Diff[], limit: number): string {
  const shown = ds.slice(0, limit);
  const rows = shown.map((d) => [
    `\`${d.key}\``,
    d.kw,
    String(d.files.size),
    [...d.how].map(([k, n]) => `${k} ${n}`).join(', '),
    d.example.replace(/\|/g, '\\|'),
  ]);
  const more =
    ds.length > limit ? `\n\n(${ds.length - limit} more attributes; full list in bench/out/deid-comparison.json)` : '';
  return `${table(['tag path', 'keyword path', 'files', 'how', 'example (file: path)'], rows)}${more}`;
}

/** Group of the attribute for the overview: private / UID / date / sequence / other. */
function classOf(p: string, a: El): string {
  if (isPrivate(p)) return 'private';
  if (a.vr === 'UI') return 'UID';
  if (isDate(a.vr)) return 'date/time';
  if (a.vr === 'SQ') return 'sequence';
  if (a.vr === 'PN') return 'person name';
  return 'other';
}

const KEY_ATTRS = [
  'ContentSequence',
  'OverlayData',
  'IrradiationEventUID',
  'PatientName',
  'PatientID',
  'PatientBirthDate',
  'PatientSex',
  'PatientAge',
  'PatientWeight',
  'OtherPatientIDs',
  'OtherPatientIDsSequence',
  'AccessionNumber',
  'StudyID',
  'StudyDate',
  'StudyTime',
  'SeriesDate',
  'AcquisitionDate',
  'ContentDate',
  'InstanceCreationDate',
  'AcquisitionDateTime',
  'InstitutionName',
  'InstitutionAddress',
  'ReferringPhysicianName',
  'PerformingPhysicianName',
  'OperatorsName',
  'StationName',
  'DeviceSerialNumber',
  'StudyDescription',
  'SeriesDescription',
  'ProtocolName',
  'ImageComments',
  'RequestAttributesSequence',
  'StudyInstanceUID',
  'SeriesInstanceUID',
  'SOPInstanceUID',
  'FrameOfReferenceUID',
  'BurnedInAnnotation',
];

function keyAttrTable(files: FileCmp[]): string {
  const rows: string[][] = [];
  for (const kw of KEY_ATTRS) {
    const cells: string[] = [];
    let present = 0;
    for (const tool of TOOLS) {
      const c = new Map<Status, number>();
      present = 0;
      for (const f of files) {
        const out = f.outputs[tool];
        if (!out) continue;
        for (const [p, a] of f.input) {
          if (a.k !== kw || !isTopLevel(p) || a.e) continue;
          present++;
          const s = statusOf(a, out.get(p))!;
          c.set(s, (c.get(s) ?? 0) + 1);
        }
      }
      cells.push(
        [...c]
          .sort((x, y) => y[1] - x[1])
          .map(([s, n]) => `${s} ${n}`)
          .join(', ') || '–',
      );
    }
    if (present > 0) rows.push([kw, String(present), ...cells]);
  }
  return table(['attribute (top level, non-empty in input)', 'files', ...TOOLS.map((t) => TOOL_LABELS[t])], rows);
}

function classTable(files: FileCmp[]): string {
  const classes = ['person name', 'date/time', 'UID', 'sequence', 'private', 'other'];
  const rows: string[][] = [];
  for (const cls of classes) {
    const cells: string[] = [];
    let total = 0;
    for (const tool of TOOLS) {
      const c: Record<Status, number> = { kept: 0, replaced: 0, emptied: 0, removed: 0, added: 0 };
      total = 0;
      for (const f of files) {
        const out = f.outputs[tool];
        if (!out) continue;
        for (const [p, a] of f.input) {
          if (a.e || classOf(p, a) !== cls) continue;
          total++;
          c[statusOf(a, out.get(p))!]++;
        }
      }
      cells.push(`${c.kept} / ${c.replaced} / ${c.emptied} / ${c.removed}`);
    }
    rows.push([cls, String(total), ...cells]);
  }
  return table(
    [
      'class (non-empty in input, any depth)',
      'elements',
      ...TOOLS.map((t) => `${TOOL_LABELS[t]}: kept / replaced / emptied / removed`),
    ],
    rows,
  );
}

function metaTable(files: FileCmp[]): string {
  const rows: string[][] = [];
  const kws = new Set<string>();
  for (const f of files) {
    for (const e of f.metaIn.values()) kws.add(e.p);
    for (const t of TOOLS) for (const e of f.metaOut[t]?.values() ?? []) kws.add(e.p);
  }
  for (const p of [...kws].sort()) {
    let kw = '';
    const cells = TOOLS.map((tool) => {
      const c = new Map<Status, number>();
      for (const f of files) {
        const out = f.metaOut[tool];
        if (!out || !f.outputs[tool]) continue;
        const a = f.metaIn.get(p);
        const b = out.get(p);
        kw ||= a?.k ?? b?.k ?? '';
        const s = statusOf(a, b);
        if (s) c.set(s, (c.get(s) ?? 0) + 1);
      }
      return (
        [...c]
          .sort((x, y) => y[1] - x[1])
          .map(([s, n]) => `${s} ${n}`)
          .join(', ') || '–'
      );
    });
    rows.push([`\`${p}\``, kw, ...cells]);
  }
  const pre = TOOLS.map((t) => {
    const n = files.filter((f) => f.outputs[t] && f.preambleZero[t]).length;
    return `${TOOL_LABELS[t]} ${n}/${files.filter((f) => f.outputs[t]).length}`;
  });
  return `${table(['meta element', 'keyword', ...TOOLS.map((t) => TOOL_LABELS[t])], rows)}\n\nPreamble all zero in the output: ${pre.join(', ')}.`;
}

function addedTable(files: FileCmp[]): string {
  const rows: string[][] = [];
  for (const tool of TOOLS) {
    const c = new Map<string, number>();
    for (const f of files) {
      const out = f.outputs[tool];
      if (!out) continue;
      for (const [p, b] of out) {
        if (f.input.has(p) || !isTopLevel(p)) continue;
        c.set(`${p} ${b.k}`, (c.get(`${p} ${b.k}`) ?? 0) + 1);
      }
    }
    rows.push([
      TOOL_LABELS[tool],
      [...c]
        .sort((x, y) => y[1] - x[1])
        .map(([k, n]) => `\`${k.split(' ')[0]}\` ${k.split(' ')[1]} (${n})`)
        .join('; ') || '–',
    ]);
  }
  return table(['Tool', 'top-level attributes added (files)'], rows);
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  for (const f of FILES) if (!existsSync(join(DATA, f.path))) throw new Error(`missing ${f.path}`);
  const tmp = mkdtempSync(join(tmpdir(), 'veil-compare-'));
  try {
    const inDir = join(tmp, 'in');
    const names = stage(inDir);
    const key = randomBytes(32);
    const keyFile = join(tmp, 'veil.key');
    writeFileSync(keyFile, `${key.toString('base64')}\n`, { mode: 0o600 });
    log('veil deid ...');
    const veil = runVeil(tmp, inDir, names, keyFile, new Uint8Array(key));
    log('gdcmanon ...');
    runGdcmanon(tmp, inDir);
    log('Orthanc ...');
    const orthancFailures = await runOrthanc(tmp, inDir, names);

    const entries: { id: string; path: string }[] = [];
    for (const name of names) {
      entries.push({ id: `in:${name}`, path: join(inDir, name) });
      for (const tool of TOOLS) {
        const p = join(tmp, tool, name);
        if (existsSync(p)) entries.push({ id: `${tool}:${name}`, path: p });
      }
    }
    log(`flattening ${entries.length} files with pydicom ...`);
    const flat = flatten(entries);
    const notes: Record<ToolName, Map<string, string>> = {
      veil: veil.quarantined,
      orthanc: orthancFailures,
      gdcmanon: new Map(),
    };
    const files: FileCmp[] = [];
    for (const [i, name] of names.entries()) {
      const fin = flat[`in:${name}`];
      if (!fin || fin.error) throw new Error(`pydicom cannot read input ${name}`);
      const fc: FileCmp = {
        name,
        label: `${name.slice(0, 2)} ${FILES[i]!.label}`,
        input: byPath(fin.ds),
        metaIn: byPath(fin.meta),
        outputs: {},
        metaOut: {},
        preambleZero: {},
      };
      for (const tool of TOOLS) {
        const fo = flat[`${tool}:${name}`];
        if (!fo) {
          if (!notes[tool].has(name)) notes[tool].set(name, 'no output');
          continue;
        }
        if (fo.error) {
          notes[tool].set(name, `output unreadable by pydicom (${fo.error})`);
          continue;
        }
        fc.outputs[tool] = byPath(fo.ds);
        fc.metaOut[tool] = byPath(fo.meta);
        fc.preambleZero[tool] = fo.preambleZero === true;
      }
      files.push(fc);
    }

    const md: string[] = [];
    md.push(
      `Files: ${files.length}. Command: \`npx tsx bench/peers/compare.ts\`. Date: ${new Date().toISOString().slice(0, 10)}.`,
    );
    md.push('');
    md.push('### Files');
    md.push('');
    md.push(
      table(
        ['#', 'file', 'input elements', 'private', ...TOOLS.map((t) => TOOL_LABELS[t])],
        files.map((f) => {
          const priv = [...f.input.keys()].filter(isPrivate).length;
          return [
            f.name.slice(0, 2),
            `${f.label.slice(3)} (\`${FILES[Number(f.name.slice(0, 2)) - 1]!.path.replace(/jsl-dicom-deid-dataset\/.*/, 'jsl-dicom-deid-dataset/…')}\`)`,
            String(f.input.size),
            String(priv),
            ...TOOLS.map((t) => notes[t].get(f.name) ?? (f.outputs[t] ? 'written' : '–')),
          ];
        }),
      ),
    );
    md.push('');
    md.push('### Overview (every element of every file, at any depth)');
    md.push('');
    md.push(summaryTable(files, notes));
    md.push('');
    md.push(
      'kept: same value (by digest); replaced: another non-empty value (UIDs remapped, dummies, pseudonyms); emptied: zero length; removed: absent from the output (children of a removed sequence count as removed); added: paths only in the output. Instance UIDs: UI values outside 1.2.840.10008.',
    );
    md.push('');
    md.push('### By class of attribute');
    md.push('');
    md.push(classTable(files));
    md.push('');
    md.push('### Key attributes');
    md.push('');
    md.push(keyAttrTable(files));
    md.push('');
    md.push('### UIDs');
    md.push('');
    md.push(uidTable(files));
    md.push('');
    md.push('### Veil against the table');
    md.push('');
    md.push(selfCheck(files));
    md.push('');
    const full: Record<string, Diff[]> = {};
    for (const peer of TOOLS.filter((t) => t !== 'veil')) {
      const pc = diffs(files, peer, 'peer-changes');
      const vc = diffs(files, peer, 'veil-changes');
      full[`${peer}-changes-veil-keeps`] = pc;
      full[`veil-changes-${peer}-keeps`] = vc;
      md.push(`### ${TOOL_LABELS[peer]} changes, Veil keeps (candidates for a Veil gap)`);
      md.push('');
      md.push(pc.length ? diffTable(pc, 60) : 'None.');
      md.push('');
      md.push(privateDiff(files, peer, 'peer-changes'));
      md.push('');
      md.push(`### Veil changes, ${TOOL_LABELS[peer]} keeps`);
      md.push('');
      md.push(vc.length ? diffTable(vc, 40) : 'None.');
      md.push('');
      md.push(privateDiff(files, peer, 'veil-changes'));
      md.push('');
    }
    md.push('### Added');
    md.push('');
    md.push(addedTable(files));
    md.push('');
    md.push('### File meta');
    md.push('');
    md.push(metaTable(files));
    md.push('');
    const text = `${md.join('\n')}\n`;
    mkdirSync(join(ROOT, 'bench/out'), { recursive: true });
    writeFileSync(OUT_MD, text);
    const json = Object.fromEntries(
      Object.entries(full).map(([k, v]) => [
        k,
        v.map((d) => ({
          path: d.key,
          keyword: d.kw,
          files: d.files.size,
          how: Object.fromEntries(d.how),
          example: d.example,
        })),
      ]),
    );
    writeFileSync(OUT_MD.replace(/\.md$/, '.json'), `${JSON.stringify(json, null, 2)}\n`);
    process.stdout.write(text);
    log(`wrote ${OUT_MD}`);
  } finally {
    if (process.env.KEEP_TMP) log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
