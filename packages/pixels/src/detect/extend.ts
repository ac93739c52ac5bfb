/**
 * Detector boxes fitted to the text they hold, and text lines the detector found only in part completed: a name
 * after a date on one line, a lone letter at the end, the first word of a line.
 *
 * For each detector box:
 * 1. What marks text: ink, the pixels near the extreme (dark or bright) the line is drawn at, when the box holds
 *    enough of it (burned-in text is drawn at or near an extreme value, grainy anatomy around it mostly is not);
 *    else stroke edges (a step between neighbours above a third of the box's own contrast).
 * 2. The line's rows: runs of rows with at least a quarter of the busiest row's marks (several runs when the box
 *    spans close lines), grown over the rows of ascenders and descenders.
 * 3. Each line is followed left and right, one text height at a time, while the window next to it has marks in
 *    the line's rows and clearly fewer in the thin bands just above and below them: a text line has empty leading
 *    above and below (stacked lines included), busy anatomy or noise is as busy there as in the line. A window
 *    whose marks are only rows inked across all of it is a straight band running along the line (a table edge,
 *    a saturated stripe), not letters, and ends the line; letters drawn over such a band still mark the rows beside
 *    it. A gap of up to 1.5 text heights without marks (a space between words) is bridged.
 * 4. Each line becomes a box: the line's own rows (one row of slack; the detector's unclip margin above and below
 *    is dropped, so less of the image around the text is filled) and the line's columns joined with the detector
 *    box's (a fit cut short on a faint end must not lose what the detector covered). A box without ink rows stays
 *    as the detector gave it.
 *
 * Example:
 *   const lines = extendLines(toRgb8(frame), await detector.detect(img));
 */
import type { Box } from '../box.ts';
import { maxChannel, type Rgb8 } from '../render.ts';

let greyBuf: Uint8Array = new Uint8Array(0);

/** Max of R, G, B (render.ts maxChannel) in this module's reused buffer. */
function greyOf(img: Rgb8): Uint8Array {
  greyBuf = maxChannel(img, greyBuf);
  return greyBuf;
}

/** Whether (x, y) is on a stroke edge: a horizontal or vertical step of more than t. */
function edgeAt(g: Uint8Array, w: number, x: number, y: number, t: number, vertical: boolean): boolean {
  const i = y * w + x;
  const v = g[i] as number;
  if (x > 0 && Math.abs(v - (g[i - 1] as number)) > t) return true;
  return vertical && y > 0 && Math.abs(v - (g[i - w] as number)) > t;
}

/** Edges of column x over rows [y0, y1) (clipped). */
function columnEdges(
  g: Uint8Array,
  w: number,
  h: number,
  x: number,
  y0: number,
  y1: number,
  t: number,
  vertical: boolean,
): number {
  if (x < 0 || x >= w) return 0;
  let n = 0;
  for (let y = Math.max(0, y0); y < Math.min(h, y1); y++) if (edgeAt(g, w, x, y, t, vertical)) n++;
  return n;
}

/** Step threshold for a box: a third of its contrast (2nd to 98th percentile of its grey values), at least 12. */
function stepThreshold(g: Uint8Array, w: number, b: Box): number {
  const hist = new Uint32Array(256);
  let n = 0;
  for (let y = b.y0; y < b.y1; y++) {
    for (let x = b.x0; x < b.x1; x++) {
      hist[g[y * w + x] as number] = (hist[g[y * w + x] as number] as number) + 1;
      n++;
    }
  }
  let lo = 0;
  let hi = 255;
  for (let acc = 0; lo < 255; lo++) {
    acc += hist[lo] as number;
    if (acc > 0.02 * n) break;
  }
  for (let acc = 0; hi > 0; hi--) {
    acc += hist[hi] as number;
    if (acc > 0.02 * n) break;
  }
  return Math.max(12, (hi - lo) / 3);
}

/**
 * The ink of a line: the extreme (dark or bright) that at least 8% of the box's pixels sit near, while the box's
 * median (the background) is at least 64 display levels away from it; undefined when neither extreme qualifies.
 */
