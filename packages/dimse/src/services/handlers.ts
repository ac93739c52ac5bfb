/**
 * The ports of the DIMSE service class providers: what an application implements to serve C-ECHO, C-STORE, C-FIND,
 * C-MOVE and C-GET (PS3.4 Annexes A, B, C). The DIMSE package never stores anything itself: a StoreHandler gets the
 * data set as a sequence of fragments written to a sink it provides, and answers with a DIMSE status only once it
 * has made the instance durable. Handlers receive AE titles and UIDs; they must keep data set values out of logs.
 */
import type { UserIdentityRq } from '../upper-layer/pdu.ts';

/** Who is on the other end of an association. AE titles and addresses are not PHI; UIDs and data sets may be. */
export interface AssociationInfo {
  /** Serial number of the association within this server (for logs). */
  readonly id: number;
  readonly callingAeTitle: string;
  readonly calledAeTitle: string;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly implementationClassUid: string | undefined;
  readonly implementationVersionName: string | undefined;
  readonly tls: boolean;
}

/** A status and the optional elements of a failed or warning response. */
export interface DimseResult {
  readonly status: number;
  /** (0000,0902): at most 64 characters, never a data set value. */
  readonly errorComment?: string;
  readonly offendingElements?: readonly number[];
}

export interface EchoHandler {
  /** Returns the C-ECHO status (Success unless the application is not ready). */
  echo(association: AssociationInfo): Promise<number> | number;
}

export interface StoreRequest {
  readonly association: AssociationInfo;
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  /** The transfer syntax accepted for the presentation context: the data set bytes are in it, untouched. */
  readonly transferSyntaxUid: string;
  readonly messageId: number;
  readonly priority: number;
  /** Set when the C-STORE is a sub-operation of a C-MOVE (PS3.7 9.3.1.1). */
  readonly moveOriginator?: { readonly aeTitle: string; readonly messageId: number };
}

/** Where one instance's data set goes, fragment by fragment, as received. */
export interface StoreSink {
  /** One fragment (a view Veil never reuses: it may be kept). Awaited: reading from the peer pauses meanwhile. */
  write(fragment: Uint8Array): Promise<void> | void;
  /**
   * The data set is complete. Make it durable, then return the status to answer with (Success, a warning, or a
   * failure). The C-STORE-RSP is sent only after this resolves.
   */
  end(): Promise<DimseResult | number> | DimseResult | number;
  /** The transfer failed (association aborted or closed, or a write failed): discard what was written. */
  abort(): Promise<void> | void;
}

export interface StoreHandler {
  /**
   * A C-STORE-RQ arrived. Return a sink for its data set, or a DimseResult to refuse it at once (its data set is then
   * read and discarded). Throwing refuses with 0xA700 (out of resources) unless the error carries a `status`.
   */
  beginStore(request: StoreRequest): Promise<StoreSink | DimseResult> | StoreSink | DimseResult;
}

/** Common fields of C-FIND, C-MOVE and C-GET requests. */
export interface QueryRequest {
  readonly association: AssociationInfo;
  /** The information model (e.g. Study Root Query/Retrieve - FIND). */
  readonly sopClassUid: string;
  /** The transfer syntax of the identifier, and of the identifiers a FindHandler returns. */
  readonly transferSyntaxUid: string;
  /** The identifier data set, in transferSyntaxUid. */
  readonly identifier: Uint8Array;
  readonly messageId: number;
  readonly priority: number;
  /** Aborted when the requestor sends a C-CANCEL-RQ or the association ends. */
  readonly signal: AbortSignal;
}

/** A C-FIND match: an identifier data set encoded in the request's transfer syntax. */
export type FindMatch = Uint8Array | { readonly identifier: Uint8Array; readonly status?: number };

export interface FindHandler {
  /** Yields the matches; each becomes a pending C-FIND-RSP. Throwing ends with a failure (0xC001 or its status). */
  find(request: QueryRequest): AsyncIterable<FindMatch> | Iterable<FindMatch>;
}

/** Progress of the sub-operations of a C-MOVE or C-GET. */
export interface SuboperationCounts {
  readonly remaining?: number;
  readonly completed: number;
  readonly failed: number;
  readonly warning: number;
  /** SOP instance UIDs that failed (sent in the final response's Failed SOP Instance UID List). */
  readonly failedSopInstanceUids?: readonly string[];
}

export interface MoveRequest extends QueryRequest {
  /** (0000,0600) Move Destination: the AE title the application must send the instances to. */
  readonly destination: string;
}

export interface MoveHandler {
  /**
   * Performs the C-STORE sub-operations towards `destination` (the application opens that association itself,
   * e.g. with DimseClient) and yields the counts after each; each yield becomes a pending C-MOVE-RSP. Throw an error
   * with `status` 0xA801 for an unknown destination.
   */
  move(request: MoveRequest): AsyncIterable<SuboperationCounts>;
}

/** One instance a C-GET sends back on the requestor's association. */
export interface GetInstance {
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly transferSyntaxUid: string;
  /** The data set in transferSyntaxUid: bytes or a stream of chunks (read lazily, e.g. from a file). */
  readonly dataset: Uint8Array | AsyncIterable<Uint8Array>;
}

export interface GetHandler {
  /** The instances matching the identifier; `count` (when known) fills Number of Remaining Sub-operations. */
  get(request: QueryRequest): {
    readonly count?: number;
    readonly instances: AsyncIterable<GetInstance> | Iterable<GetInstance>;
  };
}

export type DimseServiceName = 'echo' | 'store' | 'find' | 'move' | 'get';

/** What one calling AE may do. */
export interface AssociationPolicy {
  /** Services this peer may use (default: every service the server has a handler for). */
  readonly services?: readonly DimseServiceName[];
  /**
   * Transfer syntaxes accepted, in Veil's order of preference. Default: the first one the requestor proposes in each
   * context (Veil stores and relays bytes as they are, so every transfer syntax is one it can carry).
   */
  readonly transferSyntaxes?: readonly string[];
}

/** What an authorizer sees of an A-ASSOCIATE-RQ. */
export interface AssociationRequestInfo {
  readonly callingAeTitle: string;
  readonly calledAeTitle: string;
  readonly remoteAddress: string | undefined;
  readonly tls: boolean;
  readonly userIdentity: UserIdentityRq | undefined;
}

export type AuthorizeDecision =
  | AssociationPolicy
  | {
      readonly reject: 'calling-ae-title' | 'called-ae-title' | 'no-reason' | 'busy';
    }
  /** Accept, with a user identity server response (PS3.7 D.3.3.7) when the requestor asked for one. */
  | (AssociationPolicy & { readonly userIdentityResponse?: Uint8Array });
