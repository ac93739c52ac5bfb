/**
 * A displayable 8-bit RGB view of a decoded frame, for the text detector and for preview thumbnails. Grey images
 * are scaled between low and high percentiles of their stored values (burned-in text is drawn at or near an
 * extreme value and stays saturated), MONOCHROME1 is inverted, palette colour goes through its LUTs, YBR is
 * converted to RGB (PS3.3 C.7.6.3.1.2).
 *
 * Example:
 *   const { rgb, width, height } = toRgb8(frame, m.palette);
 */
import { type DecodedFrame, sampleAt } from './frame.ts';
import type { PixelModule } from './pixel-module.ts';

export interface Rgb8 {
  readonly width: number;
  readonly height: number;
  /** width * height * 3 bytes. */
  readonly rgb: Uint8Array;
}

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** The value range used to scale a grey frame: [0.1th, 99.9th] percentile of its stored values. */
function greyRange(f: DecodedFrame): [number, number] {
  const n = f.rows * f.columns;
  const step = Math.max(1, Math.floor(n / 65536));
  const vals: number[] = [];
  for (let i = 0; i < n; i += step) vals.push(sampleAt(f, i));
  vals.sort((a, b) => a - b);
  const lo = vals[Math.floor(vals.length * 0.001)] ?? 0;
  const hi = vals[Math.min(vals.length - 1, Math.floor(vals.length * 0.999))] ?? 0;
  if (hi > lo) return [lo, hi];
  // Flat or nearly flat: use the full range of the frame.
  return [vals[0] ?? 0, vals[vals.length - 1] ?? 0];
}

export function toRgb8(f: DecodedFrame, palette?: PixelModule['palette']): Rgb8 {
  const w = f.columns;
  const h = f.rows;
  const n = w * h;
  const rgb = new Uint8Array(n * 3);
  if (f.samplesPerPixel === 1 && f.photometric === 'PALETTE COLOR' && palette) {
    const luts = [palette.red, palette.green, palette.blue];
    for (let i = 0; i < n; i++) {
      const v = sampleAt(f, i);
      for (let c = 0; c < 3; c++) {
        const lut = luts[c] as NonNullable<typeof palette>['red'];
        const idx = Math.min(lut.data.length - 1, Math.max(0, v - lut.firstMapped));
        const e = lut.data[idx] as number;
        rgb[i * 3 + c] = lut.bits > 8 ? e >> 8 : e;
      }
    }
    return { width: w, height: h, rgb };
  }
  if (f.samplesPerPixel === 1) {
    const [lo, hi] = greyRange(f);
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    const invert = f.photometric === 'MONOCHROME1';
    for (let i = 0; i < n; i++) {
      let g = clamp8((sampleAt(f, i) - lo) * scale);
      if (invert) g = 255 - g;
      rgb[i * 3] = g;
      rgb[i * 3 + 1] = g;
      rgb[i * 3 + 2] = g;
    }
    return { width: w, height: h, rgb };
  }
  const shift = Math.max(0, f.bitsStored - 8);
  const div = 2 ** shift;
  const ybr = f.photometric.startsWith('YBR');
  for (let i = 0; i < n; i++) {
    const a = sampleAt(f, i * 3) / div;
    const b = sampleAt(f, i * 3 + 1) / div;
    const c = sampleAt(f, i * 3 + 2) / div;
    if (ybr) {
      rgb[i * 3] = clamp8(a + 1.402 * (c - 128));
      rgb[i * 3 + 1] = clamp8(a - 0.344136 * (b - 128) - 0.714136 * (c - 128));
      rgb[i * 3 + 2] = clamp8(a + 1.772 * (b - 128));
    } else {
      rgb[i * 3] = clamp8(a);
      rgb[i * 3 + 1] = clamp8(b);
      rgb[i * 3 + 2] = clamp8(c);
    }
  }
  return { width: w, height: h, rgb };
}
