/**
 * The de-identification policy: what happens to one element, decided from the configuration (compiled once per
 * configuration object) without touching the output. Order of decisions for an element of the dataset, at every depth
 * of nested sequences:
 *   1. a site override whose selector matches (most specific, then last);
 *   2. private attributes: removed, unless kept as safe private (PS3.15 Table E.3.10-1) or by TCIA's knowledge base
 *      (privateDecision; walk.ts finds the creator and removes orphans);
 *   3. Patient's Name, Patient ID and Accession Number get keyed pseudonyms (a dummy the Basic Profile allows);
 *   4. the PS3.15 Table E.1-1 rule with the option columns applied (profile.ts); what happens to Overlay Data decides
 *      the whole overlay group (decideOverlayData);
 *   5. attributes the table does not list: kept, except any PN, DA, DT, TM (treated as X/Z/D, dates with the
 *      temporal options), tags unknown to the PS3.6 dictionary (removed), and inside sequences whose action is D
 *      (text dummies) or C (free text cleaned). See README.md for the reasoning.
 *
 * Example:
 *   const d = decide(run, findElement(ds, 0x00100010)!, 'normal'); // { action: 'pseudoName', rule: 'pseudonym' }
 */

import type { DicomElement } from '../dicom/dataset.ts';
import { lookupTag } from '../dicom/dictionary/index.ts';
import * as Tag from '../dicom/dictionary/tags.ts';
import { type CompiledOverride, compileOverrides, type DeidConfig, type OverrideAction } from './config.ts';
import { DUMMY_VRS, FREE_TEXT_VRS } from './dummy-values.ts';
import { longitudinalTemporalInformationModified, methodCodes, methodText } from './method.ts';
import { isSafePrivate, tciaDisposition } from './private-tags.ts';
import { type CompiledProfile, compileProfile, ruleFor } from './profile.ts';
import type { Run } from './run.ts';
import { selectorMatches, specificity } from './selector.ts';

/** How the elements of a container are handled: as themselves, inside a C sequence, inside a D sequence. */
export type Mode = 'normal' | 'clean' | 'dummy';

export type Action =
  | 'K'
  | 'X'
  | 'Z'
  | 'D'
  | 'U'
  | 'C'
  | 'shift'
  | 'hash'
  | 'replace'
  | 'pseudoName'
  | 'pseudoId'
  | 'pseudoAccession';

export interface Decision {
  readonly action: Action;
  readonly rule: string;
  readonly value?: string;
}

const DATE_VRS = new Set(['DA', 'DT', 'TM']);

/** Precomputed per configuration object (a config is not expected to change once parsed). */
export interface Compiled {
  readonly profile: CompiledProfile;
  /** Overrides whose last segment is a standard tag, by that tag, least specific first. */
  readonly overridesByTag: ReadonlyMap<number, readonly CompiledOverride[]>;
  /** Overrides whose last segment is private, least specific first. */
  readonly privateOverrides: readonly CompiledOverride[];
  readonly allow: ReadonlySet<string> | undefined;
  readonly methodValue: string;
  readonly methodCodes: ReturnType<typeof methodCodes>;
  readonly ltim: string;
  /** The encoded De-identification Method Code Sequence value, per dataset syntax (never mutated once built). */
  readonly codeSequences: Map<string, Uint8Array>;
}

const compiledCache = new WeakMap<DeidConfig, Compiled>();

export function compile(config: DeidConfig): Compiled {
  const cached = compiledCache.get(config);
  if (cached) return cached;
  const overrides = compileOverrides(config.overrides).sort(
    (a, b) => specificity(a.selector) - specificity(b.selector) || a.index - b.index,
  );
  const byTag = new Map<number, CompiledOverride[]>();
  const priv: CompiledOverride[] = [];
  for (const o of overrides) {
    const last = o.selector.segments.at(-1)!;
    if (last.kind === 'private') priv.push(o);
    else {
      const list = byTag.get(last.tag);
      if (list) list.push(o);
      else byTag.set(last.tag, [o]);
    }
  }
  const compiled: Compiled = {
    profile: compileProfile(config.options),
    overridesByTag: byTag,
    privateOverrides: priv,
    allow: config.sopClassAllowList === undefined ? undefined : new Set(config.sopClassAllowList),
    methodValue: methodText(config).join('\\'),
    methodCodes: methodCodes(config),
    ltim: longitudinalTemporalInformationModified(config),
    codeSequences: new Map(),
  };
  compiledCache.set(config, compiled);
  return compiled;
}