function inkTest(g: Uint8Array, w: number, b: Box, ty0: number, ty1: number): ((v: number) => boolean) | undefined {
  const hist = new Uint32Array(256);
  let n = 0;
  for (let y = ty0; y < ty1; y++) {
    for (let x = b.x0; x < b.x1; x++) {
      const v = g[y * w + x] as number;
      hist[v] = (hist[v] as number) + 1;
      n++;
    }
  }
  let med = 0;
  for (let acc = 0; med < 255; med++) {
    acc += hist[med] as number;
    if (acc >= n / 2) break;
  }
  let lo = 0;
  while (lo < 255 && hist[lo] === 0) lo++;
  let hi = 255;
  while (hi > 0 && hist[hi] === 0) hi--;
  const near = (from: number, to: number) => {
    let c = 0;
    for (let v = Math.max(0, from); v <= Math.min(255, to); v++) c += hist[v] as number;
    return c;
  };
  const tolDark = Math.min(40, Math.floor((med - lo) / 2));
  const tolBright = Math.min(40, Math.floor((hi - med) / 2));
  // The ink must stand well away from the background (a quarter of the display range): the dark end of grainy
  // background is no ink.
  const dark = med - lo >= 64 ? near(lo, lo + tolDark) : 0;
  const bright = hi - med >= 64 ? near(hi - tolBright, hi) : 0;
  if (Math.max(dark, bright) < 0.08 * n) return undefined;
  if (dark >= bright) {
    const limit = lo + tolDark;
    return (v) => v <= limit;
  }
  const limit = hi - tolBright;
  return (v) => v >= limit;
}

let lastLeading = Number.POSITIVE_INFINITY;

/**
 * Diagnostics: the leading ratio of the box's best line (marks per row in the thin bands above and below it over
 * marks per row in the line; text lines are near 0, anatomy near or above 1), Infinity when no line is found.
 */
export function lineLeading(img: Rgb8, b: Box): number {
  lastLeading = Number.POSITIVE_INFINITY;
  fitLine(greyOf(img), img.width, img.height, b, 0);
  return lastLeading;
}

