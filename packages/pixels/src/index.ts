/**
 * @veil/pixels: pixel data access for every transfer syntax, burned-in text detection (PP-OCR on onnxruntime) and
 * the region library, redaction, and the pixel stages of the release path.
 *
 * Example:
 *   import { createPixelStages, loadDcmjsCodecs, loadPpOcrDetector, parsePixelTextConfig } from '@veil/pixels';
 *   const stages = createPixelStages({
 *     detector: await loadPpOcrDetector(), codec: await loadDcmjsCodecs(), config: parsePixelTextConfig(undefined),
 *   });
 */
export * from './box.ts';
export * from './codecs/dcmjs.ts';
export * from './codecs/port.ts';
export * from './config.ts';
export * from './decode.ts';
export * from './detect/db-postprocess.ts';
export * from './detect/extend.ts';
export * from './detect/port.ts';
export * from './detect/ppocr.ts';
export * from './detect/prefilter.ts';
export * from './fragments.ts';
export * from './frame.ts';
export * from './native.ts';
export * from './pixel-module.ts';
export * from './recognize/classify.ts';
export * from './recognize/port.ts';
export * from './recognize/tesseract.ts';
export * from './redact.ts';
export * from './regions.ts';
export * from './render.ts';
export * from './rle.ts';
export * from './stage.ts';
export * from './write-back.ts';
