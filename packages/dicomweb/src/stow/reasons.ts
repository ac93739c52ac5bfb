/**
 * Failure Reason (0008,1197) and Warning Reason (0008,1196) values of STOW-RS responses (PS3.18 10.5.3, the
 * storage status codes of PS3.4 B.2.3 and PS3.7 C).
 *
 * Example:
 *   { '00081197': us(FailureReason.CannotUnderstand) }
 */
export const FailureReason = {
  /** 0x0110: the application failed while storing. */
  ProcessingFailure: 0x0110,
  /** 0x0111: an instance with this SOP Instance UID but other content is already stored. */
  DuplicateSopInstance: 0x0111,
  /** 0x0122: the SOP class is not supported. */
  SopClassNotSupported: 0x0122,
  /** 0xA700: out of resources (an instance or request over a size limit included). */
  OutOfResources: 0xa700,
  /** 0xA900: the data set does not match the SOP class, or the study of the target resource. */
  DataSetDoesNotMatchSopClass: 0xa900,
  /** 0xC000: cannot understand (not a Part 10 file, truncated, does not parse). */
  CannotUnderstand: 0xc000,
  /** 0xC122: the transfer syntax is not supported. */
  TransferSyntaxNotSupported: 0xc122,
} as const;

export const WarningReason = {
  /** 0xB000: coercion of data elements. */
  CoercionOfDataElements: 0xb000,
  /** 0xB006: elements discarded. */
  ElementsDiscarded: 0xb006,
  /** 0xB007: data set does not match SOP class. */
  DataSetDoesNotMatchSopClass: 0xb007,
} as const;
