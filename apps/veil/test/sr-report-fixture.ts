/**
 * A realistic DICOM SR for the free-text tests: a real Comprehensive SR of the shared corpus (fo-dicom's
 * test_SR.dcm, OFFIS dcmtk output, ISO_IR 100) whose patient name and first two TEXT content items (TextValue,
 * (0040,A160), nested in the content tree) were set, with @veil/core's rewriter, to a radiology report that names the
 * patient (also in lower case and surname alone, which only the header's known values reveal), a physician the
 * header does not hold, a phone number, an MRN and dates. Everything else in the file is as the corpus has it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DicomElement, type ElementContainer, findElement, readString, rewrite, scanFile } from '@veil/core';

export const SR_SOURCE = 'data/dicom/fo-dicom/Test_Data/test_SR.dcm';
export const TEXT_VALUE = 0x0040a160;
const PATIENT_NAME = 0x00100010;

export const SR_PATIENT = 'KOWALCZYK^HENRIETTA';
export const SR_FINDINGS =
  'CT chest of 03/14/2021 compared with prior of January 5, 2020. Patient kowalczyk tolerated contrast. ' +
  'A 9 mm nodule in the right upper lobe, unchanged. No pleural effusion.';
export const SR_IMPRESSION =
  'Stable 9 mm RUL nodule, Fleischner follow-up in 12 months. Results discussed with Dr. Amelia Brandstetter ' +
  'at (617) 555-0187 on 03/15/2021. Henrietta Kowalczyk, MRN 80412279.';
/** What must not survive (the patient's name comes from the header only in the lowercase form). */
export const SR_PHI = [
  'kowalczyk',
  'Kowalczyk',
  'Henrietta',
  'Amelia',
  'Brandstetter',
  '555-0187',
  '80412279',
  '03/14/2021',
  'January 5, 2020',
  '03/15/2021',
];
/** Clinical words that must stay. */
export const SR_KEPT = ['9 mm nodule in the right upper lobe', 'No pleural effusion', 'Fleischner follow-up'];

const latin1 = (s: string) => {
  const padded = s.length % 2 ? `${s} ` : s;
  return Uint8Array.from(padded, (c) => c.charCodeAt(0));
};

/** Every element with this tag, at any depth, in document order. */
export function allElements(container: ElementContainer, tag: number, out: DicomElement[] = []): DicomElement[] {
  for (const el of container.elements) {
    if (el.tag === tag) out.push(el);
    for (const item of el.items ?? []) allElements(item, tag, out);
  }
  return out;
}

/** The SR bytes with the report written into it. */
export function buildReportSr(sharedDir: string): Uint8Array {
  const file = scanFile(new Uint8Array(readFileSync(join(sharedDir, SR_SOURCE))));
  const texts = allElements(file.dataset, TEXT_VALUE);
  const name = findElement(file.dataset, PATIENT_NAME);
  if (texts.length < 2 || !name) throw new Error('test_SR.dcm: expected TEXT items and a patient name');
  return rewrite(file, [
    { op: 'replace', element: name, value: latin1(SR_PATIENT) },
    { op: 'replace', element: texts[0]!, value: latin1(SR_FINDINGS) },
    { op: 'replace', element: texts[1]!, value: latin1(SR_IMPRESSION) },
  ]);
}

/** The TextValues of an SR, in document order. */
export function textValues(bytes: Uint8Array): string[] {
  return allElements(scanFile(bytes).dataset, TEXT_VALUE).map((e) => readString(e));
}
