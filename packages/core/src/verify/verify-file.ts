/**
 * The residual-PHI scan of one de-identified file before release. Every element at every depth is looked at,
 * private ones included, decoded with the file's character set:
 *
 *  - known values (with the original, or its KnownIdentifiers): the original's names, IDs, dates, addresses,
 *    telephone numbers, institution and UIDs anywhere in the output's text;
 *  - patterns (always): telephone numbers, e-mail addresses, SSN-like numbers, IDs and names after cue words;
 *  - structure (always): Patient Identity Removed YES; no private element outside what the configuration retains;
 *    no overlay data or overlay / graphic annotation text unless Clean Graphics or an override keeps it; no DA/DT
 *    equal to an original date that the shift does not explain, no original instance UID (with the original);
 *    images likely to carry burned-in text flagged for the pixel check (a 'warn' by default).
 *
 * Options of the configuration turn off the detectors they make moot: Retain UIDs (original-uid), Retain
 * Longitudinal Full Dates (unshifted-date, known-date), Retain Institution Identity (known-institution), Clean
 * Graphics (overlay-graphics). Site overrides do not: an override that keeps Patient's Name is exactly the mistake
 * this scan is for, and a site that means it downgrades the detector ('known-name': 'warn') where it can be seen.
 * Explicit detectorLevels win over both.
 *
 * Example:
 *   const findings = verifyFile(scanFile(outBytes), { original: scanFile(inBytes), config });
 *   if (findings.some((f) => f.level === 'error')) quarantine(...);
 */

import type { DeidConfig } from '../deid/config.ts';
import { DUMMY_TEXT } from '../deid/dummy-values.ts';
import { normalizeCreator } from '../deid/private-tags.ts';
import type { PathStep } from '../deid/selector.ts';
import type { DicomElement, DicomFile, ElementContainer } from '../dicom/dataset.ts';
import * as Tag from '../dicom/dictionary/tags.ts';
import { isPrivateCreator, isPrivateTag } from '../dicom/tag.ts';
import { elementPath } from '../dicom/tag-path.ts';
import { findElement, readString, readStrings } from '../dicom/value.ts';
import { dateShiftDays } from '../pseudonym/date-shift.ts';
import { patientKey } from '../pseudonym/patient.ts';
import { unshiftedDates } from './dates.ts';
import { type DetectorLevel, type DetectorName, resolveLevels, type VerifyFinding } from './finding.ts';
import { extractKnownIdentifiers, type KnownIdentifiers } from './known-identifiers.ts';
import { knownValueSearch } from './known-values.ts';
import { maskLength } from './mask.ts';
import { stripNuls } from './normalize.ts';
import { findPatterns } from './patterns.ts';
import { privateRetention } from './private-retention.ts';
import { checkStructure } from './structure.ts';
import { outputTexts, printableRuns } from './text-values.ts';

export interface VerifyContext {
  /** The file the output was made from: enables the known-value, date and UID checks. */
  readonly original?: DicomFile | undefined;
  /** The original's identifying values, when the caller extracted them already (or has no original file). */
  readonly known?: KnownIdentifiers | undefined;
  /** The configuration the output was made with (default: parseDeidConfig({})). */
  readonly config?: DeidConfig | undefined;
  /** The project key: with the original, gives the patient's date shift the way the engine derives it. */
  readonly key?: Uint8Array | undefined;
  /** Per detector: 'error', 'warn' or 'off' (see DETECTORS for the defaults). */
  readonly detectorLevels?: Readonly<Record<string, DetectorLevel>> | undefined;
}

// Text of graphics (Clean Graphics Option, PS3.15 E.3.3): in graphic annotations and their text objects. The same
// attribute in a Waveform Annotation Sequence is a measurement label, left to the text checks like any free text.
const PIXEL_TAGS = [Tag.PixelData, Tag.FloatPixelData, Tag.DoubleFloatPixelData];
const DESCRIPTION_TAGS = [Tag.SeriesDescription, Tag.ProtocolName, Tag.ImageComments, Tag.StudyDescription];

