/**
 * The state of one de-identification run over one file, and what every stage of it shares: recording an action
 * (never a value), writing an edit, the VR a value is read with, and the keyed transforms (UID remapping, the
 * patient's date shift, the free-text scrubber, date modification).
 *
 * The stages are separate modules that take the run: policy.ts decides what happens to an element, apply.ts carries a
 * decision out, walk.ts visits the dataset (and its sequences), file-meta.ts handles the file meta information, and
 * method.ts adds the attributes that describe the de-identification. engine.ts runs them in that order.
 *
 * Example:
 *   const run = new Run(file, config, compile(config), key, patientId);
 *   walkDataset(run); walkMeta(run); addMethodAttributes(run);
 */

import { encodeText } from '../dicom/charset/specific-character-set.ts';
import type { DicomElement, DicomFile } from '../dicom/dataset.ts';
import { lookupPrivate, lookupTag } from '../dicom/dictionary/index.ts';
import * as Tag from '../dicom/dictionary/tags.ts';
import { VeilError } from '../dicom/errors.ts';
import { DEFAULT_SCAN_LIMITS } from '../dicom/limits.ts';
import type { Edit } from '../dicom/rewriter.ts';
import { elementPath } from '../dicom/tag-path.ts';
import { characterSetOf, findElement, readString } from '../dicom/value.ts';
import { dateShiftDays, transformDate } from '../pseudonym/date-shift.ts';
import { patientKey, pseudoPatientId, pseudoPatientName } from '../pseudonym/patient.ts';
import { remapUID } from '../pseudonym/uid.ts';
import { buildScrubber, collectIdentifyingValues, type IdentifyingValues } from './clean-text.ts';
import type { DeidConfig } from './config.ts';
import type { Compiled } from './policy.ts';
import type { PathStep } from './selector.ts';

/** Cleans one free-text value; `values` are the identifying values the file itself holds. Must be pure. */
export type FreeTextCleaner = (text: string, values: IdentifyingValues) => string;

export interface ActionRecord {
  /** Where, e.g. '(0040,A730)[2](0040,A123)'. Never a value. */
  readonly tagPath: string;
  readonly keyword: string;
  /** 'X', 'Z', 'D', 'U', 'K', 'C', 'shift', 'hash', 'replace', or 'add' (an attribute Veil inserts). */
  readonly action: string;
  /**
   * Why: 'basic' (Table E.1-1 Basic Profile column), 'option:<key>', 'override', 'pseudonym', 'tcia', 'vr:<VR>'
   * (unlisted attribute handled by its VR), 'sequence:D' / 'sequence:C' (inside a sequence so handled), 'unknown'
   * (not in the dictionary), 'meta' (file meta information), 'hipaa:age', 'method' (attributes Veil adds).
   */
  readonly rule: string;
}

export function isSequence(el: DicomElement): boolean {
  return el.items !== undefined || el.vr === 'SQ';
}

export function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** One de-identification run over one file. */
export class Run {
  readonly edits: Edit[] = [];
  readonly actions: ActionRecord[] = [];
  quarantine: { code: string; path: string } | undefined;
  readonly quarantines: { code: string; path: string }[] = [];
  /** Steps from the top-level dataset to the container being walked. */
  readonly path: PathStep[] = [];
  private readonly uids = new Map<string, string>();
  private scrubber: ((text: string, path: string) => string) | undefined;
  private shift: number | undefined;
  shifted = false;
  /** Final values of top-level attributes the identity and the file meta depend on. */
  newSopInstanceUID: string | undefined;
  newStudyUID: string | undefined;
  readonly patientKey: string;
  readonly pseudoId: string;
  readonly pseudoName: string;

  constructor(
    readonly file: DicomFile,
    readonly config: DeidConfig,
    readonly compiled: Compiled,
    readonly key: Uint8Array,
    readonly originalPatientId: string | undefined,
    readonly cleanFreeText?: FreeTextCleaner,
  ) {
    const ds = file.dataset;
    const text = (tag: number) => {
      const el = findElement(ds, tag);
      return el && !isSequence(el) ? readString(el) : undefined;
    };
    this.patientKey = patientKey({
      patientId: originalPatientId,
      patientName: text(Tag.PatientName),
      birthDate: text(Tag.PatientBirthDate),
      fallback: `study:${text(Tag.StudyInstanceUID) ?? text(Tag.SOPInstanceUID) ?? ''}`,
    });
    this.pseudoId = pseudoPatientId(this.patientKey, key, config.lookup, originalPatientId);
    this.pseudoName = pseudoPatientName(this.pseudoId, config.patientNamePrefix);
  }

