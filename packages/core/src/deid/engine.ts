/**
 * The de-identification engine: turns a scanned file and a configuration into a list of byte-range edits (for
 * rewrite()), a record of what was done to which attribute (no values), the identities for the encrypted crosswalk
 * and, when the file must not go out, a quarantine code.
 *
 * Order of decisions for each element of the dataset, at every depth of nested sequences (the file meta has its own
 * rules, see walkMeta):
 *   1. a site override whose selector matches (most specific, then last);
 *   2. private attributes: removed, unless kept as safe private (PS3.15 Table E.3.10-1) or by TCIA's knowledge base,
 *      with their creator elements; orphans (no creator) are always removed;
 *   3. Patient's Name, Patient ID and Accession Number get keyed pseudonyms (a dummy the Basic Profile allows);
 *   4. the PS3.15 Table E.1-1 rule with the option columns applied (profile.ts); removing Overlay Data removes the
 *      whole overlay group (60xx,xxxx) so that no half overlay stays;
 *   5. attributes the table does not list: kept, except any PN, DA, DT, TM (treated as X/Z/D, dates with the
 *      temporal options), tags unknown to the PS3.6 dictionary (removed), and inside sequences whose action is D
 *      (text dummies) or C (free text cleaned). See README.md for the reasoning.
 *
 * Example:
 *   const config = parseDeidConfig({ options: { retainPatientCharacteristics: true } });
 *   const result = deidentify(file, config, { key });
 *   if (!result.quarantine) out = writeDeidentified(file, result);
 */

import { encodeText } from '../dicom/charset/specific-character-set.ts';
import type { DicomElement, DicomFile, ElementContainer } from '../dicom/dataset.ts';
import { lookupPrivate, lookupTag } from '../dicom/dictionary/index.ts';
import { VeilError } from '../dicom/errors.ts';
import { type Edit, materialize, planRewrite, type RewritePlan, zeroPrefix } from '../dicom/rewriter.ts';
import { formatTag } from '../dicom/tag.ts';
import { elementPath } from '../dicom/tag-path.ts';
import { characterSetOf, findElement, readString } from '../dicom/value.ts';
import { hashText, pseudoAccession } from '../pseudonym/accession.ts';
import { capAge, dateShiftDays, transformDate } from '../pseudonym/date-shift.ts';
import { MIN_KEY_BYTES } from '../pseudonym/hmac.ts';
import { patientKey, pseudoPatientId, pseudoPatientName } from '../pseudonym/patient.ts';
import { remapUID } from '../pseudonym/uid.ts';
import { buildScrubber, collectIdentifyingValues, type IdentifyingValues } from './clean-text.ts';
import { type CompiledOverride, compileOverrides, type DeidConfig, type OverrideAction } from './config.ts';
import { DUMMY_VRS, dummyBinary, dummyText, FREE_TEXT_VRS, maxLength } from './dummy-values.ts';
import {
  BURNED_IN_ANNOTATION,
  DEIDENTIFICATION_METHOD,
  DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
  encodeMethodCodeSequence,
  LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
  longitudinalTemporalInformationModified,
  methodCodes,
  methodText,
  PATIENT_IDENTITY_REMOVED,
  RECOGNIZABLE_VISUAL_FEATURES,
} from './method.ts';
import { isSafePrivate, normalizeCreator, tciaDisposition } from './private-tags.ts';
import { type CompiledProfile, compileProfile, ruleFor } from './profile.ts';
import { type PathStep, selectorMatches, specificity } from './selector.ts';

export interface DeidKeys {
  /** The project secret, at least 32 bytes. */
  readonly key: Uint8Array;
  /**
   * An injected free-text de-identifier (the app passes @veil/text's textCleaner): called first on every free-text
   * value the C action cleans (Clean Descriptors, Clean Structured Content...), with the file's identifying values;
   * the built-in scrubber still runs after it as a safety net. Absent: the built-in scrubber alone.
   */
  readonly cleanFreeText?: FreeTextCleaner | undefined;
}

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

