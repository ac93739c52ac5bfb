/**
 * Veil's DICOM networking against dcmtk 3.6.7, the reference implementation, on 127.0.0.1 only:
 *   echoscu, storescu (each transfer syntax with the proposal flag it needs) and `veil send` -> `veil store-scp`;
 *   findscu -> a DimseServer with a test FindHandler; `veil send` and `veil echo` -> dcmtk's storescp, which runs
 *   in a private network namespace (`unshare -n`, loopback only) where available, else on a free loopback port.
 * Every data set received is compared byte for byte with the data set of the file it was sent from (private tags,
 * odd charsets and encapsulated pixel data included).
 *
 * Fixtures: files of ../shared/data (see INVENTORY.tsv) chosen for variety and because storescu sends them without
 * re-encoding (dcmtk rewrites some files while reading them; for those, only `veil send` is faithful, and they are
 * in the `veil send` set below).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DimseServer, describePart10, encodeIdentifier, readIdentifier, textOf } from '@veil/dimse';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sharedDir = process.env.VEIL_SHARED_DIR
  ? path.resolve(process.env.VEIL_SHARED_DIR)
  : path.resolve(repoRoot, '..', 'shared');
const dataDir = path.join(sharedDir, 'data');
const VEIL = path.join(repoRoot, 'apps', 'veil', 'bin', 'veil.mjs');

/** [transfer syntax, storescu flag, files]: storescu proposes compressed syntaxes only when told (-x?). */
const STORESCU_SETS: ReadonlyArray<readonly [string, string | undefined, readonly string[]]> = [
  [
    '1.2.840.10008.1.2.1',
    undefined,
    [
      'dicom/dcm4che/test-data/NM-MONO2-16-13x-heart', // NM multi-frame, private tags
      'dicom/dcm_qa_ct/Philips/S21570/S2010/I10', // Philips CT, 38 private tags
      'dicom/fo-dicom/Test_Data/GH223.dcm',
      'dicom/fo-dicom/Test_Data/charset/chrJapMultiExplicitIR6.dcm', // ISO 2022 multi-byte charset
      'dicom/fo-dicom/Test_Data/charset/chrArab.dcm',
      'dicom/jsl-dicom-deid-dataset/9894340694_04-16-1997-MRI_ABDOMEN_PELVIS_WWO_CONT-87318_15_000000-LIVER-PELVISHASTEAXIALP-65398_1-07.dcm',
      'dicom/pydicom-data/MR-SIEMENS-DICOM-WithOverlays.dcm', // Siemens CSA private headers, overlays
      'dicom/pydicom-test-files/test_files/dicomdirtests/77654033/CT2/17106', // 99 private tags
      'dicom/dcmjs/test/sample-sr.dcm', // SR: deep sequences
      'dicom/pydicom-test-files/test_files/badVR.dcm',
      'dicom/dcmjs/test/no-meta-length-test.dcm',
      'dicom/pydicom-data/SC_rgb_32bit_2frame.dcm',
      'dicom/fo-dicom/Test_Data/GH1146.dcm',
    ],
  ],
  [
    '1.2.840.10008.1.2',
    '-xi',
    [
      'dicom/pydicom-deid/examples/MR.dcm', // 302 private tags
      'dicom/fo-dicom/Benchmark_Data/mr.dcm',
      'dicom/pydicom-test-files/test_files/rtplan.dcm',
      'dicom/dicognito/test_mitra_global_patient_id_is_updated/global_patient_id_implicit_vr.dcm',
    ],
  ],
  [
    '1.2.840.10008.1.2.2',
    '-xb',
    ['dicom/pydicom-data/OBXXXX1A_expb.dcm', 'dicom/pydicom-test-files/test_files/ExplVR_BigEnd.dcm'],
  ],
  [
    '1.2.840.10008.1.2.4.70',
    '-xs',
    [
      'dicom/dcm4che/test-data/MR-JPEGLosslessSV1.dcm',
      'dicom/dicomParser/testImages/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_lossless.70.dcm',
    ],
  ],
  [
    '1.2.840.10008.1.2.4.90',
    '-xv',
    [
      'dicom/pydicom-test-files/test_files/J2K_pixelrep_mismatch.dcm',
      'dicom/pydicom-test-files/test_files/GDCMJ2K_TextGBR.dcm',
    ],
  ],
  [
    '1.2.840.10008.1.2.4.80',
    '-xt',
    ['dicom/pydicom-data/JLSL_16_15_1_1F.dcm', 'dicom/pydicom-data/JLSL_08_07_0_1F.dcm'],
  ],
  [
    '1.2.840.10008.1.2.4.81',
    '-xu',
    ['dicom/dicomParser/testImages/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_ls.81.dcm'],
  ],
  [
    '1.2.840.10008.1.2.5',
    '-xr',
    ['dicom/dcm4che/test-data/US-PAL-8-10x-echo', 'dicom/pydicom-data/emri_small_RLE.dcm'],
  ],
  [
    '1.2.840.10008.1.2.4.50',
    '-xy',
    [
      'dicom/dicomParser/testImages/encapsulated/multi-frame/IM00001.fragmented_no_bot_jpeg_baseline.50.dcm',
      'dicom/pydicom-test-files/test_files/SC_rgb_jpeg_dcmtk.dcm',
    ],
  ],
  ['1.2.840.10008.1.2.4.51', '-xx', ['dicom/fo-dicom/Test_Data/GH195.dcm']],
];