  setQuarantine(code: string, path: string): void {
    this.quarantine ??= { code, path };
    if (!this.quarantines.some((q) => q.code === code && q.path === path)) this.quarantines.push({ code, path });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Recording and writing

  record(el: DicomElement, action: string, rule: string, creator?: string): void {
    let keyword = '';
    if ((el.tag >>> 16) % 2 === 1) {
      const e = el.tag & 0xffff;
      if (e >= 0x10 && e <= 0xff) keyword = 'PrivateCreator';
      else if (creator !== undefined) keyword = lookupPrivate(creator, el.tag)?.keyword ?? '';
    } else keyword = lookupTag(el.tag)?.keyword ?? '';
    this.actions.push({ tagPath: elementPath(el), keyword, action, rule });
  }

  remove(el: DicomElement, rule: string, creator?: string): void {
    this.edits.push({ op: 'remove', element: el });
    this.record(el, 'X', rule, creator);
  }

  writeBytes(el: DicomElement, value: Uint8Array, vr: string): void {
    this.edits.push(vr === el.vr ? { op: 'replace', element: el, value } : { op: 'replace', element: el, value, vr });
  }

  /** Replaces a text value, encoded in the element's character set. */
  writeText(el: DicomElement, text: string, vr: string, action: string, rule: string, creator?: string): void {
    let bytes: Uint8Array;
    try {
      bytes = encodeText(text, characterSetOf(el.parent), vr);
    } catch (e) {
      if (e instanceof VeilError && e.code === 'CHARSET_UNENCODABLE') {
        this.setQuarantine('CHARSET_UNENCODABLE', elementPath(el));
        this.remove(el, rule, creator);
        return;
      }
      throw e;
    }
    this.writeBytes(el, bytes, vr);
    this.record(el, action, rule, creator);
  }

  /** The VR to interpret and write the value with: the dictionary's where the stream says UN. */
  vrOf(el: DicomElement, creator?: string): string {
    if (el.vr !== 'UN' && el.vr !== '') return el.vr;
    const entry = (el.tag >>> 16) % 2 === 1 ? creator && lookupPrivate(creator, el.tag) : lookupTag(el.tag);
    const vr = entry ? entry.vr : '';
    return /^[A-Z]{2}$/.test(vr) && vr !== 'SQ' ? vr : el.vr;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Pseudonyms and transforms

  uid(value: string): string {
    let out = this.uids.get(value);
    if (out === undefined) {
      out = remapUID(value, this.key);
      this.uids.set(value, out);
    }
    return out;
  }

  remapAll(value: string): string {
    return value
      .split('\\')
      .map((v) => this.uid(v))
      .join('\\');
  }

  shiftDays(): number {
    this.shift ??= dateShiftDays(this.patientKey, this.key, this.config.dates.maxShiftDays);
    return this.shift;
  }

  /**
   * Cleans one free-text value (`path`: its tag path). The injected text engine reads at most
   * limits.maxFreeTextChars characters per file (its cost grows with the text): past that the file is quarantined
   * (DEID_FREE_TEXT_LIMIT) and the rest is cleaned by the built-in scrubber alone.
   */
  scrub(text: string, path: string): string {
    if (this.scrubber === undefined) {
      const values = collectIdentifyingValues(this.file.dataset, this.config.options);
      const builtIn = buildScrubber(values);
      const injected = this.cleanFreeText;
      const budget = this.config.limits?.maxFreeTextChars ?? DEFAULT_SCAN_LIMITS.maxFreeTextChars;
      let used = 0;
      this.scrubber = injected
        ? (t, where) => {
            used += t.length;
            if (used <= budget) return builtIn(injected(t, values));
            this.setQuarantine('DEID_FREE_TEXT_LIMIT', where);
            return builtIn(t);
          }
        : builtIn;
    }
    return this.scrubber(text, path);
  }

  /** Applies the configured date method to a DA/DT value (or text that reads as one); undefined: not a date. */
  modifyDate(el: DicomElement, vr: string, rule: string, creator?: string): boolean {
    const value = readString(el);
    const asVR: 'DA' | 'DT' = vr === 'DA' ? 'DA' : 'DT';
    const mode = this.config.dates.mode;
    const out = value === '' ? '' : transformDate(value, asVR, mode, mode === 'shift' ? this.shiftDays() : 0);
    if (out === undefined) return false;
    if (out === value) return true;
    if (mode === 'shift' && out !== '') this.shifted = true;
    this.writeText(el, out, vr, out === '' ? 'Z' : mode === 'shift' ? 'shift' : 'C', rule, creator);
    return true;
  }
}