export interface DeidResult {
  readonly edits: Edit[];
  readonly actions: ActionRecord[];
  /**
   * Set when the output must not be released as is: SOP_CLASS_NOT_ALLOWED, PATIENT_NOT_IN_LOOKUP,
   * DEID_DICOMDIR (directory offsets would be wrong), DICOM_TRUNCATED (the input is cut short: the attributes Veil adds
   * at the end of the dataset are left out), DEID_ENCAPSULATED_DOCUMENT (its content cannot be
   * de-identified here), CHARSET_UNENCODABLE (an override value; the element was removed instead). The edits are
   * complete all the same, so a caller that writes them anyway leaks nothing the profile removes.
   */
  readonly quarantine: { code: string; path: string } | undefined;
  /** Every reason to hold the file back, in the order found (the first is `quarantine`); empty when none. */
  readonly quarantines: readonly { code: string; path: string }[];
  /** PHI: only for the encrypted crosswalk. */
  readonly identity: {
    patientId?: string;
    pseudoPatientId?: string;
    accession?: string;
    pseudoAccession?: string;
    studyUID?: string;
    pseudoStudyUID?: string;
  };
  /** The patient's date shift, when at least one value was shifted. */
  readonly dateShiftDays: number | undefined;
  /** The preamble (first 128 bytes) may hold anything (TIFF headers...): writeDeidentified() zeroes it. */
  readonly clearPreamble: boolean;
}

type Mode = 'normal' | 'clean' | 'dummy';

type Action =
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

interface Decision {
  readonly action: Action;
  readonly rule: string;
  readonly value?: string;
}

const PATIENT_NAME = 0x00100010;
const PATIENT_ID = 0x00100020;
const PATIENT_BIRTH_DATE = 0x00100030;
const ACCESSION_NUMBER = 0x00080050;
const SOP_CLASS_UID = 0x00080016;
const SOP_INSTANCE_UID = 0x00080018;
const STUDY_INSTANCE_UID = 0x0020000d;
const MEDIA_STORAGE_SOP_CLASS_UID = 0x00020002;
const MEDIA_STORAGE_SOP_INSTANCE_UID = 0x00020003;
const IMPLEMENTATION_CLASS_UID = 0x00020012;
const IMPLEMENTATION_VERSION_NAME = 0x00020013;
const ENCAPSULATED_DOCUMENT = 0x00420011;
const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';

/** Veil's Implementation Class UID (a UUID-derived UID, PS3.5 B.2) and version name for the replaced file meta. */
export const VEIL_IMPLEMENTATION_CLASS_UID = '2.25.207889143209717914049383426425385498317';
export const VEIL_IMPLEMENTATION_VERSION_NAME = 'VEIL_0_1';

/** File meta elements kept as they are; (0002,0003), (0002,0012), (0002,0013) are replaced, all others removed. */
const META_KEPT = new Set([0x00020000, 0x00020001, 0x00020002, 0x00020010]);

const DATE_VRS = new Set(['DA', 'DT', 'TM']);

/** Code Value, Code Meaning, Long Code Value, URN Code Value: cleaned only in codes of local coding schemes. */
const CODE_TEXT = new Set([0x00080100, 0x00080104, 0x00080119, 0x00080120]);
/**
 * Coding schemes whose codes and meanings are published (PS3.16 Table 8-1): their code items identify no one. Local
 * schemes (99xxx, L, vendor names) may carry local identities and are cleaned like any text (PS3.15 E.1.1 note on C).
 */
const STANDARD_SCHEMES = new Set([
  'DCM',
  'SCT',
  'SRT',
  'SNM3',
  'LN',
  'UCUM',
  'FMA',
  'RADLEX',
  'NCIt',
  'UMLS',
  'MDC',
  'ICD10',
  'I10',
  'I9C',
  'ACR',
  'NEU',
  'MSH',
  'HL7',
  'RFC5646',
  'ISO3166_1',
  'NICIP',
  'DC',
  'BARI',
  'ITIS_TSN',
  'NCBI',
  'PUBCHEM_CID',
  'UBERON',
  'CLO',
  'RO',
  'ICDO3',
  'ICD10PCS',
  'BI',
  'CPT4',
  'C4',
  'C5',
  'NDC',
  'RXNORM',
  'UNS',
]);

function isStandardCode(item: ElementContainer): boolean {
  const scheme = findElement(item, 0x00080102);
  return scheme !== undefined && STANDARD_SCHEMES.has(readString(scheme).trim());
}

/** Scanner findings after which the end of the dataset is not where a re-reader will find it. */
const TRUNCATION_FINDINGS = new Set(['ITEM_TRUNCATED', 'ITEM_UNTERMINATED', 'SEQUENCE_UNTERMINATED']);

