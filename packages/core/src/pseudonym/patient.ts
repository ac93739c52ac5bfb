/**
 * Patient pseudonyms: a keyed hash of the patient's original identity, or the study subject ID a lookup table gives.
 * The identity is the Patient ID; without one, the name and birth date; without those, whatever the caller passes as a
 * last resort (Veil uses the Study Instance UID, so at least one study stays together).
 *
 * Example:
 *   const k = patientKey({ patientId: '292821506' });          // 'id:292821506'
 *   pseudoPatientId(k, key);                                 // 'P5YB3M...' (16 characters)
 *   pseudoPatientId(k, key, new Map([['292821506', 'S-001']])); // 'S-001'
 *   pseudoPatientName('S-001', 'ANON^');                     // 'ANON^S-001'
 */
import { base32, hmacSha256 } from './hmac.ts';

export interface PatientIdentity {
  readonly patientId?: string | undefined;
  readonly patientName?: string | undefined;
  readonly birthDate?: string | undefined;
  /** Used when there is neither an ID nor a name, e.g. 'study:' + Study Instance UID. */
  readonly fallback?: string | undefined;
}

/** The string a patient's pseudonym and date shift derive from. */
export function patientKey(identity: PatientIdentity): string {
  const id = identity.patientId?.trim() ?? '';
  if (id !== '') return `id:${id}`;
  const name = identity.patientName?.trim() ?? '';
  if (name !== '') return `name:${name}|${identity.birthDate?.trim() ?? ''}`;
  return `other:${identity.fallback ?? ''}`;
}

/** 'P' + 15 base-32 digits (75 bits), or the lookup table's entry for the original Patient ID when there is one. */
export function pseudoPatientId(
  key: string,
  secret: Uint8Array,
  lookup?: ReadonlyMap<string, string>,
  originalPatientId?: string,
): string {
  if (lookup !== undefined && originalPatientId !== undefined) {
    const mapped = lookup.get(originalPatientId.trim());
    if (mapped !== undefined) return mapped;
  }
  return `P${base32(hmacSha256(secret, `patient:${key}`), 15)}`;
}

/** The pseudonymous Patient's Name: prefix + pseudonymous ID (ASCII, so valid in every character set). */
export function pseudoPatientName(pseudoId: string, prefix: string): string {
  return `${prefix}${pseudoId}`;
}
