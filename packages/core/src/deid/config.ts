/**
 * The de-identification configuration: profile, options, per-tag overrides, private tag policy, date handling,
 * SOP class allow-list and the pseudonym lookup table. parseDeidConfig validates any JSON-like input and fills the
 * defaults; an error names the JSON path of the bad field (never its value).
 *
 * Defaults are the strictest: the Basic Profile with no option, private tags removed, dates modified by shifting
 * (which only matters where an option or override keeps dates modified), shifts of at most 365 days.
 *
 * Example:
 *   const config = parseDeidConfig({ options: { retainUIDs: true }, overrides: [
 *     { selector: 'PatientBirthDate', override: { action: 'shift' } } ] });
 */
import { z } from 'zod';
import { VeilError } from '../dicom/errors.ts';
import type { DateMode } from '../pseudonym/date-shift.ts';
import { type DeidOptions, NO_OPTIONS, OPTION_KEYS } from './options.ts';
import { parseSelector, type Selector } from './selector.ts';

export type { DeidOptions } from './options.ts';

export type OverrideAction =
  | { action: 'keep' }
  | { action: 'remove' }
  | { action: 'empty' }
  | { action: 'replace'; value: string }
  | { action: 'hash' }
  | { action: 'shift' };

export interface TagOverride {
  /**
   * "(0010,0010)", "PatientName", "(0029,\"SIEMENS CSA HEADER\",10)" (private: group, creator, element low byte),
   * or a path "(0040,A730)/(0010,0010)" from the top, "*.(0010,0010)" at any depth. See selector.ts.
   */
  selector: string;
  override: OverrideAction;
}

export type PrivateTagPolicy = 'safe-private' | 'tcia' | 'remove';

export interface DeidConfig {
  profile: 'basic';
  options: DeidOptions;
  overrides: TagOverride[];
  /**
   * 'remove': every private attribute goes. 'safe-private': those of PS3.15 Table E.3.10-1 stay (Retain Safe Private
   * Option). 'tcia': those TCIA's private tag knowledge base keeps stay as well, its hash/offset dispositions apply.
   * Anything but 'remove' implies options.retainSafePrivate, and options.retainSafePrivate implies at least
   * 'safe-private' (parseDeidConfig makes the two agree).
   */
  privateTags: PrivateTagPolicy;
  /**
   * How dates are modified where they are modified rather than removed: under Retain Longitudinal Temporal
   * Information with Modified Dates (dates in kept private tags included), and by a 'shift' override. 'shift': by the
   * patient's keyed offset, in [-maxShiftDays, maxShiftDays], never 0; 'year': YYYY0101; 'remove': emptied.
   */
  dates: { mode: DateMode; maxShiftDays: number };
  /** SOP Class UIDs allowed through; others are quarantined (SOP_CLASS_NOT_ALLOWED). undefined: all. */
  sopClassAllowList: string[] | undefined;
  /** Original Patient ID -> study subject ID. A patient missing from a given table is quarantined. */
  lookup: ReadonlyMap<string, string> | undefined;
  /** Prefix of the pseudonymous Patient's Name (the name is prefix + pseudonymous Patient ID). */
  patientNamePrefix: string;
  /**
   * Veil additions: whether the pixel stage cleans burned-in text (Clean Pixel Data Option) and recognizable
   * features (Clean Recognizable Visual Features Option). The header step then records the codes and sets Burned In
   * Annotation / Recognizable Visual Features to NO. Default false.
   */
  pixels?: { cleanPixelData: boolean; cleanRecognizableVisualFeatures: boolean };
}

/** A validated override with its parsed selector (what the engine uses). */
export interface CompiledOverride {
  readonly selector: Selector;
  readonly override: OverrideAction;
  readonly index: number;
}

const UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;
/** Printable ASCII without backslash: safe in every text VR and character set. */
const PLAIN_ASCII = /^[\x20-\x5b\x5d-\x7e]*$/;

const optionsSchema = z.strictObject(
  Object.fromEntries(OPTION_KEYS.map((k) => [k, z.boolean().default(NO_OPTIONS[k])])) as Record<
    keyof DeidOptions,
    z.ZodDefault<z.ZodBoolean>
  >,
);

const overrideActionSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('keep') }),
  z.strictObject({ action: z.literal('remove') }),
  z.strictObject({ action: z.literal('empty') }),
  z.strictObject({ action: z.literal('replace'), value: z.string().max(1024 * 1024) }),
  z.strictObject({ action: z.literal('hash') }),
  z.strictObject({ action: z.literal('shift') }),
]);

