/**
 * A closer look along each line the detector found: the detector is run again on a strip around the line (the
 * line's rows with half a text height above and below, up to `reach` text heights left and right), up-scaled so
 * that the text is about 24 and about 48 pixels high (two runs: which size the network resolves a given small font
 * best at varies, and one scale alone lost lines the other found). Seen whole, a frame shows small text (4-12 pixels) at the edge
 * of what the network resolves, and on grainy or bright anatomy it often finds only part of a line ('DAVIDSON DOU'
 * of 'DAVIDSON DOUGLAS'); in a strip at a larger scale the rest of the line is found.
 *
 * A line whose ends are followed by flat background for two text heights on both sides (endsOpen: no step above 24
 * display levels on its rows) is complete and not looked at again: text on a black screen costs nothing more.
 * Only lines already found are extended: a strip box counts when it lies on the line's rows (it overlaps them by
 * half its height and is at most twice as high) and is chained to the line by gaps of at most two text heights.
 * Nothing is added where the first pass found no line, so a frame without text is never touched here.
 *
 * Example:
 *   const lines = await followStrips(detector, img, extendLines(img, await detector.detect(img)));
 */
import type { Box } from '../box.ts';
import type { Rgb8 } from '../render.ts';
import type { TextDetector } from './port.ts';

export interface StripOptions {
  /** Text heights in the strip the detector sees, in pixels, one run each (default 24 and 48). */
  readonly targetHeights?: readonly number[];
  /** Largest up-scaling (default 6). */
  readonly maxScale?: number;
  /** How far left and right of the line the strip reaches, in text heights (default 10). */
  readonly reach?: number;
  /** Lines higher than this (frame pixels) are left as they are (default 48): large text is seen whole. */
  readonly maxLineHeight?: number;
}

/** The line's columns extended over the strip boxes chained to it on its rows. */
export function chainOnRows(line: Box, found: readonly Box[]): Box {
  const th = line.y1 - line.y0;
  const gap = 3 * th;
  const onRows = found.filter((f) => {
    const fh = f.y1 - f.y0;
    const ov = Math.min(f.y1, line.y1) - Math.max(f.y0, line.y0);
    return fh <= 2 * th + 2 && ov >= 0.5 * Math.min(fh, th);
  });
  let x0 = line.x0;
  let x1 = line.x1;
  for (let grew = true; grew; ) {
    grew = false;
    for (const f of onRows) {
      if (f.x1 < x0 - gap || f.x0 > x1 + gap) continue;
      if (f.x0 < x0) {
        x0 = f.x0;
        grew = true;
      }
      if (f.x1 > x1) {
        x1 = f.x1;
        grew = true;
      }
    }
  }
  return { ...line, x0, x1 };
}

/** A step between neighbours (max of R, G, B) that can be part of a stroke: weaker than the pre-filter's 40. */
const STEP = 24;

/**
 * Whether anything stroke-like lies within `span` columns past either end of the line, on its rows: a line that
 * ends in flat background on both sides (text on a black screen) is complete and needs no strip.
 */
export function endsOpen(img: Rgb8, line: Box, span: number): boolean {
  const { width: w, rgb } = img;
  const grey = (x: number, y: number) => {
    const j = (y * w + x) * 3;
    return Math.max(rgb[j] as number, rgb[j + 1] as number, rgb[j + 2] as number);
  };
  const busy = (xa: number, xb: number) => {
    for (let y = line.y0; y < line.y1; y++) {
      for (let x = Math.max(1, xa); x < Math.min(w, xb); x++) {
        if (Math.abs(grey(x, y) - grey(x - 1, y)) > STEP) return true;
      }
    }
    return false;
  };
  return busy(line.x0 - span, line.x0) || busy(line.x1, line.x1 + span);
}

export async function followStrips(
  detector: TextDetector,
  img: Rgb8,
  lines: readonly Box[],
  options: StripOptions = {},
): Promise<Box[]> {
  const detectIn = detector.detectIn?.bind(detector);
  if (!detectIn) return [...lines];
  const targets = options.targetHeights ?? [24, 48];
  const maxScale = options.maxScale ?? 6;
  const reach = options.reach ?? 10;
  const maxH = options.maxLineHeight ?? 48;
  const out: Box[] = [];
  for (const line of lines) {
    const th = line.y1 - line.y0;
    if (line.source !== 'detector' || th < 3 || th > maxH || !endsOpen(img, line, 2 * th)) {
      out.push(line);
      continue;
    }
    const pad = Math.ceil(th / 2);
    const x = Math.max(0, line.x0 - reach * th);
    const y = Math.max(0, line.y0 - pad);
    const rect = {
      x,
      y,
      w: Math.min(img.width, line.x1 + reach * th) - x,
      h: Math.min(img.height, line.y1 + pad) - y,
    };
    const found: Box[] = [];
    let last = 0;
    for (const t of targets) {
      const scale = Math.max(1, Math.min(maxScale, t / th));
      if (scale === last) continue;
      last = scale;
      found.push(...(await detectIn(img, rect, scale)));
    }
    out.push(chainOnRows(line, found));
  }
  return out;
}
