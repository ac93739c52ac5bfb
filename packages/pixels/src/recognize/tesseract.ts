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
import { MIN_CONFIDENCE, type RecognizedLine, type RecognizedWord } from './classify.ts';
import type { TextRecognizer } from './port.ts';

const BORDER = 3;
const TARGET_HEIGHT = 40;

export function defaultLangPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int');
}

/** Preprocessing of a line crop before tesseract (the options exist to compare variants). */
export interface LinePreprocess {
  /** Binarise: each up-scaled pixel goes black (text) or white by the nearer of the text and background levels. */
  readonly binarize?: boolean;
  /** White pixels added on every side after up-scaling (tesseract reads badly up to the image edge). */
  readonly pad?: number;
  /** Height the crop is up-scaled to (about). */
  readonly targetHeight?: number;
}

/**
 * The line as a binary PGM (P5): grey, dark text on light, up-scaled (bilinear) to about the target height, binarised
 * and padded; `x0` and `k` map its x back to the frame (frame x = x0 + (x - pad) / k).
 *
 * Burned-in annotations are drawn at one extreme value (white, sometimes black) over the image: the text level is the
 * crop's extreme on the text's side, the background level its median, and the threshold their midpoint, taken after
 * up-scaling so that strokes keep smooth edges.
 */
export function linePgm(
  img: Rgb8,
  box: Box,
  options: LinePreprocess = {},
): { pgm: Uint8Array; x0: number; k: number; pad: number } {
  const x0 = Math.max(0, box.x0 - BORDER);
  const y0 = Math.max(0, box.y0 - BORDER);
  const x1 = Math.min(img.width, box.x1 + BORDER);
  const y1 = Math.min(img.height, box.y1 + BORDER);
  const w = Math.max(1, x1 - x0);
  const h = Math.max(1, y1 - y0);
  const grey = new Uint8Array(w * h);
  const hist = new Uint32Array(256);
  let sum = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = ((y0 + y) * img.width + x0 + x) * 3;
      const g = Math.round((img.rgb[i] ?? 0) * 0.299 + (img.rgb[i + 1] ?? 0) * 0.587 + (img.rgb[i + 2] ?? 0) * 0.114);
      grey[y * w + x] = g;
      hist[g] = (hist[g] ?? 0) + 1;
      sum += g;
    }
  }
  const invert = sum / (w * h) < 128;
  // Text level: the extreme on the text's side (dark text on light after inversion); background: the median.
  let lo = 0;
  while (lo < 255 && !hist[lo]) lo++;
  let hi = 255;
  while (hi > 0 && !hist[hi]) hi--;
  let median = 0;
  for (let n = hist[0] ?? 0; n * 2 < w * h && median < 255; ) n += hist[++median] ?? 0;
  const textLevel = invert ? 255 - hi : lo;
  const bgLevel = invert ? 255 - median : median;
  const threshold = (textLevel + bgLevel) / 2;
  const binarize = options.binarize === true && bgLevel - textLevel >= 24;
  const k = Math.max(1, Math.min(8, Math.round((options.targetHeight ?? TARGET_HEIGHT) / h)));
  const pad = options.pad ?? 0;
  const W = w * k + 2 * pad;
  const H = h * k + 2 * pad;
  const header = new TextEncoder().encode(`P5\n${W} ${H}\n255\n`);
  const out = new Uint8Array(header.length + W * H);
  out.set(header);
  out.fill(255, header.length);
  // Bilinear up-scaling: strokes stay smooth, which the LSTM reads far better than blocky pixels.
  const at = (x: number, y: number) => grey[Math.min(h - 1, y) * w + Math.min(w - 1, x)] as number;
  for (let y = 0; y < h * k; y++) {
    const fy = Math.max(0, (y + 0.5) / k - 0.5);
    const yi = Math.floor(fy);
    const dy = fy - yi;
    const o = header.length + (y + pad) * W + pad;
    for (let x = 0; x < w * k; x++) {
      const fx = Math.max(0, (x + 0.5) / k - 0.5);
      const xi = Math.floor(fx);
      const dx = fx - xi;
      const g =
        (at(xi, yi) * (1 - dx) + at(xi + 1, yi) * dx) * (1 - dy) +
        (at(xi, yi + 1) * (1 - dx) + at(xi + 1, yi + 1) * dx) * dy;
      const v = invert ? 255 - g : g;
      out[o + x] = binarize ? (v <= threshold ? 0 : 255) : v;
    }
  }
  return { pgm: out, x0, k, pad };
}

export interface TesseractOptions {
  /** Folder holding eng.traineddata.gz; default the one in @tesseract.js-data/eng. */
  readonly langPath?: string;
  /** The readings tried, in order, while a line (or its label) stays under MIN_CONFIDENCE; default PLAIN, LARGE,
   * BINARY. */
  readonly preprocess?: readonly LinePreprocess[];
}