const lookupSchema = z.union([
  z.instanceof(Map),
  z.record(z.string(), z.string()),
  z.array(z.tuple([z.string(), z.string()])),
]);

const schema = z.strictObject({
  profile: z.literal('basic').default('basic'),
  options: optionsSchema.default({ ...NO_OPTIONS }),
  overrides: z
    .array(z.strictObject({ selector: z.string().min(1).max(1000), override: overrideActionSchema }))
    .default([]),
  privateTags: z.enum(['safe-private', 'tcia', 'remove']).default('remove'),
  dates: z
    .strictObject({
      mode: z.enum(['shift', 'year', 'remove']).default('shift'),
      maxShiftDays: z.number().int().min(1).max(36500).default(365),
    })
    .default({ mode: 'shift', maxShiftDays: 365 }),
  sopClassAllowList: z.array(z.string().max(64).regex(UID)).optional(),
  lookup: lookupSchema.optional(),
  patientNamePrefix: z.string().max(32).regex(PLAIN_ASCII).default(''),
  pixels: z
    .strictObject({
      cleanPixelData: z.boolean().default(false),
      cleanRecognizableVisualFeatures: z.boolean().default(false),
    })
    .default({ cleanPixelData: false, cleanRecognizableVisualFeatures: false }),
});

/** "$.overrides[2].selector": the JSON path of a field. Lookup keys are Patient IDs (PHI): never named. */
function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (let i = 0; i < path.length; i++) {
    const p = path[i]!;
    if (i === 1 && path[0] === 'lookup') break;
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += `.${p}`;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

function invalid(path: readonly PropertyKey[]): VeilError {
  return new VeilError('CONFIG_INVALID', { path: jsonPath(path) });
}

function toLookup(input: unknown): ReadonlyMap<string, string> {
  const entries: [unknown, unknown][] =
    input instanceof Map
      ? [...input.entries()]
      : Array.isArray(input)
        ? (input as [unknown, unknown][])
        : Object.entries(input as Record<string, unknown>);
  const map = new Map<string, string>();
  for (const [k, v] of entries) {
    // Subject IDs become Patient ID (LO) and part of Patient's Name: 1-64 plain ASCII characters.
    if (typeof k !== 'string' || typeof v !== 'string') throw invalid(['lookup']);
    if (v.trim() === '' || v.length > 64 || !PLAIN_ASCII.test(v) || v.includes('^') || v.includes('=')) {
      throw invalid(['lookup']);
    }
    map.set(k.trim(), v.trim());
  }
  return map;
}

/**
 * Validates a configuration and fills defaults. Throws VeilError('CONFIG_INVALID', { path }) with the JSON path of
 * the first bad field, e.g. '$.options.retainUIDs' or '$.overrides[0].selector'.
 */
export function parseDeidConfig(input: unknown): DeidConfig {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = [...issue.path];
    if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
    throw invalid(path);
  }
  const c = parsed.data;
  const options: DeidOptions = { ...c.options };
  if (options.retainLongitudinalFullDates && options.retainLongitudinalModifiedDates) {
    throw invalid(['options', 'retainLongitudinalModifiedDates']);
  }
  if (options.retainLongitudinalModifiedDates && c.dates.mode === 'remove') throw invalid(['dates', 'mode']);
  let privateTags: PrivateTagPolicy = c.privateTags;
  if (privateTags !== 'remove') options.retainSafePrivate = true;
  else if (options.retainSafePrivate) privateTags = 'safe-private';
  const overrides: TagOverride[] = c.overrides.map((o, i) => {
    if (parseSelector(o.selector) === undefined) throw invalid(['overrides', i, 'selector']);
    return { selector: o.selector, override: { ...o.override } as OverrideAction };
  });
  const pixelsCfg = { ...c.pixels };
  return {
    profile: 'basic',
    options,
    overrides,
    privateTags,
    dates: { mode: c.dates.mode, maxShiftDays: c.dates.maxShiftDays },
    sopClassAllowList: c.sopClassAllowList === undefined ? undefined : [...c.sopClassAllowList],
    lookup: c.lookup === undefined ? undefined : toLookup(c.lookup),
    patientNamePrefix: c.patientNamePrefix,
    pixels: pixelsCfg,
  };
}

/** The overrides with parsed selectors; throws CONFIG_INVALID for a selector that does not parse. */
export function compileOverrides(overrides: readonly TagOverride[]): CompiledOverride[] {
  return overrides.map((o, index) => {
    const selector = parseSelector(o.selector);
    if (selector === undefined) throw invalid(['overrides', index, 'selector']);
    return { selector, override: o.override, index };
  });
}
