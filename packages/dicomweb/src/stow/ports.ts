/**
 * The port a STOW-RS server stores through: the application implements StowHandler (durable storage, duplicates,
 * policy); the DICOMweb layer parses the request, streams each part's bytes into a StowSink exactly as received,
 * checks what the standard asks of each instance, and builds the response. Handlers get UIDs, which may identify a
 * patient: keep them out of logs.
 *
 * Example:
 *   const handler: StowHandler = {
 *     begin: () => {
 *       const chunks: Uint8Array[] = [];
 *       return { write: (c) => void chunks.push(c), end: async (i) => save(i, chunks), abort: () => {} };
 *     },
 *   };
 */

/** The request a part belongs to. */
export interface StowRequestInfo {
  /** The Study Instance UID of the target resource (`/studies/{study}`), if given. */
  readonly studyInstanceUid: string | undefined;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/** A part about to be stored, as its file meta describes it. */
export interface StowPartInfo {
  /** Zero-based index of the part in the request. */
  readonly index: number;
  readonly sopClassUid: string | undefined;
  readonly sopInstanceUid: string | undefined;
  readonly transferSyntaxUid: string | undefined;
}

/** The instance as read from the complete part, handed to StowSink.end. */
export interface StowInstance {
  readonly index: number;
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  /** Undefined only for a file too large to keep its head whole whose data set UIDs lie beyond the head. */
  readonly studyInstanceUid: string | undefined;
  readonly seriesInstanceUid: string | undefined;
  readonly transferSyntaxUid: string | undefined;
  /** Bytes written to the sink: the whole part. */
  readonly length: number;
}

/** Stored: optionally with a Warning Reason (0008,1196) and the instance's retrieve URL. */
export interface StowStored {
  readonly warningReason?: number;
  readonly retrieveUrl?: string;
}

/** Not stored, with a Failure Reason (0008,1197). */
export interface StowFailed {
  readonly failureReason: number;
  /**
   * The store is out of space (a quota): when no instance of the request was stored, the response is
   * 507 Insufficient Storage instead of 409, and the part's warning names `code` (default DICOMWEB_INSUFFICIENT_STORAGE).
   */
  readonly insufficientStorage?: boolean;
  /** A stable code for the part's Warning entry instead of DICOMWEB_REFUSED (letters, digits, '_'). */
  readonly code?: string;
}

export type StowOutcome = StowStored | StowFailed;

export function isStowFailed(o: unknown): o is StowFailed {
  return typeof o === 'object' && o !== null && 'failureReason' in o;
}

export interface StowSink {
  /** One chunk of the part, in order (a view that is never reused). Awaited: reading pauses meanwhile. */
  write(chunk: Uint8Array): Promise<void> | void;
  /**
   * The part is complete and passed the checks. Make it durable, then return the outcome (nothing = stored).
   * Throwing fails the instance with Processing failure (0x0110), or the error's numeric `failureReason`.
   */
  end(instance: StowInstance): Promise<StowOutcome | undefined> | StowOutcome | undefined;
  /** The part will not be stored (failed a check, a limit, or the request broke): discard what was written. */
  abort(): Promise<void> | void;
}

export interface StowHandler {
  /** A part begins. Return a sink for its bytes, or a StowFailed to refuse it (its bytes are then skipped). */
  begin(part: StowPartInfo, request: StowRequestInfo): Promise<StowSink | StowFailed> | StowSink | StowFailed;
}
