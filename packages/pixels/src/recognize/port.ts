/**
 * The text recognizer port: reads one detected line (a box of an 8-bit RGB frame) and returns its text and
 * confidence. The app wires tesseract.js (tesseract.ts) only when `pixels.text.redact: identifying` is configured;
 * tests may wire their own.
 */
import type { Box } from '../box.ts';
import type { Rgb8 } from '../render.ts';
import type { RecognizedLine } from './classify.ts';

export interface TextRecognizer {
  recognize(image: Rgb8, box: Box): Promise<RecognizedLine>;
  /** Frees the recognizer's worker (idempotent). */
  close(): Promise<void>;
}
