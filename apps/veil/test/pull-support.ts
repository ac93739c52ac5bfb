/**
 * Helpers of the pull tests (pull.test.ts, pull-serve.test.ts): dcmtk peers, studies of ../shared/data that dcmqrscp
 * can index and send, and the attribute-by-attribute comparison of outputs with what `veil deid` makes.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type DicomElement, type ElementContainer, findElement, readString, scanFile, valueBytes } from '@veil/core';
import { corpusDir, sharedDir } from './server-support.ts';

export function run(
  cmd: string,
  args: readonly string[],
  timeoutMs = 540_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    delete env.NODE_OPTIONS;
    delete env.VEIL_KEY;
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, env }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

export const text = (c: ElementContainer, tag: number): string => {
  const el = findElement(c, tag);
  return el ? readString(el).trim() : '';
};

export interface Study {
  readonly uid: string;
  readonly accession: string;
  readonly patientId: string;
  readonly date: string;
  readonly files: string[];
}

/**
 * Studies of the corpus that dcmqrscp indexes and can send: small uncompressed files with the study-level keys,
 * grouped by Study Instance UID, at most three files each, in inventory order.
 */
export function pickStudies(storage: string, want: number): Study[] {
  const inventory = readFileSync(join(sharedDir, 'data', 'INVENTORY.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  const studies = new Map<string, Study>();
  const sops = new Set<string>();
  for (const line of inventory) {
    if (studies.size >= want) break; // the last study may have fewer files than it could: enough
    const [path, size, , ts, sopClass] = line.split('\t');
    if (!path || Number(size) > 600_000 || !sopClass?.startsWith('1.2.840.10008.5.1.4.1.1.')) continue;
    // dcmqrscp proposes the uncompressed transfer syntaxes only (one compressed one at most, by a flag), and does
    // not decompress: a compressed study cannot leave it by C-MOVE to an SCP that does not convert.
    if (ts !== '1.2.840.10008.1.2' && ts !== '1.2.840.10008.1.2.1') continue;
    let f: ReturnType<typeof scanFile>;
    try {
      f = scanFile(new Uint8Array(readFileSync(join(sharedDir, 'data', path))));
    } catch {
      continue;
    }
    // Files dcmtk would repair on the way (odd VRs, charsets it cannot convert) arrive changed: not this test's
    // subject (the de-identification of what the PACS sends is), so they are left out.
    if (f.findings.length > 0) continue;
    const dump = spawnSync('dcmdump', [join(sharedDir, 'data', path)], { encoding: 'utf8' });
    if (dump.status !== 0 || /^[WE]:/m.test(dump.stderr) || /ISO 2022/.test(dump.stdout)) continue;
    const ds = f.dataset;
    const uid = text(ds, 0x0020000d);
    // The corpus holds some files twice (the same instance in two collections): one copy each.
    const sop = text(ds, 0x00080018);
    if (sops.has(sop)) continue;
    const patientId = text(ds, 0x00100020);
    const date = text(ds, 0x00080020);
    if (!/^[0-9.]+$/.test(uid) || !/^[A-Za-z0-9 ._-]{1,32}$/.test(patientId) || !/^\d{8}$/.test(date)) continue;
    const s = studies.get(uid);
    if (s && s.files.length >= 3) continue;
    if (!s && studies.size >= want) continue;
    // dcmqrscp must index it (it refuses some files).
    const copy = join(storage, `f${createHash('sha256').update(path).digest('hex').slice(0, 12)}.dcm`);
    copyFileSync(join(sharedDir, 'data', path), copy);
    if (spawnSync('dcmqridx', [storage, copy]).status !== 0) {
      rmSync(copy);
      continue;
    }
    sops.add(sop);
    if (s) s.files.push(copy);
    else studies.set(uid, { uid, accession: text(ds, 0x00080050), patientId, date, files: [copy] });
  }
  return [...studies.values()];
}

/** Every element's value bytes by tag path (sequences walked; file meta and group lengths left out): encoding-independent. */
export function attributes(path: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (c: ElementContainer, prefix: string): void => {
    for (const el of c.elements as DicomElement[]) {
      // Group lengths count encoded bytes: a PACS that sends implicit-VR files in explicit VR changes them.
      if ((el.tag & 0xffff) === 0) continue;
      const p = `${prefix}(${el.tag.toString(16).padStart(8, '0')})`;
      if (el.items) for (const [i, it] of el.items.entries()) walk(it, `${p}[${i}]`);
      else if (el.fragments)
        out.set(
          p,
          el.fragments
            .map((fr) =>
              createHash('sha256')
                .update(c.source.read(fr.valueOffset, fr.valueOffset + fr.length))
                .digest('hex'),
            )
            .join(','),
        );
      else out.set(p, createHash('sha256').update(valueBytes(el)).digest('hex'));
    }
  };
  walk(scanFile(new Uint8Array(readFileSync(path))).dataset, '');
  return out;
}

export function sopUidOf(path: string): string {
  return text(scanFile(new Uint8Array(readFileSync(path))).dataset, 0x00080018);
}

export function dcmFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.') && !e.name.endsWith('.json') && !e.name.endsWith('.html'))
    .map((e) => join(e.parentPath, e.name));
}

/** The expected outputs: `veil deid` of the same originals with the same key, by de-identified SOP Instance UID. */
export function byUid(files: readonly string[]): Map<string, Map<string, string>> {
  return new Map(files.map((f) => [sopUidOf(f), attributes(f)]));
}

export function assertSameOutputs(
  actual: readonly string[],
  expected: Map<string, Map<string, string>>,
  what: string,
): void {
  const got = byUid(actual);
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), `${what}: the same instances, once each`);
  assert.equal(actual.length, expected.size, `${what}: no duplicates`);
  for (const [uid, attrs] of expected) assert.deepEqual(got.get(uid), attrs, `${what}: instance attributes`);
}

export const isolated =
  process.env.VEIL_TEST_NO_NETNS !== '1' && spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up']).status === 0;
export const haveDcmtk = spawnSync('dcmqrscp', ['--version']).status === 0;

/** Three images of two studies (a CT pair of one study, a JPEG lossless MR): what the DICOMweb pull tests pull. */
export const WEB_PICKS: readonly string[] = [
  'dcm_qa_ct/Philips/S21570/S4010/I10',
  'dcm_qa_ct/Philips/S21570/S4010/I20',
  'dcm4che/test-data/MR-JPEGLosslessSV1.dcm',
];

/**
 * Copies shared corpus files (paths under data/dicom) into `dir` (made) as o0.dcm, o1.dcm...; returns their Study
 * Instance UIDs, each once, in order: the list a pull of those originals asks for.
 */
export function stageOriginals(picks: readonly string[], dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const uids = new Set<string>();
  for (const [i, p] of picks.entries()) {
    copyFileSync(join(corpusDir, p), join(dir, `o${i}.dcm`));
    uids.add(text(scanFile(new Uint8Array(readFileSync(join(corpusDir, p)))).dataset, 0x0020000d));
  }
  return [...uids];
}
