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

/**
 * The max of R, G and B of each pixel (coloured text, yellow, cyan or blue on dark, stays contrasted) written into
 * `into` when it is large enough, else into a new buffer; returns the buffer written, so that a caller can keep
 * reusing its own.
 */
export function maxChannel(img: Rgb8, into: Uint8Array): Uint8Array {
  const n = img.width * img.height;
  const out = into.length >= n ? into : new Uint8Array(n);
  const src = img.rgb;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const r = src[j] as number;
    const g = src[j + 1] as number;
    const b = src[j + 2] as number;
    out[i] = Math.max(r, g, b);
  }
  return out;
}

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/**
 * The stored values of a one-sample frame (as sampleAt gives them), into a reused buffer: the detector renders
 * every frame, so this path avoids per-sample generic reads and per-frame allocation.
 */
let greyBuf = new Float64Array(0);
function greySamples(f: DecodedFrame): Float64Array {
  const n = f.rows * f.columns;
  if (greyBuf.length < n) greyBuf = new Float64Array(n);
  const out = greyBuf;
  const d = f.data;
  const shift = f.highBit + 1 - f.bitsStored;
  if (f.bytesPerSample <= 2 && f.bitsStored <= 16 && shift >= 0) {
    const mask = (1 << f.bitsStored) - 1;
    const half = 1 << (f.bitsStored - 1);
    const signed = f.pixelRepresentation === 1;
    const range = 1 << f.bitsStored;
    for (let i = 0; i < n; i++) {
      const raw = f.bytesPerSample === 1 ? (d[i] as number) : (d[2 * i] as number) | ((d[2 * i + 1] as number) << 8);
      let v = (raw >>> shift) & mask;
      if (signed && v >= half) v -= range;
      out[i] = v;
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = sampleAt(f, i);
  }
  return out;
}

let sortBuf = new Float64Array(0);
let lutBuf = new Uint8Array(0);
let histBuf = new Uint32Array(0);

/** Sorts integer stored values of at most 16 bits in place through a histogram (same order as a numeric sort). */
function countingSort(vals: Float64Array, bits: number, signed: boolean): void {
  const size = 2 ** bits;
  if (histBuf.length < size) histBuf = new Uint32Array(size);
  const hist = histBuf.subarray(0, size);
  hist.fill(0);
  const base = signed ? size / 2 : 0;
  for (let i = 0; i < vals.length; i++) {
    const k = (vals[i] as number) + base;
    hist[k] = (hist[k] as number) + 1;
  }
  let j = 0;
  for (let k = 0; k < size; k++) {
    for (let c = hist[k] as number; c > 0; c--) vals[j++] = k - base;
  }
}

/** 8-bit display value of every stored value (index: value + 2^(bits-1) when signed), into a reused buffer. */
function greyLut(f: DecodedFrame, lo: number, scale: number, invert: boolean): Uint8Array {
  const size = 2 ** f.bitsStored;
  if (lutBuf.length < size) lutBuf = new Uint8Array(size);
  const base = f.pixelRepresentation === 1 ? size / 2 : 0;
  for (let k = 0; k < size; k++) {
    const g = clamp8((k - base - lo) * scale);
    lutBuf[k] = invert ? 255 - g : g;
  }
  return lutBuf;
}

/** The value range used to scale a grey frame: [0.1th, 99.9th] percentile of its stored values. */
function greyRange(samples: Float64Array, n: number, bits: number, signed: boolean): [number, number] {
  const step = Math.max(1, Math.floor(n / 65536));
  const count = Math.ceil(n / step);
  if (sortBuf.length < count) sortBuf = new Float64Array(count);
  const vals = sortBuf.subarray(0, count);
  for (let i = 0, k = 0; i < n; i += step, k++) vals[k] = samples[i] as number;
  if (bits <= 16) countingSort(vals, bits, signed);
  else vals.sort();
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
    const samples = greySamples(f);
    const [lo, hi] = greyRange(samples, n, f.bitsStored, f.pixelRepresentation === 1);
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    const invert = f.photometric === 'MONOCHROME1';
    // Up to 16 bits stored, every possible value is mapped once (a table), not every pixel.
    const lut = f.bitsStored <= 16 ? greyLut(f, lo, scale, invert) : undefined;
    const base = f.pixelRepresentation === 1 ? 2 ** (f.bitsStored - 1) : 0;
    for (let i = 0; i < n; i++) {
      let g: number;
      if (lut) g = lut[(samples[i] as number) + base] as number;
      else {
        g = clamp8(((samples[i] as number) - lo) * scale);
        if (invert) g = 255 - g;
      }
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
