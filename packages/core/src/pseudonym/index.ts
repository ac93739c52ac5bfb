/**
 * Keyed pseudonyms: HMAC-SHA-256 based patient IDs and names, accession numbers, UID remapping and per-patient date
 * shifts. Every function is a pure function of its inputs and the secret key: the same input and key give the same
 * output on any machine, with no shared map.
 *
 * Example:
 *   remapUID(studyUID, key); pseudoPatientId(patientKey({ patientId }), key); dateShiftDays(k, key, 365);
 */
export * from './accession.ts';
export * from './date-shift.ts';
export * from './hmac.ts';
export * from './patient.ts';
export * from './uid.ts';
