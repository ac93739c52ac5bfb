/**
 * Errors of the DICOM core. Every error carries a stable code and, where known, a tag path and byte offset.
 * A VeilError never carries a value read from a file: values may be PHI.
 */
export type VeilErrorCode =
  | 'DICOM_NOT_DICOM'
  | 'DICOM_TRUNCATED_ELEMENT'
  | 'DICOM_TRUNCATED_HEADER'
  | 'DICOM_BAD_ITEM'
  | 'DICOM_BAD_LENGTH'
  | 'DICOM_UNSUPPORTED_TRANSFER_SYNTAX'
  | 'DICOM_DEFLATE_FAILED'
  | 'DICOM_TOO_DEEP'
  | 'DICOM_TOO_MANY_ELEMENTS'
  | 'DICOM_INFLATE_LIMIT'
  | 'DICOM_DECODED_LIMIT'
  | 'DICOM_TRAILING_DATA'
  | 'DICOM_STRAY_DELIMITER'
  | 'DICOM_BAD_EDIT'
  | 'DICOM_VALUE_TOO_LONG'
  | 'CHARSET_UNENCODABLE'
  | (string & {});

export interface VeilErrorDetails {
  readonly path?: string;
  readonly offset?: number;
  readonly file?: string;
}

export class VeilError extends Error {
  readonly code: VeilErrorCode;
  readonly path: string | undefined;
  readonly offset: number | undefined;
  readonly file: string | undefined;

  constructor(code: VeilErrorCode, details: VeilErrorDetails = {}) {
    const where = [
      details.file !== undefined ? `file ${details.file}` : '',
      details.path ? `at ${details.path}` : '',
      details.offset !== undefined ? `offset ${details.offset}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    super(where ? `${code} ${where}` : code);
    this.name = 'VeilError';
    this.code = code;
    this.path = details.path;
    this.offset = details.offset;
    this.file = details.file;
  }

  /** The same error, attributed to a file (paths are not PHI by themselves in Veil's folder layouts). */
  withFile(file: string): VeilError {
    const e = new VeilError(this.code, {
      ...(this.path !== undefined ? { path: this.path } : {}),
      ...(this.offset !== undefined ? { offset: this.offset } : {}),
      file,
    });
    e.stack = this.stack ?? '';
    return e;
  }
}

export function isVeilError(e: unknown): e is VeilError {
  return e instanceof VeilError;
}