function overrideDecision(o: OverrideAction): Decision {
  switch (o.action) {
    case 'keep':
      return { action: 'K', rule: 'override' };
    case 'remove':
      return { action: 'X', rule: 'override' };
    case 'empty':
      return { action: 'Z', rule: 'override' };
    case 'replace':
      return { action: 'replace', rule: 'override', value: o.value };
    case 'hash':
      return { action: 'hash', rule: 'override' };
    case 'shift':
      return { action: 'shift', rule: 'override' };
  }
}

/** A UID attribute that names a kind of thing (class, syntax, scheme), not an instance: never remapped. */
function isStructuralUID(keyword: string): boolean {
  return /ClassUID|SOPClass|TransferSyntax|CodingScheme|MappingResource|CreatorVersionUID/.test(keyword);
}

/** The site override for an element at the run's current path (`creator` for a private one), if any. */
export function overrideFor(run: Run, el: DicomElement, creator?: string): Decision | undefined {
  const c = run.compiled;
  const candidates = creator === undefined ? c.overridesByTag.get(el.tag) : c.privateOverrides;
  if (!candidates || candidates.length === 0) return undefined;
  const full = [...run.path, { tag: el.tag, creator }];
  for (let i = candidates.length - 1; i >= 0; i--) {
    const o = candidates[i]!;
    if (selectorMatches(o.selector, full)) return overrideDecision(o.override);
  }
  return undefined;
}

/** What happens to Overlay Data (60xx,3000) of this group decides the fate of the whole overlay group. */
export function decideOverlayData(run: Run, group: number): Decision {
  const tag = ((group << 16) | 0x3000) >>> 0;
  const candidates = run.compiled.overridesByTag.get(tag);
  if (candidates) {
    const full = [...run.path, { tag, creator: undefined }];
    for (let i = candidates.length - 1; i >= 0; i--) {
      if (selectorMatches(candidates[i]!.selector, full)) return overrideDecision(candidates[i]!.override);
    }
  }
  const rule = ruleFor(run.compiled.profile, tag);
  if (!rule) return { action: 'K', rule: 'unlisted' };
  // Clean Graphics (C): Veil has no stage that reads an overlay bitmap for text, so the overlay is cleaned by removing
  // it, group and all, as the Basic Profile does; its method code then claims nothing that was not done.
  if (rule.action === 'C') return { action: 'X', rule: rule.rule };
  return { action: rule.action, rule: rule.rule };
}

// The decisions decide() gives most often, made once: one object per element was garbage for the collector, file
// after file. Decisions are never mutated.
const PSEUDO_NAME: Decision = { action: 'pseudoName', rule: 'pseudonym' };
const PSEUDO_ID: Decision = { action: 'pseudoId', rule: 'pseudonym' };
const PSEUDO_ACCESSION: Decision = { action: 'pseudoAccession', rule: 'pseudonym' };
const UNKNOWN: Decision = { action: 'X', rule: 'unknown' };
const UNLISTED: Decision = { action: 'K', rule: 'unlisted' };
const DUMMY_IN_D: Decision = { action: 'D', rule: 'sequence:D' };
const UID_IN_D: Decision = { action: 'U', rule: 'sequence:D' };
const DUMMY_IN_C: Decision = { action: 'D', rule: 'sequence:C' };
const CLEAN_IN_C: Decision = { action: 'C', rule: 'sequence:C' };
const UID_IN_C: Decision = { action: 'U', rule: 'sequence:C' };
const KEEP_FULL_DATES: Decision = { action: 'K', rule: 'option:retainLongitudinalFullDates' };
const CLEAN_MODIFIED_DATES: Decision = { action: 'C', rule: 'option:retainLongitudinalModifiedDates' };
const CLEAN_DESCRIPTORS: Decision = { action: 'C', rule: 'option:cleanDescriptors' };
/** { action: 'D', rule: 'vr:<VR>' } by VR (dates, times and person names). */
const DUMMY_BY_VR = new Map<string, Decision>();
function dummyByVR(vr: string): Decision {
  let d = DUMMY_BY_VR.get(vr);
  if (d === undefined) {
    d = { action: 'D', rule: `vr:${vr}` };
    DUMMY_BY_VR.set(vr, d);
  }
  return d;
}

