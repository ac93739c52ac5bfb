/**
 * The text detector port: an 8-bit RGB frame in, text line boxes (frame coordinates) out. The app wires the
 * PP-OCR implementation (ppocr.ts); tests may wire their own.
 */
import type { Box } from '../box.ts';
import type { Rgb8 } from '../render.ts';

export interface TextDetector {
  detect(image: Rgb8): Promise<Box[]>;
  /**
   * Optional: the detector run on one rectangle of the frame only, resized by `scale` (boxes in frame coordinates,
   * no pre-filter). Used to look again, closer, along a line already found (strips.ts).
   */
  detectIn?(image: Rgb8, rect: { x: number; y: number; w: number; h: number }, scale: number): Promise<Box[]>;
}
