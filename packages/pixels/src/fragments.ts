/**
 * Frames of encapsulated Pixel Data (PS3.5 A.4): which fragments make up frame i. From the Extended Offset Table
 * when present, else the Basic Offset Table, else one fragment per frame when the counts agree, else (one frame)
 * all fragments; otherwise the start of each frame is found by its codestream marker (JPEG SOI, J2K SOC).
 *
 * Example:
 *   const bytes = encapsulatedFrame(m, 3);   // the concatenated fragments of the fourth frame
 */
import { type DicomFile, type Fragment, findElement, readNumbers, VeilError } from '@veil/core';
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
