/**
 * `veil serve` runs the free-text engine (issue 15): a gateway (SQLite, in-process queue, folder ingress and
 * destination, release worker threads) whose deid configuration turns on Clean Descriptors and Clean Structured
 * Content loads @veil/text as keys.cleanFreeText in its release workers. Two real files of the shared corpus go in:
 *  - a JSL MR whose Study Description and Image Comments were set to sentences with a name, a phone and a date the
 *    header does not hold (only a free-text engine finds the name: the built-in scrubber keeps it, see
 *    deid-free-text.test.ts);
 *  - a Comprehensive SR whose TEXT content items hold a radiology report (sr-report-fixture.ts), with the patient's
 *    surname in lower case, found through the header's known values.
 * Both are delivered with the PHI replaced by typed placeholders and the clinical words kept. A second gateway with
 * the options off delivers both with no placeholder anywhere (the profile removes or keeps the text; no free-text
 * engine ran), which is what makes the first check a proof of the wiring.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findElement, parseDeidConfig, readString, rewrite, scanFile } from '@veil/core';
import { loadServerConfig } from '../src/server/config.ts';
import { createObservability } from '../src/server/observe.ts';
import { type ServerHandle, startServer } from '../src/server/server.ts';
import { ensureDir, filesUnder, keyFile, sharedDir, waitFor, writeConfig } from './server-support.ts';
import { buildReportSr, SR_KEPT, SR_PHI, SR_SOURCE, textValues } from './sr-report-fixture.ts';

const MR = join(
  sharedDir,
  'data/dicom/jsl-dicom-deid-dataset',
  '8732322741_01-05-2008-MRI_PROSTATE_W_WO_CONTRAST-39318_4_000000-t2spcrstaxial_oblProstate-50358_1-05.dcm',
);
const present = existsSync(MR) && existsSync(join(sharedDir, SR_SOURCE));

const STUDY_DESCRIPTION = 0x00081030;
const IMAGE_COMMENTS = 0x00204000;
const SOP_CLASS = 0x00080016;
const DESCRIPTION = 'Prostate MRI for Maria Gonzalez, call 617-555-0199';
const COMMENTS =
  'Seen by Dr. Robert Miller on March 3, 2021. Lesion in the left peripheral zone, no extracapsular extension.';
const MR_PHI = ['Maria', 'Gonzalez', 'Robert', 'Miller', '555-0199', 'March 3, 2021'];

/** The pixel OCR stage off where the configuration knows the key: this test is about the header's free text. */
const TEXT_OFF: Record<string, unknown> = (() => {
  try {
    parseDeidConfig({ pixels: { text: { enabled: false } } });
    return { text: { enabled: false } };
  } catch {
    return {};
  }
})();

const root = mkdtempSync(join(tmpdir(), 'veil-serve-free-text-'));
after(() => rmSync(root, { recursive: true, force: true }));

const ascii = (s: string) => new TextEncoder().encode(s.length % 2 ? `${s} ` : s);

function put(inbox: string, name: string, bytes: Uint8Array): void {
  const tmp = join(inbox, `.${name}.part`);
  writeFileSync(tmp, bytes);
  renameSync(tmp, join(inbox, name));
}

function mrWithText(): Uint8Array {
  const file = scanFile(new Uint8Array(readFileSync(MR)));
  const desc = findElement(file.dataset, STUDY_DESCRIPTION)!;
  return rewrite(file, [
    { op: 'replace', element: desc, value: ascii(DESCRIPTION) },
    { op: 'insert', container: file.dataset, tag: IMAGE_COMMENTS, vr: 'LT', value: ascii(COMMENTS) },
  ]);
}

const text = (bytes: Uint8Array, tag: number) => {
  const el = findElement(scanFile(bytes).dataset, tag);
  return el ? readString(el) : '';
};

