/**
 * Pictures for the run report: for each written image in which the burned-in text stage filled boxes, a thumbnail of
 * the OUTPUT as written (read back from the output file, never the original pixels) with every redacted box
 * outlined (red: found by the detector, yellow: the region library), for the first frame that had boxes, at most
 * 320 px on its longer side. Each thread has a budget (maxPreviews shared between the threads); a file past it, or
 * one whose output cannot be read back, simply gets no picture (the run does not fail for a thumbnail).
 *
 * Example:
 *   const name = await writeRedactionPreview(join(out, rel), report.boxes, budget, task.id);  // 'veil-report-previews/12.png'
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFileSource } from '../io/file-source.ts';
import { downscale, encodePng, outline } from '../pixels/png.ts';

/** Folder of the pictures, relative to the report folder. */
export const PREVIEW_FOLDER = 'veil-report-previews';
/** Longest side of a thumbnail, in pixels. */
export const PREVIEW_MAX_SIDE = 320;
/** Pictures per run by default (about 50-150 KB each). */
export const DEFAULT_MAX_PREVIEWS = 200;

export interface PreviewBudget {
  /** The report folder; pictures go under PREVIEW_FOLDER there. */
  readonly reportDir: string;
  /** Pictures this thread may still write. */
  remaining: number;
}

/** The stage's boxes of one frame: [x0, y0, x1, y1, source] (pixels:text report). */
export interface FrameBoxesReport {
  readonly frame: number;
  readonly boxes: readonly (readonly [number, number, number, number, string])[];
}

const COLOURS = { detector: [255, 48, 48], region: [255, 196, 0] } as const;

/** Writes the thumbnail; its path relative to the report folder, or undefined when none was written. */
export async function writeRedactionPreview(
  outputPath: string,
  frames: readonly FrameBoxesReport[],
  budget: PreviewBudget,
  id: number,
): Promise<string | undefined> {
  const first = frames.find((f) => (f.boxes?.length ?? 0) > 0);
  if (!first || budget.remaining <= 0) return undefined;
  budget.remaining--;
  try {
    // Loaded on first use: the run's main thread imports this file before it loads the core (usage errors first).
    const [{ scanFile }, { openPixels, toRgb8 }, { pixelTools }] = await Promise.all([
      import('@veil/core'),
      import('@veil/pixels'),
      import('../pixels/stages.ts'),
    ]);
    const { codec } = await pixelTools();
    // Windowed when large: one frame of a 2 GB multi-frame is read, not the file.
    const src = openFileSource(outputPath);
    let rgb: ReturnType<typeof toRgb8>;
    try {
      const px = openPixels(scanFile(src), codec);
      if (!px || first.frame >= px.frames) return undefined;
      rgb = toRgb8(px.decodeFrame(first.frame), px.module.palette);
    } finally {
      src.close();
    }
    const thumb = downscale(rgb, PREVIEW_MAX_SIDE);
    const s = thumb.scale;
    for (const [x0, y0, x1, y1, source] of first.boxes) {
      outline(
        thumb,
        { x0: Math.floor(x0 * s), y0: Math.floor(y0 * s), x1: Math.ceil(x1 * s), y1: Math.ceil(y1 * s) },
        source.startsWith('region') ? COLOURS.region : COLOURS.detector,
      );
    }
    const rel = `${PREVIEW_FOLDER}/${id}.png`;
    mkdirSync(join(budget.reportDir, PREVIEW_FOLDER), { recursive: true });
    writeFileSync(join(budget.reportDir, rel), encodePng(thumb.width, thumb.height, thumb.rgb));
    return rel;
  } catch {
    return undefined;
  }
}
