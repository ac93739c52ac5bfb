/**
 * Errors of the networking layer. Like every VeilError they carry a stable code and numbers only (DIMSE status,
 * reject/abort source and reason): never an AE title list, a UID or a value from a dataset.
 */
import { VeilError } from '@veil/core';

export type DimseErrorCode =
  /** Transport failed or closed before the operation completed. */
  | 'DIMSE_CONNECTION_CLOSED'
  | 'DIMSE_CONNECT_FAILED'
  /** The peer answered the A-ASSOCIATE-RQ with an A-ASSOCIATE-RJ (see result/source/reason). */
  | 'DIMSE_ASSOCIATION_REJECTED'
  /** The association ended with an A-ABORT (sent or received) or a provider abort. */
  | 'DIMSE_ABORTED'
  /** ARTIM, idle, send or operation timer expired. */
  | 'DIMSE_TIMEOUT'
  /** The peer broke PS3.8/PS3.7 (malformed PDU, unexpected PDU or message). */
  | 'DIMSE_PROTOCOL_ERROR'
  /** No accepted presentation context carries this SOP class in this transfer syntax. Veil never converts. */
  | 'DIMSE_NO_ACCEPTABLE_CONTEXT'
  /** A local primitive was used in a state where PS3.8 does not allow it (a programming error). */
  | 'DIMSE_INVALID_STATE'
  | 'DIMSE_BAD_COMMAND'
  /** The peer ended an operation with a failure status (see status). */
  | 'DIMSE_STATUS_FAILURE'
  | 'DIMSE_BAD_ARGUMENT'
  /** A Part 10 file lacks what a C-STORE needs (SOP class/instance UID, transfer syntax). */
  | 'DIMSE_BAD_FILE'
  | 'DIMSE_TOO_MANY_CONTEXTS';

export interface DimseErrorDetails {
  /** DIMSE status of a failed response. */
  readonly status?: number;
  /** A-ASSOCIATE-RJ result, or A-ABORT / reject source and reason. */
  readonly result?: number;
  readonly source?: number;
  readonly reason?: number;
  readonly file?: string;
}

export class DimseError extends VeilError {
  readonly status: number | undefined;
  readonly result: number | undefined;
  readonly source: number | undefined;
  readonly reason: number | undefined;

  constructor(code: DimseErrorCode, details: DimseErrorDetails = {}) {
    super(code, details.file !== undefined ? { file: details.file } : {});
    this.name = 'DimseError';
    this.status = details.status;
    this.result = details.result;
    this.source = details.source;
    this.reason = details.reason;
    const extra = [
      details.status !== undefined ? `status 0x${details.status.toString(16).padStart(4, '0')}` : '',
      details.result !== undefined ? `result ${details.result}` : '',
      details.source !== undefined ? `source ${details.source}` : '',
      details.reason !== undefined ? `reason ${details.reason}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    if (extra) this.message = `${this.message} (${extra})`;
  }
}

export function isDimseError(e: unknown): e is DimseError {
  return e instanceof DimseError;
}
