/**
 * Frames of encapsulated Pixel Data (PS3.5 A.4): which fragments make up frame i. From the Extended Offset Table
 * when present, else the Basic Offset Table, else one fragment per frame when the counts agree, else (one frame)
 * all fragments; otherwise the start of each frame is found by its codestream marker (JPEG SOI, J2K SOC).
 *
 * fragmentPatchEdits writes new fragments for some frames as patches of the value (the rest stays where it is).
 *
 * Example:
 *   const bytes = encapsulatedFrame(m, 3);   // the concatenated fragments of the fourth frame
 *   const edits = fragmentPatchEdits(file.dataset, m.pixelData, groups, new Map([[3, [jpeg]]]));
 */
import {
  type DicomDataset,
  type DicomElement,
  type DicomFile,
  type Edit,
  encodeUndefinedLength,
  type Fragment,
  findElement,
  readNumbers,
  UNDEFINED_LENGTH,
  VeilError,
} from '@veil/core';
import type { PixelModule } from './pixel-module.ts';

const EXTENDED_OFFSET_TABLE = 0x7fe00001;

function fragmentBytes(m: PixelModule, f: Fragment): Uint8Array {
  const src = m.pixelData.parent.source;
  return src.read(f.valueOffset, f.valueOffset + f.length).slice();
}

function startsFrame(m: PixelModule, f: Fragment): boolean {
  const b = m.pixelData.parent.source.read(f.valueOffset, f.valueOffset + 4);
  // JPEG SOI (FFD8), JPEG 2000 SOC (FF4F) or a JP2 box header.
  return b[0] === 0xff && (b[1] === 0xd8 || b[1] === 0x4f);
}

/** Fragment index groups (into m.pixelData.fragments, 1-based: index 0 is the offset table), one per frame. */
export function frameFragments(file: DicomFile, m: PixelModule): number[][] {
  const all = m.pixelData.fragments;
  if (!all || all.length === 0) throw new VeilError('PIXELS_BAD_FRAGMENTS', { path: '(7FE0,0010)' });
  const data = all.slice(1);
  const n = m.frames;
  const firstItem = data[0]?.offset ?? 0;
  const groupByOffsets = (offsets: number[]): number[][] | undefined => {
    if (offsets.length !== n) return undefined;
    const groups: number[][] = offsets.map(() => []);
    let frame = -1;
    for (let k = 0; k < data.length; k++) {
      const rel = (data[k] as Fragment).offset - firstItem;
      while (frame + 1 < n && rel >= (offsets[frame + 1] as number)) frame++;
      if (frame < 0) return undefined;
      (groups[frame] as number[]).push(k + 1);
    }
    return groups.every((g) => g.length > 0) ? groups : undefined;
  };
  const eot = findElement(file.dataset, EXTENDED_OFFSET_TABLE);
  if (eot) {
    const offsets = readNumbers({ ...eot, vr: 'OV' });
    const g = groupByOffsets(offsets);
    if (g) return g;
  }
  const bot = all[0] as Fragment;
  if (bot.length > 0) {
    const raw = m.pixelData.parent.source.read(bot.valueOffset, bot.valueOffset + bot.length);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const offsets: number[] = [];
    for (let i = 0; i + 4 <= raw.length; i += 4) offsets.push(dv.getUint32(i, true));
    const g = groupByOffsets(offsets);
    if (g) return g;
  }
  if (n === 1) return [data.map((_, k) => k + 1)];
  if (data.length === n) return data.map((_, k) => [k + 1]);
  const groups: number[][] = [];
  for (let k = 0; k < data.length; k++) {
    if (startsFrame(m, data[k] as Fragment) || groups.length === 0) groups.push([]);
    (groups[groups.length - 1] as number[]).push(k + 1);
  }
  if (groups.length !== n) throw new VeilError('PIXELS_BAD_FRAGMENTS', { path: '(7FE0,0010)' });
  return groups;
}

