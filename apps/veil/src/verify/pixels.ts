/**
 * The pixel half of `veil verify`: every image's pixels, as they are in the file, scanned again by the burned-in text
 * detector (the same detector and `redact: all` rule as the release gate's pixels:verify stage): a text line holds the
 * file back (detector 'pixel-text', code VERIFY_PIXEL_TEXT, error). An image Veil cannot decode or scan is an error
 * with the decoder's code (PIXELS_UNSUPPORTED_ENCODING, PIXELS_DECODE_FAILED...), or, when the configuration passes
 * its SOP class or modality (pixels.text.pass), a warning PIXELS_PASSED_UNSCANNED: nothing is claimed about it.
 * On by default; off with pixels.text.enabled: false or pixels.text.verify: false in --config.
 *
 * Example:
 *   const check = await loadPixelCheck(pixelTextConfig(raw.pixels));   // undefined when turned off
 *   const findings = check ? await check(file) : [];
 */
import type { DicomFile, VerifyFinding } from '@veil/core';
import type { PixelTextConfig } from '@veil/pixels/config';

export type PixelCheck = (file: DicomFile) => Promise<VerifyFinding[]>;

const TAG = '(7FE0,0010)';

export async function loadPixelCheck(config: PixelTextConfig): Promise<PixelCheck | undefined> {
  if (!config.enabled || !config.verify) return undefined;
  const [{ EmptyFrames, verifyOutputPixels }, { pixelRecognizer, pixelTools }] = await Promise.all([
    import('@veil/pixels'),
    import('../pixels/stages.ts'),
  ]);
  const { detector, codec } = await pixelTools();
  const recognizer = config.redact === 'identifying' ? await pixelRecognizer() : undefined;
  const cache = new EmptyFrames();
  return async (file) => {
    const v = await verifyOutputPixels(file, [], { detector, codec, config, recognizer }, cache);
    if (v.kind === 'scanned') {
      return v.lines === 0
        ? []
        : [
            {
              detector: 'pixel-text',
              tagPath: TAG,
              level: 'error',
              masked: `<${v.lines} line(s)>`,
              code: 'VERIFY_PIXEL_TEXT',
            },
          ];
    }
    if (v.kind === 'unscannable') {
      return v.passed
        ? [{ detector: 'pixel-text', tagPath: TAG, level: 'warn', masked: '', code: 'PIXELS_PASSED_UNSCANNED' }]
        : [{ detector: 'pixel-text', tagPath: TAG, level: 'error', masked: '', code: v.code }];
    }
    return [];
  };
}
