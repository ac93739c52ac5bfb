/**
 * Text lines the detector found only in part: a name after a date on one line, a lone letter at the end. Each
 * detector box is extended left and right, half a line height at a time, while the strip next to it has text-like
 * edges (strong horizontal contrast) clearly denser than the same strip just above and just below the line, which
 * is how a line of text differs from busy anatomy or noise (those are as busy above and below). At most
 * `maxLines` line heights each way.
 *
 * Example:
 *   const lines = extendLines(toRgb8(frame), await detector.detect(img));
 */
import type { Box } from '../box.ts';
import type { Rgb8 } from '../render.ts';

function edgeDensity(img: Rgb8, x0: number, y0: number, x1: number, y1: number): number {
  const w = img.width;
  const xa = Math.max(1, x0);
  const xb = Math.min(w, x1);
  const ya = Math.max(0, y0);
  const yb = Math.min(img.height, y1);
  if (xb <= xa || yb <= ya) return 0;
  let n = 0;
  for (let y = ya; y < yb; y++) {
    for (let x = xa; x < xb; x++) {
      const i = (y * w + x) * 3;
      const d = Math.abs((img.rgb[i] as number) - (img.rgb[i - 3] as number));
      if (d > 48) n++;
    }
  }
  return n / ((xb - xa) * (yb - ya));
}

export function extendLines(img: Rgb8, boxes: readonly Box[], maxLines = 12): Box[] {
  if (!boxes.some((b) => b.source === 'detector')) return [...boxes];
  const global = edgeDensity(img, 0, 0, img.width, img.height);
  return boxes.map((b) => {
    if (b.source !== 'detector') return b;
    const h = b.y1 - b.y0;
    if (h < 4) return b;
    const step = Math.max(2, Math.round(h / 2));
    const isText = (x0: number, x1: number): boolean => {
      const here = edgeDensity(img, x0, b.y0, x1, b.y1);
      const above = edgeDensity(img, x0, b.y0 - h, x1, b.y0);
      const below = edgeDensity(img, x0, b.y1, x1, b.y1 + h);
      return here > Math.max(0.06, 1.2 * global) && here > 1.5 * Math.min(above, below);
    };
    // A step without edges (a space between words) is bridged when the next one has text.
    let x1 = b.x1;
    for (let k = 0; k < 2 * maxLines && x1 < img.width; k++) {
      if (isText(x1, x1 + step)) x1 += step;
      else if (isText(x1 + step, x1 + 2 * step)) x1 += 2 * step;
      else break;
    }
    let x0 = b.x0;
    for (let k = 0; k < 2 * maxLines && x0 > 0; k++) {
      if (isText(x0 - step, x0)) x0 -= step;
      else if (isText(x0 - 2 * step, x0 - step)) x0 -= 2 * step;
      else break;
    }
    return { ...b, x0: Math.max(0, x0), x1: Math.min(img.width, x1) };
  });
}
