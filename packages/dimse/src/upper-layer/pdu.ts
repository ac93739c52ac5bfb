/**
 * Protocol data units of the DICOM upper layer (PS3.8 9.3): their types, the items they carry, and the codes of
 * A-ASSOCIATE-RJ and A-ABORT. The codec lives in the *-pdu.ts files beside this one; decoding returns errors as data
 * (a `PduDecodeError` naming the A-ABORT reason to send), never throws.
 */

export const PduType = {
  AssociateRq: 0x01,
  AssociateAc: 0x02,
  AssociateRj: 0x03,
  PDataTf: 0x04,
  ReleaseRq: 0x05,
  ReleaseRp: 0x06,
  Abort: 0x07,
} as const;

export const ItemType = {
  ApplicationContext: 0x10,
  PresentationContextRq: 0x20,
  PresentationContextAc: 0x21,
  AbstractSyntax: 0x30,
  TransferSyntax: 0x40,
  UserInformation: 0x50,
  MaximumLength: 0x51,
  ImplementationClassUid: 0x52,
  AsynchronousOperationsWindow: 0x53,
  RoleSelection: 0x54,
  ImplementationVersionName: 0x55,
  SopClassExtendedNegotiation: 0x56,
  SopClassCommonExtendedNegotiation: 0x57,
  UserIdentityRq: 0x58,
  UserIdentityAc: 0x59,
} as const;

/** The DICOM application context name (PS3.7 A.2.1), the only one defined. */
export const DICOM_APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';
export const PROTOCOL_VERSION = 0x0001;
/** Bytes of a PDU header: type, reserved, 32-bit length. */
export const PDU_HEADER_LENGTH = 6;
/** Bytes of a PDV item header inside a P-DATA-TF: 32-bit length, context id, message control header. */
export const PDV_HEADER_LENGTH = 6;

/** A-ASSOCIATE-RJ result (PS3.8 Table 9-21). */
export const RejectResult = { Permanent: 1, Transient: 2 } as const;
/** A-ASSOCIATE-RJ source. */
export const RejectSource = { ServiceUser: 1, ServiceProviderAcse: 2, ServiceProviderPresentation: 3 } as const;
/** A-ASSOCIATE-RJ reasons, by source. */
export const RejectReason = {
  /** source 1 */
  NoReasonGiven: 1,
  ApplicationContextNameNotSupported: 2,
  CallingAeTitleNotRecognized: 3,
  CalledAeTitleNotRecognized: 7,
  /** source 2 */
  ProtocolVersionNotSupported: 2,
  /** source 3 */
  TemporaryCongestion: 1,
  LocalLimitExceeded: 2,
} as const;

/** A-ABORT source (PS3.8 Table 9-26). */
export const AbortSource = { ServiceUser: 0, ServiceProvider: 2 } as const;
/** A-ABORT reasons when the source is the service provider. */
export const AbortReason = {
  NotSpecified: 0,
  UnrecognizedPdu: 1,
  UnexpectedPdu: 2,
  UnrecognizedPduParameter: 4,
  UnexpectedPduParameter: 5,
  InvalidPduParameterValue: 6,
} as const;

/** Presentation context results in an A-ASSOCIATE-AC (PS3.8 Table 9-18). */
export const ContextResult = {
  Acceptance: 0,
  UserRejection: 1,
  NoReason: 2,
  AbstractSyntaxNotSupported: 3,
  TransferSyntaxesNotSupported: 4,
} as const;

export interface PresentationContextRq {
  /** Odd, 1..255. */
  readonly id: number;
  readonly abstractSyntax: string;
  readonly transferSyntaxes: readonly string[];
}

export interface PresentationContextAc {
  readonly id: number;
  readonly result: number;
  /** Absent (or meaningless) when the context was not accepted. */
  readonly transferSyntax: string | undefined;
}

