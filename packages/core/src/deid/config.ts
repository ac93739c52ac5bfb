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
import { VeilError } from '../dicom/errors.ts';
import { parseScanLimits, type ScanLimits } from '../dicom/limits.ts';
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
  /** Scanner caps against hostile input (dicom/limits.ts); parseDeidConfig fills the defaults. */
  limits?: ScanLimits;
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

// The schema, checked by hand: this module loads in every worker thread, and a schema library (zod: ~90 ms to
// import) cost more start-up than the rest of the core. Each check throws CONFIG_INVALID with the JSON path of the
// first bad field; known fields are checked in order, then unknown keys.
type Path = readonly (string | number)[];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map);
}

function record(v: unknown, path: Path): Record<string, unknown> {
  if (!isRecord(v)) throw invalid(path);
  return v;
}

function noOtherKeys(v: Record<string, unknown>, path: Path, keys: readonly string[]): void {
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw invalid([...path, k]);
}

function bool(v: unknown, path: Path, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw invalid(path);
  return v;
}

function oneOf<T extends string>(v: unknown, path: Path, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw invalid(path);
  return v as T;
}

function text(v: unknown, path: Path, rule: { min?: number; max: number; pattern?: RegExp }): string {
  if (typeof v !== 'string' || v.length < (rule.min ?? 0) || v.length > rule.max) throw invalid(path);
  if (rule.pattern && !rule.pattern.test(v)) throw invalid(path);
  return v;
}

function list(v: unknown, path: Path): unknown[] {
  if (!Array.isArray(v)) throw invalid(path);
  return v;
}

const ACTIONS = ['keep', 'remove', 'empty', 'replace', 'hash', 'shift'] as const;

function overrideAction(v: unknown, path: Path): OverrideAction {
  const o = record(v, path);
  const action = o.action;
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action))
    throw invalid([...path, 'action']);
  if (action === 'replace') {
    const value = text(o.value, [...path, 'value'], { max: 1024 * 1024 });
    noOtherKeys(o, path, ['action', 'value']);
    return { action, value };
  }
  noOtherKeys(o, path, ['action']);
  return { action } as OverrideAction;
}

function isLookupInput(v: unknown): boolean {
  if (v instanceof Map || isRecord(v)) return true;
  return Array.isArray(v) && v.every((e) => Array.isArray(e) && e.length === 2);
}

interface Checked {
  options: DeidOptions;
  overrides: TagOverride[];
  privateTags: PrivateTagPolicy;
  dates: { mode: DateMode; maxShiftDays: number };
  sopClassAllowList: string[] | undefined;
  lookup: unknown;
  patientNamePrefix: string;
  pixels: { cleanPixelData: boolean; cleanRecognizableVisualFeatures: boolean };
}

const TOP_KEYS = [
  'profile',
  'options',
  'overrides',
  'privateTags',
  'dates',
  'sopClassAllowList',
  'lookup',
  'patientNamePrefix',
  'pixels',
  'limits',
];

function check(input: unknown): Checked {
  const c = record(input, []);
  if (c.profile !== undefined && c.profile !== 'basic') throw invalid(['profile']);
  const optionsIn = c.options === undefined ? {} : record(c.options, ['options']);
  const options = { ...NO_OPTIONS };
  for (const k of OPTION_KEYS) options[k] = bool(optionsIn[k], ['options', k], NO_OPTIONS[k]);
  noOtherKeys(optionsIn, ['options'], OPTION_KEYS);
  const overrides = (c.overrides === undefined ? [] : list(c.overrides, ['overrides'])).map((o, i) => {
    const path = ['overrides', i];
    const r = record(o, path);
    const selector = text(r.selector, [...path, 'selector'], { min: 1, max: 1000 });
    const override = overrideAction(r.override, [...path, 'override']);
    noOtherKeys(r, path, ['selector', 'override']);
    return { selector, override };
  });
  const privateTags = oneOf(c.privateTags, ['privateTags'], ['safe-private', 'tcia', 'remove'] as const, 'remove');
  const datesIn = c.dates === undefined ? {} : record(c.dates, ['dates']);
  const mode = oneOf(datesIn.mode, ['dates', 'mode'], ['shift', 'year', 'remove'] as const, 'shift');
  const max = datesIn.maxShiftDays ?? 365;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 36500) {
    throw invalid(['dates', 'maxShiftDays']);
  }
  noOtherKeys(datesIn, ['dates'], ['mode', 'maxShiftDays']);
  const sopClassAllowList =
    c.sopClassAllowList === undefined
      ? undefined
      : list(c.sopClassAllowList, ['sopClassAllowList']).map((u, i) =>
          text(u, ['sopClassAllowList', i], { max: 64, pattern: UID }),
        );
  if (c.lookup !== undefined && !isLookupInput(c.lookup)) throw invalid(['lookup']);
  const patientNamePrefix =
    c.patientNamePrefix === undefined
      ? ''
      : text(c.patientNamePrefix, ['patientNamePrefix'], { max: 32, pattern: PLAIN_ASCII });
  const pixelsIn = c.pixels === undefined ? {} : record(c.pixels, ['pixels']);
  const pixels = {
    cleanPixelData: bool(pixelsIn.cleanPixelData, ['pixels', 'cleanPixelData'], false),
    cleanRecognizableVisualFeatures: bool(
      pixelsIn.cleanRecognizableVisualFeatures,
      ['pixels', 'cleanRecognizableVisualFeatures'],
      false,
    ),
  };
  // pixels.text belongs to the burned-in text stage (@veil/pixels), pixels.deface to the defacing pass (mode):
  // the app validates and configures both.
  noOtherKeys(pixelsIn, ['pixels'], ['cleanPixelData', 'cleanRecognizableVisualFeatures', 'text', 'deface']);
  noOtherKeys(c, [], TOP_KEYS);
  return {
    options,
    overrides,
    privateTags,
    dates: { mode, maxShiftDays: max },
    sopClassAllowList,
    lookup: c.lookup,
    patientNamePrefix,
    pixels,
  };
}

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
  const c = check(input ?? {});
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
    return o;
  });
  const pixelsCfg = { ...c.pixels };
  const limits = parseScanLimits((input as Record<string, unknown> | null | undefined)?.limits);
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
    limits,
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
