/**
 * A small PNG encoder (8-bit RGB or greyscale, no interlace) over node:zlib, for previews of redacted output frames
 * and the defacing pictures.
 *
 * Example:
 *   writeFileSync('frame.png', encodePng(width, height, rgb));
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(parts: readonly Uint8Array[]): number {
  let c = 0xffffffff;
  for (const p of parts) for (const b of p) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  const t = new TextEncoder().encode(type);
  out.set(t, 4);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32([t, data]));
  return out;
}

/** Encodes a width x height image, row by row, 3 bytes (RGB) or 1 byte (greyscale) per pixel, as PNG. */
export function encodePng(width: number, height: number, pixels: Uint8Array, channels: 1 | 3 = 3): Uint8Array {
  if (pixels.length !== width * height * channels) throw new RangeError('image size');
  const row = width * channels;
  const raw = new Uint8Array((row + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (row + 1)] = 0; // filter: none
    raw.set(pixels.subarray(y * row, (y + 1) * row), y * (row + 1) + 1);
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 3 ? 2 : 0; // colour type: RGB or greyscale
  const sig = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const parts = [sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Draws a rectangle outline (2 pixels wide) into an RGB image, clipped to it. */
export function outline(
  img: { width: number; height: number; rgb: Uint8Array },
  box: { x0: number; y0: number; x1: number; y1: number },
  colour: readonly [number, number, number],
): void {
  const put = (x: number, y: number) => {
    if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
    const i = (y * img.width + x) * 3;
    img.rgb[i] = colour[0];
    img.rgb[i + 1] = colour[1];
    img.rgb[i + 2] = colour[2];
  };
  for (let t = 0; t < 2; t++) {
    for (let x = box.x0 - 1 - t; x <= box.x1 + t; x++) {
      put(x, box.y0 - 1 - t);
      put(x, box.y1 + t);
    }
    for (let y = box.y0 - 1 - t; y <= box.y1 + t; y++) {
      put(box.x0 - 1 - t, y);
      put(box.x1 + t, y);
    }
  }
}

/** A box-filtered copy of an RGB image whose longer side is at most `max` (the image itself when it is no larger). */
export function downscale(
  img: { width: number; height: number; rgb: Uint8Array },
  max: number,
): { width: number; height: number; rgb: Uint8Array; scale: number } {
  const scale = Math.min(1, max / Math.max(img.width, img.height));
  if (scale === 1) return { ...img, scale };
  const width = Math.max(1, Math.round(img.width * scale));
  const height = Math.max(1, Math.round(img.height * scale));
  const rgb = new Uint8Array(width * height * 3);
  // Box filter: the mean of the source pixels under each thumbnail pixel.
  for (let y = 0; y < height; y++) {
    const sy0 = Math.floor(y / scale);
    const sy1 = Math.max(sy0 + 1, Math.min(img.height, Math.floor((y + 1) / scale)));
    for (let x = 0; x < width; x++) {
      const sx0 = Math.floor(x / scale);
      const sx1 = Math.max(sx0 + 1, Math.min(img.width, Math.floor((x + 1) / scale)));
      let r = 0;
      let g = 0;
      let b = 0;
      const n = (sy1 - sy0) * (sx1 - sx0);
      for (let sy = sy0; sy < sy1; sy++) {
        for (let sx = sx0; sx < sx1; sx++) {
          const i = (sy * img.width + sx) * 3;
          r += img.rgb[i]!;
          g += img.rgb[i + 1]!;
          b += img.rgb[i + 2]!;
        }
      }
      const o = (y * width + x) * 3;
      rgb[o] = Math.round(r / n);
      rgb[o + 1] = Math.round(g / n);
      rgb[o + 2] = Math.round(b / n);
    }
  }
  return { width, height, rgb, scale };
}
