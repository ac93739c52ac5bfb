/**
 * What defacing needs from one instance: its series and frame of reference, and for each frame its plane (position,
 * orientation, spacing), its rescale, and its stored pixel values. Single-frame images read the top-level attributes;
 * enhanced multi-frame images read the shared and per-frame functional groups (PS3.3 C.7.6.16). Pure: a scanned file
 * in, numbers and typed arrays out (views of the file's bytes where they are aligned).
 *
 * Example:
 *   const inst = readInstance(scanFile(bytes));
 *   inst.frames[0].position; // [x, y, z] of the first voxel, patient coordinates (LPS, mm)
 */
import {
  type DicomElement,
  type DicomFile,
  type ElementContainer,
  findElement,
  readNumbers,
  readString,
  VeilError,
} from '@veil/core';

export const PIXEL_DATA = 0x7fe00010;
const SOP_INSTANCE_UID = 0x00080018;
const MODALITY = 0x00080060;
const SERIES_INSTANCE_UID = 0x0020000e;
const FRAME_OF_REFERENCE_UID = 0x00200052;
const INSTANCE_NUMBER = 0x00200013;
const IMAGE_POSITION = 0x00200032;
const IMAGE_ORIENTATION = 0x00200037;
const PIXEL_SPACING = 0x00280030;
const ROWS = 0x00280010;
const COLUMNS = 0x00280011;
const SAMPLES_PER_PIXEL = 0x00280002;
const PHOTOMETRIC = 0x00280004;
const NUMBER_OF_FRAMES = 0x00280008;
const BITS_ALLOCATED = 0x00280100;
const BITS_STORED = 0x00280101;
const PIXEL_REPRESENTATION = 0x00280103;
const RESCALE_INTERCEPT = 0x00281052;
const RESCALE_SLOPE = 0x00281053;
const SHARED_GROUPS = 0x52009229;
const PER_FRAME_GROUPS = 0x52009230;
const PLANE_POSITION_SEQUENCE = 0x00209113;
const PLANE_ORIENTATION_SEQUENCE = 0x00209116;
const PIXEL_MEASURES_SEQUENCE = 0x00289110;
const PIXEL_VALUE_TRANSFORMATION_SEQUENCE = 0x00289145;

export type Vec3 = readonly [number, number, number];

/** The stored values of one frame, as the file holds them. */
export type StoredPixels = Uint8Array | Int8Array | Uint16Array | Int16Array;

export interface FrameInfo {
  /** Patient position of the centre of the first voxel (row 0, column 0), mm. */
  readonly position: Vec3;
  /** Direction of increasing column index (along a row). */
  readonly rowDirection: Vec3;
  /** Direction of increasing row index (down a column). */
  readonly columnDirection: Vec3;
  /** Spacing between columns (x) and between rows (y), mm. */
  readonly spacing: readonly [number, number];
  readonly slope: number;
  readonly intercept: number;
}

export interface InstanceInfo {
  readonly sopInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly frameOfReferenceUid: string;
  readonly modality: string;
  readonly instanceNumber: number;
  readonly rows: number;
  readonly columns: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly signed: boolean;
  readonly monochrome1: boolean;
  /** The transfer syntax's pixel data is encapsulated (compressed): frames cannot be read here. */
  readonly encapsulated: boolean;
  readonly frames: readonly FrameInfo[];
}

function str(c: ElementContainer | undefined, tag: number): string | undefined {
  if (!c) return undefined;
  const el = findElement(c, tag);
  return el && !el.items ? readString(el) : undefined;
}

function nums(c: ElementContainer | undefined, tag: number): number[] | undefined {
  const s = str(c, tag);
  if (s === undefined || s === '') return undefined;
  const out = s.split('\\').map((v) => Number(v.trim()));
  return out.every(Number.isFinite) ? out : undefined;
}

function us(c: ElementContainer, tag: number): number | undefined {
  const el = findElement(c, tag);
  if (!el) return undefined;
  const v = el.vr === 'US' || el.vr === 'SS' ? readNumbers(el)[0] : Number(readString(el));
  return v !== undefined && Number.isFinite(v) ? v : undefined;
}

/** The first item of a sequence in the container. */
function item(c: ElementContainer | undefined, tag: number): ElementContainer | undefined {
  return c ? findElement(c, tag)?.items?.[0] : undefined;
}

function vec(a: readonly number[], at: number): Vec3 {
  return [a[at] ?? 0, a[at + 1] ?? 0, a[at + 2] ?? 0];
}

