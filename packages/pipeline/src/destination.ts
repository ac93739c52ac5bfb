/**
 * The Destination port: where de-identified instances go (a folder, a DICOM node by C-STORE, a DICOMweb server by
 * STOW-RS, S3-compatible object storage; apps/veil/src/server/destinations/). A destination must be idempotent per SOP Instance UID: the pipeline records a delivery as sending before it
 * calls send() and as delivered after, so a crash in between sends the same instance again, and the destination must
 * end up holding it once (the folder destination overwrites the same name with the same bytes; a PACS replaces an
 * instance stored again with the same UID).
 *
 * Example:
 *   const dest: Destination = { name: 'research', async send(item) { await upload(item.path, item.sopInstanceUid); } };
 */

export interface OutgoingInstance {
  readonly jobId: string;
  /** A local file holding the de-identified Part 10 bytes; read it, never change it. */
  readonly path: string;
  readonly size: number;
  /** De-identified values only. */
  readonly sopInstanceUid: string;
  readonly sopClassUid: string;
  readonly transferSyntaxUid: string;
  readonly studyKey: string | null;
  /** <patient>/<study>/<series> of pseudonymised values, for hierarchical layouts. */
  readonly hierarchy: string;
  /**
   * 2, 3...: a later, different instance under an already delivered de-identified SOP Instance UID, kept beside the
   * first (processing.duplicateUid: version). Destinations that name files write `<uid>.v<n>.dcm`; absent: the first.
   */
  readonly version?: number;
}

/**
 * What the peer acknowledged for one instance: its status (C-STORE status, HTTP status and STOW-RS reasons, S3 ETag
 * and version), for the audit log. Never a data set value; UIDs are de-identified ones.
 */
export interface DeliveryReceipt {
  /** The peer, without credentials: `dicom://AE@host:port`, `https://host/dicom-web`, `s3://bucket/prefix`, a path. */
  readonly peer: string;
  readonly acknowledged: Readonly<Record<string, string | number | boolean>>;
}

export interface Destination {
  readonly name: string;
  /**
   * Resolves once the destination holds the instance durably (with what the peer acknowledged, when it says
   * anything); rejects with DeliveryError otherwise (`permanent` when retrying cannot help).
   */
  send(item: OutgoingInstance): Promise<DeliveryReceipt | undefined | void>;
  close?(): Promise<void>;
}

/** A failed send. `permanent`: retrying cannot help (the instance goes to the dead letter state at once). */
export class DeliveryError extends Error {
  constructor(
    readonly code: string,
    readonly permanent = false,
  ) {
    super(code);
    this.name = 'DeliveryError';
  }
}
