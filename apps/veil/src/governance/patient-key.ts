/**
 * The patient key: HMAC-SHA-256 with the project key over issuer + Patient ID (PS3.3 (0010,0021), (0010,0020)),
 * hex. The consent registry, portal invitations and the jobs' state hold this key, never the ID. The gate step
 * records it in the job's state; `veil consent` and `veil portal invite` compute it from what staff type in.
 *
 * Example:
 *   patientKey(key, 'MRN-12345', 'HOSP-A'); // '3f1c...' (64 hex digits)
 */
import { createHmac } from 'node:crypto';
import { type DicomFile, findElement, readString } from '@veil/core';

const PATIENT_ID = 0x00100020;
const ISSUER_OF_PATIENT_ID = 0x00100021;

export function patientKey(key: Uint8Array, patientId: string, issuer = ''): string {
  return createHmac('sha256', key)
    .update(`veil-patient-v1\0${issuer.trim()}\0${patientId.trim()}`, 'utf8')
    .digest('hex');
}

function top(file: DicomFile, tag: number): string {
  const el = findElement(file.dataset, tag);
  return el ? readString(el).trim() : '';
}

/** `{ patientKey }` for the job's state when the file names a patient, `{}` otherwise. */
export function patientKeyState(file: DicomFile, key: Uint8Array): { patientKey?: string } {
  const id = top(file, PATIENT_ID);
  if (id === '') return {};
  return { patientKey: patientKey(key, id, top(file, ISSUER_OF_PATIENT_ID)) };
}
