/**
 * Second looks in stretched views (src/detect/views.ts):
 * - stretched maps the band to 0-255 and clamps outside it; surroundings joins overlapping neighbourhoods;
 * - on real data, with the PP-OCR detector: on the JohnSnowLabs abdominal MR slice whose date and ID lines are drawn
 *   a few levels above the noise of the air (display contrast under 45 of 255; the first look finds only the
 *   bright lines below them), lookCloser finds lines over both ground-truth boxes the first look missed;
 * - on the JohnSnowLabs chest film (MONOCHROME1) whose 'Age: 37' line is drawn white on bright grainy anatomy (the
 *   first look misses it), the top-value view finds a line over its value box; a found line mostly white in that
 *   view (the edge of a saturated area, not strokes) is not kept (inkShare);
 * - with no line found first, nothing is looked at (a frame without text is never changed here).
 *
 * Run: node --import tsx --test packages/pixels/test/views.test.ts   (~10 s: OCR on one image)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { scanFile } from '@veil/core';
import { loadDcmjsCodecs, loadPpOcrDetector, openPixels, toRgb8 } from '@veil/pixels';
import { type Box, intersection } from '../src/box.ts';
import { extendLines } from '../src/detect/extend.ts';
import { detectorScale } from '../src/detect/ppocr.ts';
import { inkShare, lookCloser, stretched, surroundings } from '../src/detect/views.ts';

const JSL = join(import.meta.dirname, '../../../../shared/data/dicom/jsl-dicom-deid-dataset');
const box = (x0: number, y0: number, x1: number, y1: number): Box => ({ x0, y0, x1, y1, source: 'detector', score: 1 });

describe('views: pure parts', () => {
  it('stretches a band to the full range', () => {
    const v = stretched({ width: 2, height: 1, rgb: new Uint8Array([0, 24, 48, 49, 200, 255]) }, 0, 48);
    assert.deepEqual([...v.rgb], [0, 128, 255, 255, 255, 255]);
  });
  it('measures the white share of a box in a view', () => {
    const v = { width: 4, height: 1, rgb: new Uint8Array([255, 255, 255, 0, 0, 0, 0, 255, 0, 10, 10, 10]) };
    assert.equal(inkShare(v, box(0, 0, 4, 1)), 0.5);
    assert.equal(inkShare(v, box(2, 0, 4, 1)), 0.5);
  });
  it('joins overlapping surroundings of lines, keeps apart distant ones', () => {
    const rs = surroundings([box(100, 100, 150, 110), box(100, 115, 140, 125), box(400, 400, 420, 404)], 512, 512);
    assert.equal(rs.length, 2);
    assert.deepEqual(rs[0], { x: 0, y: 70, w: 250, h: 85 });
  });
});

describe('views: lookCloser on real data', async () => {
  const codec = await loadDcmjsCodecs();
  const detector = await loadPpOcrDetector();
  const name = readdirSync(JSL).find((n) => n.endsWith('.dcm') && n.includes('87318_6_000000')) as string;
  const px = openPixels(scanFile(new Uint8Array(readFileSync(join(JSL, name)))), codec);
  assert.ok(px);
  const img = toRgb8(px.decodeFrame(0), px.module.palette);
  const scale = detectorScale(img.width, img.height);

  it('finds the faint dark lines beside the lines found first', async () => {
    const first = extendLines(img, await detector.detect(img));
    const gt = JSON.parse(readFileSync(join(JSL, name.replace(/\.dcm$/, '.gt.json')), 'utf8')) as {
      annotation: { value?: { bbox?: number[] } }[];
    };
    const hit = (lines: Box[], g: number[]) => {
      const b = box(g[0] as number, g[1] as number, g[2] as number, g[3] as number);
      return lines.some((l) => intersection(l, b) >= 0.5 * (b.x1 - b.x0) * (b.y1 - b.y0));
    };
    const values = gt.annotation.map((a) => a.value?.bbox).filter((g): g is number[] => g?.length === 4);
    const missed = values.filter((g) => !hit(first, g));
    assert.ok(missed.length >= 2, `the first look missed ${missed.length}`);
    const more = await lookCloser(detector, img, first, scale);
    const found = missed.filter((g) => hit(more, g));
    console.log(
      `# views: ${found.length}/${missed.length} value boxes the first look missed found in a stretched view`,
    );
    assert.ok(found.length >= 2, `found ${found.length}`);
  });

  it('finds white text on bright grainy anatomy that the first look missed (top-value view)', async () => {
    const xray = readdirSync(JSL).find((n) => n.endsWith('.dcm') && n.startsWith('292821506')) as string;
    const xp = openPixels(scanFile(new Uint8Array(readFileSync(join(JSL, xray)))), codec);
    assert.ok(xp);
    const ximg = toRgb8(xp.decodeFrame(0), xp.module.palette);
    const first = extendLines(ximg, await detector.detect(ximg));
    // 'Age: 37': the value box of the ground truth.
    const gt = JSON.parse(readFileSync(join(JSL, xray.replace(/\.dcm$/, '.gt.json')), 'utf8')) as {
      annotation: { key?: { text?: string }; value?: { bbox?: number[] } }[];
    };
    const g = gt.annotation.find((a) => a.key?.text === 'Age')?.value?.bbox as number[];
    const b = box(g[0] as number, g[1] as number, g[2] as number, g[3] as number);
    const covers = (lines: Box[]) => lines.some((l) => intersection(l, b) >= 0.8 * (b.x1 - b.x0) * (b.y1 - b.y0));
    assert.ok(!covers(first), 'the first look already finds it');
    const more = await lookCloser(detector, ximg, first, detectorScale(ximg.width, ximg.height));
    assert.ok(covers(more), 'not found in the top-value view');
  });

  it('looks at nothing when no line was found first', async () => {
    let calls = 0;
    const counting = {
      detect: async () => [],
      detectIn: async () => {
        calls++;
        return [];
      },
    };
    assert.deepEqual(await lookCloser(counting, img, [], scale), []);
    assert.equal(calls, 0);
  });
});
