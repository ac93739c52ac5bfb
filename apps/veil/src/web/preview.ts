/**
 * The console's quarantine previews: a thumbnail of what the release path would write for a held image, the
 * burned-in text stage's output (its boxes filled) with each redacted box outlined (red: found by the detector,
 * yellow: the region library), for the first frame. Never the original pixels: the frame shown is the stage's
 * redacted frame, and a configuration under which the console cannot reproduce the output (burned-in text
 * redaction off: the output would be the original; defacing on: the console does not deface) gets no picture, only
 * the reason. A held item without pixels (a structured report, a file whose pixels Veil cannot decode, a spool file
 * already gone) says so.
 *
 * Rendering runs the detector on the main thread, once per job and version of the job (an LRU of 64 results), when
 * an operator opens the console or the picture.
 *
 * Example:
 *   const p = await previews.get(job);   // { kind: 'png', png, frame, boxes } or { kind: 'none', reason }
 */
import { readFileSync } from 'node:fs';
import { isVeilError, scanFile } from '@veil/core';
import type { Job } from '@veil/pipeline';
import { downscale, encodePng, outline } from '../pixels/png.ts';
import type { Spool } from '../server/spool.ts';

export type Preview =
  | {
      readonly kind: 'png';
      readonly png: Uint8Array;
      readonly width: number;
      readonly height: number;
      readonly frame: number;
      readonly frames: number;
      readonly boxes: number;
    }
  | { readonly kind: 'none'; readonly reason: string };

/** Longest side of a thumbnail, in pixels. */
export const THUMB_MAX = 320;

const COLOURS = { detector: [255, 48, 48], region: [255, 196, 0] } as const;

export interface PreviewOptions {
  readonly spool: Spool;
  /** The deid configuration as read (its `pixels` section). */
  readonly deidInput: Record<string, unknown>;
  readonly defacing: boolean;
}

/** Renders one held job's preview (see the file comment). Never throws for a property of the file. */
export async function renderPreview(job: Job, o: PreviewOptions): Promise<Preview> {
  const { pixelRecognizer, pixelTextConfig, pixelTools } = await import('../pixels/stages.ts');
  const config = pixelTextConfig(o.deidInput.pixels);
  if (!config.enabled) {
    return {
      kind: 'none',
      reason: 'No preview: burned-in text redaction is off, so the output keeps the original pixels.',
    };
  }
  if (o.defacing) return { kind: 'none', reason: 'No preview: defaced output is not rendered in the console.' };
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(o.spool.path(String(job.source.spool))));
  } catch {
    return { kind: 'none', reason: 'No output pixels: the received file is no longer in the spool.' };
  }
  const { openPixels, scanAndRedact, toRgb8 } = await import('@veil/pixels');
  try {
    const file = scanFile(bytes);
    const { detector, codec } = await pixelTools();
    const recognizer = config.redact === 'identifying' ? await pixelRecognizer() : undefined;
    const px = openPixels(file, codec);
    if (!px || px.frames === 0) return { kind: 'none', reason: 'No output pixels: this item has no image.' };
    // The first frame only: a multi-frame file is not scanned whole for a thumbnail.
    const first = Object.create(px, { frames: { value: 1 } }) as typeof px;
    const result = await scanAndRedact(file, first, { detector, codec, config, recognizer });
    const frame = result.changed.get(0) ?? px.decodeFrame(0);
    const boxes = result.boxes.find((b) => b.frame === 0)?.boxes ?? [];
    const thumb = downscale(toRgb8(frame, px.module.palette), THUMB_MAX);
    for (const b of boxes) {
      const s = thumb.scale;
      outline(
        thumb,
        { x0: Math.floor(b.x0 * s), y0: Math.floor(b.y0 * s), x1: Math.ceil(b.x1 * s), y1: Math.ceil(b.y1 * s) },
        b.source.startsWith('region') ? COLOURS.region : COLOURS.detector,
      );
    }
    return {
      kind: 'png',
      png: encodePng(thumb.width, thumb.height, thumb.rgb),
      width: thumb.width,
      height: thumb.height,
      frame: 0,
      frames: px.frames,
      boxes: boxes.length,
    };
  } catch (e) {
    const code = isVeilError(e) ? e.code : ((e as { code?: string }).code ?? 'PIXELS_DECODE_FAILED');
    return { kind: 'none', reason: `No output pixels: the image could not be decoded (${code}).` };
  }
}

/** Previews of held jobs, rendered once per job and update. */
export class PreviewCache {
  readonly #o: PreviewOptions;
  readonly #cache = new Map<string, Promise<Preview>>();

  constructor(o: PreviewOptions) {
    this.#o = o;
  }

  get(job: Job): Promise<Preview> {
    const k = `${job.id}@${job.updatedAt}`;
    let p = this.#cache.get(k);
    if (p !== undefined) {
      this.#cache.delete(k);
    } else {
      p = renderPreview(job, this.#o);
    }
    this.#cache.set(k, p);
    while (this.#cache.size > 64) this.#cache.delete(this.#cache.keys().next().value as string);
    return p;
  }
}
