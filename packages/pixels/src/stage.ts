/**
 * The burned-in text stage and the pixel half of the release gate, as ReleaseStages of the core's release path.
 *
 * 'pixels:text' decodes every frame (one at a time), finds text lines with the detector and adds the region
 * library's known text areas, fills them (with a margin) and returns the Pixel Data edits. It claims Burned In
 * Annotation NO and 113101 (Clean Pixel Data) only when it scanned every frame of the file. An image it cannot
 * decode is held back (PIXELS_UNSUPPORTED_ENCODING, PIXELS_DECODE_FAILED...) unless the configuration passes its SOP
 * class or modality, in which case it goes out unscanned and unclaimed. Redacted frames are written back in the
 * input's transfer syntax (write-back.ts): lossless ones re-encoded, JPEG baseline/extended redacted in the DCT
 * domain (lossy: dct, the default); another lossy input with text is held back (PIXELS_LOSSY_REDACTION_UNSUPPORTED)
 * unless the configuration allows writing it uncompressed.
 *
 * 'pixels:verify' re-reads the pixels the plan will write (the Pixel Data edit of the earlier stages, or the
 * original's), runs the detector on every frame and holds the file back (VERIFY_PIXEL_TEXT) when it finds a line.
 * It shares with the text stage a cache of frames the detector already found empty (by a hash of the detector's
 * input), so an unchanged frame is not run twice: the detector is deterministic, the same input gives the same
 * answer.
 *
 * Example:
 *   const stages = createPixelStages({ detector, codec, config: parsePixelTextConfig(undefined) });
 *   const outcome = await releaseFile(bytes, { config, keys, stages });
 */
import { createHash } from 'node:crypto';
import {
  type DicomFile,
  DOUBLE_FLOAT_PIXEL_DATA,
  type Edit,
  FLOAT_PIXEL_DATA,
  findElement,
  isVeilError,
  PIXEL_DATA,
  type ReleaseStage,
  readString,
  type StageOutput,
  VeilError,
} from '@veil/core';
import { type Box, grow } from './box.ts';
import type { FrameCodec } from './codecs/port.ts';
import { LOSSY } from './codecs/port.ts';
import type { PixelTextConfig } from './config.ts';
import { openPixels, type PixelAccess } from './decode.ts';
import { extendLines } from './detect/extend.ts';
import type { TextDetector } from './detect/port.ts';
import { detectorScale } from './detect/ppocr.ts';
import { followStrips } from './detect/strips.ts';
import { lookCloser } from './detect/views.ts';
import type { DecodedFrame } from './frame.ts';
import type { PixelModule } from './pixel-module.ts';
import { classifyLine, type Identifiers, identifiersOf, valueStart } from './recognize/classify.ts';
import type { TextRecognizer } from './recognize/port.ts';
import { fillBoxes } from './redact.ts';
import { BUILTIN_REGIONS, headerFacts, regionBoxes } from './regions.ts';
import { type Rgb8, toRgb8 } from './render.ts';
import { plannedFrames, redactionEdits } from './write-back.ts';

export interface PixelStageOptions {
  readonly detector: TextDetector;
  readonly codec?: FrameCodec | undefined;
  readonly config: PixelTextConfig;
  /** Reads each detected line; required when config.redact is 'identifying' (else the file is held back). */
  readonly recognizer?: TextRecognizer | undefined;
  /** Closer looks along and around found lines (strips.ts, views.ts) in the text stage; default config.closerLooks. */
  readonly closerLooks?: boolean;
}

/** Frames the detector found empty, by hash of its input: bounded, most recent kept. */
class EmptyFrames {
  private readonly seen = new Set<string>();
  add(h: string): void {
    if (this.seen.size >= 256) this.seen.delete(this.seen.values().next().value as string);
    this.seen.add(h);
  }
  has(h: string): boolean {
    return this.seen.has(h);
  }
}

function hashRgb(rgb: Uint8Array, w: number, h: number): string {
  return createHash('sha256').update(rgb).update(`${w}x${h}`).digest('hex');
}

export interface FrameBoxes {
  readonly frame: number;
  readonly boxes: readonly Box[];
}

const TAG = '(7FE0,0010)';
/** Detector passes over a frame after its first redaction. */
const EXTRA_PASSES = 2;

