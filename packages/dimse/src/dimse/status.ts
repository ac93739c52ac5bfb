/**
 * DIMSE status codes (PS3.7 Annex C) and their classes. Handlers return these; adapters map Veil's findings to them.
 *
 * Example:
 *   statusClass(0xff00); // 'pending'
 */

export const Status = {
  Success: 0x0000,
  /** Warning: coercion of data elements (C-STORE). */
  WarningCoercion: 0xb000,
  WarningElementsDiscarded: 0xb006,
  WarningDatasetDoesNotMatch: 0xb007,
  /** Warning: one or more sub-operations failed (C-MOVE / C-GET). */
  WarningSuboperationsFailed: 0xb000,
  Pending: 0xff00,
  /** Pending: some optional keys were not supported (C-FIND). */
  PendingOptionalKeysNotSupported: 0xff01,
  Cancel: 0xfe00,
  RefusedOutOfResources: 0xa700,
  RefusedOutOfResourcesMatches: 0xa701,
  RefusedOutOfResourcesSuboperations: 0xa702,
  RefusedMoveDestinationUnknown: 0xa801,
  ErrorDatasetDoesNotMatchSopClass: 0xa900,
  ErrorCannotUnderstand: 0xc000,
  UnableToProcess: 0xc001,
  ProcessingFailure: 0x0110,
  DuplicateInvocation: 0x0210,
  NoSuchSopClass: 0x0118,
  SopClassNotSupported: 0x0122,
  NotAuthorized: 0x0124,
  UnrecognizedOperation: 0x0211,
  MistypedArgument: 0x0212,
  ResourceLimitation: 0x0213,
  DuplicateSopInstance: 0x0111,
} as const;

export type StatusClass = 'success' | 'warning' | 'failure' | 'cancel' | 'pending';

export function statusClass(status: number): StatusClass {
  if (status === 0x0000) return 'success';
  if (status === 0xff00 || status === 0xff01) return 'pending';
  if (status === 0xfe00) return 'cancel';
  if (status === 0x0001 || status === 0x0107 || status === 0x0116 || (status >= 0xb000 && status <= 0xbfff)) {
    return 'warning';
  }
  return 'failure';
}

/** Success or warning: the operation was performed. */
export function isSuccessful(status: number): boolean {
  const c = statusClass(status);
  return c === 'success' || c === 'warning';
}
