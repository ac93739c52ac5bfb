/**
 * Carrying out a decision (policy.ts) on one element: the PS3.15 actions X, Z, D, U, K, C and Veil's own (shift,
 * hash, replace, the keyed pseudonyms), as edits on the run. A sequence is walked further (walk.ts) in the mode its
 * action asks for: K and U as they are, D with dummies, C with its free text cleaned.
 *
 * Example:
 *   const stays = apply(run, el, { action: 'Z', rule: 'basic' }, 'normal'); // true: emptied, still in the output
 */

import type { DicomElement, ElementContainer } from '../dicom/dataset.ts';
import * as Tag from '../dicom/dictionary/tags.ts';
import { elementPath } from '../dicom/tag-path.ts';
import { findElement, readString } from '../dicom/value.ts';
import { hashText, pseudoAccession } from '../pseudonym/accession.ts';
import { capAge } from '../pseudonym/date-shift.ts';
import { DUMMY_VRS, dummyBinary, dummyText, FREE_TEXT_VRS, maxLength } from './dummy-values.ts';
import type { Decision, Mode } from './policy.ts';
import { PS316_CID_SCHEMES } from './profiles/_generated/ps316-cid7050.ts';
import { isSequence, latin1, type Run } from './run.ts';
import { recurse } from './walk.ts';

/** Code Value, Code Meaning, Long Code Value, URN Code Value: cleaned only in codes of local coding schemes. */
const CODE_TEXT = new Set([Tag.CodeValue, Tag.CodeMeaning, Tag.LongCodeValue, Tag.URNCodeValue]);
/**
 * Coding schemes whose codes and meanings are published (PS3.16 Table 8-1): their code items identify no one. Local
 * schemes (99xxx, L, vendor names) may carry local identities and are cleaned like any text (PS3.15 E.1.1 note on C).
 * The designators PS3.16's context groups use are generated (PS316_CID_SCHEMES); the others are Table 8-1 entries
 * listed by hand, as no machine-readable Table 8-1 is in reach (see scripts/codegen/data/README.md).
 */
const STANDARD_SCHEMES = new Set([
  ...PS316_CID_SCHEMES,
  'SRT',
  'SNM3',
  'ICD10',
  'I10',
  'I9C',
  'ACR',
  'HL7',
  'RFC5646',
  'ISO3166_1',
  'NICIP',
  'DC',
  'NCBI',
  'UBERON',
  'CLO',
  'RO',
  'ICDO3',
  'ICD10PCS',
  'BI',
  'CPT4',
  'C4',
  'C5',
  'RXNORM',
  'UNS',
]);

function isStandardCode(item: ElementContainer): boolean {
  const scheme = findElement(item, Tag.CodingSchemeDesignator);
  return scheme !== undefined && STANDARD_SCHEMES.has(readString(scheme).trim());
}