/** Modalities whose images carry text in the pixels more often than not. */
const TEXT_PRONE_MODALITIES = new Set(['US', 'SC', 'OT', 'XA', 'ES', 'XC']);
const SECONDARY_CAPTURE_PREFIX = '1.2.840.10008.5.1.4.1.1.7';

/** Detector levels after the configuration's options and the caller's explicit levels. */
export function effectiveLevels(
  config: DeidConfig | undefined,
  explicit: Readonly<Record<string, DetectorLevel>> | undefined,
): Record<DetectorName, DetectorLevel> {
  const levels = resolveLevels();
  const o = config?.options;
  if (o?.retainUIDs) levels['original-uid'] = 'off';
  if (o?.retainLongitudinalFullDates) {
    levels['unshifted-date'] = 'off';
    levels['known-date'] = 'off';
  }
  if (o?.retainInstitutionIdentity) levels['known-institution'] = 'off';
  if (explicit) for (const [k, v] of Object.entries(explicit)) if (k in levels) levels[k as DetectorName] = v;
  return levels;
}

/** effectiveLevels for the last configuration and explicit levels seen (the same two objects for a whole run). */
let lastLevels:
  | {
      config: DeidConfig | undefined;
      explicit: Readonly<Record<string, DetectorLevel>> | undefined;
      levels: Readonly<Record<DetectorName, DetectorLevel>>;
    }
  | undefined;

function levelsFor(
  config: DeidConfig | undefined,
  explicit: Readonly<Record<string, DetectorLevel>> | undefined,
): Readonly<Record<DetectorName, DetectorLevel>> {
  if (lastLevels === undefined || lastLevels.config !== config || lastLevels.explicit !== explicit) {
    lastLevels = { config, explicit, levels: Object.freeze(effectiveLevels(config, explicit)) };
  }
  return lastLevels.levels;
}

class Findings {
  readonly list: VerifyFinding[] = [];
  private readonly seen = new Set<string>();
  constructor(private readonly levels: Readonly<Record<DetectorName, DetectorLevel>>) {}

  on(detector: DetectorName): boolean {
    return this.levels[detector] !== 'off';
  }

  add(detector: DetectorName, tagPath: string, code: string, masked: string): void {
    const level = this.levels[detector];
    if (level === 'off') return;
    const k = `${detector}\0${tagPath}\0${code}`;
    if (this.seen.has(k)) return;
    this.seen.add(k);
    this.list.push({ detector, tagPath, level, masked, code });
  }
}

function isOverlayGroup(tag: number): boolean {
  const g = tag >>> 16;
  return g >= 0x6000 && g <= 0x601e && g % 2 === 0;
}

function nonDummyText(el: DicomElement): string | undefined {
  if (el.length === 0 || el.items !== undefined) return undefined;
  const s = readString(el).trim();
  return s === '' || s === DUMMY_TEXT ? undefined : s;
}