function passes(file: DicomFile, config: PixelTextConfig): boolean {
  const sop = findElement(file.dataset, 0x00080016);
  const mod = findElement(file.dataset, 0x00080060);
  return (
    (sop !== undefined && config.pass.sopClasses.includes(readString(sop).trim())) ||
    (mod !== undefined && config.pass.modalities.includes(readString(mod).trim().toUpperCase()))
  );
}

function hasPixels(file: DicomFile): boolean {
  return [PIXEL_DATA, FLOAT_PIXEL_DATA, DOUBLE_FLOAT_PIXEL_DATA].some(
    (t) => findElement(file.dataset, t) !== undefined,
  );
}

/**
 * Detector boxes of one frame (through the empty-frame cache), in frame coordinates, and the image they are on.
 * `follow`: each line is looked at again in a closer strip (strips.ts) to find the rest of it, and the
 * surroundings of the lines in other views (views.ts: the dark end stretched, the top value alone) for faint text
 * beside them;
 * the text stage does, verification (which counts the lines of the detector's own view) does not.
 */
async function detectFrame(
  detector: TextDetector,
  cache: EmptyFrames,
  frame: DecodedFrame,
  m: PixelModule,
  follow = false,
): Promise<{ boxes: Box[]; img: Rgb8 }> {
  const img = toRgb8(frame, m.palette);
  const h = hashRgb(img.rgb, img.width, img.height);
  if (cache.has(h)) return { boxes: [], img };
  let boxes = extendLines(img, await detector.detect(img));
  if (boxes.length === 0) cache.add(h);
  else if (follow) {
    const closer = await lookCloser(detector, img, boxes, detectorScale(img.width, img.height));
    boxes = [...(await followStrips(detector, img, boxes)), ...closer];
  }
  return { boxes, img };
}

/**
 * Under redact: identifying, splits detector boxes into the identifying ones (to fill) and the lines confidently
 * read as other text (kept). Under redact: all every box is identifying. Throws PIXELS_RECOGNIZER_UNAVAILABLE when
 * identifying is configured without a recognizer (the caller holds the file back).
 */
async function identifyingLines(
  found: { boxes: Box[]; img: Rgb8 },
  options: PixelStageOptions,
  ids: () => Identifiers,
): Promise<{ fill: Box[]; kept: Box[] }> {
  if (options.config.redact === 'all' || found.boxes.length === 0) return { fill: found.boxes, kept: [] };
  const recognizer = options.recognizer;
  if (!recognizer) throw new VeilError('PIXELS_RECOGNIZER_UNAVAILABLE');
  const fill: Box[] = [];
  const kept: Box[] = [];
  for (const b of found.boxes) {
    const line = await recognizer.recognize(found.img, b);
    if (!classifyLine(line, ids()).identifying) {
      kept.push(b);
      continue;
    }
    // 'Label: value': the label is kept when it is itself confidently not identifying; the value is filled.
    const start = valueStart(line, ids());
    if (start !== undefined && start > b.x0 && start < b.x1) {
      kept.push({ ...b, x1: start });
      fill.push({ ...b, x0: start });
    } else {
      fill.push(b);
    }
  }
  return { fill, kept };
}

/**
 * Scans a file's frames: detector boxes plus region boxes, grown by the margin. Used by the stage and by
 * `veil pixels scan`. Returns the boxes per frame and the redacted frames.
 */
