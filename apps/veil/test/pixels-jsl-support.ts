/**
 * The measures of pixels-jsl.test.ts, apart so that a manual run can point them at any output folder (for instance
 * one written with `pixels.text.enabled: false`, to see the legibility check fail when nothing is redacted):
 *
 *   node --import tsx -e "import('./apps/veil/test/pixels-jsl-support.ts').then(async (m) =>
 *     console.log(m.formatJsl(await m.measureJsl(JSL_DIR, OUT_DIR))))"
 *
 * - the ink measure of each ground-truth value box (see the test's header);
 * - legibility by OCR: each value box is read (tesseract, @veil/pixels) from the original and from the output, and
 *   scored against the ground-truth text: similarity = max(0, 1 - edit distance / length of the text), case and
 *   white space ignored (1 - character error rate). A box is legible at similarity >= LEGIBLE;
 * - pixels changed outside the ground-truth boxes, and outside the ground-truth plus the supplementary boxes of
 *   fixtures/jsl-extra-text.json (real text the published ground truth has no box for), all grown by 4 pixels; the
 *   supplementary boxes are read by OCR as well.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findElement, readString, scanFile } from '@veil/core';
import {
  type DecodedFrame,
  type FrameCodec,
  loadDcmjsCodecs,
  loadTesseractRecognizer,
  openPixels,
  samplesOf,
  type TextRecognizer,
  toRgb8,
} from '@veil/pixels';

/**
 * Similarity at which a box counts as legible: half its characters read right. Below it a reading of an identifier
 * or a name no longer gives it away (a 10-digit ID with 5 wrong digits, a name with half its letters wrong); above
 * it a reader can often guess the rest. Measured on the 107 value boxes of the originals: 57 read at <= 0.30 (40 at
 * 0: mostly 5-pixel-high MR text tesseract cannot read, and wrapped values whose published box holds only the last
 * line), 4 in (0.30, 0.50), 6 in [0.50, 0.75), 40 at >= 0.78; so 40 to 52 boxes are legible for thresholds from 0.75
 * down to 0.30. The output's readings all stay <= 0.11, so the check that none stays legible holds at any of them.
 */
export const LEGIBLE = 0.5;
/** Pixels added on every side of a ground-truth box before it is read (the recognizer adds 3 more). */
const READ_MARGIN = 2;
/** Ground-truth boxes (and supplementary boxes) are grown by this much before pixels outside them are counted. */
const GROW = 4;

interface Gt {
  annotation: { key?: { bbox?: number[] }; value?: { text?: string; bbox?: number[] } }[];
}

export interface ExtraBox {
  readonly bbox: readonly [number, number, number, number];
  readonly text: string;
  readonly reason: string;
}

export interface JslFigures {
  released: number;
  quarantined: string[];
  /** Files whose output does not say Burned In Annotation NO. */
  burnedNotNo: string[];
  /** Ink measure. */
  boxes: number;
  removed: number;
  areaRemoved: number;
  illegible: number;
  /** OCR legibility (every value box, whatever its ink). */
  read: number;
  legibleOriginal: number;
  legibleOutput: number;
  /** Highest similarity of any output reading (of a box legible in the original, and of any box). */
  maxOutputSimilarity: number;
  maxOutputSimilarityAny: number;
  /** Ground-truth characters read right (length - edit distance, at least 0) over the boxes legible in the original. */
  charsOriginal: number;
  charsOutput: number;
  charsTotal: number;
  /** Pixels changed outside the ground truth, outside the ground truth plus the supplementary boxes. */
  imagePixels: number;
  outside: number;
  outsideExtra: number;
  extraBoxes: number;
  /** OCR legibility of the supplementary boxes. */
  extraRead: number;
  extraLegibleOriginal: number;
  /** Supplementary boxes still legible in the output, as 'reason [bbox]' (never their text). */
  extraLegibleOutput: string[];
}

export function normalise(s: string): string {
  return s.toLowerCase().replace(/\s+/g, '');
}

export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = cur;
  }
  return prev[b.length] as number;
}