/** Grey, bilinear, ~40 px high: the first reading. */
export const PLAIN: LinePreprocess = { binarize: false, pad: 0, targetHeight: 40 };
/** Grey, bilinear, ~64 px high: small labels are often read better larger. */
export const LARGE: LinePreprocess = { binarize: false, pad: 0, targetHeight: 64 };
/** Binarised at the midpoint of text and background, ~48 px high, padded: the second reading of unsure lines. */
export const BINARY: LinePreprocess = { binarize: true, pad: 12, targetHeight: 48 };

export async function loadTesseractRecognizer(options: TesseractOptions = {}): Promise<TextRecognizer> {
  let worker: import('tesseract.js').Worker;
  try {
    const { createWorker, OEM, PSM } = await import('tesseract.js');
    worker = await createWorker(
      'eng',
      OEM.LSTM_ONLY,
      {
        langPath: options.langPath ?? defaultLangPath(),
        gzip: true,
        cacheMethod: 'none',
        logger: () => {},
        errorHandler: () => {},
      },
      // Tesseract's own debug prints (row statistics such as "Bottom=0, top=.." on a blank line) go nowhere, not to
      // the process's stderr, where they would mix with Veil's output (an init-only parameter the typings omit).
      { debug_file: '/dev/null' } as unknown as Parameters<typeof createWorker>[3],
    );
    await worker.setParameters({ tessedit_pageseg_mode: PSM.SINGLE_LINE });
  } catch {
    throw new VeilError('PIXELS_RECOGNIZER_UNAVAILABLE');
  }
  const variants = options.preprocess ?? [PLAIN, LARGE, BINARY];
  const read = async (img: Rgb8, box: Box, pre: LinePreprocess): Promise<RecognizedLine> => {
    const { pgm, x0, k, pad } = linePgm(img, box, pre);
    const r = await worker.recognize(Buffer.from(pgm), {}, { text: true, blocks: true });
    const words = (r.data.blocks ?? [])
      .flatMap((b) => b.paragraphs.flatMap((p) => p.lines.flatMap((l) => l.words)))
      .map((w) => ({
        text: w.text,
        confidence: w.confidence,
        x0: x0 + (w.bbox.x0 - pad) / k,
        x1: x0 + (w.bbox.x1 - pad) / k,
      }))
      .sort((a, b) => a.x0 - b.x0);
    return { text: r.data.text.trim(), confidence: r.data.confidence, words };
  };
  let closed = false;
  return {
    async recognize(img: Rgb8, box: Box): Promise<RecognizedLine> {
      if (closed) throw new VeilError('PIXELS_RECOGNIZER_UNAVAILABLE');
      let line: RecognizedLine | undefined;
      for (const pre of variants) {
        const r = await read(img, box, pre);
        if (!line || r.confidence > line.confidence) line = r;
        if (line.confidence >= MIN_CONFIDENCE) break;
      }
      return rereadLabel(line as RecognizedLine, (b, pre) => read(img, b, pre), box, variants);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await worker.terminate();
    },
  };
}

/**
 * A line written 'Label: value' whose label words were read under MIN_CONFIDENCE: the label alone (the line up to
 * its colon) is read again with each variant, and the best reading that still ends at a colon replaces the label
 * words (text, confidence, extent). The value words and the line's own text and confidence are left as read, so the
 * line is classified as before; only `valueStart` sees the better label.
 */
export async function rereadLabel(
  line: RecognizedLine,
  read: (box: Box, pre: LinePreprocess) => Promise<RecognizedLine>,
  box: Box,
  variants: readonly LinePreprocess[],
): Promise<RecognizedLine> {
  const ws = line.words ?? [];
  const j = ws.findIndex((w) => w.text.endsWith(':'));
  if (j < 0 || j > 2 || j === ws.length - 1) return line;
  const label = ws.slice(0, j + 1);
  let best = Math.min(...label.map((w) => w.confidence));
  if (best >= MIN_CONFIDENCE) return line;
  const colon = ws[j] as RecognizedWord;
  const x1 = Math.round(colon.x1) - 1;
  if (!(x1 > box.x0 + 4)) return line;
  let words: readonly RecognizedWord[] | undefined;
  for (const pre of variants) {
    const r = await read({ ...box, x1 }, pre);
    const rw = r.words ?? [];
    if (rw.length === 0 || rw.length > 3 || !(rw[rw.length - 1] as RecognizedWord).text.endsWith(':')) continue;
    const c = Math.min(...rw.map((w) => w.confidence));
    if (c > best) {
      best = c;
      words = rw;
    }
    if (best >= MIN_CONFIDENCE) break;
  }
  return words ? { ...line, words: [...words, ...ws.slice(j + 1)] } : line;
}