/** Structural checks over every element, with the path steps the override selectors match on. */
function structure(file: DicomFile, config: DeidConfig | undefined, out: Findings): void {
  const retention = privateRetention(config);
  const graphics = out.on('overlay-graphics');
  // Clean Graphics cleans the text of graphics (the text checks still look at it for known values) and removes
  // overlay bitmaps: an overlay bitmap in the output is a finding either way.
  const graphicsText = !config?.options.cleanGraphics;
  const privates = out.on('private-tag');
  // Most containers (an SR content item...) hold no private element: their map and set are made only when needed.
  const walk = (container: ElementContainer, steps: PathStep[]): void => {
    let creators: Map<number, string> | undefined;
    let keptBlocks: Set<number> | undefined;
    for (const el of container.elements) {
      if (isPrivateCreator(el.tag) && el.items === undefined) {
        creators ??= new Map();
        creators.set(el.tag, normalizeCreator(readString(el)));
      }
    }
    for (const el of container.elements) {
      const tag = el.tag;
      let creator: string | undefined;
      if (isPrivateTag(tag) && !isPrivateCreator(tag)) {
        const e = tag & 0xffff;
        if (e >= 0x1000) {
          const creatorTag = (((tag >>> 16) << 16) | (e >>> 8)) >>> 0;
          creator = creators?.get(creatorTag) ?? '';
          if (retention.isRetained(el, creator, steps)) {
            keptBlocks ??= new Set();
            keptBlocks.add(creatorTag);
          } else if (privates) {
            out.add(
              'private-tag',
              elementPath(el),
              creator === '' ? 'PRIVATE_TAG_NO_CREATOR' : 'PRIVATE_TAG_NOT_RETAINED',
              `<${el.length === 0xffffffff ? 'sequence' : `${el.length} bytes`}>`,
            );
          }
        } else if (e !== 0 && privates) {
          out.add('private-tag', elementPath(el), 'PRIVATE_TAG_NOT_RETAINED', `<${el.length} bytes>`);
        }
      }
      if (graphics) {
        let code: string | undefined;
        if (isOverlayGroup(tag)) {
          const e = tag & 0xffff;
          if (e === 0x3000 && el.length > 0) code = 'OVERLAY_DATA';
          else if (graphicsText && (e === 0x0022 || e === 0x1500 || e === 0x4000) && nonDummyText(el) !== undefined)
            code = 'OVERLAY_TEXT';
        } else if (
          graphicsText &&
          tag === Tag.UnformattedTextValue &&
          steps.some((s) => s.tag === Tag.GraphicAnnotationSequence || s.tag === Tag.TextObjectSequence) &&
          nonDummyText(el) !== undefined
        ) {
          code = 'GRAPHIC_ANNOTATION_TEXT';
        }
        if (code !== undefined && !retention.isOverridden(tag, steps)) {
          out.add(
            'overlay-graphics',
            elementPath(el),
            code,
            code === 'OVERLAY_DATA' ? `<${el.length} bytes>` : maskLength(readString(el)),
          );
        }
      }
      if (el.items) {
        const next = [...steps, { tag, creator }];
        for (const item of el.items) walk(item, next);
      }
    }
    if (privates && creators) {
      for (const [tag] of creators) {
        if (!keptBlocks?.has(tag)) {
          const el = findElement(container, tag)!;
          out.add('private-tag', elementPath(el), 'PRIVATE_CREATOR_ORPHAN', maskLength(readString(el)));
        }
      }
    }
  };
  walk(file.dataset, []);
}

function identityRemoved(file: DicomFile, out: Findings): void {
  const el = findElement(file.dataset, Tag.PatientIdentityRemoved);
  if (!el) {
    out.add('identity-removed', '(0012,0062)', 'PATIENT_IDENTITY_REMOVED_MISSING', '<absent>');
    return;
  }
  const v = readString(el).trim().toUpperCase();
  if (v !== 'YES') out.add('identity-removed', '(0012,0062)', 'PATIENT_IDENTITY_NOT_REMOVED', maskLength(v));
}

function burnedIn(file: DicomFile, out: Findings): void {
  const ds = file.dataset;
  if (!PIXEL_TAGS.some((t) => findElement(ds, t) !== undefined)) return;
  const text = (tag: number): string => {
    const el = findElement(ds, tag);
    return el && el.items === undefined && el.length <= 1024 ? readString(el).trim().toUpperCase() : '';
  };
  if (text(Tag.BurnedInAnnotation) === 'YES')
    out.add('burned-in-text-suspect', '(0028,0301)', 'BURNED_IN_ANNOTATION', '<3 chars>');
  const modality = text(Tag.Modality);
  if (TEXT_PRONE_MODALITIES.has(modality)) {
    out.add('burned-in-text-suspect', '(0008,0060)', 'TEXT_PRONE_MODALITY', maskLength(modality));
  }
  const sopClass = text(Tag.SOPClassUID);
  if (sopClass.startsWith(SECONDARY_CAPTURE_PREFIX)) {
    out.add('burned-in-text-suspect', '(0008,0016)', 'SCREEN_CAPTURE', maskLength(sopClass));
  }
  const imageType = text(Tag.ImageType);
  if (/SCREEN SAVE|SCREENSHOT|DOSE|CSA REPORT/.test(imageType)) {
    out.add('burned-in-text-suspect', '(0008,0008)', 'SCREEN_CAPTURE', maskLength(imageType));
  }
  for (const tag of DESCRIPTION_TAGS) {
    if (/\bDOSE\s*(REPORT|INFO|SUMMARY)|PATIENT\s*PROTOCOL|SCREEN\s*(SAVE|CAPTURE|SHOT)/.test(text(tag))) {
      const el = findElement(ds, tag)!;
      out.add('burned-in-text-suspect', elementPath(el), 'DOSE_REPORT', maskLength(readString(el)));
    }
  }
}