/** SCP/SCU role selection sub-item (PS3.7 D.3.3.4). 1 = the requestor may take the role. */
export interface RoleSelection {
  readonly sopClassUid: string;
  readonly scuRole: number;
  readonly scpRole: number;
}

/** User identity negotiation, request side (PS3.7 D.3.3.7). Type 1 username, 2 username+passcode, 3 Kerberos, 4 SAML, 5 JWT. */
export interface UserIdentityRq {
  readonly type: number;
  readonly positiveResponseRequested: boolean;
  readonly primaryField: Uint8Array;
  readonly secondaryField: Uint8Array;
}

export interface ExtendedNegotiation {
  readonly sopClassUid: string;
  readonly info: Uint8Array;
}

/** A sub-item Veil does not interpret, kept as read (type and value bytes). */
export interface RawItem {
  readonly type: number;
  readonly data: Uint8Array;
}

export interface UserInformation {
  /** Maximum length of a P-DATA-TF PDU's variable field the sender can receive; 0 = unlimited. */
  readonly maxLength?: number;
  readonly implementationClassUid?: string;
  readonly implementationVersionName?: string;
  readonly asyncOperationsWindow?: { readonly invoked: number; readonly performed: number };
  readonly roleSelections?: readonly RoleSelection[];
  readonly extendedNegotiations?: readonly ExtendedNegotiation[];
  readonly userIdentityRq?: UserIdentityRq;
  /** Server response of an accepted user identity (A-ASSOCIATE-AC only). */
  readonly userIdentityAc?: Uint8Array;
  /** Sub-items not interpreted here (e.g. SOP class common extended negotiation), kept for the caller. */
  readonly other?: readonly RawItem[];
}

export interface AssociateRqPdu {
  readonly type: 'A-ASSOCIATE-RQ';
  readonly protocolVersion: number;
  readonly calledAeTitle: string;
  readonly callingAeTitle: string;
  readonly applicationContextName: string;
  readonly presentationContexts: readonly PresentationContextRq[];
  readonly userInformation: UserInformation;
}

export interface AssociateAcPdu {
  readonly type: 'A-ASSOCIATE-AC';
  readonly protocolVersion: number;
  /** Echo of the RQ's values (PS3.8 says "not tested" on receipt). */
  readonly calledAeTitle: string;
  readonly callingAeTitle: string;
  readonly applicationContextName: string;
  readonly presentationContexts: readonly PresentationContextAc[];
  readonly userInformation: UserInformation;
}

export interface AssociateRjPdu {
  readonly type: 'A-ASSOCIATE-RJ';
  readonly result: number;
  readonly source: number;
  readonly reason: number;
}

/** One presentation data value: a fragment of a command set or of a data set. */
export interface Pdv {
  readonly contextId: number;
  readonly isCommand: boolean;
  readonly isLast: boolean;
  readonly data: Uint8Array;
}

export interface PDataTfPdu {
  readonly type: 'P-DATA-TF';
  readonly pdvs: readonly Pdv[];
}

export interface ReleaseRqPdu {
  readonly type: 'A-RELEASE-RQ';
}

export interface ReleaseRpPdu {
  readonly type: 'A-RELEASE-RP';
}

export interface AbortPdu {
  readonly type: 'A-ABORT';
  readonly source: number;
  readonly reason: number;
}

export type Pdu =
  | AssociateRqPdu
  | AssociateAcPdu
  | AssociateRjPdu
  | PDataTfPdu
  | ReleaseRqPdu
  | ReleaseRpPdu
  | AbortPdu;

/** Why a PDU could not be decoded: a stable code, and the A-ABORT reason PS3.8 asks the receiver to send. */
export interface PduDecodeError {
  readonly code: string;
  readonly abortReason: number;
}

export type Decoded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: PduDecodeError };

export function decodeOk<T>(value: T): Decoded<T> {
  return { ok: true, value };
}

export function decodeFail<T>(code: string, abortReason: number = AbortReason.InvalidPduParameterValue): Decoded<T> {
  return { ok: false, error: { code, abortReason } };
}
