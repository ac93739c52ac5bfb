/**
 * The text stage under `redact: identifying` with a fake detector and recognizer (the ports) on a real native CT
 * slice: a line read as a label is kept bit-exact, a line with a header value (Patient's Name part) is filled, an
 * unsure line is filled (fail safe), a 'Label: value' line keeps its label and loses its value, and the stage holds
 * the file back (PIXELS_RECOGNIZER_UNAVAILABLE) when identifying is configured without a recognizer.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { scanFile } from '@veil/core';
import {
  type Box,
  createTextStage,
  DEFAULT_PIXEL_TEXT_CONFIG,
  openPixels,
  type RecognizedLine,
  samplesOf,
  scanAndRedact,
  type TextDetector,
  type TextRecognizer,
} from '../src/index.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CT = join(
  process.env.VEIL_SHARED_DIR ?? resolve(repoRoot, '..', 'shared'),
  'data/dicom/pydicom-test-files/test_files/CT_small.dcm',
);

const box = (x0: number, y0: number, x1: number, y1: number): Box => ({ x0, y0, x1, y1, source: 'detector', score: 1 });
const LINES: [Box, RecognizedLine][] = [
  [box(10, 10, 60, 20), { text: 'Patient ID:', confidence: 90 }],
  [box(10, 30, 60, 40), { text: 'CT1', confidence: 95 }], // a part of Patient's Name (CompressedSamples^CT1)
  [box(10, 50, 60, 60), { text: 'kVp 120', confidence: 40 }], // unsure
  [
    box(10, 70, 110, 80),
    {
      text: 'Name: CompressedSamples',
      confidence: 92,
      words: [
        { text: 'Name:', confidence: 92, x0: 10, x1: 40 },
        { text: 'CompressedSamples', confidence: 92, x0: 50, x1: 110 },
      ],
    },
  ],
];
const detector: TextDetector = { detect: async () => LINES.map(([b]) => b) };
const recognizer: TextRecognizer = {
  // The stage may fit the detector's boxes to the ink (extend.ts): a line is found by its middle row.
  recognize: async (_img, b) =>
    LINES.find(([x]) => (x.y0 + x.y1) / 2 >= b.y0 && (x.y0 + x.y1) / 2 < b.y1)?.[1] ?? { text: '', confidence: 0 },
  close: async () => {},
};

test('redact: identifying fills identifying and unsure lines, keeps labels', { skip: !existsSync(CT) }, async () => {
  const file = scanFile(new Uint8Array(readFileSync(CT)));
  const px = openPixels(file, undefined);
  assert.ok(px);
  const before = samplesOf(px.decodeFrame(0));
  const w = px.module.columns;
  const config = { ...DEFAULT_PIXEL_TEXT_CONFIG, redact: 'identifying' as const, margin: 0 };
  const r = await scanAndRedact(file, px, { detector, config, recognizer });
  const after = samplesOf(r.changed.get(0) ?? px.decodeFrame(0));
  const changed = (b: Box) => {
    let n = 0;
    for (let y = b.y0; y < b.y1; y++) for (let x = b.x0; x < b.x1; x++) if (before[y * w + x] !== after[y * w + x]) n++;
    return n;
  };
  const [label, name, unsure, labelled] = LINES.map(([b]) => b) as [Box, Box, Box, Box];
  assert.equal(changed(label), 0, 'the label line is kept');
  assert.ok(changed(name) > 0, 'the name line is filled');
  assert.ok(changed(unsure) > 0, 'the unsure line is filled');
  assert.equal(changed({ ...labelled, x1: 45 }), 0, "the 'Name:' label is kept");
  assert.ok(changed({ ...labelled, x0: 50 }) > 0, 'the value is filled');
  assert.ok(r.kept >= 2);

  const all = await scanAndRedact(file, openPixels(file, undefined) as typeof px, {
    detector,
    config: { ...config, redact: 'all' },
  });
  const afterAll = samplesOf(all.changed.get(0) as never);
  let labelAll = 0;
  for (let y = label.y0; y < label.y1; y++)
    for (let x = label.x0; x < label.x1; x++) if (before[y * w + x] !== afterAll[y * w + x]) labelAll++;
  assert.ok(labelAll > 0, 'under all the label is filled too');
});

test('redact: identifying without a recognizer holds the file back', { skip: !existsSync(CT) }, async () => {
  const file = scanFile(new Uint8Array(readFileSync(CT)));
  const stage = createTextStage({ detector, config: { ...DEFAULT_PIXEL_TEXT_CONFIG, redact: 'identifying' } });
  const out = await stage.run({ file, edits: [] } as never);
  assert.equal(out.quarantine?.code, 'PIXELS_RECOGNIZER_UNAVAILABLE');
});

test('pixels.text.closerLooks governs the closer looks: false runs the single detector pass', {
  skip: !existsSync(CT),
}, async () => {
  const file = scanFile(new Uint8Array(readFileSync(CT)));
  const looks = async (closerLooks: boolean): Promise<number> => {
    let calls = 0;
    const counting: TextDetector = {
      detect: async () => [box(10, 10, 60, 20)],
      detectIn: async () => {
        calls++;
        return [];
      },
    };
    const px = openPixels(file, undefined);
    assert.ok(px);
    await scanAndRedact(file, px, { detector: counting, config: { ...DEFAULT_PIXEL_TEXT_CONFIG, closerLooks } });
    return calls;
  };
  assert.equal(await looks(false), 0);
  assert.ok((await looks(true)) > 0);
});
