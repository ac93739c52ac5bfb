/**
 * The burned-in text stage's configuration: the `pixels.text` section of a `veil deid` / `veil serve` configuration.
 * The app decides whether the stage runs when `enabled` is not given (apps/veil/src/pixels/stages.ts: `veil deid`
 * and `veil serve` run it by default); once on, it runs on every image and removes every detected line (`redact: all`)
 * or only the lines read as identifying (`redact: identifying`, recognize/).
 *
 *   pixels:
 *     cleanPixelData: true         # the core's key: asks for Clean Pixel Data (the stage must earn it)
 *     text:
 *       enabled: true              # run the stage (default in veil deid / serve / verify: true); false: never,
 *                                  # and then Burned In Annotation NO / 113101 are never claimed
 *       redact: all                # 'all' (default): every detected text line is filled; 'identifying': each line
 *                                  # is read (tesseract.js, offline) and kept only when confidently recognised as
 *                                  # not identifying (no header value in any form, no date/ID/time pattern)
 *       margin: 3                  # pixels added around each box
 *       closerLooks: true          # look again along and around each found line (up-scaled strips, a view
 *                                  # stretched at the dark end, a view of the top value alone on bright frames):
 *                                  # more small and low-contrast text found, at ~1.2-3x the scan time of a frame
 *                                  # with text; false: the single detector pass
 *       lossy: dct                 # a lossy input with text: 'dct' (JPEG baseline/extended redacted in the DCT
 *                                  # domain, blanked MCUs, the rest bit-exact; other lossy syntaxes quarantined),
 *                                  # 'quarantine', or
 *                                  # 'explicit-little-endian' to write its decoded, redacted pixels uncompressed
 *       verify: true               # the pixel half of the release gate (VERIFY_PIXEL_TEXT)
 *       pass:                      # images Veil cannot decode or scan that may go out unscanned (never claimed
 *                                  # clean); any other such image is quarantined (PIXELS_UNSUPPORTED_ENCODING...)
 *         sopClasses: []
 *         modalities: []
 *       regions: []                # extra region rules (regions.ts format), added to the built-in library
 *
 * Example:
 *   const cfg = parsePixelTextConfig(raw.pixels?.text);
 */
import { VeilError } from '@veil/core';
import { parseRegionLibrary, type RegionRule } from './regions.ts';

export interface PixelTextConfig {
  readonly enabled: boolean;
  /** 'all': every detected line is filled; 'identifying': lines read (OCR) and confidently classified as not
   * identifying (recognize/classify.ts) are kept, the rest filled. */
  readonly redact: 'all' | 'identifying';
  readonly margin: number;
  /** Closer looks along and around found lines in the text stage (detect/strips.ts, detect/views.ts). */
  readonly closerLooks: boolean;
  readonly lossy: 'dct' | 'quarantine' | 'explicit-little-endian';
  readonly verify: boolean;
  readonly pass: { readonly sopClasses: readonly string[]; readonly modalities: readonly string[] };
  readonly regions: readonly RegionRule[];
}

export const DEFAULT_PIXEL_TEXT_CONFIG: PixelTextConfig = {
  enabled: true,
  redact: 'all',
  margin: 3,
  closerLooks: true,
  lossy: 'dct',
  verify: true,
  pass: { sopClasses: [], modalities: [] },
  regions: [],
};

const KEYS = new Set(['enabled', 'redact', 'margin', 'closerLooks', 'lossy', 'verify', 'pass', 'regions']);

function strings(v: unknown, path: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new VeilError('CONFIG_INVALID', { path });
  return v as string[];
}

/** Validates the section; errors are CONFIG_INVALID with the setting's path, never a value. */
export function parsePixelTextConfig(input: unknown, defaults: { readonly enabled?: boolean } = {}): PixelTextConfig {
  const enabledDefault = defaults.enabled ?? DEFAULT_PIXEL_TEXT_CONFIG.enabled;
  if (input === undefined || input === null) return { ...DEFAULT_PIXEL_TEXT_CONFIG, enabled: enabledDefault };
  if (typeof input !== 'object' || Array.isArray(input)) throw new VeilError('CONFIG_INVALID', { path: 'pixels.text' });
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new VeilError('CONFIG_INVALID', { path: `pixels.text.${k}` });
  const bool = (k: string, d: boolean): boolean => {
    const v = o[k];
    if (v === undefined) return d;
    if (typeof v !== 'boolean') throw new VeilError('CONFIG_INVALID', { path: `pixels.text.${k}` });
    return v;
  };
  const redact = o.redact ?? 'all';
  if (redact !== 'all' && redact !== 'identifying')
    throw new VeilError('CONFIG_INVALID', { path: 'pixels.text.redact' });
  const margin = o.margin ?? DEFAULT_PIXEL_TEXT_CONFIG.margin;
  if (typeof margin !== 'number' || !Number.isInteger(margin) || margin < 0 || margin > 64) {
    throw new VeilError('CONFIG_INVALID', { path: 'pixels.text.margin' });
  }
  const lossy = o.lossy ?? DEFAULT_PIXEL_TEXT_CONFIG.lossy;
  if (lossy !== 'dct' && lossy !== 'quarantine' && lossy !== 'explicit-little-endian') {
    throw new VeilError('CONFIG_INVALID', { path: 'pixels.text.lossy' });
  }
  const passIn = o.pass ?? {};
  if (typeof passIn !== 'object' || passIn === null || Array.isArray(passIn)) {
    throw new VeilError('CONFIG_INVALID', { path: 'pixels.text.pass' });
  }
  const p = passIn as Record<string, unknown>;
  for (const k of Object.keys(p)) {
    if (k !== 'sopClasses' && k !== 'modalities')
      throw new VeilError('CONFIG_INVALID', { path: `pixels.text.pass.${k}` });
  }
  return {
    enabled: bool('enabled', enabledDefault),
    redact,
    margin,
    closerLooks: bool('closerLooks', true),
    lossy,
    verify: bool('verify', true),
    pass: {
      sopClasses: strings(p.sopClasses, 'pixels.text.pass.sopClasses'),
      modalities: strings(p.modalities, 'pixels.text.pass.modalities').map((m) => m.toUpperCase()),
    },
    regions: o.regions === undefined ? [] : parseRegionLibrary(o.regions),
  };
}