/** Applies a decision; returns whether the element stays in the output (possibly changed). */
export function apply(run: Run, el: DicomElement, d: Decision, mode: Mode, creator?: string): boolean {
  const seq = isSequence(el);
  const vr = seq ? 'SQ' : run.vrOf(el, creator);
  const top = el.parent === run.file.dataset;
  switch (d.action) {
    case 'X':
      run.remove(el, d.rule, creator);
      return false;
    case 'Z':
      if (el.length !== 0) {
        run.writeBytes(el, new Uint8Array(0), seq ? el.vr : vr);
        run.record(el, 'Z', d.rule, creator);
      }
      return true;
    case 'K': {
      if (seq) recurse(run, el, mode, creator);
      else if (vr === 'AS') {
        const capped = capAge(readString(el));
        if (capped !== undefined) {
          run.writeText(el, capped, vr, 'C', 'hipaa:age', creator);
          return true;
        }
      }
      if (top && el.tag === Tag.SOPInstanceUID) run.newSopInstanceUID = readString(el);
      if (top && el.tag === Tag.StudyInstanceUID) run.newStudyUID = readString(el);
      if (d.rule !== 'unlisted') run.record(el, 'K', d.rule, creator);
      return true;
    }
    case 'U':
      if (seq) {
        run.record(el, 'U', d.rule, creator);
        recurse(run, el, mode, creator);
        return true;
      }
      return remapElement(run, el, vr, d.rule, top, creator);
    case 'D':
      if (seq) {
        run.record(el, 'D', d.rule, creator);
        recurse(run, el, 'dummy', creator);
        return true;
      }
      if (vr === 'UI') return remapElement(run, el, vr, d.rule, top, creator);
      if (el.length === 0) return true; // nothing to protect; an empty value stays empty
      if (top && el.tag === Tag.EncapsulatedDocument) run.setQuarantine('DEID_ENCAPSULATED_DOCUMENT', elementPath(el));
      {
        const text = dummyText(vr);
        if (text !== undefined) run.writeText(el, text, vr, 'D', d.rule, creator);
        else {
          run.writeBytes(el, dummyBinary(vr), vr);
          run.record(el, 'D', d.rule, creator);
        }
      }
      return true;
    case 'C':
      if (seq) {
        run.record(el, 'C', d.rule, creator);
        recurse(run, el, mode === 'dummy' ? 'dummy' : 'clean', creator);
        return true;
      }
      return clean(run, el, vr, d.rule, creator);
    case 'shift':
      if (seq) {
        run.remove(el, d.rule, creator);
        return false;
      }
      if (vr === 'TM') {
        run.record(el, 'K', d.rule, creator);
        return true;
      }
      if (vr === 'DA' || vr === 'DT' || FREE_TEXT_VRS.has(vr) || vr === 'UN') {
        if (run.modifyDate(el, vr === 'DA' ? 'DA' : vr === 'DT' ? 'DT' : vr, d.rule, creator)) return true;
      }
      run.remove(el, d.rule, creator);
      return false;
    case 'hash': {
      if (seq) {
        run.remove(el, d.rule, creator);
        return false;
      }
      const value = readString(el);
      if (vr === 'UI' || (vr === 'UN' && /^[0-9.\\\0 ]+$/.test(value) && value.includes('.'))) {
        return remapElement(run, el, vr, d.rule, top, creator, 'hash');
      }
      if (FREE_TEXT_VRS.has(vr) || vr === 'PN' || vr === 'CS' || vr === 'AE') {
        if (value !== '') run.writeText(el, hashText(value, run.key, maxLength(vr)), vr, 'hash', d.rule, creator);
        return true;
      }
      run.remove(el, d.rule, creator);
      return false;
    }
    case 'replace': {
      if (seq || !(FREE_TEXT_VRS.has(vr) || DUMMY_VRS.has(vr) || ['CS', 'DS', 'IS', 'UI'].includes(vr))) {
        run.remove(el, d.rule, creator);
        return false;
      }
      const value = d.value ?? '';
      run.writeText(el, value, vr, 'replace', d.rule, creator);
      if (top && el.tag === Tag.SOPInstanceUID) run.newSopInstanceUID = value;
      if (top && el.tag === Tag.StudyInstanceUID) run.newStudyUID = value;
      return true;
    }
    case 'pseudoName':
      run.writeText(el, run.pseudoName, 'PN', 'D', d.rule);
      return true;
    case 'pseudoId':
      run.writeText(el, run.pseudoId, 'LO', 'D', d.rule);
      return true;
    case 'pseudoAccession': {
      const a = seq ? '' : readString(el);
      if (a === '') return true;
      run.writeText(el, pseudoAccession(a, run.key), 'SH', 'D', d.rule);
      return true;
    }
  }
}

function remapElement(
  run: Run,
  el: DicomElement,
  vr: string,
  rule: string,
  top: boolean,
  creator: string | undefined,
  action = 'U',
): boolean {
  const value = readString(el);
  const out = run.remapAll(value);
  if (top && el.tag === Tag.SOPInstanceUID) run.newSopInstanceUID = out;
  if (top && el.tag === Tag.StudyInstanceUID) run.newStudyUID = out;
  if (out === value) {
    if (value !== '') run.record(el, 'K', rule, creator);
    return true;
  }
  run.writeBytes(el, latin1(out), vr === 'UN' ? 'UN' : 'UI');
  run.record(el, action, rule, creator);
  return true;
}

/** The C action on a value. */
function clean(run: Run, el: DicomElement, vr: string, rule: string, creator?: string): boolean {
  if (vr === 'DA' || vr === 'DT') {
    if (run.modifyDate(el, vr, rule, creator)) return true;
    run.writeBytes(el, new Uint8Array(0), vr); // not a date: cannot be kept modified
    run.record(el, 'Z', rule, creator);
    return true;
  }
  if (vr === 'TM') {
    run.record(el, 'K', rule, creator); // times are not shifted (whole days only)
    return true;
  }
  if (vr === 'AE') {
    const v = readString(el);
    if (v !== '') run.writeText(el, hashText(v, run.key, 16), vr, 'C', rule, creator);
    return true;
  }
  if (FREE_TEXT_VRS.has(vr) || vr === 'PN') {
    if (CODE_TEXT.has(el.tag) && isStandardCode(el.parent)) return true;
    const v = readString(el);
    if (v === '') return true;
    let out = run.scrub(v, elementPath(el));
    if (out === v) return true;
    const max = maxLength(vr);
    if (out.length > max) out = out.slice(0, max);
    run.writeText(el, out, vr, 'C', rule, creator);
    return true;
  }
  if (vr === 'UI') return remapElement(run, el, vr, rule, el.parent === run.file.dataset, creator);
  // Binary data (curve data under Clean Graphics): nothing reads it for identifying content, so it is cleaned by
  // removal (overlay groups never get here: decideOverlayData removes them whole).
  run.remove(el, rule, creator);
  return true;
}
