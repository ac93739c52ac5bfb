/**
 * Burned-in text diagnostics (not a test): which JohnSnowLabs ground-truth value boxes does the text stage miss,
 * and why. Runs scanAndRedact in process (same detector, config defaults) on every *.dcm with a *.gt.json and
 * prints, per missed box: its size, the display contrast of its ink, whether a pre-filter rectangle covers it,
 * and the raw detector boxes that overlap it, and what the ink left in it lies on (glyph-sized strokes, uniform areas
 * such as air or a saturated area, grain specks: the measure's ink is every pixel at 0 or the maximum on an edge).
 * Also the share of pixels changed outside the ground-truth boxes; DIAG_BOXES=1 lists, per box, the changed pixels
 * outside them it holds (each counted once). DIAG_SHEET=file.png writes a contact sheet of the missed boxes from the
 * OUTPUT pixels only (never the original's), each with 16 pixels of context, 4x, its ground-truth box outlined in
 * red, so a reader can see whether anything is left in it (docs/images/jsl-missed-boxes.png).
 *
 * Run: node --import tsx bench/pixels-diagnose.ts [name-filter]
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanFile } from '@veil/core';
import {
  extendLines,
  lineLeading,
  loadDcmjsCodecs,
  loadPpOcrDetector,
  openPixels,
  parsePixelTextConfig,
  samplesOf,
  scanAndRedact,
  textLikeRegions,
  toRgb8,
} from '@veil/pixels';
import { encodePng } from '../apps/veil/src/pixels/png.ts';
import {
  boxInk,
  boxMask,
  clippedBox,
  INK_REMOVED,
  MIN_INK,
  sampleRange,
} from '../apps/veil/test/pixels-jsl-support.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const JSL = resolve(root, '..', 'shared', 'data', 'dicom', 'jsl-dicom-deid-dataset');
const filter = process.argv[2] ?? '';
const detector = await loadPpOcrDetector();
const codec = await loadDcmjsCodecs();
const config = parsePixelTextConfig(process.env.DIAG_MARGIN ? { margin: Number(process.env.DIAG_MARGIN) } : undefined);

interface Gt {
  annotation: { key?: { text?: string; bbox?: number[] }; value?: { text?: string; bbox?: number[] } }[];
}

/**
 * `box` with 16 pixels of context, 4x (nearest), from an RGB frame of width w and height h; `outline`: the box's
 * border drawn in red just outside it.
 */
function zoomed(
  src: Uint8Array,
  w: number,
  h: number,
  [x0, y0, x1, y1]: readonly [number, number, number, number],
  outline: boolean,
): { w: number; h: number; rgb: Uint8Array } {
  const cx0 = Math.max(0, x0 - 16);
  const cy0 = Math.max(0, y0 - 16);
  const cw = Math.min(w, x1 + 16) - cx0;
  const ch = Math.min(h, y1 + 16) - cy0;
  const z = 4;
  const rgb = new Uint8Array(cw * z * ch * z * 3);
  for (let y = 0; y < ch * z; y++)
    for (let xx = 0; xx < cw * z; xx++) {
      const sx = cx0 + ((xx / z) | 0);
      const sy = cy0 + ((y / z) | 0);
      const s = (sy * w + sx) * 3;
      const edge =
        outline &&
        (((xx === (x0 - cx0) * z - 1 || xx === (x1 - cx0) * z) && sy >= y0 - 1 && sy <= y1) ||
          ((y === (y0 - cy0) * z - 1 || y === (y1 - cy0) * z) && sx >= x0 - 1 && sx <= x1));
      rgb.set(edge ? [255, 0, 0] : src.subarray(s, s + 3), (y * cw * z + xx) * 3);
    }
  return { w: cw * z, h: ch * z, rgb };
}

