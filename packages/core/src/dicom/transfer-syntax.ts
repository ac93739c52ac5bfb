/**
 * Transfer syntaxes (PS3.5 10, PS3.6 Table A-1): how a dataset is encoded.
 * Unknown transfer syntaxes are assumed to be explicit VR little endian with encapsulated pixel data,
 * which is what every transfer syntax defined since 1993 is, except the four native ones below.
 */
export interface TransferSyntax {
  readonly uid: string;
  readonly explicitVR: boolean;
  readonly littleEndian: boolean;
  readonly deflated: boolean;
  readonly encapsulated: boolean;
}

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
/** Encapsulated Uncompressed Explicit VR Little Endian (2023c). */
export const ENCAPSULATED_UNCOMPRESSED = '1.2.840.10008.1.2.1.98';

const NATIVE: Record<string, TransferSyntax> = {
  [IMPLICIT_VR_LITTLE_ENDIAN]: {
    uid: IMPLICIT_VR_LITTLE_ENDIAN,
    explicitVR: false,
    littleEndian: true,
    deflated: false,
    encapsulated: false,
  },
  [EXPLICIT_VR_LITTLE_ENDIAN]: {
    uid: EXPLICIT_VR_LITTLE_ENDIAN,
    explicitVR: true,
    littleEndian: true,
    deflated: false,
    encapsulated: false,
  },
  [DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN]: {
    uid: DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    explicitVR: true,
    littleEndian: true,
    deflated: true,
    encapsulated: false,
  },
  [EXPLICIT_VR_BIG_ENDIAN]: {
    uid: EXPLICIT_VR_BIG_ENDIAN,
    explicitVR: true,
    littleEndian: false,
    deflated: false,
    encapsulated: false,
  },
};

export function transferSyntax(uid: string): TransferSyntax {
  const known = NATIVE[uid];
  if (known) return known;
  // JPIP referenced deflate (1.2.840.10008.1.2.4.95) is deflated too.
  const deflated = uid === '1.2.840.10008.1.2.4.95';
  return { uid, explicitVR: true, littleEndian: true, deflated, encapsulated: true };
}