/** The decision for a standard (even group) element. */
export function decide(run: Run, el: DicomElement, mode: Mode): Decision {
  const o = overrideFor(run, el);
  if (o) return o;
  const tag = el.tag;
  if (tag === Tag.PatientName) return PSEUDO_NAME;
  if (tag === Tag.PatientID) return PSEUDO_ID;
  if (tag === Tag.AccessionNumber) return PSEUDO_ACCESSION;
  const rule = ruleFor(run.compiled.profile, tag);
  if (rule) return rule.decision;
  const entry = lookupTag(tag);
  if (entry === undefined) return UNKNOWN;
  const vr = run.vrOf(el);
  const options = run.config.options;
  if (mode === 'dummy') {
    if (DUMMY_VRS.has(vr)) return DUMMY_IN_D;
    if (vr === 'UI' && !isStructuralUID(entry.keyword)) return UID_IN_D;
    return UNLISTED;
  }
  if (DATE_VRS.has(vr)) {
    if (options.retainLongitudinalFullDates) return KEEP_FULL_DATES;
    if (options.retainLongitudinalModifiedDates) return CLEAN_MODIFIED_DATES;
    return mode === 'clean' ? DUMMY_IN_C : dummyByVR(vr);
  }
  if (vr === 'PN') return mode === 'clean' ? DUMMY_IN_C : dummyByVR('PN');
  if (mode === 'clean') {
    if (FREE_TEXT_VRS.has(vr)) return CLEAN_IN_C;
    if (vr === 'UI' && !isStructuralUID(entry.keyword)) return UID_IN_C;
  } else if (options.cleanDescriptors && FREE_TEXT_VRS.has(vr)) {
    return CLEAN_DESCRIPTORS;
  }
  return UNLISTED;
}

/**
 * The decision for a private data element whose block has a creator (`creator`, normalized): an override, else the
 * private tag policy (remove; safe private; TCIA's disposition), with dates following the temporal options.
 */
export function privateDecision(run: Run, el: DicomElement, creator: string): Decision {
  const d = overrideFor(run, el, creator);
  if (d) return d;
  const tag = el.tag;
  const e = tag & 0xffff;
  const vr = el.vr;
  const policy = run.config.privateTags;
  let p: Decision;
  if (policy === 'remove') p = { action: 'X', rule: 'basic' };
  else if (isSafePrivate(tag >>> 16, e & 0xff, creator, vr)) p = { action: 'K', rule: 'option:retainSafePrivate' };
  else if (policy === 'tcia') {
    const disp = tciaDisposition(signature(run, el, creator), vr);
    p =
      disp === 'k'
        ? { action: 'K', rule: 'tcia' }
        : disp === 'h'
          ? { action: 'hash', rule: 'tcia' }
          : disp === 'o'
            ? { action: 'shift', rule: 'tcia' }
            : { action: 'X', rule: 'tcia' };
  } else p = { action: 'X', rule: 'option:retainSafePrivate' };
  // A private attribute known to be safe may still hold a date, and TCIA's 'o' is a date: dates follow the
  // temporal options as anywhere (kept with Full Dates, modified with Modified Dates, else removed).
  if ((p.action === 'K' && (vr === 'DA' || vr === 'DT')) || p.action === 'shift') {
    const o = run.config.options;
    if (o.retainLongitudinalFullDates) p = { action: 'K', rule: p.rule };
    else if (o.retainLongitudinalModifiedDates) p = { action: 'shift', rule: p.rule };
    else p = { action: 'X', rule: p.rule };
  }
  return p;
}

/** TCIA's element signature: the path from the top, `GGGGEEEE` or `GGGG"creator"EE` per step. */
function signature(run: Run, el: DicomElement, creator: string): string {
  const seg = (tag: number, c: string | undefined): string => {
    const hex = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
    return c === undefined ? hex : `${hex.slice(0, 4)}"${c}"${hex.slice(6)}`;
  };
  let s = '';
  for (const step of run.path) s += `${seg(step.tag, step.creator)}/`;
  return s + seg(el.tag, creator);
}