/** Characters of the ground truth read right: its length less the edit distance, at least 0. */
export function charsRight(truth: string, read: string): number {
  const t = normalise(truth);
  return Math.max(0, t.length - editDistance(t, normalise(read)));
}

export function similarity(truth: string, read: string): number {
  const t = normalise(truth);
  return t.length === 0 ? 0 : charsRight(truth, read) / t.length;
}

const here = dirname(fileURLToPath(import.meta.url));

export function loadExtraText(): Record<string, readonly ExtraBox[]> {
  const raw = JSON.parse(readFileSync(join(here, 'fixtures', 'jsl-extra-text.json'), 'utf8')) as {
    files: Record<string, ExtraBox[]>;
  };
  return raw.files;
}

/** 1 where a pixel lies in one of `boxes` grown by GROW pixels. */
export function boxMask(w: number, h: number, boxes: readonly (readonly number[])[]): Uint8Array {
  const m = new Uint8Array(w * h);
  for (const bb of boxes) {
    const x0 = Math.max(0, (bb[0] ?? 0) - GROW);
    const y0 = Math.max(0, (bb[1] ?? 0) - GROW);
    const x1 = Math.min(w, (bb[2] ?? 0) + GROW);
    const y1 = Math.min(h, (bb[3] ?? 0) + GROW);
    for (let y = y0; y < y1; y++) if (x1 > x0) m.fill(1, y * w + x0, y * w + x1);
  }
  return m;
}

/** The frame's sample range: burned-in text is drawn at one of its ends. */
export function sampleRange(a: ArrayLike<number>): { min: number; max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < a.length; i++) {
    const v = a[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** A ground-truth bbox clipped to the image, or undefined when it is not a box or nothing of it is inside. */
export function clippedBox(
  bb: readonly number[] | undefined,
  w: number,
  h: number,
): [number, number, number, number] | undefined {
  if (bb?.length !== 4) return undefined;
  const x0 = Math.max(0, bb[0] as number);
  const y0 = Math.max(0, bb[1] as number);
  const x1 = Math.min(w, bb[2] as number);
  const y1 = Math.min(h, bb[3] as number);
  return x1 <= x0 || y1 <= y0 ? undefined : [x0, y0, x1, y1];
}

/** Under this many ink pixels a box is illegible (text drawn white on saturated white) and counted apart. */
export const MIN_INK = 10;
/** A box is removed when this share of its ink is flat in the output. */
export const INK_REMOVED = 0.95;

/**
 * The ink measure of one box: `ink`, the pixels at the frame's extreme values (`range`) on a stroke edge (a
 * 4-neighbour differs) in the original `a`; `inkGone`, those flat in the output `b` (equal to their four neighbours:
 * filling with the background can leave a dark stroke pixel at its old value, so a changed value alone would
 * undercount; every pixel is flat when `b` is undefined: the file was quarantined); `gone`, every flat pixel of the
 * box. `left(i, v)` is told each ink pixel that is not flat.
 */
export function boxInk(
  a: ArrayLike<number>,
  b: ArrayLike<number> | undefined,
  w: number,
  box: readonly [number, number, number, number],
  range: { min: number; max: number },
  left?: (i: number, v: number) => void,
): { ink: number; inkGone: number; gone: number } {
  const flat = (i: number) =>
    b === undefined || [b[i - 1], b[i + 1], b[i - w], b[i + w]].every((u) => u === undefined || u === b[i]);
  const [x0, y0, x1, y1] = box;
  let ink = 0;
  let inkGone = 0;
  let gone = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * w + x;
      const isFlat = flat(i);
      if (isFlat) gone++;
      const v = a[i] as number;
      if (v !== range.min && v !== range.max) continue;
      if (![a[i - 1], a[i + 1], a[i - w], a[i + w]].some((u) => u !== undefined && u !== v)) continue;
      ink++;
      if (isFlat) inkGone++;
      else left?.(i, v);
    }
  }
  return { ink, inkGone, gone };
}