function uidsOf(file: DicomFile): { element: DicomElement; values: string[] }[] {
  const out: { element: DicomElement; values: string[] }[] = [];
  const visit = (c: ElementContainer): void => {
    for (const el of c.elements) {
      if (el.items) for (const item of el.items) visit(item);
      else if (el.vr === 'UI' && el.length > 0 && el.length <= 64 * 1024) {
        out.push({ element: el, values: readStrings(el).map(stripNuls) });
      }
    }
  };
  if (file.meta) visit(file.meta);
  visit(file.dataset);
  return out;
}

/** The patient's date shift as the engine derives it (pseudonym/patient.ts), when the key and original are known. */
function expectedShift(original: DicomFile, config: DeidConfig | undefined, key: Uint8Array): number | undefined {
  const s = (tag: number): string | undefined => {
    const el = findElement(original.dataset, tag);
    return el && el.items === undefined ? readString(el) : undefined;
  };
  const k = patientKey({
    patientId: s(Tag.PatientID),
    patientName: s(Tag.PatientName),
    birthDate: s(Tag.PatientBirthDate),
    fallback: `study:${s(Tag.StudyInstanceUID) ?? ''}`,
  });
  try {
    return dateShiftDays(k, key, config?.dates.maxShiftDays ?? 365);
  } catch {
    return undefined;
  }
}

/** Scans one de-identified file; see the module comment. Findings are in file order within each check. */
export function verifyFile(output: DicomFile, ctx: VerifyContext = {}): VerifyFinding[] {
  const out = new Findings(levelsFor(ctx.config, ctx.detectorLevels));
  const known = ctx.known ?? (ctx.original ? extractKnownIdentifiers(ctx.original) : undefined);

  identityRemoved(output, out);
  if (out.on('ambiguous-structure')) {
    for (const f of checkStructure(output)) out.add('ambiguous-structure', f.path, f.code, '');
  }
  structure(output, ctx.config, out);
  if (out.on('burned-in-text-suspect')) burnedIn(output, out);

  if (known) {
    if (out.on('original-uid') && known.uids.length > 0) {
      const uids = new Set(known.uids);
      for (const u of uidsOf(output)) {
        const hit = u.values.find((v) => uids.has(v));
        if (hit !== undefined) out.add('original-uid', elementPath(u.element), 'ORIGINAL_UID', maskLength(hit));
      }
    }
    if (out.on('unshifted-date')) {
      const { key, original } = ctx;
      const hits = unshiftedDates(output, known, {
        yearOnly: ctx.config?.dates.mode === 'year',
        ...(key && original ? { shift: () => expectedShift(original, ctx.config, key) } : {}),
      });
      for (const h of hits) out.add('unshifted-date', h.path, h.code, h.masked);
    }
  }

  const search = known ? knownValueSearch(known) : undefined;
  // The 128-byte preamble is free for applications (TIFF headers...) and can quote the patient.
  if (search && output.hasPreamble && output.source.length >= 128) {
    const runs = printableRuns(output.source.read(0, 128));
    if (runs !== '')
      for (const h of search({ text: runs, binary: true, coded: false }))
        out.add(h.detector, '(preamble)', h.code, h.masked);
  }
  const patterns = ['phone', 'email', 'ssn', 'mrn-cue', 'name-cue'].some((d) => out.on(d as DetectorName));
  for (const t of outputTexts(output)) {
    if (search) for (const h of search(t)) out.add(h.detector, t.path, h.code, h.masked);
    if (patterns && t.free) for (const h of findPatterns(t.text)) out.add(h.detector, t.path, h.code, h.masked);
  }
  return out.list;
}
