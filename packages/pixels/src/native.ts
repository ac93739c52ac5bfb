/**
 * Native (uncompressed) Pixel Data: one frame's bytes to the canonical layout and back. Handles 1-bit packed frames
 * (which may start mid-byte in a multi-frame), 8/16/32 bits, big endian, planar configuration 1, and YBR_FULL_422
 * (two luminance samples share one chroma pair: expanded to three samples per pixel on decode).
 *
 * Example:
 *   const frame = decodeNative(readNativeFrame(file, m, 0), m, littleEndian);
 */
import { VeilError } from '@veil/core';
import { bytesPerSample, type DecodedFrame, layoutOf } from './frame.ts';
import type { PixelModule } from './pixel-module.ts';

/** Bits of one stored frame. */
export function nativeFrameBits(m: PixelModule): number {
  if (m.photometric === 'YBR_FULL_422' || m.photometric === 'YBR_PARTIAL_422') {
    return m.rows * m.columns * 2 * m.bitsAllocated;
  }
  return m.rows * m.columns * m.samplesPerPixel * m.bitsAllocated;
}

/** [start, end) in bytes of frame i inside the Pixel Data value, and the bit offset of its first pixel (1-bit). */
export function nativeFrameRange(m: PixelModule, i: number): { start: number; end: number; bitOffset: number } {
  const bits = nativeFrameBits(m);
  const first = bits * i;
  const start = Math.floor(first / 8);
  const end = Math.ceil((first + bits) / 8);
  return { start, end, bitOffset: first % 8 };
}

function is422(m: PixelModule): boolean {
  return m.photometric === 'YBR_FULL_422' || m.photometric === 'YBR_PARTIAL_422';
}

/**
 * Decodes the stored bytes of one native frame (as given by nativeFrameRange). `littleEndian` is the dataset's byte
 * order (OW data in Explicit VR Big Endian is byte-swapped per word).
 */
export function decodeNative(
  stored: Uint8Array,
  m: PixelModule,
  littleEndian: boolean,
  bitOffset = 0,
  wordSwap = false,
): DecodedFrame {
  const layout = layoutOf(m);
  const bps = bytesPerSample(m.bitsAllocated);
  const pixels = m.rows * m.columns;
  const spp = m.samplesPerPixel;
  if (m.bitsAllocated === 1) {
    const data = new Uint8Array(pixels * spp);
    for (let i = 0; i < data.length; i++) {
      const bit = bitOffset + i;
      data[i] = ((stored[bit >> 3] ?? 0) >> (bit & 7)) & 1;
    }
    return { ...layout, bytesPerSample: 1, data };
  }
  const expected = nativeFrameBits(m) / 8;
  if (stored.length < expected) throw new VeilError('PIXELS_TRUNCATED', { path: '(7FE0,0010)' });
  // Little-endian copy. 8-bit samples in an OW value of a big-endian dataset are swapped per 16-bit word.
  let le = stored.subarray(0, expected);
  if (!littleEndian && bps === 1 && wordSwap) {
    // The word holding an odd-length frame's last sample reaches into the padding byte.
    const sw = new Uint8Array(expected);
    for (let i = 0; i < expected; i += 2) {
      sw[i] = stored[i + 1] ?? 0;
      if (i + 1 < expected) sw[i + 1] = stored[i] as number;
    }
    le = sw;
  } else if (!littleEndian && bps > 1) {
    const sw = new Uint8Array(expected);
    for (let i = 0; i < expected; i += bps) for (let k = 0; k < bps; k++) sw[i + k] = le[i + bps - 1 - k] as number;
    le = sw;
  } else {
    le = le.slice();
  }
  if (is422(m)) {
    if (bps !== 1) throw new VeilError('PIXELS_UNSUPPORTED_ENCODING', { path: '(0028,0004)' });
    const data = new Uint8Array(pixels * 3);
    for (let p = 0, s = 0; p + 1 < pixels + 1 && s + 3 < le.length + 1; p += 2, s += 4) {
      const y0 = le[s] as number;
      const y1 = le[s + 1] as number;
      const cb = le[s + 2] as number;
      const cr = le[s + 3] as number;
      data.set([y0, cb, cr], p * 3);
      if (p + 1 < pixels) data.set([y1, cb, cr], (p + 1) * 3);
    }
    return { ...layout, photometric: 'YBR_FULL', bytesPerSample: 1, data };
  }
  if (spp > 1 && m.planarConfiguration === 1) {
    const data = new Uint8Array(expected);
    for (let s = 0; s < spp; s++) {
      for (let p = 0; p < pixels; p++) {
        const from = (s * pixels + p) * bps;
        const to = (p * spp + s) * bps;
        for (let k = 0; k < bps; k++) data[to + k] = le[from + k] as number;
      }
    }
    return { ...layout, bytesPerSample: bps, data };
  }
  return { ...layout, bytesPerSample: bps, data: le };
}

/**
 * Encodes a frame back into native stored bytes (inverse of decodeNative). For 1-bit frames `into` holds the
 * original stored bytes so that bits of neighbouring frames sharing a byte are kept.
 */
export function encodeNative(
  f: DecodedFrame,
  m: PixelModule,
  littleEndian: boolean,
  into?: Uint8Array,
  bitOffset = 0,
  wordSwap = false,
): Uint8Array {
  const pixels = m.rows * m.columns;
  const spp = m.samplesPerPixel;
  const bps = f.bytesPerSample;
  if (m.bitsAllocated === 1) {
    const out = into ? into.slice() : new Uint8Array(Math.ceil((bitOffset + pixels * spp) / 8));
    for (let i = 0; i < pixels * spp; i++) {
      const bit = bitOffset + i;
      const mask = 1 << (bit & 7);
      const idx = bit >> 3;
      out[idx] = (f.data[i] ?? 0) & 1 ? (out[idx] as number) | mask : (out[idx] as number) & ~mask;
    }
    return out;
  }
  let le: Uint8Array;
  if (is422(m)) {
    // Only pairs whose two pixels were filled alike can be written exactly; redaction fills whole boxes, so each
    // pair takes the first pixel's chroma and both lumas.
    le = new Uint8Array(pixels * 2);
    for (let p = 0, s = 0; p < pixels; p += 2, s += 4) {
      le[s] = f.data[p * 3] as number;
      le[s + 1] = (p + 1 < pixels ? f.data[(p + 1) * 3] : 0) as number;
      le[s + 2] = f.data[p * 3 + 1] as number;
      le[s + 3] = f.data[p * 3 + 2] as number;
    }
  } else if (spp > 1 && m.planarConfiguration === 1) {
    le = new Uint8Array(f.data.length);
    for (let s = 0; s < spp; s++) {
      for (let p = 0; p < pixels; p++) {
        const to = (s * pixels + p) * bps;
        const from = (p * spp + s) * bps;
        for (let k = 0; k < bps; k++) le[to + k] = f.data[from + k] as number;
      }
    }
  } else {
    le = f.data.slice();
  }
  if (!littleEndian && bps > 1) {
    for (let i = 0; i < le.length; i += bps) le.subarray(i, i + bps).reverse();
  } else if (!littleEndian && wordSwap) {
    if (le.length % 2 === 1) {
      // The last word holds the padding byte too: keep the stored one (`into`, in stored order) beside the sample.
      const even = new Uint8Array(le.length + 1);
      even.set(le);
      even[le.length] = into?.[le.length - 1] ?? 0;
      le = even;
    }
    for (let i = 0; i + 1 < le.length; i += 2) le.subarray(i, i + 2).reverse();
  }
  return le;
}