function unit(v: Vec3, path: string): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]);
  if (!(n > 0.5 && n < 1.5)) throw new VeilError('DEFACE_BAD_GEOMETRY', { path });
  return [v[0] / n, v[1] / n, v[2] / n];
}

/** A functional group macro's attribute: per-frame item first, then the shared item, then (classic) the top level. */
function groupValue(
  perFrame: ElementContainer | undefined,
  shared: ElementContainer | undefined,
  top: ElementContainer,
  sequence: number,
  tag: number,
): number[] | undefined {
  return nums(item(perFrame, sequence), tag) ?? nums(item(shared, sequence), tag) ?? nums(top, tag);
}

/** Reads the geometry and pixel layout of an image; throws DEFACE_* codes (no values) when it cannot be used. */
export function readInstance(file: DicomFile): InstanceInfo {
  const ds = file.dataset;
  const rows = us(ds, ROWS);
  const columns = us(ds, COLUMNS);
  const bitsAllocated = us(ds, BITS_ALLOCATED);
  if (!rows || !columns || !bitsAllocated) throw new VeilError('DEFACE_NOT_AN_IMAGE', { path: '(0028,0010)' });
  if ((us(ds, SAMPLES_PER_PIXEL) ?? 1) !== 1) throw new VeilError('DEFACE_NOT_MONOCHROME', { path: '(0028,0002)' });
  const photometric = str(ds, PHOTOMETRIC) ?? 'MONOCHROME2';
  if (!photometric.startsWith('MONOCHROME')) throw new VeilError('DEFACE_NOT_MONOCHROME', { path: '(0028,0004)' });
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new VeilError('DEFACE_UNSUPPORTED_PIXELS', { path: '(0028,0100)' });
  }
  const nFrames = Math.max(1, Math.trunc(nums(ds, NUMBER_OF_FRAMES)?.[0] ?? 1));
  const shared = item(ds, SHARED_GROUPS);
  const perFrameSeq = findElement(ds, PER_FRAME_GROUPS);
  const perFrameItems = perFrameSeq?.items;
  if (nFrames > 1 && (!perFrameItems || perFrameItems.length !== nFrames)) {
    throw new VeilError('DEFACE_BAD_GEOMETRY', { path: '(5200,9230)' });
  }
  const frames: FrameInfo[] = [];
  for (let f = 0; f < nFrames; f++) {
    const pf = perFrameItems?.[f];
    const ipp = groupValue(pf, shared, ds, PLANE_POSITION_SEQUENCE, IMAGE_POSITION);
    const iop = groupValue(pf, shared, ds, PLANE_ORIENTATION_SEQUENCE, IMAGE_ORIENTATION);
    const ps = groupValue(pf, shared, ds, PIXEL_MEASURES_SEQUENCE, PIXEL_SPACING);
    if (!ipp || ipp.length < 3) throw new VeilError('DEFACE_NO_GEOMETRY', { path: '(0020,0032)' });
    if (!iop || iop.length < 6) throw new VeilError('DEFACE_NO_GEOMETRY', { path: '(0020,0037)' });
    if (!ps || ps.length < 2 || !(ps[0]! > 0) || !(ps[1]! > 0)) {
      throw new VeilError('DEFACE_NO_GEOMETRY', { path: '(0028,0030)' });
    }
    const slope = groupValue(pf, shared, ds, PIXEL_VALUE_TRANSFORMATION_SEQUENCE, RESCALE_SLOPE)?.[0] ?? 1;
    const intercept = groupValue(pf, shared, ds, PIXEL_VALUE_TRANSFORMATION_SEQUENCE, RESCALE_INTERCEPT)?.[0] ?? 0;
    frames.push({
      position: vec(ipp, 0),
      rowDirection: unit(vec(iop, 0), '(0020,0037)'),
      columnDirection: unit(vec(iop, 3), '(0020,0037)'),
      // PixelSpacing is row spacing (between rows), then column spacing (between columns).
      spacing: [ps[1]!, ps[0]!],
      slope: slope === 0 ? 1 : slope,
      intercept,
    });
  }
  return {
    sopInstanceUid: str(ds, SOP_INSTANCE_UID) ?? '',
    seriesInstanceUid: str(ds, SERIES_INSTANCE_UID) ?? '',
    frameOfReferenceUid: str(ds, FRAME_OF_REFERENCE_UID) ?? '',
    modality: str(ds, MODALITY) ?? '',
    instanceNumber: nums(ds, INSTANCE_NUMBER)?.[0] ?? 0,
    rows,
    columns,
    bitsAllocated,
    bitsStored: us(ds, BITS_STORED) ?? bitsAllocated,
    signed: (us(ds, PIXEL_REPRESENTATION) ?? 0) === 1,
    monochrome1: photometric === 'MONOCHROME1',
    encapsulated: file.transferSyntax.encapsulated,
    frames,
  };
}

