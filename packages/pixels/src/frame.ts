/**
 * A decoded frame: the samples of one frame in a canonical byte layout, little endian, interleaved (R1G1B1R2...),
 * `bytesPerSample` bytes per sample (1-bit pixels unpacked to one byte each). Bits outside Bits Stored are kept as
 * they were, so that writing an untouched pixel back gives the same bytes.
 *
 * Example:
 *   const v = sampleAt(frame, (y * frame.columns + x) * frame.samplesPerPixel);
 */
import type { PixelModule } from './pixel-module.ts';

export interface FrameLayout {
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly highBit: number;
  readonly pixelRepresentation: number;
  readonly photometric: string;
}

export interface DecodedFrame extends FrameLayout {
  readonly bytesPerSample: 1 | 2 | 4;
  readonly data: Uint8Array;
}

export function layoutOf(m: PixelModule): FrameLayout {
  return {
    rows: m.rows,
    columns: m.columns,
    samplesPerPixel: m.samplesPerPixel,
    bitsAllocated: m.bitsAllocated,
    bitsStored: m.bitsStored,
    highBit: m.highBit,
    pixelRepresentation: m.pixelRepresentation,
    photometric: m.photometric,
  };
}

export function bytesPerSample(bitsAllocated: number): 1 | 2 | 4 {
  return bitsAllocated <= 8 ? 1 : bitsAllocated <= 16 ? 2 : 4;
}

function rawAt(f: DecodedFrame, i: number): number {
  const d = f.data;
  switch (f.bytesPerSample) {
    case 1:
      return d[i] as number;
    case 2:
      return (d[2 * i] as number) | ((d[2 * i + 1] as number) << 8);
    default:
      return (
        ((d[4 * i] as number) |
          ((d[4 * i + 1] as number) << 8) |
          ((d[4 * i + 2] as number) << 16) |
          ((d[4 * i + 3] as number) << 24)) >>>
        0
      );
  }
}

/** The stored value of sample i (the Bits Stored field below High Bit, sign-extended when signed). */
export function sampleAt(f: DecodedFrame, i: number): number {
  const shift = f.highBit + 1 - f.bitsStored;
  let v = rawAt(f, i);
  if (shift > 0) v = Math.floor(v / 2 ** shift);
  const range = 2 ** f.bitsStored;
  v %= range;
  if (f.pixelRepresentation === 1 && v >= range / 2) v -= range;
  return v;
}

/** Sets the stored value of sample i, keeping the bits outside Bits Stored. */
export function setSample(f: DecodedFrame, i: number, value: number): void {
  const shift = f.highBit + 1 - f.bitsStored;
  const range = 2 ** f.bitsStored;
  const v = ((value % range) + range) % range;
  const raw = rawAt(f, i);
  const unit = 2 ** shift;
  const below = raw % unit;
  const above = Math.floor(raw / (unit * range)) * unit * range;
  const next = above + v * unit + below;
  const d = f.data;
  switch (f.bytesPerSample) {
    case 1:
      d[i] = next & 0xff;
      break;
    case 2:
      d[2 * i] = next & 0xff;
      d[2 * i + 1] = (next >>> 8) & 0xff;
      break;
    default:
      d[4 * i] = next & 0xff;
      d[4 * i + 1] = (next >>> 8) & 0xff;
      d[4 * i + 2] = (next >>> 16) & 0xff;
      d[4 * i + 3] = (next >>> 24) & 0xff;
  }
}

/** All stored values of a frame (samples interleaved). */
export function samplesOf(f: DecodedFrame): Float64Array {
  const n = f.rows * f.columns * f.samplesPerPixel;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = sampleAt(f, i);
  return out;
}
