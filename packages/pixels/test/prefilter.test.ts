/**
 * The stroke pre-filter in front of the text detector (src/detect/prefilter.ts), on real data: every identifying-
 * text box of the 22 JohnSnowLabs files (ground truth, clipped to the image) lies inside a rectangle it hands to the
 * detector, and the CT/MR slices without burned-in text of the JSL test give no rectangle at all (the network is
 * then skipped), except where noted. A lost box here would be a recall loss of the whole stage.
 *
 * Run: node --import tsx --test packages/pixels/test/prefilter.test.ts   (~5 s)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { scanFile } from '@veil/core';
import { loadDcmjsCodecs, openPixels, toRgb8 } from '@veil/pixels';
import { textLikeRegions } from '../src/detect/prefilter.ts';

const DICOM = join(import.meta.dirname, '../../../../shared/data/dicom');
const JSL = join(DICOM, 'jsl-dicom-deid-dataset');
const codec = await loadDcmjsCodecs();

function render(path: string) {
  const file = scanFile(new Uint8Array(readFileSync(path)));
  const px = openPixels(file, codec);
  assert.ok(px, 'has pixels');
  return toRgb8(px.decodeFrame(0), px.module.palette);
}

describe('stroke pre-filter', () => {
  it('keeps every JohnSnowLabs identifying-text box inside a detector rectangle', () => {
    let boxes = 0;
    const lost: string[] = [];
    const names = readdirSync(JSL).filter((n) => n.endsWith('.dcm'));
    assert.equal(names.length, 22);
    for (const name of names) {
      const img = render(join(JSL, name));
      const rects = textLikeRegions(img);
      const gt = JSON.parse(readFileSync(join(JSL, name.replace(/\.dcm$/, '.gt.json')), 'utf8')) as {
        annotation: { value?: { bbox?: number[] } }[];
      };
      for (const a of gt.annotation) {
        const b = a.value?.bbox;
        if (!b) continue;
        const [x0, y0, x1, y1] = [
          Math.max(0, b[0] as number),
          Math.max(0, b[1] as number),
          Math.min(img.width, b[2] as number),
          Math.min(img.height, b[3] as number),
        ];
        if (x1 <= x0 || y1 <= y0) continue; // outside the image
        boxes++;
        const inside = rects.some((r) => x0 >= r.x && y0 >= r.y && x1 <= r.x + r.w && y1 <= r.y + r.h);
        if (!inside) lost.push(`${name.slice(0, 24)} [${b.join(',')}]`);
      }
    }
    console.log(`# pre-filter: ${boxes - lost.length}/${boxes} JSL identifying-text boxes inside a detector rectangle`);
    assert.ok(boxes > 100, `${boxes} boxes`);
    assert.deepEqual(lost, []);
  });

  it('hands no rectangle to the detector on head CT slices without text', () => {
    for (const p of ['I10', 'I100', 'I150', 'I200']) {
      const img = render(join(DICOM, 'dcm_qa_ct/Philips/S21570/S2010', p));
      const rects = textLikeRegions(img);
      const share = rects.reduce((s, r) => s + r.w * r.h, 0) / (img.width * img.height);
      // I10 has a small candidate patch (4% of the frame) at the phantom's edge; the others none.
      assert.ok(share < 0.1, `${p}: ${(share * 100).toFixed(0)}% of the frame`);
    }
    assert.deepEqual(textLikeRegions(render(join(DICOM, 'dcm_qa_ct/Philips/S21570/S2010/I100'))), []);
  });
});
