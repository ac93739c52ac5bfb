/**
 * App-side wiring of the pixel stages: the PP-OCR detector on onnxruntime-node and dcmjs-codecs' WASM codecs,
 * loaded once per thread (a deid worker, or the main thread), and the configuration's `pixels.text` section.
 *
 * Example:
 *   const stages = await loadPixelStages(rawConfig.pixels);   // [] only when pixels.text.enabled is false
 */
import type { ReleaseStage } from '@veil/core';
import {
  createPixelStages,
  type FrameCodec,
  loadDcmjsCodecs,
  loadPpOcrDetector,
  loadTesseractRecognizer,
  type TextDetector,
  type TextRecognizer,
} from '@veil/pixels';
import { pixelTextConfig } from './config.ts';

export { PIXEL_STAGE_BY_DEFAULT, pixelTextConfig } from './config.ts';

let tools: Promise<{ detector: TextDetector; codec: FrameCodec }> | undefined;

/** The detector and codecs of this thread (loaded on first use: ~0.2 s). */
export function pixelTools(): Promise<{ detector: TextDetector; codec: FrameCodec }> {
  tools ??= Promise.all([loadPpOcrDetector(), loadDcmjsCodecs()]).then(([detector, codec]) => ({ detector, codec }));
  return tools;
}

let recognizer: Promise<TextRecognizer> | undefined;

/** The line recognizer of this thread (tesseract.js, offline), loaded only under pixels.text.redact: identifying. */
export function pixelRecognizer(): Promise<TextRecognizer> {
  recognizer ??= loadTesseractRecognizer();
  return recognizer;
}

/**
 * The text stage and its verification for a configuration's `pixels` section: on unless pixels.text.enabled is
 * false (then [], and a configuration that also asks for pixels.cleanPixelData holds every image back:
 * PIXELS_STAGE_UNAVAILABLE). The detector is loaded once per thread (pixelTools).
 */
export async function loadPixelStages(pixelsSection: unknown): Promise<ReleaseStage[]> {
  const config = pixelTextConfig(pixelsSection);
  if (!config.enabled) return [];
  const { detector, codec } = await pixelTools();
  const reader = config.redact === 'identifying' ? await pixelRecognizer() : undefined;
  return createPixelStages({ detector, codec, config, recognizer: reader });
}
