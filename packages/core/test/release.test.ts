/**
 * The one release path (packages/core/src/release): stage order, edits and claims from stages, the false-claim fix of
 * issue 12 (config.pixels alone never writes Burned In Annotation NO nor 113101/113102), all findings listed, and
 * acknowledgement by finding key.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  bytesSource,
  type DicomFile,
  deidentify,
  findElement,
  findingKey,
  PIXEL_DATA,
  parseDeidConfig,
  type ReleaseOutcome,
  type ReleaseStage,
  readString,
  releaseFile,
  scanFile,
  writeDeidentified,
} from '../src/index.ts';
import { dataDir, readBytes, repoRoot } from './support/corpus.ts';

const KEY = new Uint8Array(32).map((_, i) => (i * 7 + 3) & 0xff);
const US = path.join(dataDir, 'dicom/dcm4che/test-data/US-RGB-8-esopecho');
const SR = path.join(dataDir, 'dicom/dcmjs/test/sample-sr.dcm');
const CT = path.join(repoRoot, 'samples/CT_small.dcm');
const noShared = existsSync(US) ? false : `shared data not found at ${dataDir}`;

function materialized(outcome: ReleaseOutcome): DicomFile {
  assert.equal(
    outcome.kind,
    'released',
    outcome.kind === 'quarantined' ? outcome.holds.map((f) => f.code).join(' ') : '',
  );
  if (outcome.kind !== 'released') throw new Error('not released');
  const src = outcome.file.source;
  const parts = outcome.plan.segments.map((s) => (s instanceof Uint8Array ? s : src.read(s.start, s.end)));
  const out = new Uint8Array(outcome.plan.length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return scanFile(out);
}

function text(file: DicomFile, tag: number): string | undefined {
  const el = findElement(file.dataset, tag);
  return el ? readString(el).trim() : undefined;
}

function methodCodeValues(file: DicomFile): string[] {
  const seq = findElement(file.dataset, 0x00120064);
  if (!seq?.items) return [];
  return seq.items.map((item) => {
    const v = findElement(item, 0x00080100);
    return v ? readString(v).trim() : '';
  });
}

const blankPixels: ReleaseStage = {
  name: 'pixels:test-blank',
  kind: 'pixels',
  appliesTo: (file) => findElement(file.dataset, PIXEL_DATA) !== undefined,
  async run({ file }) {
    const el = findElement(file.dataset, PIXEL_DATA)!;
    return {
      edits: [{ op: 'replace', element: el, value: new Uint8Array(el.length) }],
      claims: { burnedInAnnotationNo: true, methodCodes: ['113101'] },
      report: { frames: 1 },
    };
  },
};

describe('release path', { skip: noShared }, () => {
  test('default configuration: synchronous, released, same output as the header engine alone', () => {
    const bytes = readBytes(US);
    const config = parseDeidConfig({});
    const outcome = releaseFile(bytesSource(bytes), { config, keys: { key: KEY } });
    assert.ok(!(outcome instanceof Promise), 'no stage: the path stays synchronous');
    const out = materialized(outcome);
    const file = scanFile(bytes);
    const direct = scanFile(writeDeidentified(file, deidentify(file, config, { key: KEY })));
    assert.deepEqual(out.source.bytes, direct.source.bytes);
    assert.deepEqual(methodCodeValues(out), ['113100']);
  });

  test('issue 12: cleanPixelData without a pixel stage is quarantined, never released with the claim', async () => {
    const bytes = readBytes(US);
    const config = parseDeidConfig({ pixels: { cleanPixelData: true, cleanRecognizableVisualFeatures: true } });
    // The header engine alone no longer states what it did not do.
    const file = scanFile(bytes);
    const headerOnly = scanFile(writeDeidentified(file, deidentify(file, config, { key: KEY })));
    assert.notEqual(text(headerOnly, 0x00280301), 'NO');
    assert.notEqual(text(headerOnly, 0x00280302), 'NO');
    assert.deepEqual(methodCodeValues(headerOnly), ['113100']);
    // Through the release path: held back, with both requests listed.
    const outcome = await releaseFile(bytesSource(bytes), { config, keys: { key: KEY } });
    assert.equal(outcome.kind, 'quarantined');
    if (outcome.kind !== 'quarantined') return;
    assert.equal(outcome.code, 'PIXELS_STAGE_UNAVAILABLE');
    assert.deepEqual(
      outcome.holds.map((f) => `${f.detector} ${findingKey(f)}`),
      [
        'clean-pixel-data PIXELS_STAGE_UNAVAILABLE@(7FE0,0010)',
        'clean-visual-features PIXELS_STAGE_UNAVAILABLE@(7FE0,0010)',
      ],
    );
    // Acknowledging both releases the file, still without any claim.
    const acked = await releaseFile(bytesSource(bytes), {
      config,
      keys: { key: KEY },
      acknowledged: outcome.holds.map(findingKey),
    });
    const out = materialized(acked);
    assert.notEqual(text(out, 0x00280301), 'NO');
    assert.ok(!methodCodeValues(out).includes('113101'));
    assert.ok(!methodCodeValues(out).includes('113102'));
  });

  test('a file without pixel data is not held back for cleanPixelData, and nothing is claimed', async () => {
    const config = parseDeidConfig({ pixels: { cleanPixelData: true } });
    const out = materialized(await releaseFile(readBytes(SR), { config, keys: { key: KEY } }));
    assert.equal(text(out, 0x00280301), undefined);
    assert.deepEqual(methodCodeValues(out), ['113100']);
  });

  test('an async pixel stage: its edits applied, its claims written, the verifier runs on the result', async () => {
    const config = parseDeidConfig({ pixels: { cleanPixelData: true } });
    const pending = releaseFile(readBytes(US), { config, keys: { key: KEY }, stages: [blankPixels] });
    assert.ok(pending instanceof Promise);
    const outcome = await pending;
    const out = materialized(outcome);
    assert.equal(text(out, 0x00280301), 'NO');
    assert.deepEqual(methodCodeValues(out), ['113100', '113101']);
    const px = findElement(out.dataset, PIXEL_DATA)!;
    assert.ok(out.source.read(px.valueOffset, px.valueOffset + px.length).every((b) => b === 0));
    if (outcome.kind === 'released')
      assert.deepEqual(outcome.stages, [{ name: 'pixels:test-blank', ran: true, report: { frames: 1 } }]);
  });

  test('a stage that throws or rejects is a finding, and a stage that ran without claiming is PIXELS_NOT_CLEANED', async () => {
    const config = parseDeidConfig({ pixels: { cleanPixelData: true } });
    const broken: ReleaseStage = {
      name: 'pixels:broken',
      kind: 'pixels',
      run: () => Promise.reject(new Error('codec exploded')),
    };
    const outcome = await releaseFile(readBytes(US), { config, keys: { key: KEY }, stages: [broken] });
    assert.equal(outcome.kind, 'quarantined');
    if (outcome.kind !== 'quarantined') return;
    assert.deepEqual(
      outcome.holds.map((f) => [f.stage, f.code]),
      [
        ['pixels:broken', 'STAGE_FAILED'],
        ['pixels', 'PIXELS_STAGE_UNAVAILABLE'],
      ],
    );
    const lazy: ReleaseStage = { name: 'pixels:lazy', kind: 'pixels', run: () => ({}) };
    const o2 = await releaseFile(readBytes(US), { config, keys: { key: KEY }, stages: [lazy] });
    assert.equal(o2.kind === 'quarantined' && o2.code, 'PIXELS_NOT_CLEANED');
  });

  test('every finding is listed; each must be acknowledged by its key', async () => {
    // A site override that keeps the patient's name: the verifier finds it, and the engine's own hold is listed too.
    const config = parseDeidConfig({
      overrides: [{ selector: '(0010,0010)', override: { action: 'keep' } }],
      pixels: { cleanPixelData: true },
    });
    const outcome = await releaseFile(readBytes(CT), { config, keys: { key: KEY } });
    assert.equal(outcome.kind, 'quarantined');
    if (outcome.kind !== 'quarantined') return;
    const keys = [...new Set(outcome.holds.map(findingKey))];
    assert.ok(keys.includes('PIXELS_STAGE_UNAVAILABLE@(7FE0,0010)'), keys.join(' '));
    assert.ok(
      keys.some((k) => k.startsWith('VERIFY_KNOWN_NAME@(0010,0010)')),
      keys.join(' '),
    );
    for (const f of outcome.findings) assert.ok(!('masked' in f), 'no masked values in a quarantine record');
    // One acknowledged, the other still holds.
    const partial = await releaseFile(readBytes(CT), { config, keys: { key: KEY }, acknowledged: [keys[0]!] });
    assert.equal(partial.kind, 'quarantined');
    const all = await releaseFile(readBytes(CT), { config, keys: { key: KEY }, acknowledged: new Set(keys) });
    assert.equal(all.kind, 'released');
    if (all.kind === 'released') assert.equal(all.acknowledged.length, outcome.holds.length);
  });

  test('not DICOM, and an input that does not scan', () => {
    const notDicom = releaseFile(new TextEncoder().encode('hello, not an image'), {
      config: parseDeidConfig({}),
      keys: { key: KEY },
    });
    assert.deepEqual(notDicom, { kind: 'not-dicom', code: 'DICOM_NOT_DICOM' });
  });
});
