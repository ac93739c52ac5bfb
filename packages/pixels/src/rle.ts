/**
 * RLE Lossless (PS3.5 Annex G), written here rather than taken from a codec library: 8, 16 and 32 bits per sample,
 * one to three samples, one byte-plane segment per byte of each sample (most significant first), PackBits runs
 * that never cross a row. Decodes to the canonical interleaved little-endian layout and encodes back from it.
 *
 * Example:
 *   const frame = decodeRle(frameBytes, layoutOf(m));
 *   const again = encodeRle(frame);   // decodeRle(again) has the same samples
 */
import { VeilError } from '@veil/core';
import { bytesPerSample, type DecodedFrame, type FrameLayout } from './frame.ts';

const fail = (): never => {
  throw new VeilError('PIXELS_RLE_CORRUPT', { path: '(7FE0,0010)' });
};

function unpackBits(src: Uint8Array, start: number, end: number, out: Uint8Array): void {
  let i = start;
  let o = 0;
  const n = out.length;
  while (i < end && o < n) {
    const h = src[i++] as number;
    if (h < 128) {
      const len = h + 1;
      if (i + len > end) fail();
      const take = Math.min(len, n - o);
      out.set(src.subarray(i, i + take), o);
      o += take;
      i += len;
    } else if (h > 128) {
      const len = 257 - h;
      if (i >= end) fail();
      const v = src[i++] as number;
      const take = Math.min(len, n - o);
      out.fill(v, o, o + take);
      o += take;
    }
    // 128: no operation.
  }
  if (o < n) fail();
}

export function decodeRle(encoded: Uint8Array, layout: FrameLayout): DecodedFrame {
  if (encoded.length < 64) fail();
  const dv = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const segments = dv.getUint32(0, true);
  const bps = bytesPerSample(layout.bitsAllocated);
  if (layout.bitsAllocated === 1) throw new VeilError('PIXELS_UNSUPPORTED_ENCODING', { path: '(0028,0100)' });
  const spp = layout.samplesPerPixel;
  if (segments !== bps * spp || segments > 15) fail();
  const offsets: number[] = [];
  for (let s = 0; s < segments; s++) offsets.push(dv.getUint32(4 + 4 * s, true));
  const pixels = layout.rows * layout.columns;
  const data = new Uint8Array(pixels * spp * bps);
  const plane = new Uint8Array(pixels);
  for (let s = 0; s < segments; s++) {
    const start = offsets[s] as number;
    const end = s + 1 < segments ? (offsets[s + 1] as number) : encoded.length;
    if (start < 64 || end > encoded.length || end < start) fail();
    unpackBits(encoded, start, end, plane);
    const sample = Math.floor(s / bps);
    const byte = bps - 1 - (s % bps); // most significant byte first
    const stride = spp * bps;
    let to = sample * bps + byte;
    for (let p = 0; p < pixels; p++, to += stride) data[to] = plane[p] as number;
  }
  return { ...layout, bytesPerSample: bps, data };
}

/** PackBits one row: literal runs up to 128 bytes, replicate runs of 2..128 bytes. */
function packRow(row: Uint8Array, out: number[]): void {
  const n = row.length;
  let i = 0;
  while (i < n) {
    // Length of the run starting at i.
    let run = 1;
    while (i + run < n && run < 128 && row[i + run] === row[i]) run++;
    if (run >= 2) {
      out.push(257 - run, row[i] as number);
      i += run;
      continue;
    }
    // Literal: until a run of 3 starts (a run of 2 inside a literal costs no more as literal).
    const start = i;
    while (i < n && i - start < 128) {
      if (i + 2 < n && row[i] === row[i + 1] && row[i] === row[i + 2]) break;
      i++;
    }
    out.push(i - start - 1);
    for (let k = start; k < i; k++) out.push(row[k] as number);
  }
}

export function encodeRle(f: DecodedFrame): Uint8Array {
  const bps = f.bytesPerSample;
  const spp = f.samplesPerPixel;
  const segments = bps * spp;
  if (segments > 15) throw new VeilError('PIXELS_UNSUPPORTED_ENCODING', { path: '(0028,0100)' });
  const pixels = f.rows * f.columns;
  const parts: Uint8Array[] = [];
  const row = new Uint8Array(f.columns);
  for (let s = 0; s < segments; s++) {
    const sample = Math.floor(s / bps);
    const byte = bps - 1 - (s % bps);
    const stride = spp * bps;
    const out: number[] = [];
    for (let y = 0; y < f.rows; y++) {
      let from = (y * f.columns * spp + sample) * bps + byte;
      for (let x = 0; x < f.columns; x++, from += stride) row[x] = f.data[from] as number;
      packRow(row, out);
    }
    if (out.length % 2) out.push(128); // segments are even-length; 128 is a no-op
    parts.push(Uint8Array.from(out));
  }
  void pixels;
  const header = new Uint8Array(64);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, segments, true);
  let at = 64;
  for (let s = 0; s < segments; s++) {
    dv.setUint32(4 + 4 * s, at, true);
    at += (parts[s] as Uint8Array).length;
  }
  const result = new Uint8Array(at);
  result.set(header, 0);
  at = 64;
  for (const p of parts) {
    result.set(p, at);
    at += p.length;
  }
  return result;
}