/** The encoded bytes of one frame: its fragments concatenated. */
export function encapsulatedFrame(m: PixelModule, group: readonly number[]): Uint8Array {
  const frags = m.pixelData.fragments as Fragment[];
  if (group.length === 1) return fragmentBytes(m, frags[group[0] as number] as Fragment);
  const parts = group.map((k) => fragmentBytes(m, frags[k] as Fragment));
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const EXTENDED_OFFSET_TABLE_LENGTHS = 0x7fe00002;
const ITEM_TAG = [0xfe, 0xff, 0x00, 0xe0];
const DELIMITER = new Uint8Array([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

function itemHeader(length: number): Uint8Array {
  return new Uint8Array([...ITEM_TAG, ...le32(length)]);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function uv64(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    dv.setBigUint64(8 * i, BigInt(v), true);
  });
  return out;
}

/**
 * The edits that write new fragments for some frames of encapsulated Pixel Data and keep every other frame's
 * fragments where they are: patches of the value (the changed frames' items, the Basic Offset Table, any item
 * header the whole-value write would write otherwise), never the whole value. The output is byte for byte what
 * core's encapsulatedPixelEdits gives for the same frames (the stored fragments of the frames not in `replaced`),
 * Extended Offset Table (7FE0,0001/0002) included, while memory holds only the new frames and the tables.
 *
 * `groups` are the fragment indexes of each frame (frameFragments). Returns undefined when the stored layout is not
 * the one that write would produce around the kept fragments (another element header, bytes between items, a
 * group out of order): the caller then writes the whole value.
 */
export function fragmentPatchEdits(
  dataset: DicomDataset,
  element: DicomElement,
  groups: readonly (readonly number[])[],
  replaced: ReadonlyMap<number, readonly Uint8Array[]>,
  options: { readonly basicOffsetTable?: boolean } = {},
): Edit[] | undefined {
  const path = '(7FE0,0010)';
  const frags = element.fragments;
  const syntax = element.parent.syntax;
  if (!frags || frags.length < 2 || element.length !== UNDEFINED_LENGTH || !syntax.littleEndian) return undefined;
  const src = element.parent.source;
  const vr = element.vr === 'OW' ? 'OW' : 'OB';
  const header = encodeUndefinedLength(element.tag, vr, new Uint8Array(0), syntax);
  if (!sameBytes(src.read(element.offset, element.valueOffset), header)) return undefined;
  // Every fragment in exactly one frame, in order, each item header right before its value.
  let next = 1;
  for (const g of groups) {
    for (const k of g) {
      const f = frags[k];
      if (k !== next++ || !f || f.valueOffset !== f.offset + 8) return undefined;
    }
  }
  if (next !== frags.length || groups.length === 0) return undefined;
  const bot0 = frags[0] as Fragment;
  if (bot0.offset !== element.valueOffset || bot0.valueOffset !== bot0.offset + 8) return undefined;

  // Offsets and lengths of every frame, as encapsulatedPixelEdits lays them out.
  const offsets: number[] = [];
  const lengths: number[] = [];
  let at = 0;
  let oneEach = true;
  groups.forEach((g, i) => {
    const sizes = replaced.get(i)?.map((b) => b.length) ?? g.map((k) => (frags[k] as Fragment).length);
    if (sizes.length === 0) throw new VeilError('DICOM_BAD_EDIT', { path });
    if (sizes.length > 1) oneEach = false;
    offsets.push(at);
    let frameLength = 0;
    sizes.forEach((n, j) => {
      if (n % 2 === 1 && j < sizes.length - 1) throw new VeilError('DICOM_BAD_EDIT', { path });
      frameLength += n + (n % 2);
      at += 8 + n + (n % 2);
    });
    lengths.push(frameLength);
  });

  const edits: Edit[] = [];
  const eot = findElement(dataset, EXTENDED_OFFSET_TABLE);
  const eotl = findElement(dataset, EXTENDED_OFFSET_TABLE_LENGTHS);
  const writesEot = eot !== undefined && eotl !== undefined && oneEach;
  if (writesEot) {
    edits.push({ op: 'replace', element: eot, value: uv64(offsets) });
    edits.push({ op: 'replace', element: eotl, value: uv64(lengths) });
  } else {
    if (eot) edits.push({ op: 'remove', element: eot });
    if (eotl) edits.push({ op: 'remove', element: eotl });
  }
  const wantBot = options.basicOffsetTable ?? bot0.length > 0;
  let bot = new Uint8Array(0);
  if (wantBot && !writesEot && (offsets[offsets.length - 1] as number) <= 0xffffffff) {
    bot = new Uint8Array(4 * offsets.length);
    const dv = new DataView(bot.buffer);
    offsets.forEach((o, i) => {
      dv.setUint32(4 * i, o, true);
    });
  }

  // Patches, in value offsets: only where the new value differs from the stored one.
  const base = element.valueOffset;
  const patch = (start: number, end: number, value: Uint8Array): void => {
    if (end === start && value.length === 0) return;
    if (end - start === value.length && sameBytes(src.read(start, end), value)) return;
    edits.push({ op: 'patch', element, start: start - base, end: end - base, value });
  };
  const botItem = new Uint8Array(8 + bot.length);
  botItem.set(itemHeader(bot.length));
  botItem.set(bot, 8);
  patch(bot0.offset, bot0.valueOffset + bot0.length, botItem);
  let cursor = bot0.valueOffset + bot0.length;
  groups.forEach((g, i) => {
    const first = frags[g[0] as number] as Fragment;
    patch(cursor, first.offset, new Uint8Array(0));
    const parts = replaced.get(i);
    if (parts) {
      const last = frags[g[g.length - 1] as number] as Fragment;
      let n = 0;
      for (const p of parts) n += 8 + p.length + (p.length % 2);
      const items = new Uint8Array(n);
      let o = 0;
      for (const p of parts) {
        items.set(itemHeader(p.length + (p.length % 2)), o);
        items.set(p, o + 8);
        o += 8 + p.length + (p.length % 2);
      }
      patch(first.offset, last.valueOffset + last.length, items);
      cursor = last.valueOffset + last.length;
      return;
    }
    for (const k of g) {
      const f = frags[k] as Fragment;
      patch(cursor, f.offset, new Uint8Array(0));
      patch(f.offset, f.valueOffset, itemHeader(f.length + (f.length % 2)));
      const end = f.valueOffset + f.length;
      if (f.length % 2 === 1) patch(end, end, new Uint8Array(1));
      cursor = end;
    }
  });
  patch(cursor, element.end, DELIMITER);
  return edits;
}
