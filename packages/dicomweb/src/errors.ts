/**
 * Errors of the DICOMweb layer: a VeilError with a stable code and, for HTTP failures, the status. Messages never
 * hold a value from a data set or a request body (UIDs included): codes, statuses and part indexes only.
 *
 * Example:
 *   throw new DicomwebError('DICOMWEB_MULTIPART_TRUNCATED', { part: 3 });
 */
import { VeilError } from '@veil/core';

export type DicomwebErrorCode =
  /** The body ended inside a part or before the close delimiter. */
  | 'DICOMWEB_MULTIPART_TRUNCATED'
  /** The body is not multipart/related as RFC 2046 defines it (no delimiter, bad part headers). */
  | 'DICOMWEB_MULTIPART_MALFORMED'
  /** Content-Type is not multipart/related, or its type parameter is not application/dicom. */
  | 'DICOMWEB_UNSUPPORTED_MEDIA_TYPE'
  /** multipart/related without a usable boundary parameter. */
  | 'DICOMWEB_MISSING_BOUNDARY'
  | 'DICOMWEB_BODY_TOO_LARGE'
  | 'DICOMWEB_TOO_MANY_PARTS'
  /** A part's body yielded a different number of bytes than its declared length (a file changed while sent). */
  | 'DICOMWEB_PART_LENGTH_CHANGED'
  /** A part is not a DICOM Part 10 file (no "DICM" after the preamble, or a broken file meta). */
  | 'DICOMWEB_NOT_PART10'
  /** A QIDO-RS query parameter that is neither a keyword, a tag, nor a known control parameter. */
  | 'DICOMWEB_BAD_QUERY'
  /** An HTTP exchange failed: see `status` (0 when no response came: refused, reset, timeout). */
  | 'DICOMWEB_HTTP_ERROR'
  | 'DICOMWEB_TIMEOUT'
  /** A response body failed while it was streamed (a stored file vanished or changed). */
  | 'DICOMWEB_RESPONSE_STREAM_FAILED'
  /** A response did not have the content type or shape the standard defines. */
  | 'DICOMWEB_BAD_RESPONSE';

export interface DicomwebErrorDetails {
  readonly status?: number;
  /** Zero-based index of the multipart part concerned. */
  readonly part?: number;
  readonly offset?: number;
  readonly path?: string;
}

export class DicomwebError extends VeilError {
  readonly status: number | undefined;
  readonly part: number | undefined;

  constructor(code: DicomwebErrorCode, details: DicomwebErrorDetails = {}) {
    super(code, {
      ...(details.path !== undefined ? { path: details.path } : {}),
      ...(details.offset !== undefined ? { offset: details.offset } : {}),
    });
    const extra = [
      details.status !== undefined ? `HTTP ${details.status}` : '',
      details.part !== undefined ? `part ${details.part}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    if (extra) this.message = `${this.message} (${extra})`;
    this.name = 'DicomwebError';
    this.status = details.status;
    this.part = details.part;
  }
}

export function isDicomwebError(e: unknown): e is DicomwebError {
  return e instanceof DicomwebError;
}
