/**
 * A plain-data picture of a scanned element tree (tags, VRs, undefined lengths, value bytes as hex, items,
 * fragments), for deepStrictEqual comparisons with readable diffs.
 */
import { type ElementContainer, formatTag, UNDEFINED_LENGTH, valueBytes } from '../../src/index.ts';

export interface SnapElement {
  tag: string;
  vr: string;
  undefinedLength?: true;
  value?: string;
  items?: SnapItem[];
  fragments?: string[];
}

export interface SnapItem {
  undefinedLength?: true;
  elements: SnapElement[];
}

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export function snapshot(c: ElementContainer): SnapElement[] {
  return c.elements.map((el) => {
    const s: SnapElement = { tag: formatTag(el.tag), vr: el.vr };
    if (el.length === UNDEFINED_LENGTH) s.undefinedLength = true;
    if (el.items) {
      s.items = el.items.map((item) => {
        const i: SnapItem = { elements: snapshot(item) };
        if (item.length === UNDEFINED_LENGTH) i.undefinedLength = true;
        return i;
      });
    } else if (el.fragments) {
      const src = el.parent.source;
      s.fragments = el.fragments.map((f) => hex(src.read(f.valueOffset, f.valueOffset + f.length)));
    } else {
      s.value = hex(valueBytes(el));
    }
    return s;
  });
}