/** The Pixel Data element of a native (not encapsulated) image, checked to hold every frame. */
export function nativePixelElement(file: DicomFile, info: InstanceInfo): DicomElement {
  if (info.encapsulated) throw new VeilError('DEFACE_COMPRESSED', { path: '(7FE0,0010)' });
  if (!file.transferSyntax.littleEndian) throw new VeilError('DEFACE_BIG_ENDIAN', { path: '(7FE0,0010)' });
  const el = findElement(file.dataset, PIXEL_DATA);
  const frameBytes = info.rows * info.columns * (info.bitsAllocated / 8);
  if (!el || el.fragments || el.length === 0xffffffff || el.length < frameBytes * info.frames.length) {
    throw new VeilError('DEFACE_NO_PIXELS', { path: '(7FE0,0010)' });
  }
  return el;
}

/**
 * The stored values of each frame of a native image, in the element's byte order (little endian), masked to Bits
 * Stored and sign-extended. Views of the file when aligned, else copies.
 */
export function readNativeFrames(file: DicomFile, info: InstanceInfo): StoredPixels[] {
  const el = nativePixelElement(file, info);
  const src = el.parent.source;
  const n = info.rows * info.columns;
  const bytesPer = info.bitsAllocated / 8;
  const frameBytes = n * bytesPer;
  const out: StoredPixels[] = [];
  for (let f = 0; f < info.frames.length; f++) {
    const start = el.valueOffset + f * frameBytes;
    let bytes = src.read(start, start + frameBytes);
    if (bytes.byteOffset % 2 !== 0 || !src.bytes) bytes = bytes.slice();
    out.push(storedFromBytes(bytes, info));
  }
  return out;
}

/**
 * Stored values from one frame's little-endian native bytes (a decoder's output too): masked to Bits Stored and
 * sign-extended; a view of the bytes when they need neither and are aligned.
 */
export function storedFromBytes(bytes: Uint8Array, info: InstanceInfo): StoredPixels {
  const n = info.rows * info.columns;
  if (bytes.byteOffset % 2 !== 0) bytes = bytes.slice();
  const { bitsAllocated, bitsStored, signed } = info;
  if (bitsAllocated === 8) {
    if (!signed && bitsStored === 8) return bytes.subarray(0, n);
    const out = signed ? new Int8Array(n) : new Uint8Array(n);
    const mask = (1 << bitsStored) - 1;
    const sign = 1 << (bitsStored - 1);
    for (let i = 0; i < n; i++) {
      const v = bytes[i]! & mask;
      out[i] = signed && v & sign ? v - (mask + 1) : v;
    }
    return out;
  }
  const raw = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  if (bitsStored === 16) return signed ? new Int16Array(bytes.buffer, bytes.byteOffset, n) : raw;
  const mask = (1 << bitsStored) - 1;
  const sign = 1 << (bitsStored - 1);
  const out = signed ? new Int16Array(n) : new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const v = raw[i]! & mask;
    out[i] = signed && v & sign ? v - (mask + 1) : v;
  }
  return out;
}

/**
 * Encodes stored values back into a native frame's bytes, keeping the bits above Bits Stored of the original bytes
 * (overlays of old files live there) untouched.
 */
export function encodeNativeFrame(values: StoredPixels, original: Uint8Array, info: InstanceInfo): Uint8Array {
  const out = original.slice();
  const n = values.length;
  if (info.bitsAllocated === 8) {
    const mask = (1 << info.bitsStored) - 1;
    for (let i = 0; i < n; i++) out[i] = (original[i]! & ~mask) | (values[i]! & mask);
    return out;
  }
  const mask = info.bitsStored === 16 ? 0xffff : (1 << info.bitsStored) - 1;
  for (let i = 0; i < n; i++) {
    const o = (original[2 * i]! | (original[2 * i + 1]! << 8)) & ~mask & 0xffff;
    const v = o | (values[i]! & mask);
    out[2 * i] = v & 0xff;
    out[2 * i + 1] = v >>> 8;
  }
  return out;
}
