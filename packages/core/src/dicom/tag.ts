/** Tags as unsigned 32-bit numbers: (group << 16 | element) >>> 0. */
export type Tag = number;

export const ITEM = 0xfffee000;
export const ITEM_DELIMITATION = 0xfffee00d;
export const SEQUENCE_DELIMITATION = 0xfffee0dd;
export const PIXEL_DATA = 0x7fe00010;
export const PIXEL_REPRESENTATION = 0x00280103;
export const FLOAT_PIXEL_DATA = 0x7fe00008;
export const DOUBLE_FLOAT_PIXEL_DATA = 0x7fe00009;
export const TRANSFER_SYNTAX_UID = 0x00020010;
export const FILE_META_GROUP_LENGTH = 0x00020000;
export const SPECIFIC_CHARACTER_SET = 0x00080005;
export const UNDEFINED_LENGTH = 0xffffffff;

export function makeTag(group: number, element: number): Tag {
  return ((group << 16) | element) >>> 0;
}

export function tagGroup(tag: Tag): number {
  return tag >>> 16;
}

export function tagElement(tag: Tag): number {
  return tag & 0xffff;
}

export function isPrivateTag(tag: Tag): boolean {
  return (tag >>> 16) % 2 === 1;
}

/** (gggg,0010)-(gggg,00FF) in an odd group. */
export function isPrivateCreator(tag: Tag): boolean {
  const e = tag & 0xffff;
  return isPrivateTag(tag) && e >= 0x10 && e <= 0xff;
}

/** The private creator element that reserves the block of a private data element. */
export function privateCreatorTagOf(tag: Tag): Tag {
  return makeTag(tag >>> 16, (tag & 0xff00) >>> 8);
}

const HEX = '0123456789ABCDEF';
function hex4(n: number): string {
  return HEX[(n >>> 12) & 15]! + HEX[(n >>> 8) & 15]! + HEX[(n >>> 4) & 15]! + HEX[n & 15]!;
}

/** "(0010,0010)" */
/** Formatted public tags: tag paths are built for every recorded action and date, from a few hundred tags. */
const formatted = new Map<number, string>();

export function formatTag(tag: Tag): string {
  let text = formatted.get(tag);
  if (text === undefined) {
    text = `(${hex4(tag >>> 16)},${hex4(tag & 0xffff)})`;
    // Public tags are a fixed set; private ones could be many: only the former are remembered.
    if ((tag >>> 16) % 2 === 0) formatted.set(tag, text);
  }
  return text;
}

/** "00100010", as in the DICOM JSON model. */
export function formatTagJson(tag: Tag): string {
  return hex4(tag >>> 16) + hex4(tag & 0xffff);
}

/** Accepts "(0010,0010)", "0010,0010", "00100010". */
export function parseTag(text: string): Tag | undefined {
  const m = /^\(?([0-9a-fA-F]{4}),?([0-9a-fA-F]{4})\)?$/.exec(text.trim());
  if (!m) return undefined;
  return makeTag(Number.parseInt(m[1]!, 16), Number.parseInt(m[2]!, 16));
}
