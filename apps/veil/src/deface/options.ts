/**
 * The defacing section of a deid configuration, `pixels.deface` (the core validates
 * `pixels.cleanRecognizableVisualFeatures`, which turns defacing on, and leaves this section to the app):
 *
 *   pixels:
 *     cleanRecognizableVisualFeatures: true
 *     deface:
 *       mode: remove   # remove (default): the region becomes air / the MR background
 *                      # blur: the region becomes the volume blurred with a 24 mm Gaussian (a smooth, faint outline
 *                      # of the head stays; its features go); verified the same way as remove
 *
 * Example:
 *   const { mode } = parseDefaceOptions(deidInput.pixels);   // throws VeilError CONFIG_INVALID at pixels.deface.*
 */
import { isVeilError, VeilError } from '@veil/core';
import { CliError, EXIT_CONFIG } from '../deid/cli-error.ts';

export type DefaceMode = 'remove' | 'blur';

export interface DefaceOptions {
  readonly mode: DefaceMode;
}

const KEYS = new Set(['mode']);

export function parseDefaceOptions(pixels: unknown): DefaceOptions {
  const section =
    pixels && typeof pixels === 'object' && !Array.isArray(pixels)
      ? (pixels as Record<string, unknown>).deface
      : undefined;
  if (section === undefined) return { mode: 'remove' };
  if (!section || typeof section !== 'object' || Array.isArray(section)) {
    throw new VeilError('CONFIG_INVALID', { path: 'pixels.deface' });
  }
  const o = section as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!KEYS.has(k)) throw new VeilError('CONFIG_INVALID', { path: `pixels.deface.${k}` });
  const mode = o.mode ?? 'remove';
  if (mode !== 'remove' && mode !== 'blur') throw new VeilError('CONFIG_INVALID', { path: 'pixels.deface.mode' });
  return { mode };
}

/** parseDefaceOptions for a configuration file: a mistake stops the run before it starts (exit code 3). */
export function checkDefaceOptions(deidInput: Record<string, unknown>, origin: string): DefaceOptions {
  try {
    return parseDefaceOptions(deidInput.pixels);
  } catch (e) {
    if (isVeilError(e)) {
      throw new CliError(EXIT_CONFIG, `${origin}: invalid setting${e.path ? ` at ${e.path}` : ''} (${e.code})`);
    }
    throw e;
  }
}