export async function scanAndRedact(
  file: DicomFile,
  px: PixelAccess,
  options: PixelStageOptions,
  cache: EmptyFrames = new EmptyFrames(),
): Promise<{ boxes: FrameBoxes[]; changed: Map<number, DecodedFrame>; pixels: number; kept: number }> {
  const m = px.module;
  let identifiers: Identifiers | undefined;
  const ids = () => {
    identifiers ??= identifiersOf(file);
    return identifiers;
  };
  let kept = 0;
  const facts = headerFacts(file);
  const regions = regionBoxes([...BUILTIN_REGIONS, ...options.config.regions], facts);
  const boxes: FrameBoxes[] = [];
  const changed = new Map<number, DecodedFrame>();
  let pixels = 0;
  for (let i = 0; i < px.frames; i++) {
    const frame = px.decodeFrame(i);
    const grown = (found: Box[]) =>
      found.map((b) => grow(b, b.source === 'detector' ? options.config.margin : 0, m.columns, m.rows));
    const first = await identifyingLines(
      await detectFrame(options.detector, cache, frame, m, options.closerLooks ?? options.config.closerLooks),
      options,
      ids,
    );
    const all = grown([...first.fill, ...regions]);
    if (all.length === 0) {
      kept += first.kept.length;
      continue;
    }
    pixels += fillBoxes(frame, all);
    let keptHere = first.kept.length;
    // Filling a line can uncover a neighbour the detector had merged away: look again, a bounded number of times.
    // Lines kept under redact: identifying are found (and read) again; only new identifying ones are filled.
    for (let pass = 0; pass < EXTRA_PASSES; pass++) {
      const again = await identifyingLines(await detectFrame(options.detector, cache, frame, m, false), options, ids);
      keptHere = again.kept.length;
      const more = grown(again.fill);
      if (more.length === 0) break;
      pixels += fillBoxes(frame, more);
      all.push(...more);
    }
    kept += keptHere;
    boxes.push({ frame: i, boxes: all });
    changed.set(i, frame);
  }
  return { boxes, changed, pixels, kept };
}

export function createTextStage(options: PixelStageOptions, cache: EmptyFrames = new EmptyFrames()): ReleaseStage {
  return {
    name: 'pixels:text',
    kind: 'pixels',
    appliesTo: (file) => hasPixels(file),
    async run({ file }): Promise<StageOutput> {
      const { config } = options;
      let px: PixelAccess | undefined;
      try {
        if (!findElement(file.dataset, PIXEL_DATA)) {
          throw Object.assign(new Error('float pixel data'), { code: 'PIXELS_UNSUPPORTED_ENCODING', path: TAG });
        }
        px = openPixels(file, options.codec);
      } catch (e) {
        if (passes(file, config)) return { report: { scanned: false, passed: true } };
        const code = isVeilError(e) ? e.code : ((e as { code?: string }).code ?? 'PIXELS_UNSUPPORTED_ENCODING');
        return { quarantine: { code, tagPath: isVeilError(e) && e.path ? e.path : TAG } };
      }
      if (!px) return {};
      let result: Awaited<ReturnType<typeof scanAndRedact>>;
      try {
        result = await scanAndRedact(file, px, options, cache);
      } catch (e) {
        if (passes(file, config)) return { report: { scanned: false, passed: true } };
        const code = isVeilError(e) ? e.code : 'PIXELS_DECODE_FAILED';
        return { quarantine: { code, tagPath: isVeilError(e) && e.path ? e.path : TAG } };
      }
      const report = {
        scanned: true,
        frames: px.frames,
        boxes: result.boxes.map((f) => ({
          frame: f.frame,
          boxes: f.boxes.map((b) => [b.x0, b.y0, b.x1, b.y1, b.source]),
        })),
        redactedPixels: result.pixels,
        ...(config.redact === 'identifying' ? { keptLines: result.kept } : {}),
      };
      const claims = { burnedInAnnotationNo: true, methodCodes: ['113101' as const] };
      if (result.changed.size === 0) return { claims, report };
      if (LOSSY.has(px.transferSyntax) && config.lossy === 'quarantine') {
        return { quarantine: { code: 'PIXELS_LOSSY_REDACTION_UNSUPPORTED', tagPath: TAG }, report };
      }
      let edits: Edit[];
      try {
        edits = redactionEdits(file, px, result.changed, { codec: options.codec, lossy: config.lossy });
      } catch (e) {
        return { quarantine: { code: isVeilError(e) ? e.code : 'PIXELS_ENCODE_FAILED', tagPath: TAG }, report };
      }
      return { edits, claims, report };
    },
  };
}

/** The frames the plan will write: the planned output's when an earlier stage wrote Pixel Data, else the input's. */
function outputFrames(
  file: DicomFile,
  edits: readonly Edit[],
  codec: FrameCodec | undefined,
): { frames: number; module: PixelModule; frame(i: number): DecodedFrame } | undefined {
  const planned = plannedFrames(file, edits, codec);
  if (planned) return planned;
  const px = openPixels(file, codec);
  if (!px) return undefined;
  return { frames: px.frames, module: px.module, frame: (i) => px.decodeFrame(i) };
}

