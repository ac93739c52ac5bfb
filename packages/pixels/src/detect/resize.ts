/**
 * Bilinear resize of an 8-bit RGB image into the detector's normalised float input (NCHW, ImageNet mean and
 * standard deviation, as PP-OCR was trained), for a target size that is a multiple of 32.
 */
import type { Rgb8 } from '../render.ts';

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

export function toInputTensor(
  img: Rgb8,
  tw: number,
  th: number,
  crop?: { x: number; y: number; w: number; h: number },
): Float32Array {
  const c = crop ?? { x: 0, y: 0, w: img.width, h: img.height };
  const out = new Float32Array(3 * tw * th);
  const plane = tw * th;
  const sx = c.w / tw;
  const sy = c.h / th;
  const src = img.rgb;
  const W = img.width;
  for (let y = 0; y < th; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(c.h - 1, Math.floor(fy));
    const y1 = Math.min(c.h - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < tw; x++) {
      const fx = Math.max(0, (x + 0.5) * sx - 0.5);
      const x0 = Math.min(c.w - 1, Math.floor(fx));
      const x1 = Math.min(c.w - 1, x0 + 1);
      const wx = fx - x0;
      const i00 = ((c.y + y0) * W + c.x + x0) * 3;
      const i01 = ((c.y + y0) * W + c.x + x1) * 3;
      const i10 = ((c.y + y1) * W + c.x + x0) * 3;
      const i11 = ((c.y + y1) * W + c.x + x1) * 3;
      for (let k = 0; k < 3; k++) {
        const v =
          (src[i00 + k] as number) * (1 - wx) * (1 - wy) +
          (src[i01 + k] as number) * wx * (1 - wy) +
          (src[i10 + k] as number) * (1 - wx) * wy +
          (src[i11 + k] as number) * wx * wy;
        out[k * plane + y * tw + x] = (v / 255 - (MEAN[k] as number)) / (STD[k] as number);
      }
    }
  }
  return out;
}
