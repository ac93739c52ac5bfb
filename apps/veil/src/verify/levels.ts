/**
 * The `verify` section of a de-identification configuration file, read by the app before the rest goes to the
 * core's parseDeidConfig (both `veil deid` and `veil verify` read it):
 *
 *   verify:
 *     detectors:
 *       known-name-part: off        # error | warn | off, per detector (see DETECTORS in @veil/core)
 *       burned-in-text-suspect: warn
 *
 * With no section every detector has its default level: fail closed. A name that is not a detector, or a level that
 * is not one of the three, is a configuration error (exit 3): a typo must not silently leave a check on or off.
 *
 * Example:
 *   parseVerifySection({ detectors: { 'known-name-part': 'off' } }, 'config deid.json'); // { 'known-name-part': 'off' }
 */
import { DETECTOR_NAMES, type DetectorLevel, isDetectorName } from '@veil/core';
import { CliError, EXIT_CONFIG } from '../deid/cli-error.ts';

export type DetectorLevels = Readonly<Record<string, DetectorLevel>>;

const LEVELS = new Set<string>(['error', 'warn', 'off']);

/** Validates a `verify` section; undefined when absent. */
export function parseVerifySection(value: unknown, origin = 'config'): DetectorLevels | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new CliError(EXIT_CONFIG, `${origin}: verify must be a mapping with a "detectors" mapping`);
  }
  for (const k of Object.keys(value)) {
    if (k !== 'detectors')
      throw new CliError(EXIT_CONFIG, `${origin}: verify has no setting "${k}" (only "detectors")`);
  }
  const detectors = (value as { detectors?: unknown }).detectors;
  if (detectors === undefined || detectors === null) return undefined;
  if (typeof detectors !== 'object' || Array.isArray(detectors)) {
    throw new CliError(EXIT_CONFIG, `${origin}: verify.detectors must map detector names to error, warn or off`);
  }
  const levels: Record<string, DetectorLevel> = {};
  for (const [name, level] of Object.entries(detectors)) {
    if (!isDetectorName(name)) {
      throw new CliError(
        EXIT_CONFIG,
        `${origin}: verify.detectors: unknown detector "${name.slice(0, 40)}" (known: ${DETECTOR_NAMES.join(', ')})`,
      );
    }
    if (typeof level !== 'string' || !LEVELS.has(level)) {
      throw new CliError(EXIT_CONFIG, `${origin}: verify.detectors.${name} must be error, warn or off`);
    }
    levels[name] = level as DetectorLevel;
  }
  return levels;
}