/** The text lines of a detector box, each followed left and right; [] when no ink rows are found. */
function fitLine(g: Uint8Array, w: number, h: number, b: Box, maxLines: number): Box[] {
  const bw = b.x1 - b.x0;
  const bh = b.y1 - b.y0;
  if (bw < 2 || bh < 3) return [];
  const t = stepThreshold(g, w, b);
  // What marks text: ink (pixels at the line's drawing value: burned-in text is drawn at or near an extreme value,
  // so grainy or textured anatomy around it is not ink) when the box holds enough of it, else stroke edges.
  const ink = inkTest(g, w, b, b.y0, b.y1);
  const colMark = (x: number, y0: number, y1: number, vertical: boolean): number => {
    if (x < 0 || x >= w) return 0;
    if (!ink) return columnEdges(g, w, h, x, y0, y1, t, vertical);
    let n = 0;
    for (let y = Math.max(0, y0); y < Math.min(h, y1); y++) if (ink(g[y * w + x] as number)) n++;
    return n;
  };
  // 1. Ink rows.
  const rows = new Int32Array(bh);
  let peak = 0;
  for (let y = b.y0; y < b.y1; y++) {
    let n = 0;
    for (let x = b.x0; x < b.x1; x++) {
      if (ink ? ink(g[y * w + x] as number) : edgeAt(g, w, x, y, t, true)) n++;
    }
    rows[y - b.y0] = n;
    if (n > peak) peak = n;
  }
  if (peak < 3) return [];
  // Cores: runs of rows with a quarter of the peak, one quieter row bridged (the middle of an 'o' or an 'e'); a
  // detector box over two close lines gives two.
  const strong = (r: number) => r >= 0 && r < bh && (rows[r] as number) >= 0.25 * peak;
  const lines: Box[] = [];
  let bestLeading = Number.POSITIVE_INFINITY;
  for (let r = 0; r < bh; r++) {
    if (!strong(r)) continue;
    let r1 = r;
    while (strong(r1 + 1) || strong(r1 + 2)) r1 += strong(r1 + 1) ? 1 : 2;
    const line = follow(r, r1);
    if (line) lines.push(line);
    r = r1;
  }
  lastLeading = bestLeading;
  return lines;

  function follow(r0: number, r1: number): Box | undefined {
    // Ascenders and descenders: rows with a tenth of the peak's marks (at least 2), at most 40% of the core height
    // more on each side.
    const extra = Math.max(1, Math.round(0.4 * (r1 - r0 + 1)));
    const few = Math.max(2, 0.1 * peak);
    for (let k = 0; k < extra && r0 > 0 && (rows[r0 - 1] as number) >= few; k++) r0--;
    for (let k = 0; k < extra && r1 < bh - 1 && (rows[r1 + 1] as number) >= few; k++) r1++;
    const ty0 = b.y0 + r0;
    const ty1 = b.y0 + r1 + 1;
    const th = ty1 - ty0;
    // 2. Marked columns inside the box, then following the line.
    let cx0 = -1;
    let cx1 = -1;
    for (let x = b.x0; x < b.x1; x++) {
      if (colMark(x, ty0, ty1, true) > 0) {
        if (cx0 < 0) cx0 = x;
        cx1 = x + 1;
      }
    }
    if (cx0 < 0) return undefined;
    const band = Math.max(1, Math.round(th / 4));
    /** Whether the marks of [xa, xb) on the line's rows are only rows inked over every column: a straight band (the
     * edge of a table, a saturated stripe) running along the line with no letter on it; letters on such a band
     * still mark the rows beside it. Only over 8 columns or more: over fewer, the bar of one letter fills a row
     * (a thin fit over the bottom bars of a line). */
    const bandOnly = (xa: number, xb: number): boolean => {
      if (!ink) return false;
      const a = Math.max(0, xa);
      const z = Math.min(w, xb);
      if (z - a < 8) return false;
      let solid = 0;
      let other = 0;
      for (let y = ty0; y < ty1; y++) {
        let c = 0;
        for (let x = a; x < z; x++) if (ink(g[y * w + x] as number)) c++;
        if (c === z - a) solid++;
        else other += c;
      }
      return solid > 0 && other < 2;
    };
    /** A window of columns [xa, xb) continues the line: marks in the ink rows, few in the bands above and below. */
    const continues = (xa: number, xb: number): boolean => {
      let core = 0;
      let around = 0;
      for (let x = Math.max(0, xa); x < Math.min(w, xb); x++) {
        core += colMark(x, ty0, ty1, false);
        around += colMark(x, ty0 - band - 1, ty0 - 1, false);
        around += colMark(x, ty1 + 1, ty1 + band + 1, false);
      }
      return core >= 2 && around * th <= 0.25 * core * 2 * band && !bandOnly(xa, xb);
    };
    // How busy the leading above and below is, against the line itself, over the detector's own columns.
    {
      let core = 0;
      let around = 0;
      for (let x = cx0; x < cx1; x++) {
        core += colMark(x, ty0, ty1, false);
        around += colMark(x, ty0 - band - 1, ty0 - 1, false);
        around += colMark(x, ty1 + 1, ty1 + band + 1, false);
      }
      const r = core > 0 ? (around * th) / (core * 2 * band) : Number.POSITIVE_INFINITY;
      if (r < bestLeading) bestLeading = r;
    }
    const win = Math.max(3, th);
    const maxGap = Math.ceil(1.5 * th);
    const limit = maxLines * th;
    // Right.
    let x = cx1;
    while (x < w && x - cx1 < limit) {
      let next = -1;
      for (let s = x; s < Math.min(w, x + maxGap); s++) {
        if (colMark(s, ty0, ty1, false) > 0) {
          next = s;
          break;
        }
      }
      if (next < 0 || !continues(next, next + win)) break;
      for (let s = next; s < Math.min(w, next + win); s++) if (colMark(s, ty0, ty1, false) > 0) cx1 = s + 1;
      x = Math.max(cx1, next + 1);
    }
    // Left.
    x = cx0;
    while (x > 0 && cx0 > b.x0 - limit) {
      let next = -1;
      for (let s = x - 1; s >= Math.max(0, x - maxGap); s--) {
        if (colMark(s, ty0, ty1, false) > 0) {
          next = s;
          break;
        }
      }
      if (next < 0 || !continues(next - win + 1, next + 1)) break;
      for (let s = next; s > Math.max(-1, next - win); s--) if (colMark(s, ty0, ty1, false) > 0) cx0 = s;
      x = Math.min(cx0, next);
    }
    // Strokes end one pixel before the step that marks them: one column and row of slack on each side.
    return {
      ...b,
      x0: Math.max(0, cx0 - 1),
      y0: Math.max(0, ty0 - 1),
      x1: Math.min(w, cx1 + 1),
      y1: Math.min(h, ty1 + 1),
    };
  }
}

export function extendLines(img: Rgb8, boxes: readonly Box[], maxLines = 48): Box[] {
  if (!boxes.some((b) => b.source === 'detector')) return [...boxes];
  const g = greyOf(img);
  return boxes.flatMap((b) => {
    if (b.source !== 'detector') return [b];
    const lines = fitLine(g, img.width, img.height, b, maxLines);
    if (lines.length === 0) return [b];
    // One box per line: the line's own rows (the detector's unclip margin above and below dropped: less of the
    // image around the text is filled), and at least the detector's columns (a fit cut short on a faint end must
    // not lose what the detector covered).
    return lines.map((f) => ({ ...b, x0: Math.min(f.x0, b.x0), x1: Math.max(f.x1, b.x1), y0: f.y0, y1: f.y1 }));
  });
}