/**
 * Measures the output folder `out` (one file per input name; a missing file was quarantined) against the
 * ground truth in `jsl`. `names` are the .dcm names given to `veil deid`.
 */
export async function measureJsl(
  jsl: string,
  out: string,
  options: { codec?: FrameCodec; recognizer?: TextRecognizer; names?: readonly string[] } = {},
): Promise<JslFigures> {
  const codec = options.codec ?? (await loadDcmjsCodecs());
  const recognizer = options.recognizer ?? (await loadTesseractRecognizer());
  const extra = loadExtraText();
  const f: JslFigures = {
    released: 0,
    quarantined: [],
    burnedNotNo: [],
    boxes: 0,
    removed: 0,
    areaRemoved: 0,
    illegible: 0,
    read: 0,
    legibleOriginal: 0,
    legibleOutput: 0,
    maxOutputSimilarity: 0,
    maxOutputSimilarityAny: 0,
    charsOriginal: 0,
    charsOutput: 0,
    charsTotal: 0,
    imagePixels: 0,
    outside: 0,
    outsideExtra: 0,
    extraBoxes: 0,
    extraRead: 0,
    extraLegibleOriginal: 0,
    extraLegibleOutput: [],
  };
  try {
    for (const name of options.names ?? readdirSync(jsl).filter((n) => n.endsWith('.dcm'))) {
      const px = openPixels(scanFile(new Uint8Array(readFileSync(join(jsl, name)))), codec);
      if (!px) throw new Error(`${name}: no pixels`);
      const frameA = px.decodeFrame(0);
      const a = samplesOf(frameA);
      const w = px.module.columns;
      const h = px.module.rows;
      const outPath = join(out, name);
      let frameB: DecodedFrame | undefined;
      if (existsSync(outPath)) {
        f.released++;
        const file = scanFile(new Uint8Array(readFileSync(outPath)));
        const o = openPixels(file, codec);
        if (!o) throw new Error(`${name}: output has no pixels`);
        frameB = o.decodeFrame(0);
        const burned = findElement(file.dataset, 0x00280301);
        if ((burned ? readString(burned) : '') !== 'NO') f.burnedNotNo.push(name);
      } else {
        f.quarantined.push(name);
      }
      const b = frameB ? samplesOf(frameB) : undefined;
      const gt = JSON.parse(readFileSync(join(jsl, name.replace(/\.dcm$/, '.gt.json')), 'utf8')) as Gt;
      const range = sampleRange(a);
      const imgA = toRgb8(frameA, px.module.palette);
      const imgB = frameB ? toRgb8(frameB, px.module.palette) : undefined;
      /** The box (plus READ_MARGIN) read from the original and from the output ('' when quarantined). */
      const readBoth = async (text: string, bb: readonly number[]) => {
        const box = {
          x0: Math.max(0, (bb[0] ?? 0) - READ_MARGIN),
          y0: Math.max(0, (bb[1] ?? 0) - READ_MARGIN),
          x1: Math.min(w, (bb[2] ?? 0) + READ_MARGIN),
          y1: Math.min(h, (bb[3] ?? 0) + READ_MARGIN),
          source: 'ground-truth',
          score: 1,
        };
        const before = (await recognizer.recognize(imgA, box)).text;
        const after = imgB ? (await recognizer.recognize(imgB, box)).text : '';
        if (process.env.JSL_OCR_LOG)
          process.stdout.write(
            `#   ocr ${name.slice(0, 14)} [${bb.join(',')}] original ${similarity(text, before).toFixed(2)} ` +
              `output ${similarity(text, after).toFixed(2)}\n`,
          );
        return { before, after };
      };
      // The supplementary boxes are read too: their text (first lines of wrapped institution names) identifies.
      for (const e of extra[name] ?? []) {
        const r = await readBoth(e.text, e.bbox);
        f.extraRead++;
        if (similarity(e.text, r.before) < LEGIBLE) continue;
        f.extraLegibleOriginal++;
        if (similarity(e.text, r.after) >= LEGIBLE) f.extraLegibleOutput.push(`${e.reason} [${e.bbox.join(',')}]`);
      }
      for (const x of gt.annotation) {
        const box = clippedBox(x.value?.bbox, w, h);
        if (box === undefined) continue;
        const [x0, y0, x1, y1] = box;
        // Legibility by OCR, whatever the ink.
        const text = x.value?.text ?? '';
        if (normalise(text).length > 0) {
          const r = await readBoth(text, [x0, y0, x1, y1]);
          f.read++;
          f.maxOutputSimilarityAny = Math.max(f.maxOutputSimilarityAny, similarity(text, r.after));
          if (similarity(text, r.before) >= LEGIBLE) {
            f.legibleOriginal++;
            if (similarity(text, r.after) >= LEGIBLE) f.legibleOutput++;
            f.maxOutputSimilarity = Math.max(f.maxOutputSimilarity, similarity(text, r.after));
            f.charsTotal += normalise(text).length;
            f.charsOriginal += charsRight(text, r.before);
            f.charsOutput += charsRight(text, r.after);
          }
        }
        // The ink measure.
        const { ink, inkGone, gone } = boxInk(a, b, w, box, range);
        if (ink < MIN_INK) {
          f.illegible++;
          continue;
        }
        f.boxes++;
        if (inkGone >= INK_REMOVED * ink) f.removed++;
        if (gone >= 0.9 * (x1 - x0) * (y1 - y0)) f.areaRemoved++;
      }
      if (b) {
        f.imagePixels += w * h;
        const gtBoxes = gt.annotation
          .flatMap((x) => [x.key?.bbox, x.value?.bbox])
          .filter((x): x is number[] => x?.length === 4);
        const extraBoxes = (extra[name] ?? []).map((e) => e.bbox);
        f.extraBoxes += extraBoxes.length;
        const inGt = boxMask(w, h, gtBoxes);
        const inAny = boxMask(w, h, [...gtBoxes, ...extraBoxes]);
        for (let i = 0; i < w * h; i++) {
          if (a[i] === b[i]) continue;
          if (!inGt[i]) f.outside++;
          if (!inAny[i]) f.outsideExtra++;
        }
      }
    }
  } finally {
    if (!options.recognizer) await recognizer.close();
  }
  return f;
}

