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
  // Per column: the two source columns (byte offsets within a row) and the weight, computed once, not per row.
  const cx0 = new Int32Array(tw);
  const cx1 = new Int32Array(tw);
  const cwx = new Float64Array(tw);
  for (let x = 0; x < tw; x++) {
    const fx = Math.max(0, (x + 0.5) * sx - 0.5);
    const x0 = Math.min(c.w - 1, Math.floor(fx));
    const x1 = Math.min(c.w - 1, x0 + 1);
    cx0[x] = (c.x + x0) * 3;
    cx1[x] = (c.x + x1) * 3;
    cwx[x] = fx - x0;
  }
  const m0 = MEAN[0] as number;
  const m1 = MEAN[1] as number;
  const m2 = MEAN[2] as number;
  const s0 = STD[0] as number;
  const s1 = STD[1] as number;
  const s2 = STD[2] as number;
  for (let y = 0; y < th; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(c.h - 1, Math.floor(fy));
    const y1 = Math.min(c.h - 1, y0 + 1);
    const wy = fy - y0;
    const r0 = (c.y + y0) * W * 3;
    const r1 = (c.y + y1) * W * 3;
    const o = y * tw;
    for (let x = 0; x < tw; x++) {
      const wx = cwx[x] as number;
      const i00 = r0 + (cx0[x] as number);
      const i01 = r0 + (cx1[x] as number);
      const i10 = r1 + (cx0[x] as number);
      const i11 = r1 + (cx1[x] as number);
      // Same arithmetic, in the same order, as one channel at a time: the values are bit-identical.
      const a = 1 - wx;
      const b = 1 - wy;
      const v0 =
        (src[i00] as number) * a * b +
        (src[i01] as number) * wx * b +
        (src[i10] as number) * a * wy +
        (src[i11] as number) * wx * wy;
      const v1 =
        (src[i00 + 1] as number) * a * b +
        (src[i01 + 1] as number) * wx * b +
        (src[i10 + 1] as number) * a * wy +
        (src[i11 + 1] as number) * wx * wy;
      const v2 =
        (src[i00 + 2] as number) * a * b +
        (src[i01 + 2] as number) * wx * b +
        (src[i10 + 2] as number) * a * wy +
        (src[i11 + 2] as number) * wx * wy;
      out[o + x] = (v0 / 255 - m0) / s0;
      out[plane + o + x] = (v1 / 255 - m1) / s1;
      out[2 * plane + o + x] = (v2 / 255 - m2) / s2;
    }
  }
  return out;
}
