/**
 * The configuration `veil verify --config FILE` checks against: the same file `veil deid` was given, split into the
 * core's de-identification configuration and the levels of its `verify` section (see levels.ts).
 *
 * Example:
 *   const { deid, levels } = loadVerifyConfig('deid.config.json');
 */
import { type DeidConfig, isVeilError, parseDeidConfig } from '@veil/core';
import type { PixelTextConfig } from '@veil/pixels/config';
import { CliError, EXIT_CONFIG } from '../deid/cli-error.ts';
import { checkPixelText, readConfigFile } from '../deid/config.ts';
import { type DetectorLevels, parseVerifySection } from './levels.ts';

/** Keys of the configuration file that belong to the app, not to parseDeidConfig. */
const APP_KEYS = new Set(['layout', '$schema', 'verify']);

export interface VerifyConfig {
  readonly deid: DeidConfig;
  readonly levels: DetectorLevels | undefined;
  /**
   * The pixel half (pixels.text, on by default): every image's pixels are scanned for text (VERIFY_PIXEL_TEXT); off
   * with pixels.text.enabled: false or pixels.text.verify: false.
   */
  readonly pixelText: PixelTextConfig;
}

/** Splits and validates a whole configuration (as read from a file). */
export function parseVerifyConfig(input: unknown, origin = 'config'): VerifyConfig {
  const raw = input === null || input === undefined ? {} : input;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CliError(EXIT_CONFIG, `${origin}: the top level must be a mapping of settings`);
  }
  const levels = parseVerifySection((raw as Record<string, unknown>).verify, origin);
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!APP_KEYS.has(k)) rest[k] = v;
  try {
    return { deid: parseDeidConfig(rest), levels, pixelText: checkPixelText(rest, origin) };
  } catch (e) {
    if (isVeilError(e)) {
      throw new CliError(EXIT_CONFIG, `${origin}: invalid setting${e.path ? ` at ${e.path}` : ''} (${e.code})`);
    }
    throw e;
  }
}

/** The configuration `veil verify --config FILE` checks against; the defaults without a file. */
export function loadVerifyConfig(path: string | undefined): VerifyConfig {
  if (path === undefined) return parseVerifyConfig({}, 'default config');
  return parseVerifyConfig(readConfigFile(path), `config ${path}`);
}