export function formatJsl(f: JslFigures): string {
  const pct = (n: number) => `${((100 * n) / Math.max(1, f.imagePixels)).toFixed(2)}%`;
  return (
    `# JSL burned-in text: ${f.released} released, ${f.quarantined.length} quarantined; identifying-text boxes removed ` +
    `${f.removed}/${f.boxes} (recall ${(f.removed / f.boxes).toFixed(3)}; by area ${f.areaRemoved}/${f.boxes}); ` +
    `${f.illegible} illegible boxes not counted; pixels changed outside the boxes ${pct(f.outside)} of released images\n` +
    `# JSL by OCR (similarity to the ground-truth text >= ${LEGIBLE} = legible): ${f.legibleOriginal}/${f.read} value ` +
    `boxes legible in the original, ${f.legibleOutput} of them still legible in the output (highest output ` +
    `similarity ${f.maxOutputSimilarity.toFixed(2)}, over all ${f.read} boxes ${f.maxOutputSimilarityAny.toFixed(2)}); ` +
    `characters read right in those boxes: original ${f.charsOriginal}/${f.charsTotal}, output ${f.charsOutput}/${f.charsTotal}\n` +
    `# JSL outside with supplementary ground truth (${f.extraBoxes} boxes of real text the published ground truth ` +
    `omits, fixtures/jsl-extra-text.json): pixels changed outside ground truth + supplementary boxes ` +
    `${pct(f.outsideExtra)} (outside ground truth alone ${pct(f.outside)}); by OCR ${f.extraLegibleOriginal}/${f.extraRead} ` +
    `supplementary boxes legible in the original, ${f.extraLegibleOutput.length} in the output${f.extraLegibleOutput.length ? ` (${f.extraLegibleOutput.join(', ')})` : ''}\n`
  );
}