async function start(dir: string, options: Record<string, boolean>): Promise<ServerHandle> {
  const { path: keyPath, key } = keyFile(dir);
  ensureDir(join(dir, 'inbox'));
  const config = writeConfig(dir, {
    spool: './spool',
    store: { kind: 'sqlite', path: './veil.db' },
    key: { file: keyPath },
    ingress: [{ name: 'inbox', kind: 'folder', path: './inbox', pollMs: 100, settleMs: 50 }],
    destinations: [{ name: 'out', kind: 'folder', path: './out' }],
    deid: { options, pixels: { ...TEXT_OFF } },
    sweepSeconds: 0.2,
    http: { port: 0 },
    log: { level: 'warn' },
  });
  return startServer({
    config: loadServerConfig(config),
    key,
    role: 'all',
    obs: createObservability({ level: 'warn', role: 'all' }),
  });
}

/** The delivered files by SOP Class (MR or SR). */
async function delivered(server: ServerHandle, dir: string, n: number): Promise<Map<string, Uint8Array>> {
  await waitFor('files processed', async () => {
    const c = await server.store.countJobs();
    return c.done + c.quarantined >= n;
  });
  const held = await server.store.listQuarantine({ states: ['held'] });
  assert.deepEqual(
    held.map((q) => q.code),
    [],
    'nothing held',
  );
  const out = new Map<string, Uint8Array>();
  for (const f of filesUnder(join(dir, 'out'))) {
    const bytes = new Uint8Array(readFileSync(f));
    out.set(text(bytes, SOP_CLASS).startsWith('1.2.840.10008.5.1.4.1.1.88') ? 'SR' : 'MR', bytes);
  }
  assert.equal(out.size, 2);
  return out;
}

describe('veil serve: keys.cleanFreeText through the gateway', { skip: !present && 'shared data missing' }, () => {
  const dir = ensureDir(join(root, 'on'));
  let server: ServerHandle;
  before(async () => {
    server = await start(dir, { cleanDescriptors: true, cleanStructuredContent: true });
  });
  after(async () => {
    await server?.close();
  });

  test('descriptors and the SR report: PHI replaced by placeholders, clinical text kept, delivered', async () => {
    put(join(dir, 'inbox'), 'mr.dcm', mrWithText());
    put(join(dir, 'inbox'), 'sr.dcm', buildReportSr(sharedDir));
    const out = await delivered(server, dir, 2);

    const mr = out.get('MR')!;
    const desc = text(mr, STUDY_DESCRIPTION);
    const comments = text(mr, IMAGE_COMMENTS);
    assert.match(desc, /^Prostate MRI for \[NAME\], call \[PHONE\]/);
    assert.match(comments, /^Seen by Dr\. \[NAME\] on \[DATE\]\. Lesion in the left peripheral zone/);

    const [findings, impression] = textValues(out.get('SR')!);
    assert.match(findings!, /Patient \[NAME\] tolerated contrast/, 'the surname from the header, in lower case');
    assert.match(impression!, /Dr\. \[NAME\] at \[PHONE\] on \[DATE\]\. \[NAME\], MRN \[ID\]/);
    for (const k of SR_KEPT) assert.ok(`${findings} ${impression}`.includes(k), `clinical words kept: ${k}`);

    for (const [kind, bytes] of out) {
      const all = Buffer.from(bytes).toString('latin1');
      for (const p of kind === 'SR' ? SR_PHI : MR_PHI) assert.ok(!all.includes(p), `${kind}: PHI left in the output`);
    }
  });
});

describe('veil serve: without the options no free-text engine runs', {
  skip: !present && 'shared data missing',
}, () => {
  const dir = ensureDir(join(root, 'off'));
  let server: ServerHandle;
  before(async () => {
    server = await start(dir, {});
  });
  after(async () => {
    await server?.close();
  });

  test('no placeholder anywhere', async () => {
    put(join(dir, 'inbox'), 'mr.dcm', mrWithText());
    put(join(dir, 'inbox'), 'sr.dcm', buildReportSr(sharedDir));
    const out = await delivered(server, dir, 2);
    for (const bytes of out.values()) assert.ok(!Buffer.from(bytes).toString('latin1').includes('[NAME]'));
  });
});
