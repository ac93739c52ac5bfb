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

let tools: Promise<{ detector: TextDetector; codec: FrameCodec }> | undefined;

/** The detector and codecs of this thread (loaded on first use: ~0.2 s). */
export function pixelTools(): Promise<{ detector: TextDetector; codec: FrameCodec }> {
  tools ??= Promise.all([loadPpOcrDetector(), loadDcmjsCodecs()]).then(([detector, codec]) => ({ detector, codec }));
  return tools;
}

/** The `pixels` section of a raw configuration split: the text stage's own keys, and what the core parses. */
export function splitPixelsSection(pixels: unknown): { text: unknown; core: unknown } {
  if (!pixels || typeof pixels !== 'object' || Array.isArray(pixels)) return { text: undefined, core: pixels };
  const { text, ...core } = pixels as Record<string, unknown>;
  return { text, core };
}

export async function loadPixelStages(textSection: unknown): Promise<ReleaseStage[]> {
  const config: PixelTextConfig = parsePixelTextConfig(textSection);
  if (!config.enabled) return [];
  const { detector, codec } = await pixelTools();
  return createPixelStages({ detector, codec, config });
}