/** Files dcmtk re-encodes when it sends them (so storescu cannot be checked with them), sent by Veil only. */
const VEIL_ONLY = [
  'dicom/dicognito/test_writes_deflated_file_correctly/CT_small_deflated.dcm', // deflated: sent as the deflated stream
  'dicom/pydicom-data/MR2_J2KI.dcm', // JPEG 2000 (lossy)
  'dicom/dicomParser/testImages/CT1_UNC.implicit_little_endian.dcm',
];

const storescuFiles = STORESCU_SETS.flatMap(([, , files]) => files);

interface Expected {
  readonly rel: string;
  readonly transferSyntaxUid: string;
  readonly dataset: Buffer;
}

function expected(rel: string): Expected {
  const bytes = readFileSync(path.join(dataDir, rel));
  const info = describePart10(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  return { rel, transferSyntaxUid: info.transferSyntaxUid, dataset: bytes.subarray(info.datasetOffset) };
}

/** Received Part 10 files of a folder by SOP instance UID: transfer syntax and data set bytes. */
function received(dir: string): Map<string, { transferSyntaxUid: string; dataset: Buffer }> {
  const out = new Map<string, { transferSyntaxUid: string; dataset: Buffer }>();
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (name.startsWith('.')) continue;
    const bytes = readFileSync(p);
    const info = describePart10(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
    out.set(info.sopInstanceUid, {
      transferSyntaxUid: info.transferSyntaxUid,
      dataset: bytes.subarray(info.datasetOffset),
    });
  }
  return out;
}

function uidOf(rel: string): string {
  const bytes = readFileSync(path.join(dataDir, rel));
  return describePart10(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)).sopInstanceUid;
}

function assertSameDatasets(dir: string, rels: readonly string[]): void {
  const got = received(dir);
  for (const rel of rels) {
    const exp = expected(rel);
    const r = got.get(uidOf(rel));
    assert.ok(r, `${rel}: not received`);
    assert.equal(r.transferSyntaxUid, exp.transferSyntaxUid, `${rel}: transfer syntax`);
    assert.ok(
      r.dataset.equals(exp.dataset),
      `${rel}: data set differs (${r.dataset.length} vs ${exp.dataset.length} bytes)`,
    );
  }
}

interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** n distinct ports free on the loopback right now (all held open at once, then released). */
async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** `veil store-scp` as a child process on a free port; resolves once it listens. */
async function startStoreScp(
  out: string,
  extra: readonly string[] = [],
): Promise<{ child: ChildProcess; port: number; log: () => string }> {
  const child = spawn(process.execPath, [VEIL, 'store-scp', '--port', '0', '--out', out, '--aet', 'VEIL', ...extra], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`store-scp did not start: ${stderr}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', () => reject(new Error(`store-scp exited: ${stderr}`)));
  });
  return { child, port, log: () => stderr };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  return exited;
}

function clearDir(dir: string): void {
  for (const n of readdirSync(dir)) if (!n.startsWith('.')) rmSync(path.join(dir, n));
}

describe('dcmtk SCUs -> veil store-scp', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'veil-dimse-'));
  const out = path.join(tmp, 'received');
  let scp: Awaited<ReturnType<typeof startStoreScp>>;

  before(async () => {
    scp = await startStoreScp(out);
  });

  after(async () => {
    const code = await stop(scp.child);
    rmSync(tmp, { recursive: true, force: true });
    assert.equal(code, 0, 'store-scp stops cleanly on SIGTERM');
  });

  it('answers echoscu and veil echo', async () => {
    const r = await run('echoscu', ['-aec', 'VEIL', '-aet', 'ECHOSCU', '127.0.0.1', String(scp.port)]);
    assert.equal(r.code, 0, r.stderr);
    const v = await run(process.execPath, [VEIL, 'echo', `VEIL@127.0.0.1:${scp.port}`, '--aet', 'ME']);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /Success/);
    const wrong = await run(process.execPath, [VEIL, 'echo', `NOTVEIL@127.0.0.1:${scp.port}`]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /DIMSE_ASSOCIATION_REJECTED .*result 1 source 1 reason 7/);
  });

  it('receives storescu data sets byte for byte in 10 transfer syntaxes (31 files, private tags kept)', async () => {
    const uids = new Set(storescuFiles.map(uidOf));
    assert.equal(uids.size, storescuFiles.length, 'fixture SOP instance UIDs are distinct');
    clearDir(out);
    for (const [ts, flag, files] of STORESCU_SETS) {
      const r = await run('storescu', [
        '-aec',
        'VEIL',
        '-aet',
        'STORESCU',
        ...(flag ? [flag] : []),
        '127.0.0.1',
        String(scp.port),
        ...files.map((f) => path.join(dataDir, f)),
      ]);
      assert.equal(r.code, 0, `${ts}: ${r.stderr}`);
    }
    assertSameDatasets(out, storescuFiles);
    assert.equal(readdirSync(path.join(out, '.incoming')).length, 0, 'no temporary file left behind');
    assert.match(scp.log(), /STORESCU@127\.0\.0\.1 associated/);
    assert.doesNotMatch(scp.log(), /1\.2\.840\.10008\.5\.1\.4|1\.3\.6\.1/, 'no UIDs in the log');
  });

  it('receives veil send data sets byte for byte, one association for every SOP class / transfer syntax pair', async () => {
    clearDir(out);
    const files = [...storescuFiles, ...VEIL_ONLY];
    const r = await run(process.execPath, [
      VEIL,
      'send',
      ...files.map((f) => path.join(dataDir, f)),
      '--to',
      `VEIL@127.0.0.1:${scp.port}`,
      '--aet',
      'SENDER',
      '--progress-every',
      '10',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${files.length} sent, 0 failed`));
    assert.match(r.stderr, /10\/34 files/);
    assertSameDatasets(out, files);
    assert.equal(scp.log().match(/SENDER@127\.0\.0\.1 associated/g)?.length, 1);
  });

  it('refuses what it was told not to accept, and veil send says so with DIMSE_NO_ACCEPTABLE_CONTEXT', async () => {
    const strictOut = path.join(tmp, 'strict');
    const strict = await startStoreScp(strictOut, ['--transfer-syntax', '1.2.840.10008.1.2.1']);
    try {
      const jpeg = 'dicom/dcm4che/test-data/MR-JPEGLosslessSV1.dcm';
      const ok = 'dicom/dcm_qa_ct/Philips/S21570/S2010/I10';
      const r = await run(process.execPath, [
        VEIL,
        'send',
        path.join(dataDir, jpeg),
        path.join(dataDir, ok),
        '--to',
        `VEIL@127.0.0.1:${strict.port}`,
      ]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /MR-JPEGLosslessSV1\.dcm: DIMSE_NO_ACCEPTABLE_CONTEXT/);
      assert.match(r.stdout, /1 sent, 1 failed/);
      assertSameDatasets(strictOut, [ok]);
    } finally {
      await stop(strict.child);
    }
  });
});

