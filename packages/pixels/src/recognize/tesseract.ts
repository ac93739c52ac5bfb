/**
 * The tesseract.js recognizer (LSTM, English), offline: the language data is read from the npm package
 * @tesseract.js-data/eng (4.0.0_best_int) on disk, the WASM core from tesseract.js-core; nothing is downloaded and
 * nothing is cached to disk (cacheMethod 'none'). One worker per thread.
 *
 * Each line is cropped (with a small border), turned grey, inverted when the text is light on dark (tesseract reads
 * dark on light best), up-scaled to about 40 pixels high, and read as a single line (PSM 7).
 *
 * Example:
 *   const recognizer = await loadTesseractRecognizer();
 *   const { text, confidence } = await recognizer.recognize(toRgb8(frame), box);
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { VeilError } from '@veil/core';
import type { Box } from '../box.ts';
import type { Rgb8 } from '../render.ts';
import type { RecognizedLine } from './classify.ts';
import type { TextRecognizer } from './port.ts';

const BORDER = 3;
const TARGET_HEIGHT = 40;

export function defaultLangPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int');
}

/**
 * The line as a binary PGM (P5): grey, dark text on light, up-scaled (bilinear) to about TARGET_HEIGHT; `x0` and
 * `k` map its x back to the frame (frame x = x0 + x / k).
 */
export function linePgm(img: Rgb8, box: Box): { pgm: Uint8Array; x0: number; k: number } {
  const x0 = Math.max(0, box.x0 - BORDER);
  const y0 = Math.max(0, box.y0 - BORDER);
  const x1 = Math.min(img.width, box.x1 + BORDER);
  const y1 = Math.min(img.height, box.y1 + BORDER);
  const w = Math.max(1, x1 - x0);
  const h = Math.max(1, y1 - y0);
  const grey = new Uint8Array(w * h);
  let sum = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = ((y0 + y) * img.width + x0 + x) * 3;
      const g = (img.rgb[i] ?? 0) * 0.299 + (img.rgb[i + 1] ?? 0) * 0.587 + (img.rgb[i + 2] ?? 0) * 0.114;
      grey[y * w + x] = g;
      sum += g;
    }
  }
  const invert = sum / (w * h) < 128;
  const k = Math.max(1, Math.min(8, Math.round(TARGET_HEIGHT / h)));
  const W = w * k;
  const H = h * k;
  const header = new TextEncoder().encode(`P5\n${W} ${H}\n255\n`);
  const out = new Uint8Array(header.length + W * H);
  out.set(header);
  // Bilinear up-scaling: strokes stay smooth, which the LSTM reads far better than blocky pixels.
  const at = (x: number, y: number) => grey[Math.min(h - 1, y) * w + Math.min(w - 1, x)] as number;
  for (let y = 0; y < H; y++) {
    const fy = Math.max(0, (y + 0.5) / k - 0.5);
    const yi = Math.floor(fy);
    const dy = fy - yi;
    const o = header.length + y * W;
    for (let x = 0; x < W; x++) {
      const fx = Math.max(0, (x + 0.5) / k - 0.5);
      const xi = Math.floor(fx);
      const dx = fx - xi;
      const g =
        (at(xi, yi) * (1 - dx) + at(xi + 1, yi) * dx) * (1 - dy) +
        (at(xi, yi + 1) * (1 - dx) + at(xi + 1, yi + 1) * dx) * dy;
      out[o + x] = invert ? 255 - g : g;
    }
  }
  return { pgm: out, x0, k };
}

export interface TesseractOptions {
  /** Folder holding eng.traineddata.gz; default the one in @tesseract.js-data/eng. */
  readonly langPath?: string;
}

export async function loadTesseractRecognizer(options: TesseractOptions = {}): Promise<TextRecognizer> {
  let worker: import('tesseract.js').Worker;
  try {
    const { createWorker, OEM, PSM } = await import('tesseract.js');
    worker = await createWorker('eng', OEM.LSTM_ONLY, {
      langPath: options.langPath ?? defaultLangPath(),
      gzip: true,
      cacheMethod: 'none',
      logger: () => {},
      errorHandler: () => {},
    });
    await worker.setParameters({ tessedit_pageseg_mode: PSM.SINGLE_LINE });
  } catch {
    throw new VeilError('PIXELS_RECOGNIZER_UNAVAILABLE');
  }
  let closed = false;
  return {
    async recognize(img: Rgb8, box: Box): Promise<RecognizedLine> {
      if (closed) throw new VeilError('PIXELS_RECOGNIZER_UNAVAILABLE');
      const { pgm, x0, k } = linePgm(img, box);
      const r = await worker.recognize(Buffer.from(pgm), {}, { text: true, blocks: true });
      const words = (r.data.blocks ?? [])
        .flatMap((b) => b.paragraphs.flatMap((p) => p.lines.flatMap((l) => l.words)))
        .map((w) => ({ text: w.text, confidence: w.confidence, x0: x0 + w.bbox.x0 / k, x1: x0 + w.bbox.x1 / k }))
        .sort((a, b) => a.x0 - b.x0);
      return { text: r.data.text.trim(), confidence: r.data.confidence, words };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await worker.terminate();
    },
  };
}
