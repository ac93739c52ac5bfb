/**
 * The Destination port: where de-identified instances go (folder now; C-STORE and STOW-RS adapters plug in the same
 * way). A destination must be idempotent per SOP Instance UID: the pipeline records a delivery as sending before it
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
}

export interface Destination {
  readonly name: string;
  /** Resolves once the destination holds the instance durably; rejects (ideally with DeliveryError) otherwise. */
  send(item: OutgoingInstance): Promise<void>;
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