let boxes = 0;
let removed = 0;
/** Contact-sheet tiles (DIAG_SHEET): output crops of missed boxes. */
const tiles: { w: number; h: number; rgb: Uint8Array }[] = [];
let outside = 0;
let pixels = 0;
let ms = 0;
let cpu = 0;
for (const name of readdirSync(JSL).filter((n) => n.endsWith('.dcm') && n.includes(filter))) {
  const file = scanFile(new Uint8Array(readFileSync(join(JSL, name))));
  const px = openPixels(file, codec);
  if (!px) continue;
  const w = px.module.columns;
  const h = px.module.rows;
  const orig = px.decodeFrame(0);
  const a = samplesOf(orig);
  const img = toRgb8(px.decodeFrame(0), px.module.palette);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const res = await scanAndRedact(file, px, { detector, codec, config, closerLooks: !process.env.DIAG_NO_CLOSER });
  ms += performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  cpu += (c1.user + c1.system) / 1000;
  const outFrame = res.changed.get(0);
  const b = outFrame ? samplesOf(outFrame) : a;
  const gt = JSON.parse(readFileSync(join(JSL, name.replace(/\.dcm$/, '.gt.json')), 'utf8')) as Gt;
  const range = sampleRange(a);
  // What an ink pixel left in a missed box belongs to: its connected run of pixels at the same value (4-neighbours,
  // counted up to a cap) is a speck of grain (under 5 pixels), a uniform area (air at 0, a saturated area at the
  // maximum: over 1,000 pixels), or else a stroke of a glyph.
  const component = (i: number, v: number): 'speck' | 'area' | 'stroke' => {
    const seen = new Set<number>([i]);
    const stack = [i];
    while (stack.length > 0 && seen.size <= 1000) {
      const k = stack.pop() as number;
      const kx = k % w;
      for (const j of [kx > 0 ? k - 1 : -1, kx < w - 1 ? k + 1 : -1, k - w, k + w]) {
        if (j < 0 || j >= a.length || seen.has(j) || a[j] !== v) continue;
        seen.add(j);
        stack.push(j);
      }
    }
    return seen.size < 5 ? 'speck' : seen.size > 1000 ? 'area' : 'stroke';
  };
  const raw = await detector.detect(img);
  const ext = extendLines(img, raw);
  const rects = textLikeRegions(img);
  const lines: string[] = [];
  for (const x of gt.annotation) {
    const box = clippedBox(x.value?.bbox, w, h);
    if (box === undefined) continue;
    const [x0, y0, x1, y1] = box;
    const left = { speck: 0, area: 0, stroke: 0 };
    const { ink, inkGone } = boxInk(a, b, w, box, range, (i, v) => left[component(i, v)]++);
    let dispMin = 255;
    let dispMax = 0;
    for (let y = y0; y < y1; y++) {
      for (let xx = x0; xx < x1; xx++) {
        const g = img.rgb[(y * w + xx) * 3] as number;
        if (g < dispMin) dispMin = g;
        if (g > dispMax) dispMax = g;
      }
    }
    if (ink < MIN_INK) continue;
    boxes++;
    const ok = inkGone >= INK_REMOVED * ink;
    if (ok) removed++;
    else {
      const ov = (r: { x0: number; y0: number; x1: number; y1: number }) =>
        r.x0 < x1 && x0 < r.x1 && r.y0 < y1 && y0 < r.y1;
      const inRect = rects.some((r) => r.x <= x0 && r.y <= y0 && r.x + r.w >= x1 && r.y + r.h >= y1);
      const det = raw.filter(ov).map((r) => `[${r.x0},${r.y0},${r.x1},${r.y1}]`);
      const ex = ext.filter(ov).map((r) => `[${r.x0},${r.y0},${r.x1},${r.y1}]`);
      if (process.env.DIAG_PNG) {
        // The missed box with 16 pixels of context, 4x, from the detector's view (toRgb8).
        const crop = zoomed(img.rgb, w, h, box, false);
        mkdirSync(process.env.DIAG_PNG, { recursive: true });
        writeFileSync(
          join(process.env.DIAG_PNG, `${name.slice(0, 12)}-${name.slice(-8, -4)}-${x0}-${y0}.png`),
          encodePng(crop.w, crop.h, crop.rgb),
        );
      }
      if (process.env.DIAG_SHEET) {
        // The output (redacted) pixels around the missed box, 4x, with the ground-truth box outlined in red.
        const outImg = toRgb8(b === a ? orig : (outFrame as typeof orig), px.module.palette);
        tiles.push(zoomed(outImg.rgb, w, h, box, true));
      }
      lines.push(
        `  MISS "${x.value?.text}" [${x0},${y0},${x1},${y1}] ${x1 - x0}x${y1 - y0} ink ${inkGone}/${ink} ` +
          `(left: ${left.stroke} on glyph-sized strokes, ${left.area} on uniform areas, ${left.speck} grain specks) ` +
          `disp ${dispMin}-${dispMax} prefilter ${inRect ? 'in' : 'OUT'} raw ${det.join(' ') || '-'} ext ${ex.join(' ') || '-'}`,
      );
    }
  }
  // Outside change.
  const inBox = boxMask(
    w,
    h,
    gt.annotation.flatMap((x) => [x.key?.bbox, x.value?.bbox]).filter((bb): bb is number[] => bb !== undefined),
  );
  let out = 0;
  for (let i = 0; i < w * h; i++) if (!inBox[i] && a[i] !== b[i]) out++;
  outside += out;
  pixels += w * h;
  const boxesFound = res.boxes.flatMap((f) => f.boxes);
  process.stdout.write(
    `${name.slice(0, 60)} ${w}x${h} ${px.module.bitsStored}bit ${px.module.photometric} boxes ${boxesFound.length} ` +
      `outside ${((100 * out) / (w * h)).toFixed(2)}%\n${lines.join('\n')}${lines.length ? '\n' : ''}`,
  );
  if (process.env.DIAG_LEADING) {
    // Each raw detector box: whether it overlaps a ground-truth box (key or value), and its leading ratio.
    for (const r of raw) {
      const text = gt.annotation.some((x) =>
        [x.key?.bbox, x.value?.bbox].some(
          (bb) =>
            bb &&
            (bb[0] as number) < r.x1 &&
            r.x0 < (bb[2] as number) &&
            (bb[1] as number) < r.y1 &&
            r.y0 < (bb[3] as number),
        ),
      );
      process.stdout.write(
        `    LEAD ${text ? 'text' : 'none'} ${lineLeading(img, r).toFixed(3)} [${r.x0},${r.y0},${r.x1},${r.y1}]\n`,
      );
    }
  }
  if (process.env.DIAG_BOXES) {
    // Each changed pixel outside the ground truth is counted once, for the first box that holds it.
    const taken = new Uint8Array(w * h);
    for (const bx of boxesFound) {
      let o = 0;
      for (let y = bx.y0; y < bx.y1; y++) {
        for (let xx = bx.x0; xx < bx.x1; xx++) {
          const i = y * w + xx;
          if (inBox[i] || taken[i] || a[i] === b[i]) continue;
          taken[i] = 1;
          o++;
        }
      }
      const onGt = gt.annotation.some((x) =>
        [x.key?.bbox, x.value?.bbox].some(
          (bb) =>
            bb &&
            (bb[0] as number) < bx.x1 &&
            bx.x0 < (bb[2] as number) &&
            (bb[1] as number) < bx.y1 &&
            bx.y0 < (bb[3] as number),
        ),
      );
      if (o > 0)
        process.stdout.write(
          `    box [${bx.x0},${bx.y0},${bx.x1},${bx.y1}] ${bx.source} ${onGt ? 'on-gt' : 'off-gt'} outside ${o}\n`,
        );
    }
  }
}
if (process.env.DIAG_SHEET && tiles.length > 0) {
  // Tiles stacked top to bottom, 8 pixels of grey between them.
  const W = Math.max(...tiles.map((t) => t.w));
  const H = tiles.reduce((n, t) => n + t.h + 8, -8);
  const sheet = new Uint8Array(W * H * 3).fill(96);
  let oy = 0;
  for (const t of tiles) {
    for (let y = 0; y < t.h; y++) sheet.set(t.rgb.subarray(y * t.w * 3, (y + 1) * t.w * 3), (oy + y) * W * 3);
    oy += t.h + 8;
  }
  mkdirSync(dirname(resolve(process.env.DIAG_SHEET)), { recursive: true });
  writeFileSync(process.env.DIAG_SHEET, encodePng(W, H, sheet));
}
process.stdout.write(
  `recall ${removed}/${boxes} = ${(removed / boxes).toFixed(3)}; outside ${((100 * outside) / pixels).toFixed(2)}%; scan ${ms.toFixed(0)} ms (CPU ${cpu.toFixed(0)} ms)\n`,
);
