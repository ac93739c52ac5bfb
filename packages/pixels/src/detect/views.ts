/**
 * A second look at the surroundings of text already found, in another rendering of the frame: the dark end of the
 * display stretched over the whole range (display values 0-48 -> 0-255). The detector's view (render.ts) scales a
 * frame between its 0.1th and 99.9th percentiles, so text drawn a few levels above a dark background (the noise of
 * MR air, 4-5 pixel high date and ID lines) has a display contrast under 45 of 255, which the network does not
 * resolve; in the stretched view it is contrasted like any other text.
 *
 * The second view is the top value alone (display 255 -> 255, anything below -> 0): burned-in text is drawn at the
 * extreme value of the stored range, which the display keeps saturated, while bright grainy anatomy (a chest
 * film's mediastinum, bone) only comes near it. White text on such a background has a contrast of 10-20 levels in
 * the detector's view, lost in the grain; in the top-value view it stands alone, crisp, on black. (A stretch of the
 * bright end, 207-255, was tried first: it keeps the grain, found no further ground-truth box on the 22 JSL files
 * and added boxes outside them.) It runs only when the frame has a bright background to hide such text on (5% of
 * it at display 160-254), as the dark-end view runs only on a dark one. VIEWS lists the views.
 *
 * Only where the first look found text, and only near it: the whole view is run (run on the surroundings alone,
 * the network missed the faint lines it finds in the whole frame) and a line is kept when it meets a rectangle of
 * 10 text heights left and right and 3 above and below a first-look line. Burned-in annotations come in blocks,
 * and a frame without any detected line is never looked at again, so slices without text stay untouched. A view is
 * skipped when under 5% of the frame lies in its background band (no background of that kind to hide text on). Lines found
 * in a view are fitted and followed in that view (extend.ts, strips.ts); one already covered by a first-look line
 * (half its area) is dropped.
 *
 * Example:
 *   const more = await lookCloser(detector, img, lines, detectorScale(img.width, img.height));
 */
import { type Box, intersection, mergeOverlapping } from '../box.ts';
import type { Rgb8 } from '../render.ts';
import { extendLines } from './extend.ts';
import type { TextDetector } from './port.ts';
import type { Rect } from './prefilter.ts';
import { followStrips } from './strips.ts';

/** A second view: `band` ([low, high] of max(R, G, B)) stretched to the full range, run when at least 5% of the
 * frame lies in `background` (the surface such text would be hidden on). */
export interface View {
  readonly band: readonly [number, number];
  readonly background: readonly [number, number];
  /** Largest share of a found line's box that is white in the view: text strokes cover a minority of a line's
   * box, the edge of a saturated area most of it (default 1: no limit). */
  readonly maxInk?: number;
}

export const VIEWS: readonly View[] = [
  // Faint text a few levels above a dark background.
  { band: [0, 48], background: [0, 48] },
  // Text at the top value on bright anatomy: 255 stays, 254 and below go black.
  { band: [254, 255], background: [160, 254], maxInk: 0.5 },
];

/** The share of pixels whose grey (max of R, G, B) lies in [lo, hi]. */
function bandShare(img: Rgb8, lo: number, hi: number): number {
  const src = img.rgb;
  let n = 0;
  for (let j = 0; j < src.length; j += 3) {
    const g = Math.max(src[j] as number, src[j + 1] as number, src[j + 2] as number);
    if (g >= lo && g <= hi) n++;
  }
  return n / (img.width * img.height);
}

/** The share of a box's pixels that are white (255 in every channel's max) in `view`. */
export function inkShare(view: Rgb8, b: Box): number {
  let n = 0;
  for (let y = b.y0; y < b.y1; y++) {
    for (let x = b.x0; x < b.x1; x++) {
      const j = (y * view.width + x) * 3;
      if (Math.max(view.rgb[j] as number, view.rgb[j + 1] as number, view.rgb[j + 2] as number) === 255) n++;
    }
  }
  return n / Math.max(1, (b.x1 - b.x0) * (b.y1 - b.y0));
}

/** The frame with [lo, hi] stretched to 0-255 (each channel), values outside clamped. */
export function stretched(img: Rgb8, lo: number, hi: number): Rgb8 {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.max(0, Math.min(255, Math.round(((v - lo) * 255) / (hi - lo))));
  const rgb = new Uint8Array(img.rgb.length);
  for (let i = 0; i < rgb.length; i++) rgb[i] = lut[img.rgb[i] as number] as number;
  return { width: img.width, height: img.height, rgb };
}

/** Rectangles around the lines (10 text heights left and right, 3 above and below), overlapping ones joined. */
export function surroundings(lines: readonly Box[], width: number, height: number): Rect[] {
  const rs = lines.map((l) => {
    const th = l.y1 - l.y0;
    return {
      x0: Math.max(0, l.x0 - 10 * th),
      y0: Math.max(0, l.y0 - 3 * th),
      x1: Math.min(width, l.x1 + 10 * th),
      y1: Math.min(height, l.y1 + 3 * th),
    };
  });
  return mergeOverlapping(rs).map((r) => ({ x: r.x0, y: r.y0, w: r.x1 - r.x0, h: r.y1 - r.y0 }));
}

/**
 * Lines found in the stretched views near the first look's `lines` and not already covered by them. `scale`: the
 * detector's scale for the whole frame (ppocr.ts detectorScale), so text is seen at the size the first look saw it.
 */
export async function lookCloser(
  detector: TextDetector,
  img: Rgb8,
  lines: readonly Box[],
  scale: number,
): Promise<Box[]> {
  const detectIn = detector.detectIn?.bind(detector);
  const near = lines.filter((l) => l.source === 'detector');
  if (!detectIn || near.length === 0) return [];
  const rects = surroundings(near, img.width, img.height);
  const more: Box[] = [];
  for (const { band, background, maxInk = 1 } of VIEWS) {
    if (bandShare(img, background[0], background[1]) < 0.05) continue;
    const [lo, hi] = band;
    const view = stretched(img, lo, hi);
    // The whole view is run, and only the lines near the first look's are kept: run on the surroundings alone, the
    // network missed faint lines it finds in the whole frame (it sees the frame's context).
    const whole = { x: 0, y: 0, w: img.width, h: img.height };
    const found = (await detectIn(view, whole, scale)).filter(
      (f) =>
        rects.some((r) => f.x0 < r.x + r.w && r.x < f.x1 && f.y0 < r.y + r.h && r.y < f.y1) &&
        (maxInk >= 1 || inkShare(view, f) <= maxInk),
    );
    const known = [...lines, ...more];
    const fresh = extendLines(view, found).filter((f) => {
      const a = (f.x1 - f.x0) * (f.y1 - f.y0);
      return !known.some((k) => intersection(f, k) >= 0.5 * a);
    });
    if (fresh.length > 0) more.push(...(await followStrips(detector, view, fresh)));
  }
  return more;
}
