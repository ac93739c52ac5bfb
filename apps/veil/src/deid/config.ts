/**
 * The `veil deid` configuration file (.json, .yaml or .yml): the core's de-identification configuration (see
 * parseDeidConfig in @veil/core) plus the app's own keys, which are taken out before the rest goes to the core:
 *
 *   layout: mirror | hierarchy   output file layout (default mirror)
 *
 * With no file, the Basic Profile with no options: parseDeidConfig({}). Errors name the file and the setting, never
 * a value (a lookup table in a config can hold identities).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { type DeidConfig, isVeilError, parseDeidConfig } from '@veil/core';
import type { PixelTextConfig } from '@veil/pixels/config';
import { checkDefaceOptions } from '../deface/options.ts';
import { pixelTextConfig } from '../pixels/config.ts';
import { type DetectorLevels, parseVerifySection } from '../verify/levels.ts';
import { CliError, EXIT_CONFIG } from './cli-error.ts';

export type Layout = 'mirror' | 'hierarchy';

export interface RunConfig {
  readonly layout: Layout;
  /** What the core parses (JSON-compatible, so it can be posted to worker threads and parsed there again). */
  readonly deidInput: Record<string, unknown>;
  readonly deid: DeidConfig;
  /** The verify section: detector levels for the release gate (undefined: defaults). */
  readonly verifyLevels: DetectorLevels | undefined;
  /** The burned-in text stage's settings (pixels.text), with the app's default: on. */
  readonly pixelText: PixelTextConfig;
}

const APP_KEYS = new Set(['layout', '$schema', 'verify']);

// The YAML parser is loaded when a YAML file is read: it costs ~40 ms of start-up that a run without one need not pay.
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text, { prettyErrors: false });
}

export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(EXIT_CONFIG, `cannot read config ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.json') {
    try {
      return JSON.parse(text);
    } catch {
      throw new CliError(EXIT_CONFIG, `config ${path} is not valid JSON`);
    }
  }
  if (ext === '.yaml' || ext === '.yml') {
    try {
      return parseYaml(text);
    } catch (e) {
      const line = (e as { linePos?: { line: number }[] }).linePos?.[0]?.line;
      throw new CliError(EXIT_CONFIG, `config ${path} is not valid YAML${line ? ` (line ${line})` : ''}`);
    }
  }
  throw new CliError(EXIT_CONFIG, `config ${path}: use a .json, .yaml or .yml file`);
}

/** Splits app keys from core keys and validates both; `origin` names the file in messages. */
export function parseRunConfig(input: unknown, origin = 'config'): RunConfig {
  if (input === null || input === undefined) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new CliError(EXIT_CONFIG, `${origin}: the top level must be a mapping of settings`);
  }
  const raw = input as Record<string, unknown>;
  const layout = raw.layout ?? 'mirror';
  if (layout !== 'mirror' && layout !== 'hierarchy') {
    throw new CliError(EXIT_CONFIG, `${origin}: layout must be "mirror" or "hierarchy"`);
  }
  const deidInput: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!APP_KEYS.has(k)) deidInput[k] = v;
  let deid: DeidConfig;
  try {
    deid = parseDeidConfig(deidInput);
  } catch (e) {
    if (isVeilError(e)) {
      throw new CliError(EXIT_CONFIG, `${origin}: invalid setting${e.path ? ` at ${e.path}` : ''} (${e.code})`);
    }
    throw e;
  }
  const pixelText = checkPixelText(deidInput, origin);
  checkDefaceOptions(deidInput, origin);
  return { layout, deidInput, deid, verifyLevels: parseVerifySection(raw.verify, origin), pixelText };
}

/** The burned-in text stage's section (pixels.text) is checked here, so that a mistake stops the run before it starts. */
export function checkPixelText(deidInput: Record<string, unknown>, origin: string): PixelTextConfig {
  try {
    return pixelTextConfig(deidInput.pixels);
  } catch (e) {
    if (isVeilError(e)) {
      throw new CliError(EXIT_CONFIG, `${origin}: invalid setting${e.path ? ` at ${e.path}` : ''} (${e.code})`);
    }
    throw e;
  }
}

export function loadRunConfig(path: string | undefined): RunConfig {
  if (path === undefined) return parseRunConfig({}, 'default config');
  return parseRunConfig(readConfigFile(path), `config ${path}`);
}
