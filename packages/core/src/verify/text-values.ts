/**
 * The text an output file shows, element by element, at every depth, in the file meta and the dataset: text VRs
 * decoded with the character set in force there, and the values of private and UN elements decoded as text when
 * their bytes look like text. Binary private values that do not (vendor headers such as Siemens CSA) give their
 * runs of five printable characters or more, where an embedded name or ID would show.
 *
 * Dates (DA, DT, TM), numbers (DS, IS) and UIDs are left to their own checks: a UID is compared whole, a date as a
 * date, and digits inside them are not words.
 *
 * Example:
 *   for (const t of outputTexts(file)) if (t.free) findPatterns(t.text);
 */
import { decodeText } from '../dicom/charset/specific-character-set.ts';
import type { DicomElement, DicomFile } from '../dicom/dataset.ts';
import { isPrivateTag, PIXEL_DATA, UNDEFINED_LENGTH } from '../dicom/tag.ts';
import { elementPath } from '../dicom/tag-path.ts';
import { characterSetOf, readString, valueBytes, walkElements } from '../dicom/value.ts';
import { isKnownVR } from '../dicom/vr.ts';

export interface OutputText {
  readonly element: DicomElement;
  readonly path: string;
  readonly text: string;
  /** Free text where identifier patterns (telephone, e-mail, cue words) are looked for. */
  readonly free: boolean;
  /** Printable runs of a binary value: searched for known values only. */
  readonly binary: boolean;
  /** A coded value (CS, AE, UR): defined terms, where a name part alone is a code word, not a name. */
  readonly coded: boolean;
}

const FREE_TEXT = new Set(['LO', 'LT', 'SH', 'ST', 'UC', 'UT']);
const CODED = new Set(['CS', 'AE', 'UR']);
const OTHER_TEXT = new Set(['PN', ...CODED]);
const BINARY = new Set(['OB', 'OW', 'OD', 'OF', 'OL', 'OV', 'UN']);

const MAX_TEXT = 16 * 1024 * 1024;
const MAX_BINARY = 8 * 1024 * 1024;

/** Whether bytes are text: no control characters but TAB, LF, FF, CR, ESC, and trailing NUL/space padding. */
export function looksLikeText(bytes: Uint8Array): boolean {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0 || bytes[end - 1] === 0x20)) end--;
  if (end === 0) return false;
  let high = 0;
  for (let i = 0; i < end; i++) {
    const b = bytes[i]!;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b) return false;
    if (b === 0x7f) return false;
    if (b >= 0x80) high++;
  }
  // Mostly high bytes with no ESC is more likely binary than text in a single-byte set; multi-byte sets decode
  // through ESC sequences or UTF-8, where a third of high bytes is common.
  return high <= end * 0.6;
}

/** Runs of at least `min` printable ASCII characters, one per line. */
export function printableRuns(bytes: Uint8Array, min = 5): string {
  const runs: string[] = [];
  let start = -1;
  for (let i = 0; i <= bytes.length; i++) {
    const b = i < bytes.length ? bytes[i]! : 0;
    const printable = b >= 0x20 && b < 0x7f;
    if (printable && start < 0) start = i;
    else if (!printable && start >= 0) {
      if (i - start >= min) {
        let s = '';
        for (let j = start; j < i; j++) s += String.fromCharCode(bytes[j]!);
        runs.push(s);
      }
      start = -1;
    }
  }
  return runs.join('\n');
}

/** An element's text; its tag path is built only when asked for (on a finding): most texts have none. */
class ElementText implements OutputText {
  #path: string | undefined;
  constructor(
    readonly element: DicomElement,
    readonly text: string,
    readonly free: boolean,
    readonly binary: boolean,
    readonly coded: boolean,
  ) {}
  get path(): string {
    this.#path ??= elementPath(this.element);
    return this.#path;
  }
}

/** The text of one element, or undefined when it has none to search. */
function elementText(el: DicomElement): ElementText | undefined {
  if (el.items !== undefined || el.fragments !== undefined) return undefined;
  if (el.length === 0 || el.length === UNDEFINED_LENGTH) return undefined;
  const vr = el.vr;
  if (FREE_TEXT.has(vr) || OTHER_TEXT.has(vr)) {
    if (el.length > MAX_TEXT) return undefined;
    const text = readString(el);
    return text === '' ? undefined : new ElementText(el, text, FREE_TEXT.has(vr), false, CODED.has(vr));
  }
  if (isKnownVR(vr) && !BINARY.has(vr)) return undefined;
  // Binary or unknown VR: only private and UN values (public binary is pixels, overlays, waveforms, LUTs).
  if (!isPrivateTag(el.tag) && vr !== 'UN') return undefined;
  if (el.tag === PIXEL_DATA || el.length > MAX_BINARY) return undefined;
  const bytes = valueBytes(el);
  if (looksLikeText(bytes)) {
    const text = decodeText(bytes, characterSetOf(el.parent), 'UT').replace(/[\0 ]+$/, '');
    return text === '' ? undefined : new ElementText(el, text, true, false, false);
  }
  const runs = printableRuns(bytes);
  return runs === '' ? undefined : new ElementText(el, runs, false, true, false);
}

/** Every element with text to search, file meta first, depth first in stream order. */
export function outputTexts(file: DicomFile): OutputText[] {
  const out: OutputText[] = [];
  const visit = (el: DicomElement): void => {
    const t = elementText(el);
    if (t) out.push(t);
  };
  if (file.meta) walkElements(file.meta, visit);
  walkElements(file.dataset, visit);
  return out;
}