const METHOD_KEYWORDS: Readonly<Record<number, string>> = {
  [PATIENT_IDENTITY_REMOVED]: 'PatientIdentityRemoved',
  [DEIDENTIFICATION_METHOD]: 'DeidentificationMethod',
  [DEIDENTIFICATION_METHOD_CODE_SEQUENCE]: 'DeidentificationMethodCodeSequence',
  [BURNED_IN_ANNOTATION]: 'BurnedInAnnotation',
  [RECOGNIZABLE_VISUAL_FEATURES]: 'RecognizableVisualFeatures',
  [LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED]: 'LongitudinalTemporalInformationModified',
};

/** Precomputed per configuration object (a config is not expected to change once parsed). */
interface Compiled {
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

function compile(config: DeidConfig): Compiled {
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

function isSequence(el: DicomElement): boolean {
  return el.items !== undefined || el.vr === 'SQ';
}

/** A UID attribute that names a kind of thing (class, syntax, scheme), not an instance: never remapped. */
function isStructuralUID(keyword: string): boolean {
  return /ClassUID|SOPClass|TransferSyntax|CodingScheme|MappingResource|CreatorVersionUID/.test(keyword);
}

function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** One de-identification run over one file. */
class Run {
  readonly edits: Edit[] = [];
  readonly actions: ActionRecord[] = [];
  quarantine: { code: string; path: string } | undefined;
  readonly quarantines: { code: string; path: string }[] = [];
  /** Steps from the top-level dataset to the container being walked. */
  private readonly path: PathStep[] = [];
  private readonly uids = new Map<string, string>();
  private scrubber: ((text: string) => string) | undefined;
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
      patientName: text(PATIENT_NAME),
      birthDate: text(PATIENT_BIRTH_DATE),
      fallback: `study:${text(STUDY_INSTANCE_UID) ?? text(SOP_INSTANCE_UID) ?? ''}`,
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

  private record(el: DicomElement, action: string, rule: string, creator?: string): void {
    let keyword = '';
    if ((el.tag >>> 16) % 2 === 1) {
      const e = el.tag & 0xffff;
      if (e >= 0x10 && e <= 0xff) keyword = 'PrivateCreator';
      else if (creator !== undefined) keyword = lookupPrivate(creator, el.tag)?.keyword ?? '';
    } else keyword = lookupTag(el.tag)?.keyword ?? '';
    this.actions.push({ tagPath: elementPath(el), keyword, action, rule });
  }

  private remove(el: DicomElement, rule: string, creator?: string): void {
    this.edits.push({ op: 'remove', element: el });
    this.record(el, 'X', rule, creator);
  }

  private writeBytes(el: DicomElement, value: Uint8Array, vr: string): void {
    this.edits.push(vr === el.vr ? { op: 'replace', element: el, value } : { op: 'replace', element: el, value, vr });
  }

  /** Replaces a text value, encoded in the element's character set. */
  private writeText(el: DicomElement, text: string, vr: string, action: string, rule: string, creator?: string): void {
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
  private vrOf(el: DicomElement, creator?: string): string {
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

  private remapAll(value: string): string {
    return value
      .split('\\')
      .map((v) => this.uid(v))
      .join('\\');
  }

  shiftDays(): number {
    this.shift ??= dateShiftDays(this.patientKey, this.key, this.config.dates.maxShiftDays);
    return this.shift;
  }

  private scrub(text: string): string {
    if (this.scrubber === undefined) {
      const values = collectIdentifyingValues(this.file.dataset, this.config.options);
      const builtIn = buildScrubber(values);
      const injected = this.cleanFreeText;
      this.scrubber = injected ? (t) => builtIn(injected(t, values)) : builtIn;
    }
    return this.scrubber(text);
  }

  /** Applies the configured date method to a DA/DT value (or text that reads as one); undefined: not a date. */
  private modifyDate(el: DicomElement, vr: string, rule: string, creator?: string): boolean {
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

  // -------------------------------------------------------------------------------------------------------------
  // Walking

  walkDataset(): void {
    const skip = new Set([PATIENT_IDENTITY_REMOVED, DEIDENTIFICATION_METHOD, DEIDENTIFICATION_METHOD_CODE_SEQUENCE]);
    skip.add(LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED);
    this.walk(this.file.dataset, 'normal', skip);
  }

  private walk(container: ElementContainer, mode: Mode, skip?: ReadonlySet<number>): void {
    let creators: Map<number, DicomElement> | undefined;
    let keptBlocks: Set<number> | undefined;
    let overlays: Map<number, Decision> | undefined;
    for (const el of container.elements) {
      const tag = el.tag;
      const group = tag >>> 16;
      if (skip?.has(tag)) continue;
      if ((group & 1) === 1) {
        const e = tag & 0xffff;
        if (e >= 0x10 && e <= 0xff) {
          creators ??= new Map();
          creators.set(tag, el);
          continue;
        }
        keptBlocks ??= new Set();
        if (this.privateElement(el, creators, mode)) keptBlocks.add(((group << 8) | (e >>> 8)) >>> 0);
        continue;
      }
      if ((group & 0xff00) === 0x6000) {
        overlays ??= new Map();
        let od = overlays.get(group);
        if (od === undefined) {
          od = this.decideOverlayData(group);
          overlays.set(group, od);
        }
        if (od.action === 'X' && !this.overrideFor(el)) {
          this.remove(el, od.rule);
          continue;
        }
      }
      if ((tag & 0xffff) === 0) continue; // group length: the rewriter keeps it right
      this.apply(el, this.decide(el, mode), mode);
    }
    if (creators) {
      for (const [tag, el] of creators) {
        const block = (((tag >>> 16) << 8) | (tag & 0xff)) >>> 0;
        if (keptBlocks?.has(block)) continue;
        this.remove(el, this.config.privateTags === 'remove' ? 'basic' : 'option:retainSafePrivate');
      }
    }
  }

  private recurse(el: DicomElement, mode: Mode, creator?: string): void {
    if (!el.items || el.items.length === 0) return;
    this.path.push({ tag: el.tag, creator });
    for (const item of el.items) this.walk(item, mode);
    this.path.pop();
  }

  private overrideFor(el: DicomElement, creator?: string): Decision | undefined {
    const c = this.compiled;
    const candidates = creator === undefined ? c.overridesByTag.get(el.tag) : c.privateOverrides;
    if (!candidates || candidates.length === 0) return undefined;
    const full = [...this.path, { tag: el.tag, creator }];
    for (let i = candidates.length - 1; i >= 0; i--) {
      const o = candidates[i]!;
      if (selectorMatches(o.selector, full)) return overrideDecision(o.override);
    }
    return undefined;
  }

  /** What happens to Overlay Data (60xx,3000) of this group decides the fate of the whole overlay group. */
  private decideOverlayData(group: number): Decision {
    const tag = ((group << 16) | 0x3000) >>> 0;
    const candidates = this.compiled.overridesByTag.get(tag);
    if (candidates) {
      const full = [...this.path, { tag, creator: undefined }];
      for (let i = candidates.length - 1; i >= 0; i--) {
        if (selectorMatches(candidates[i]!.selector, full)) return overrideDecision(candidates[i]!.override);
      }
    }
    const rule = ruleFor(this.compiled.profile, tag);
    return rule ? { action: rule.action, rule: rule.rule } : { action: 'K', rule: 'unlisted' };
  }

  /** The decision for a standard (even group) element. */
  private decide(el: DicomElement, mode: Mode): Decision {
    const o = this.overrideFor(el);
    if (o) return o;
    const tag = el.tag;
    if (tag === PATIENT_NAME) return { action: 'pseudoName', rule: 'pseudonym' };
    if (tag === PATIENT_ID) return { action: 'pseudoId', rule: 'pseudonym' };
    if (tag === ACCESSION_NUMBER) return { action: 'pseudoAccession', rule: 'pseudonym' };
    const rule = ruleFor(this.compiled.profile, tag);
    if (rule) return { action: rule.action, rule: rule.rule };
    const entry = lookupTag(tag);
    if (entry === undefined) return { action: 'X', rule: 'unknown' };
    const vr = this.vrOf(el);
    const options = this.config.options;
    if (mode === 'dummy') {
      if (DUMMY_VRS.has(vr)) return { action: 'D', rule: 'sequence:D' };
      if (vr === 'UI' && !isStructuralUID(entry.keyword)) return { action: 'U', rule: 'sequence:D' };
      return { action: 'K', rule: 'unlisted' };
    }
    if (DATE_VRS.has(vr)) {
      if (options.retainLongitudinalFullDates) return { action: 'K', rule: 'option:retainLongitudinalFullDates' };
      if (options.retainLongitudinalModifiedDates) {
        return { action: 'C', rule: 'option:retainLongitudinalModifiedDates' };
      }
      return { action: 'D', rule: mode === 'clean' ? 'sequence:C' : `vr:${vr}` };
    }
    if (vr === 'PN') return { action: 'D', rule: mode === 'clean' ? 'sequence:C' : 'vr:PN' };
    if (mode === 'clean') {
      if (FREE_TEXT_VRS.has(vr)) return { action: 'C', rule: 'sequence:C' };
      if (vr === 'UI' && !isStructuralUID(entry.keyword)) return { action: 'U', rule: 'sequence:C' };
    } else if (options.cleanDescriptors && FREE_TEXT_VRS.has(vr)) {
      return { action: 'C', rule: 'option:cleanDescriptors' };
    }
    return { action: 'K', rule: 'unlisted' };
  }

  /** Decides and applies the rule for a private data element; returns whether it stays (its creator must too). */
  private privateElement(
    el: DicomElement,
    creators: ReadonlyMap<number, DicomElement> | undefined,
    mode: Mode,
  ): boolean {
    const tag = el.tag;
    const e = tag & 0xffff;
    const basicRule = this.config.privateTags === 'remove' ? 'basic' : 'option:retainSafePrivate';
    if (e < 0x1000) {
      this.remove(el, basicRule); // group length, or elements no creator can reserve
      return false;
    }
    // Creators (gggg,0010-00FF) precede the data elements of their group, so the walk has seen them already.
    const creatorEl = creators?.get((((tag >>> 16) << 16) | (e >>> 8)) >>> 0);
    const creator = creatorEl && !isSequence(creatorEl) ? normalizeCreator(readString(creatorEl)) : '';
    if (creator === '') {
      this.remove(el, basicRule);
      return false;
    }
    let d = this.overrideFor(el, creator);
    if (!d) {
      const vr = el.vr;
      if (this.config.privateTags === 'remove') d = { action: 'X', rule: 'basic' };
      else if (isSafePrivate(tag >>> 16, e & 0xff, creator, vr)) d = { action: 'K', rule: 'option:retainSafePrivate' };
      else if (this.config.privateTags === 'tcia') {
        const disp = tciaDisposition(this.signature(el, creator), vr);
        d =
          disp === 'k'
            ? { action: 'K', rule: 'tcia' }
            : disp === 'h'
              ? { action: 'hash', rule: 'tcia' }
              : disp === 'o'
                ? { action: 'shift', rule: 'tcia' }
                : { action: 'X', rule: 'tcia' };
      } else d = { action: 'X', rule: 'option:retainSafePrivate' };
      // A private attribute known to be safe may still hold a date, and TCIA's 'o' is a date: dates follow the
      // temporal options as anywhere (kept with Full Dates, modified with Modified Dates, else removed).
      if ((d.action === 'K' && (vr === 'DA' || vr === 'DT')) || d.action === 'shift') {
        const o = this.config.options;
        if (o.retainLongitudinalFullDates) d = { action: 'K', rule: d.rule };
        else if (o.retainLongitudinalModifiedDates) d = { action: 'shift', rule: d.rule };
        else d = { action: 'X', rule: d.rule };
      }
    }
    return this.apply(el, d, mode, creator);
  }

  /** TCIA's element signature: the path from the top, `GGGGEEEE` or `GGGG"creator"EE` per step. */
  private signature(el: DicomElement, creator: string): string {
    const seg = (tag: number, c: string | undefined): string => {
      const hex = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
      return c === undefined ? hex : `${hex.slice(0, 4)}"${c}"${hex.slice(6)}`;
    };
    let s = '';
    for (const step of this.path) s += `${seg(step.tag, step.creator)}/`;
    return s + seg(el.tag, creator);
  }

  /** Applies a decision; returns whether the element stays in the output (possibly changed). */
  private apply(el: DicomElement, d: Decision, mode: Mode, creator?: string): boolean {
    const seq = isSequence(el);
    const vr = seq ? 'SQ' : this.vrOf(el, creator);
    const top = el.parent === this.file.dataset;
    switch (d.action) {
      case 'X':
        this.remove(el, d.rule, creator);
        return false;
      case 'Z':
        if (el.length !== 0) {
          this.writeBytes(el, new Uint8Array(0), seq ? el.vr : vr);
          this.record(el, 'Z', d.rule, creator);
        }
        return true;
      case 'K': {
        if (seq) this.recurse(el, mode, creator);
        else if (vr === 'AS') {
          const capped = capAge(readString(el));
          if (capped !== undefined) {
            this.writeText(el, capped, vr, 'C', 'hipaa:age', creator);
            return true;
          }
        }
        if (top && el.tag === SOP_INSTANCE_UID) this.newSopInstanceUID = readString(el);
        if (top && el.tag === STUDY_INSTANCE_UID) this.newStudyUID = readString(el);
        if (d.rule !== 'unlisted') this.record(el, 'K', d.rule, creator);
        return true;
      }
      case 'U':
        if (seq) {
          this.record(el, 'U', d.rule, creator);
          this.recurse(el, mode, creator);
          return true;
        }
        return this.remapElement(el, vr, d.rule, top, creator);
      case 'D':
        if (seq) {
          this.record(el, 'D', d.rule, creator);
          this.recurse(el, 'dummy', creator);
          return true;
        }
        if (vr === 'UI') return this.remapElement(el, vr, d.rule, top, creator);
        if (el.length === 0) return true; // nothing to protect; an empty value stays empty
        if (top && el.tag === ENCAPSULATED_DOCUMENT) this.setQuarantine('DEID_ENCAPSULATED_DOCUMENT', elementPath(el));
        {
          const text = dummyText(vr);
          if (text !== undefined) this.writeText(el, text, vr, 'D', d.rule, creator);
          else {
            this.writeBytes(el, dummyBinary(vr), vr);
            this.record(el, 'D', d.rule, creator);
          }
        }
        return true;
      case 'C':
        if (seq) {
          this.record(el, 'C', d.rule, creator);
          this.recurse(el, mode === 'dummy' ? 'dummy' : 'clean', creator);
          return true;
        }
        return this.clean(el, vr, d.rule, creator);
      case 'shift':
        if (seq) {
          this.remove(el, d.rule, creator);
          return false;
        }
        if (vr === 'TM') {
          this.record(el, 'K', d.rule, creator);
          return true;
        }
        if (vr === 'DA' || vr === 'DT' || FREE_TEXT_VRS.has(vr) || vr === 'UN') {
          if (this.modifyDate(el, vr === 'DA' ? 'DA' : vr === 'DT' ? 'DT' : vr, d.rule, creator)) return true;
        }
        this.remove(el, d.rule, creator);
        return false;
      case 'hash': {
        if (seq) {
          this.remove(el, d.rule, creator);
          return false;
        }
        const value = readString(el);
        if (vr === 'UI' || (vr === 'UN' && /^[0-9.\\\0 ]+$/.test(value) && value.includes('.'))) {
          return this.remapElement(el, vr, d.rule, top, creator, 'hash');
        }
        if (FREE_TEXT_VRS.has(vr) || vr === 'PN' || vr === 'CS' || vr === 'AE') {
          if (value !== '') this.writeText(el, hashText(value, this.key, maxLength(vr)), vr, 'hash', d.rule, creator);
          return true;
        }
        this.remove(el, d.rule, creator);
        return false;
      }
      case 'replace': {
        if (seq || !(FREE_TEXT_VRS.has(vr) || DUMMY_VRS.has(vr) || ['CS', 'DS', 'IS', 'UI'].includes(vr))) {
          this.remove(el, d.rule, creator);
          return false;
        }
        const value = d.value ?? '';
        this.writeText(el, value, vr, 'replace', d.rule, creator);
        if (top && el.tag === SOP_INSTANCE_UID) this.newSopInstanceUID = value;
        if (top && el.tag === STUDY_INSTANCE_UID) this.newStudyUID = value;
        return true;
      }
      case 'pseudoName':
        this.writeText(el, this.pseudoName, 'PN', 'D', d.rule);
        return true;
      case 'pseudoId':
        this.writeText(el, this.pseudoId, 'LO', 'D', d.rule);
        return true;
      case 'pseudoAccession': {
        const a = seq ? '' : readString(el);
        if (a === '') return true;
        this.writeText(el, pseudoAccession(a, this.key), 'SH', 'D', d.rule);
        return true;
      }
    }
  }

  private remapElement(
    el: DicomElement,
    vr: string,
    rule: string,
    top: boolean,
    creator: string | undefined,
    action = 'U',
  ): boolean {
    const value = readString(el);
    const out = this.remapAll(value);
    if (top && el.tag === SOP_INSTANCE_UID) this.newSopInstanceUID = out;
    if (top && el.tag === STUDY_INSTANCE_UID) this.newStudyUID = out;
    if (out === value) {
      if (value !== '') this.record(el, 'K', rule, creator);
      return true;
    }
    this.writeBytes(el, latin1(out), vr === 'UN' ? 'UN' : 'UI');
    this.record(el, action, rule, creator);
    return true;
  }

  /** The C action on a value. */
  private clean(el: DicomElement, vr: string, rule: string, creator?: string): boolean {
    if (vr === 'DA' || vr === 'DT') {
      if (this.modifyDate(el, vr, rule, creator)) return true;
      this.writeBytes(el, new Uint8Array(0), vr); // not a date: cannot be kept modified
      this.record(el, 'Z', rule, creator);
      return true;
    }
    if (vr === 'TM') {
      this.record(el, 'K', rule, creator); // times are not shifted (whole days only)
      return true;
    }
    if (vr === 'AE') {
      const v = readString(el);
      if (v !== '') this.writeText(el, hashText(v, this.key, 16), vr, 'C', rule, creator);
      return true;
    }
    if (FREE_TEXT_VRS.has(vr) || vr === 'PN') {
      if (CODE_TEXT.has(el.tag) && isStandardCode(el.parent)) return true;
      const v = readString(el);
      if (v === '') return true;
      let out = this.scrub(v);
      if (out === v) return true;
      const max = maxLength(vr);
      if (out.length > max) out = out.slice(0, max);
      this.writeText(el, out, vr, 'C', rule, creator);
      return true;
    }
    if (vr === 'UI') return this.remapElement(el, vr, rule, el.parent === this.file.dataset, creator);
    // Binary data (overlay and curve data under Clean Graphics): kept, marked for the pixel stage.
    this.record(el, 'C', rule, creator);
    return true;
  }

  // -------------------------------------------------------------------------------------------------------------
  // File meta and the attributes Veil adds

  walkMeta(): void {
    const meta = this.file.meta;
    if (!meta) return;
    for (const el of meta.elements) {
      const tag = el.tag;
      if (META_KEPT.has(tag)) continue;
      if (tag === MEDIA_STORAGE_SOP_INSTANCE_UID) {
        const value = readString(el);
        const out = this.newSopInstanceUID ?? (this.config.options.retainUIDs ? value : this.remapAll(value));
        if (out !== value) {
          this.writeBytes(el, latin1(out), 'UI');
          this.record(el, 'U', 'meta');
        }
      } else if (tag === IMPLEMENTATION_CLASS_UID) {
        this.writeBytes(el, latin1(VEIL_IMPLEMENTATION_CLASS_UID), 'UI');
        this.record(el, 'D', 'meta');
      } else if (tag === IMPLEMENTATION_VERSION_NAME) {
        this.writeBytes(el, latin1(VEIL_IMPLEMENTATION_VERSION_NAME), 'SH');
        this.record(el, 'D', 'meta');
      } else {
        this.remove(el, 'meta');
      }
    }
    // PS3.10 requires both; a writer that left them out gets them from the dataset.
    const sopClass = findElement(this.file.dataset, SOP_CLASS_UID);
    if (!findElement(meta, MEDIA_STORAGE_SOP_CLASS_UID) && sopClass && !isSequence(sopClass)) {
      const value = readString(sopClass);
      if (value !== '') this.insertMeta(meta, MEDIA_STORAGE_SOP_CLASS_UID, value);
    }
    if (!findElement(meta, MEDIA_STORAGE_SOP_INSTANCE_UID) && this.newSopInstanceUID) {
      this.insertMeta(meta, MEDIA_STORAGE_SOP_INSTANCE_UID, this.newSopInstanceUID);
    }
  }

  private insertMeta(meta: ElementContainer, tag: number, uid: string): void {
    this.edits.push({ op: 'insert', container: meta, tag, vr: 'UI', value: latin1(uid) });
    this.actions.push({
      tagPath: tag === MEDIA_STORAGE_SOP_CLASS_UID ? '(0002,0002)' : '(0002,0003)',
      keyword: lookupTag(tag)?.keyword ?? '',
      action: 'add',
      rule: 'meta',
    });
  }

  addMethodAttributes(): void {
    const ds = this.file.dataset;
    // After a truncated or unterminated sequence, bytes appended at the end of the dataset would be read back as
    // part of it: such files are quarantined, and nothing is appended after their last element.
    const truncated = this.file.findings.some((f) => TRUNCATION_FINDINGS.has(f.code));
    if (truncated) this.setQuarantine('DICOM_TRUNCATED', '');
    const last = ds.elements.at(-1)?.tag ?? 0;
    const put = (tag: number, vr: string, value: Uint8Array) => {
      const el = findElement(ds, tag);
      if (!el && truncated && tag > last) return;
      if (el) this.edits.push({ op: 'replace', element: el, value, vr });
      else this.edits.push({ op: 'insert', container: ds, tag, vr, value });
      this.actions.push({
        tagPath: formatTag(tag),
        keyword: METHOD_KEYWORDS[tag] ?? '',
        action: el ? 'D' : 'add',
        rule: 'method',
      });
    };
    put(PATIENT_IDENTITY_REMOVED, 'CS', latin1('YES'));
    put(DEIDENTIFICATION_METHOD, 'LO', latin1(this.compiled.methodValue));
    const syntaxKey = `${ds.syntax.explicitVR}/${ds.syntax.littleEndian}`;
    let codes = this.compiled.codeSequences.get(syntaxKey);
    if (codes === undefined) {
      codes = encodeMethodCodeSequence(this.compiled.methodCodes, ds.syntax);
      this.compiled.codeSequences.set(syntaxKey, codes);
    }
    put(DEIDENTIFICATION_METHOD_CODE_SEQUENCE, 'SQ', codes);
    // Burned In Annotation / Recognizable Visual Features NO are not the header engine's to state: a pixel stage
    // earns them (release/claims.ts), whatever config.pixels asks for.
    put(LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED, 'CS', latin1(this.compiled.ltim));
  }
}

/**
 * De-identifies one scanned file: returns the edits that make the de-identified file (apply them with rewrite(),
 * or writeDeidentified() which also clears the preamble), what was done where, the identities for the crosswalk
 * and whether to quarantine. Pure: the same file, config and key always give the same result.
 */
export function deidentify(file: DicomFile, config: DeidConfig, keys: DeidKeys): DeidResult {
  if (!(keys.key instanceof Uint8Array) || keys.key.length < MIN_KEY_BYTES) throw new VeilError('DEID_KEY_TOO_SHORT');
  const compiled = compile(config);
  const ds = file.dataset;
  const str = (tag: number): string | undefined => {
    const el = findElement(ds, tag);
    return el && !isSequence(el) ? readString(el) : undefined;
  };
  const originalPatientId = str(PATIENT_ID)?.trim();
  const run = new Run(file, config, compiled, keys.key, originalPatientId, keys.cleanFreeText);

  const sopClass = str(SOP_CLASS_UID) ?? '';
  if (compiled.allow && !compiled.allow.has(sopClass)) run.setQuarantine('SOP_CLASS_NOT_ALLOWED', '(0008,0016)');
  if (config.lookup && (originalPatientId === undefined || !config.lookup.has(originalPatientId))) {
    run.setQuarantine('PATIENT_NOT_IN_LOOKUP', '(0010,0020)');
  }
  const metaClass = file.meta ? findElement(file.meta, 0x00020002) : undefined;
  if (sopClass === MEDIA_STORAGE_DIRECTORY || (metaClass && readString(metaClass) === MEDIA_STORAGE_DIRECTORY)) {
    run.setQuarantine('DEID_DICOMDIR', '(0002,0002)');
  }

  run.walkDataset();
  run.walkMeta();
  run.addMethodAttributes();

  const identity: {
    patientId?: string;
    pseudoPatientId?: string;
    accession?: string;
    pseudoAccession?: string;
    studyUID?: string;
    pseudoStudyUID?: string;
  } = { pseudoPatientId: run.pseudoId };
  if (originalPatientId !== undefined && originalPatientId !== '') identity.patientId = originalPatientId;
  const accession = str(ACCESSION_NUMBER)?.trim();
  if (accession) {
    identity.accession = accession;
    identity.pseudoAccession = pseudoAccession(accession, keys.key);
  }
  const study = str(STUDY_INSTANCE_UID)?.trim();
  if (study) {
    identity.studyUID = study;
    identity.pseudoStudyUID = run.newStudyUID ?? study;
  }
  return {
    edits: run.edits,
    actions: run.actions,
    quarantine: run.quarantine,
    quarantines: run.quarantines,
    identity,
    dateShiftDays: run.shifted ? run.shiftDays() : undefined,
    clearPreamble: file.hasPreamble,
  };
}

/** Plans the de-identified file: the edits, and the 128-byte preamble zeroed (PS3.15 E.1.1). */
export function planDeidentified(file: DicomFile, result: DeidResult): RewritePlan {
  const plan = planRewrite(file, result.edits);
  return result.clearPreamble ? zeroPrefix(plan, 128) : plan;
}

/** Applies a de-identification result in memory: the rewritten file, with its preamble zeroed. */
export function writeDeidentified(file: DicomFile, result: DeidResult): Uint8Array {
  return materialize(file.source, planDeidentified(file, result).segments);
}
