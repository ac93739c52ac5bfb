/**
 * Writing encapsulated Pixel Data (PS3.5 A.4) back with new fragments: the edits that replace an undefined-length
 * Pixel Data element with a Basic Offset Table item, one or more fragment items per frame and the sequence
 * delimiter, and that rewrite (or remove) the Extended Offset Table (7FE0,0001) / Lengths (7FE0,0002) to match.
 * The caller decides what each frame's fragments are: a frame it did not change can be handed over as its original
 * fragment values, which then come out bit-exact. Every other byte of the file is the rewriter's business (copied).
 *
 * Example:
 *   const edits = encapsulatedPixelEdits(file.dataset, pixelData, [[frame0], [frame1a, frame1b]]);
 *   const out = rewrite(file, edits);
 */
import type { DicomDataset, DicomElement } from './dataset.ts';
import { VeilError } from './errors.ts';
import type { Edit } from './rewriter.ts';
import { findElement } from './value.ts';

const EXTENDED_OFFSET_TABLE = 0x7fe00001;
const EXTENDED_OFFSET_TABLE_LENGTHS = 0x7fe00002;
const MAX_32 = 0xffffffff;

export interface EncapsulatedOptions {
  /**
   * Write a Basic Offset Table: true, false, or (undefined) as the original did (a non-empty table in the input).
   * Never when an Extended Offset Table is written, and never when an offset would not fit 32 bits.
   */
  readonly basicOffsetTable?: boolean;
}

function put32(out: Uint8Array, at: number, v: number, le: boolean): void {
  for (let i = 0; i < 4; i++) out[at + (le ? i : 3 - i)] = Math.floor(v / 2 ** (8 * i)) & 0xff;
}

function put16(out: Uint8Array, at: number, v: number, le: boolean): void {
  out[at + (le ? 0 : 1)] = v & 0xff;
  out[at + (le ? 1 : 0)] = (v >>> 8) & 0xff;
}

/** The items (offset table first, then the fragments) and the sequence delimiter, as one value. */
export function encodeFragmentItems(
  offsetTable: Uint8Array,
  fragments: readonly Uint8Array[],
  littleEndian = true,
): Uint8Array {
  let n = 8 + offsetTable.length + 8;
  for (const f of fragments) n += 8 + f.length + (f.length % 2);
  const out = new Uint8Array(n);
  let at = 0;
  for (const v of [offsetTable, ...fragments]) {
    const length = v.length + (v.length % 2);
    put16(out, at, 0xfffe, littleEndian);
    put16(out, at + 2, 0xe000, littleEndian);
    put32(out, at + 4, length, littleEndian);
    out.set(v, at + 8);
    at += 8 + length; // a padding byte stays zero
  }
  put16(out, at, 0xfffe, littleEndian);
  put16(out, at + 2, 0xe0dd, littleEndian);
  return out;
}

/**
 * The edits that write `frames` (each a list of fragment values, in order) as the encapsulated Pixel Data `element`
 * of `dataset`. A fragment other than a frame's last must have an even length (padding it would change the
 * codestream): DICOM_BAD_EDIT otherwise. The last one of a frame is padded with a zero byte when odd.
 */
export function encapsulatedPixelEdits(
  dataset: DicomDataset,
  element: DicomElement,
  frames: readonly (readonly Uint8Array[])[],
  options: EncapsulatedOptions = {},
): Edit[] {
  const path = '(7FE0,0010)';
  if (frames.length === 0) throw new VeilError('DICOM_BAD_EDIT', { path });
  const le = element.parent.syntax.littleEndian;
  const fragments: Uint8Array[] = [];
  const offsets: number[] = [];
  const lengths: number[] = [];
  let at = 0;
  for (const frame of frames) {
    if (frame.length === 0) throw new VeilError('DICOM_BAD_EDIT', { path });
    offsets.push(at);
    let frameLength = 0;
    frame.forEach((f, k) => {
      if (f.length % 2 === 1 && k < frame.length - 1) throw new VeilError('DICOM_BAD_EDIT', { path });
      const length = f.length + (f.length % 2);
      fragments.push(f);
      frameLength += length;
      at += 8 + length;
    });
    lengths.push(frameLength);
  }
  const edits: Edit[] = [];
  const eot = findElement(dataset, EXTENDED_OFFSET_TABLE);
  const eotl = findElement(dataset, EXTENDED_OFFSET_TABLE_LENGTHS);
  // The Extended Offset Table holds only one fragment per frame (PS3.3 C.7.6.3.1.8): kept up to date when that
  // still holds, removed otherwise.
  const oneEach = frames.every((f) => f.length === 1);
  if (eot || eotl) {
    if (eot && eotl && oneEach) {
      const uv = (values: number[]): Uint8Array => {
        const out = new Uint8Array(8 * values.length);
        const dv = new DataView(out.buffer);
        values.forEach((v, i) => {
          dv.setBigUint64(8 * i, BigInt(v), le);
        });
        return out;
      };
      edits.push({ op: 'replace', element: eot, value: uv(offsets) });
      edits.push({ op: 'replace', element: eotl, value: uv(lengths) });
    } else {
      if (eot) edits.push({ op: 'remove', element: eot });
      if (eotl) edits.push({ op: 'remove', element: eotl });
    }
  }
  const writesEot = eot !== undefined && eotl !== undefined && oneEach;
  const original = element.fragments?.[0];
  const wantBot = options.basicOffsetTable ?? (original !== undefined && original.length > 0);
  let bot = new Uint8Array(0);
  if (wantBot && !writesEot && (offsets[offsets.length - 1] as number) <= MAX_32) {
    bot = new Uint8Array(4 * offsets.length);
    offsets.forEach((o, i) => {
      put32(bot, 4 * i, o, le);
    });
  }
  edits.unshift({
    op: 'replace',
    element,
    value: encodeFragmentItems(bot, fragments, le),
    vr: element.vr === 'OW' ? 'OW' : 'OB',
    encapsulated: true,
  });
  return edits;
}
