/**
 * The app's default for the burned-in text stage (pixels.text, see @veil/pixels/config): ON in `veil deid`,
 * `veil serve` and `veil verify` when the configuration does not say. Turning it off is an explicit choice,
 * `pixels.text.enabled: false`, and then no output is claimed clean: Burned In Annotation NO and CID 7050 113101 are
 * written only by the stage that scanned the file. Light: no detector, no codec (the run reads it on the main thread).
 *
 * Example:
 *   pixelTextConfig(rawConfig.pixels).enabled   // true unless pixels.text.enabled is false
 */
import { type PixelTextConfig, parsePixelTextConfig } from '@veil/pixels/config';

/** Whether the stage runs when the configuration does not set pixels.text.enabled. */
export const PIXEL_STAGE_BY_DEFAULT = true;

/**
 * The `pixels.text` settings of a configuration's `pixels` section, with the app's default. Throws the VeilError of
 * parsePixelTextConfig (CONFIG_INVALID with the setting's path) on a bad section.
 */
export function pixelTextConfig(pixelsSection: unknown): PixelTextConfig {
  const pixels = pixelsSection && typeof pixelsSection === 'object' ? (pixelsSection as Record<string, unknown>) : {};
  return parsePixelTextConfig(pixels.text, { enabled: PIXEL_STAGE_BY_DEFAULT || pixels.cleanPixelData === true });
}