describe('findscu -> DimseServer with a FindHandler', () => {
  it('answers C-FIND from a small in-memory index', async () => {
    const studies = [
      { name: 'ALPHA^A', id: 'P1', uid: '1.2.3.1' },
      { name: 'BETA^B', id: 'P2', uid: '1.2.3.2' },
      { name: 'GAMMA^C', id: 'P2', uid: '1.2.3.3' },
    ];
    const server = new DimseServer({
      aeTitle: 'VEIL',
      handlers: {
        find: {
          *find(rq) {
            const q = readIdentifier(rq.identifier, rq.transferSyntaxUid);
            const id = textOf(q, 0x00100020);
            for (const s of studies) {
              if (id && s.id !== id) continue;
              yield encodeIdentifier(
                [
                  [0x00080052, 'STUDY'],
                  [0x00100010, s.name],
                  [0x00100020, s.id],
                  [0x0020000d, s.uid],
                ],
                rq.transferSyntaxUid,
              );
            }
          },
        },
      },
    });
    const { port } = await server.listen({ port: 0 });
    try {
      const r = await run('findscu', [
        '-v',
        '-S',
        '-aec',
        'VEIL',
        '-k',
        'QueryRetrieveLevel=STUDY',
        '-k',
        'PatientID=P2',
        '-k',
        'PatientName',
        '-k',
        'StudyInstanceUID',
        '127.0.0.1',
        String(port),
      ]);
      assert.equal(r.code, 0, r.stderr);
      const names = [...r.stderr.matchAll(/\(0010,0010\) PN \[([^\]]+)\]/g)].map((m) => m[1]?.trim());
      assert.deepEqual(names, ['BETA^B', 'GAMMA^C']);
      assert.match(r.stderr, /Received Final Find Response \(Success\)/);
    } finally {
      await server.close({ abort: true });
    }
  });
});

/**
 * Whether `unshare -n` works here (root or user namespaces): then storescp listens in a namespace of its own.
 * VEIL_TEST_NO_NETNS=1 forces the fallback (free loopback ports).
 */
async function canUnshare(): Promise<boolean> {
  if (process.env.VEIL_TEST_NO_NETNS === '1') return false;
  const r = await run('unshare', ['-n', 'sh', '-c', 'ip link set lo up']);
  return r.code === 0;
}

describe('veil send / veil echo -> dcmtk storescp', () => {
  it('delivers byte-identical data sets, and refuses to convert for a peer that accepts fewer syntaxes', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'veil-storescp-'));
    try {
      const all = path.join(tmp, 'all');
      const strict = path.join(tmp, 'strict');
      mkdirSync(all);
      mkdirSync(strict);
      const files = [...storescuFiles, ...VEIL_ONLY].map((f) => path.join(dataDir, f));
      const jpeg = path.join(dataDir, 'dicom/dcm4che/test-data/MR-JPEGLosslessSV1.dcm');
      const isolated = await canUnshare();
      // Free ports of the host loopback (any port is free in a private namespace; these are free in both).
      const [p1, p2] = (await freePorts(2)) as [number, number];
      const script = `
        set -u
        ${isolated ? 'ip link set lo up' : ''}
        wait_for() { for i in $(seq 1 100); do echoscu -aec "$1" 127.0.0.1 "$2" >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }
        storescp -aet DCMTK +xa +B -od "${all}" ${p1} & A=$!
        storescp -aet STRICT +B -od "${strict}" ${p2} & B=$!
        wait_for DCMTK ${p1} && wait_for STRICT ${p2} || { kill $A $B; exit 90; }
        "${process.execPath}" "${VEIL}" echo DCMTK@127.0.0.1:${p1}; echo "echo-rc=$?"
        "${process.execPath}" "${VEIL}" send "$@" --to DCMTK@127.0.0.1:${p1} --aet VEIL; echo "send-rc=$?"
        "${process.execPath}" "${VEIL}" send "${jpeg}" --to STRICT@127.0.0.1:${p2} --aet VEIL; echo "strict-rc=$?"
        kill $A $B; wait 2>/dev/null; exit 0
      `;
      const r = isolated
        ? await run('unshare', ['-n', 'bash', '-c', script, 'veil-test', ...files], 90_000)
        : await run('bash', ['-c', script, 'veil-test', ...files], 90_000);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /echo-rc=0/);
      assert.match(r.stdout, /send-rc=0/, r.stderr);
      assert.match(r.stdout, new RegExp(`${files.length} sent, 0 failed`));
      assertSameDatasets(all, [...storescuFiles, ...VEIL_ONLY]);
      // storescp without +xa accepts uncompressed syntaxes only: Veil does not convert the JPEG file.
      assert.match(r.stdout, /strict-rc=1/);
      assert.match(r.stderr, /DIMSE_NO_ACCEPTABLE_CONTEXT/);
      assert.equal(readdirSync(strict).length, 0);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    assert.ok(existsSync(VEIL));
  });
});
