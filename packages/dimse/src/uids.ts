/**
 * Well-known UIDs of the DIMSE services Veil speaks (PS3.4, PS3.6 Table A-1), and the rule that tells a storage
 * SOP class from any other service when an SCP accepts "any storage" without a list: Veil never interprets the data
 * set it stores, so a SOP class it does not know (private or newer than this list) is stored all the same.
 */

export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';

/** Query/Retrieve information models (PS3.4 C.6). */
export const QueryRetrieve = {
  PatientRootFind: '1.2.840.10008.5.1.4.1.2.1.1',
  PatientRootMove: '1.2.840.10008.5.1.4.1.2.1.2',
  PatientRootGet: '1.2.840.10008.5.1.4.1.2.1.3',
  StudyRootFind: '1.2.840.10008.5.1.4.1.2.2.1',
  StudyRootMove: '1.2.840.10008.5.1.4.1.2.2.2',
  StudyRootGet: '1.2.840.10008.5.1.4.1.2.2.3',
  PatientStudyOnlyFind: '1.2.840.10008.5.1.4.1.2.3.1',
  PatientStudyOnlyMove: '1.2.840.10008.5.1.4.1.2.3.2',
  PatientStudyOnlyGet: '1.2.840.10008.5.1.4.1.2.3.3',
  CompositeInstanceRootMove: '1.2.840.10008.5.1.4.1.2.4.2',
  CompositeInstanceRootGet: '1.2.840.10008.5.1.4.1.2.4.3',
  CompositeInstanceRetrieveWithoutBulkDataGet: '1.2.840.10008.5.1.4.1.2.5.3',
  ModalityWorklistFind: '1.2.840.10008.5.1.4.31',
} as const;

export const FIND_MODELS: ReadonlySet<string> = new Set([
  QueryRetrieve.PatientRootFind,
  QueryRetrieve.StudyRootFind,
  QueryRetrieve.PatientStudyOnlyFind,
  QueryRetrieve.ModalityWorklistFind,
]);

export const MOVE_MODELS: ReadonlySet<string> = new Set([
  QueryRetrieve.PatientRootMove,
  QueryRetrieve.StudyRootMove,
  QueryRetrieve.PatientStudyOnlyMove,
  QueryRetrieve.CompositeInstanceRootMove,
]);

export const GET_MODELS: ReadonlySet<string> = new Set([
  QueryRetrieve.PatientRootGet,
  QueryRetrieve.StudyRootGet,
  QueryRetrieve.PatientStudyOnlyGet,
  QueryRetrieve.CompositeInstanceRootGet,
  QueryRetrieve.CompositeInstanceRetrieveWithoutBulkDataGet,
]);

/** Standard storage SOP classes outside the 1.2.840.10008.5.1.4.1.1 arc. */
const STORAGE_OUTSIDE_ARC: ReadonlySet<string> = new Set([
  '1.2.840.10008.5.1.4.34.7', // RT Beams Delivery Instruction Storage
  '1.2.840.10008.5.1.4.34.10', // RT Patient Position Acquisition Instruction Storage
  '1.2.840.10008.5.1.4.38.1', // Hanging Protocol Storage
  '1.2.840.10008.5.1.4.39.1', // Color Palette Storage
  '1.2.840.10008.5.1.4.43.1', // Generic Implant Template Storage
  '1.2.840.10008.5.1.4.44.1', // Implant Assembly Template Storage
  '1.2.840.10008.5.1.4.45.1', // Implant Template Group Storage
]);

/**
 * Whether a SOP class UID is a storage SOP class: the standard's storage arc and the few outside it, and any
 * non-standard (private) UID; every other standard UID is a different service (verification, Q/R, worklist, MPPS,
 * storage commitment, print...) and is not accepted as storage.
 */
export function isStorageSopClass(uid: string): boolean {
  if (uid.startsWith('1.2.840.10008.5.1.4.1.1.')) return true;
  if (STORAGE_OUTSIDE_ARC.has(uid)) return true;
  return !uid.startsWith('1.2.840.10008.');
}

/** Veil's implementation class UID and version name (PS3.7 D.3.3.2), sent in every association and file meta. */
export const IMPLEMENTATION_CLASS_UID = '2.25.216867168096809445785623633594532359515';
export const IMPLEMENTATION_VERSION_NAME = 'VEIL_0.1';
