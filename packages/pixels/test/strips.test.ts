/**
 * The closer look along each found line (src/detect/strips.ts):
 * - chainOnRows (pure): strip boxes on the line's rows and chained to it by gaps of up to three text heights
 *   extend its columns; boxes on other rows, much taller ones and far ones do not;
 * - on real data, with the PP-OCR detector: over the two portable chest X-rays of the JohnSnowLabs set (white and
 *   dark text on bright grainy anatomy, where the whole-frame pass finds lines only in part), more ground-truth
 *   value boxes are covered column-wise by a line on their rows after followStrips than before; it never adds
 *   or drops a line and never narrows one.
 *
 * Run: node --import tsx --test packages/pixels/test/strips.test.ts   (~10-20 s: OCR on two images)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { scanFile } from '@veil/core';
import { loadDcmjsCodecs, loadPpOcrDetector, openPixels, toRgb8 } from '@veil/pixels';
import type { Box } from '../src/box.ts';
import { extendLines } from '../src/detect/extend.ts';
import { chainOnRows, followStrips } from '../src/detect/strips.ts';

const JSL = join(import.meta.dirname, '../../../../shared/data/dicom/jsl-dicom-deid-dataset');

const box = (x0: number, y0: number, x1: number, y1: number): Box => ({ x0, y0, x1, y1, source: 'detector', score: 1 });

describe('strips: chainOnRows', () => {
  const line = box(100, 50, 160, 60); // text height 10
  it('extends over boxes on the line rows chained by gaps of up to three text heights', () => {
    const r = chainOnRows(line, [box(170, 49, 220, 61), box(245, 50, 300, 60), box(70, 51, 95, 59)]);
    assert.deepEqual([r.x0, r.x1], [70, 300]);
  });
  it('ignores boxes on other rows, much taller boxes and boxes past the gap', () => {
    const r = chainOnRows(line, [box(170, 62, 220, 72), box(165, 30, 200, 80), box(200, 50, 240, 60)]);
    assert.deepEqual([r.x0, r.x1], [100, 160]);
  });
});

describe('strips: followStrips on real data', () => {
  it('covers more ground-truth lines on the portable chest X-rays, adding none', async () => {
    const codec = await loadDcmjsCodecs();
    const detector = await loadPpOcrDetector();
    const names = readdirSync(JSL).filter((n) => n.endsWith('.dcm') && n.includes('XR_CHEST_AP_PORTABLE'));
    assert.ok(names.length >= 2, `${names.length} chest X-rays`);
    let before = 0;
    let after = 0;
    let total = 0;
    for (const name of names) {
      const px = openPixels(scanFile(new Uint8Array(readFileSync(join(JSL, name)))), codec);
      assert.ok(px);
      const img = toRgb8(px.decodeFrame(0), px.module.palette);
      const first = extendLines(img, await detector.detect(img));
      const followed = await followStrips(detector, img, first);
      assert.equal(followed.length, first.length, `${name}: same number of lines`);
      first.forEach((b, i) => {
        const f = followed[i] as Box;
        assert.ok(f.x0 <= b.x0 && f.x1 >= b.x1 && f.y0 === b.y0 && f.y1 === b.y1, `${name}: line only widened`);
      });
      const gt = JSON.parse(readFileSync(join(JSL, name.replace(/\.dcm$/, '.gt.json')), 'utf8')) as {
        annotation: { value?: { bbox?: number[] } }[];
      };
      const covered = (lines: Box[], g: number[]) =>
        lines.some((l) => {
          const ov = Math.min(l.y1, g[3] as number) - Math.max(l.y0, g[1] as number);
          return (
            ov >= 0.5 * ((g[3] as number) - (g[1] as number)) &&
            l.x0 <= (g[0] as number) + 2 &&
            l.x1 >= (g[2] as number) - 2
          );
        });
      for (const a of gt.annotation) {
        const g = a.value?.bbox;
        if (g?.length !== 4 || (g[2] as number) > img.width || (g[3] as number) > img.height) continue;
        total++;
        if (covered(first, g)) before++;
        if (covered(followed, g)) after++;
      }
    }
    console.log(`# strips: chest X-ray value boxes covered by a line ${before}/${total} -> ${after}/${total}`);
    assert.ok(after > before, `followStrips covered ${after}, the first pass ${before}`);
  });
});
