/**
 * Basic Profile de-identification with dcmjs, a peer in Veil's de-identification benchmark (bench/deid.bench.ts).
 *
 * Usage: DCMJS_DIR=/tmp/veil-peers node --import tsx bench/peers/dcmjs-deid.ts PROFILE_JSON LIST OUTDIR
 *
 * dcmjs is not a dependency of the repository: install it outside (`npm install --prefix /tmp/veil-peers
 * dcmjs@0.51`) and point DCMJS_DIR at that prefix. For each file named in LIST: DicomMessage.readFile, the same
 * walk as the pydicom peer (private tags removed; X, Z, D, U at every depth from bench/peers/basic-profile.ts),
 * PatientIdentityRemoved set, DicomDict.write, written to OUTDIR under the same base name. dcmjs's own
 * anonymizer.cleanTags only empties a fixed list of top-level keywords, so it is not used. Prints one JSON line
 * {"files": N, "bytes": B, "ms": T} (the loop only).
 */
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import type { ProfileList } from './basic-profile.ts';

interface Element {
  vr: string;
  Value?: unknown[];
}
type Dict = Record<string, Element>;
interface DicomDict {
  meta: Dict;
  dict: Dict;
  write(): ArrayBuffer;
}
interface Dcmjs {
  data: { DicomMessage: { readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): DicomDict } };
}

const KEY = 'veil-bench-dcmjs-peer-key-000000';

function loadDcmjs(): Dcmjs {
  const dir = process.env.DCMJS_DIR;
  if (!dir) throw new Error('set DCMJS_DIR to the prefix dcmjs is installed under');
  return createRequire(join(dir, 'package.json'))('dcmjs') as Dcmjs;
}

function remapUid(uid: string, cache: Map<string, string>): string {
  if (uid === '' || uid.startsWith('1.2.840.10008')) return uid;
  let got = cache.get(uid);
  if (got === undefined) {
    const d = createHmac('sha256', KEY).update(`uid:${uid}`).digest();
    got = `2.25.${BigInt(`0x${d.subarray(0, 16).toString('hex')}`).toString()}`;
    cache.set(uid, got);
  }
  return got;
}

function actionOf(tag: number, hex: string, profile: ProfileList): string | undefined {
  const a = profile.exact[hex];
  if (a !== undefined) return a;
  for (const m of profile.masks) if ((tag & m.mask) >>> 0 === m.value) return m.action;
  return undefined;
}

function isEmpty(el: Element): boolean {
  return el.Value === undefined || el.Value.length === 0 || (el.Value.length === 1 && el.Value[0] === '');
}

function deid(dict: Dict, profile: ProfileList, uids: Map<string, string>): void {
  for (const hex of Object.keys(dict)) {
    const tag = Number.parseInt(hex, 16) >>> 0;
    const el = dict[hex]!;
    if (((tag >>> 16) & 1) === 1) {
      delete dict[hex];
      continue;
    }
    const action = actionOf(tag, hex.toUpperCase(), profile);
    if (action === 'X') {
      delete dict[hex];
    } else if (action === 'Z') {
      el.Value = [];
    } else if (action === 'D') {
      if (isEmpty(el)) continue;
      const dummy = profile.dummies[el.vr];
      if (el.vr === 'SQ' || dummy === undefined) delete dict[hex];
      else el.Value = [el.vr === 'PN' ? { Alphabetic: dummy } : dummy];
    } else if (action === 'U' && el.vr === 'UI') {
      el.Value = (el.Value ?? []).map((v) => (typeof v === 'string' ? remapUid(v, uids) : v));
    } else if (el.vr === 'SQ') {
      for (const item of el.Value ?? []) deid(item as Dict, profile, uids);
    }
  }
}

function main(): void {
  const [profilePath, listPath, outDir] = process.argv.slice(2) as [string, string, string];
  const dcmjs = loadDcmjs();
  const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as ProfileList;
  const inputs = readFileSync(listPath, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const uids = new Map<string, string>();
  let bytes = 0;
  const t0 = performance.now();
  for (const path of inputs) {
    const buf = readFileSync(path);
    bytes += buf.length;
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
    const file = dcmjs.data.DicomMessage.readFile(ab);
    deid(file.dict, profile, uids);
    file.dict['00120062'] = { vr: 'CS', Value: ['YES'] };
    const sop = file.dict['00080018']?.Value?.[0];
    if (typeof sop === 'string') file.meta['00020003'] = { vr: 'UI', Value: [sop] };
    writeFileSync(join(outDir, basename(path)), new Uint8Array(file.write()));
  }
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ files: inputs.length, bytes, ms })}\n`);
}

main();