/** What the pixel half of verification found on one file's output pixels. */
export type PixelVerdict =
  /** Every frame scanned; `lines` text lines found that hold the file back: any line under redact: all, the
   * identifying ones (or unreadable: fail safe) under redact: identifying. */
  | { readonly kind: 'scanned'; readonly frames: number; readonly lines: number }
  /** No pixels to scan (no Pixel Data). */
  | { readonly kind: 'no-pixels' }
  /** The pixels could not be decoded or scanned: `code` (PIXELS_UNSUPPORTED_ENCODING...); `passed` when the
   * configuration lets this SOP class or modality go out unscanned. */
  | { readonly kind: 'unscannable'; readonly code: string; readonly passed: boolean };

/**
 * Scans the pixels a file will have once `edits` are applied (none: the file as it is, e.g. `veil verify` on an
 * output folder): every frame through the detector. Never throws for a property of the file.
 */
export async function verifyOutputPixels(
  file: DicomFile,
  edits: readonly Edit[],
  options: PixelStageOptions,
  cache: EmptyFrames = new EmptyFrames(),
): Promise<PixelVerdict> {
  if (!hasPixels(file)) return { kind: 'no-pixels' };
  const unscannable = (e: unknown, fallback: string): PixelVerdict => ({
    kind: 'unscannable',
    code: isVeilError(e) ? e.code : ((e as { code?: string } | undefined)?.code ?? fallback),
    passed: passes(file, options.config),
  });
  if (!findElement(file.dataset, PIXEL_DATA)) return unscannable(undefined, 'PIXELS_UNSUPPORTED_ENCODING');
  let out: ReturnType<typeof outputFrames>;
  try {
    out = outputFrames(file, edits, options.codec);
  } catch (e) {
    return unscannable(e, 'PIXELS_UNSUPPORTED_ENCODING');
  }
  if (!out) return unscannable(undefined, 'PIXELS_UNSUPPORTED_ENCODING');
  let lines = 0;
  let identifiers: Identifiers | undefined;
  const ids = () => {
    identifiers ??= identifiersOf(file);
    return identifiers;
  };
  try {
    for (let i = 0; i < out.frames; i++) {
      const found = await detectFrame(options.detector, cache, out.frame(i), out.module);
      lines += (await identifyingLines(found, options, ids)).fill.length;
    }
  } catch (e) {
    return unscannable(e, 'PIXELS_DECODE_FAILED');
  }
  return { kind: 'scanned', frames: out.frames, lines };
}

export function createVerifyStage(options: PixelStageOptions, cache: EmptyFrames = new EmptyFrames()): ReleaseStage {
  return {
    name: 'pixels:verify',
    kind: 'other',
    appliesTo: (file) => hasPixels(file),
    async run({ file, edits }): Promise<StageOutput> {
      const v = await verifyOutputPixels(file, edits, options, cache);
      if (v.kind === 'no-pixels') return {};
      if (v.kind === 'unscannable') {
        // Passed by the configuration and untouched: goes out unscanned and unclaimed. Anything else fails closed,
        // also pixels an earlier stage wrote that cannot be read back (the text stage holds an unreadable input too).
        const wrote = edits.some((e) => (e.op === 'replace' || e.op === 'patch') && e.element.tag === PIXEL_DATA);
        if (v.passed && !wrote) return { report: { verified: false, passed: true } };
        return {
          findings: [{ stage: 'pixels:verify', detector: 'ocr', tagPath: TAG, code: v.code, level: 'error' }],
          report: { verified: false },
        };
      }
      if (v.lines > 0) {
        return {
          findings: [
            { stage: 'pixels:verify', detector: 'ocr', tagPath: TAG, code: 'VERIFY_PIXEL_TEXT', level: 'error' },
          ],
          report: { verified: true, textLines: v.lines },
        };
      }
      return { report: { verified: true, textLines: 0 } };
    },
  };
}

/** The text stage and, unless turned off, the verification stage, sharing one cache. */
export function createPixelStages(options: PixelStageOptions): ReleaseStage[] {
  if (!options.config.enabled) return [];
  const cache = new EmptyFrames();
  const stages = [createTextStage(options, cache)];
  if (options.config.verify) stages.push(createVerifyStage(options, cache));
  return stages;
}

export { EmptyFrames };
