/**
 * App-side wiring of the pixel stages: the PP-OCR detector on onnxruntime-node and dcmjs-codecs' WASM codecs,
 * loaded once per thread (a deid worker, or the main thread), and the configuration's `pixels.text` section.
 *
 * Example:
 *   const stages = await loadPixelStages(rawConfig.pixels?.text);   // [] when the config turns the stage off
 */
import type { ReleaseStage } from '@veil/core';
import {
  createPixelStages,
  type FrameCodec,
  loadDcmjsCodecs,
  loadPpOcrDetector,
  type PixelTextConfig,
  parsePixelTextConfig,
  type TextDetector,
} from '@veil/pixels';

/** Whether the stage runs with no pixels section at all. */
export const PIXEL_STAGE_BY_DEFAULT = false;

let tools: Promise<{ detector: TextDetector; codec: FrameCodec }> | undefined;

/** The detector and codecs of this thread (loaded on first use: ~0.2 s). */
export function pixelTools(): Promise<{ detector: TextDetector; codec: FrameCodec }> {
  tools ??= Promise.all([loadPpOcrDetector(), loadDcmjsCodecs()]).then(([detector, codec]) => ({ detector, codec }));
  return tools;
}

/**
 * The text stage and its verification for a configuration's `pixels` section. The stage runs when pixels.text.enabled
 * is true, or, when that is not given, when pixels.cleanPixelData asks for Clean Pixel Data. (Not by default yet: with
 * the stage on, OCR runs on every image of every run, which the project's test budget has not been set for; the
 * switch is PIXEL_STAGE_BY_DEFAULT.)
 */
export async function loadPixelStages(pixelsSection: unknown): Promise<ReleaseStage[]> {
  const pixels = pixelsSection && typeof pixelsSection === 'object' ? (pixelsSection as Record<string, unknown>) : {};
  const config: PixelTextConfig = parsePixelTextConfig(pixels.text, {
    enabled: PIXEL_STAGE_BY_DEFAULT || pixels.cleanPixelData === true,
  });
  if (!config.enabled) return [];
  const { detector, codec } = await pixelTools();
  return createPixelStages({ detector, codec, config });
}
