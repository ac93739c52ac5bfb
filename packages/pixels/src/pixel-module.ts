/**
 * The Image Pixel module (PS3.3 C.7.6.3) of a dataset: what a decoder needs to know to turn Pixel Data bytes into
 * samples. Read from the scanned element tree; values only, no pixels.
 *
 * Example:
 *   const m = readPixelModule(scanFile(bytes));
 *   if (m) console.log(m.rows, m.columns, m.frames, m.photometric);
 */
import {
  type DicomElement,
  type DicomFile,
  findElement,
  PIXEL_DATA,
  readNumbers,
  readString,
  VeilError,
} from '@veil/core';

export interface PaletteLut {
  /** Entries (first mapped value, number of entries, bits per entry) from the LUT descriptor. */
  readonly firstMapped: number;
  readonly bits: number;
  /** Expanded table, one value per entry (segmented tables already expanded). */
  readonly data: Uint16Array;
}

export interface PixelModule {
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly highBit: number;
  /** 0 unsigned, 1 two's complement. */
  readonly pixelRepresentation: number;
  /** 0 interleaved (R1G1B1R2...), 1 planar (R1R2...G1G2...). */
  readonly planarConfiguration: number;
  readonly photometric: string;
  readonly frames: number;
  readonly pixelData: DicomElement;
  readonly palette?: { readonly red: PaletteLut; readonly green: PaletteLut; readonly blue: PaletteLut } | undefined;
}

function num(file: DicomFile, tag: number): number | undefined {
  const el = findElement(file.dataset, tag);
  if (!el || el.length === 0) return undefined;
  if (el.vr === 'IS' || el.vr === 'DS') {
    const n = Number.parseInt(readString(el), 10);
    return Number.isFinite(n) ? n : undefined;
  }
  return readNumbers(el)[0];
}

/** PS3.3 C.7.9.2: a segmented palette LUT (discrete, linear and indirect segments) expanded to a plain table. */
export function expandSegmentedLut(segments: readonly number[], entries: number): Uint16Array {
  const out: number[] = [];
  let i = 0;
  const fail = (): never => {
    throw new VeilError('PIXELS_BAD_SEGMENTED_LUT', { path: '(0028,1221)' });
  };
  while (i < segments.length && out.length < entries) {
    const op = segments[i++];
    const len = segments[i++];
    if (len === undefined) fail();
    const n = len as number;
    if (op === 0) {
      for (let k = 0; k < n; k++) out.push(segments[i++] ?? fail());
    } else if (op === 1) {
      const y0 = out.length > 0 ? (out[out.length - 1] as number) : fail();
      const y1 = segments[i++] ?? fail();
      for (let k = 1; k <= n; k++) out.push(Math.round(y0 + ((y1 - y0) * k) / n));
    } else if (op === 2) {
      const lo = segments[i++] ?? fail();
      const hi = segments[i++] ?? fail();
      const offset = lo + hi * 0x10000;
      // Indirect: copy `n` segments starting at word offset `offset`.
      const sub: number[] = [];
      let j = offset;
      for (let s = 0; s < n && j < segments.length; s++) {
        const o = segments[j] as number;
        const l = segments[j + 1] ?? fail();
        const size = o === 0 ? 2 + l : o === 1 ? 3 : 4;
        for (let k = 0; k < size; k++) sub.push(segments[j + k] ?? 0);
        j += size;
      }
      const expanded = expandSegmentedLut([...sub], entries - out.length);
      // A linear segment at the start of the indirect part continues from the last value.
      for (const v of expanded) out.push(v);
    } else {
      fail();
    }
  }
  while (out.length < entries) out.push(out.length > 0 ? (out[out.length - 1] as number) : 0);
  return Uint16Array.from(out.slice(0, entries));
}

function readLut(
  file: DicomFile,
  descriptorTag: number,
  dataTag: number,
  segmentedTag: number,
): PaletteLut | undefined {
  const desc = findElement(file.dataset, descriptorTag);
  if (!desc) return undefined;
  // The descriptor's first value is unsigned 16-bit even when the VR is SS (PS3.3 C.7.6.3.1.5).
  const d = readNumbers(desc).map((v) => v & 0xffff);
  const entries = d[0] === 0 ? 65536 : (d[0] ?? 0);
  const firstMapped = d[1] ?? 0;
  const bits = d[2] ?? 16;
  const dataEl = findElement(file.dataset, dataTag);
  if (dataEl) {
    let values: number[];
    if (bits === 8 && dataEl.length === entries) {
      values = Array.from(readBytes(dataEl));
    } else {
      values = readNumbers({ ...dataEl, vr: 'OW' } as DicomElement);
      // 8-bit entries packed two per word (seen in the wild): unpack them.
      if (bits === 8 && values.length * 2 === entries) {
        const unpacked: number[] = [];
        for (const w of values) unpacked.push(w & 0xff, w >>> 8);
        values = unpacked;
      }
    }
    const data = new Uint16Array(entries);
    for (let i = 0; i < entries; i++) data[i] = values[i] ?? values[values.length - 1] ?? 0;
    return { firstMapped, bits, data };
  }
  const seg = findElement(file.dataset, segmentedTag);
  if (seg) {
    const words = readNumbers({ ...seg, vr: 'OW' } as DicomElement);
    return { firstMapped, bits, data: expandSegmentedLut(words, entries) };
  }
  return undefined;
}

function readBytes(el: DicomElement): Uint8Array {
  const src = el.parent.source;
  return src.read(el.valueOffset, el.valueOffset + el.length).slice();
}

/**
 * The pixel module of the top-level dataset, or undefined when the file has no Pixel Data. Throws
 * PIXELS_BAD_ATTRIBUTES when the attributes cannot describe the pixel data (missing rows, bits...).
 */
export function readPixelModule(file: DicomFile): PixelModule | undefined {
  const pixelData = findElement(file.dataset, PIXEL_DATA);
  if (!pixelData) return undefined;
  const rows = num(file, 0x00280010);
  const columns = num(file, 0x00280011);
  const bitsAllocated = num(file, 0x00280100);
  if (!rows || !columns || !bitsAllocated) throw new VeilError('PIXELS_BAD_ATTRIBUTES', { path: '(0028,0010)' });
  const bitsStored = num(file, 0x00280101) ?? bitsAllocated;
  const highBit = num(file, 0x00280102) ?? bitsStored - 1;
  const samplesPerPixel = num(file, 0x00280002) ?? 1;
  const pixelRepresentation = num(file, 0x00280103) ?? 0;
  const planarConfiguration = samplesPerPixel > 1 ? (num(file, 0x00280006) ?? 0) : 0;
  const pm = findElement(file.dataset, 0x00280004);
  const photometric = pm ? readString(pm).trim().toUpperCase() : samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2';
  const frames = Math.max(1, num(file, 0x00280008) ?? 1);
  if (
    ![1, 8, 16, 32].includes(bitsAllocated) ||
    bitsStored < 1 ||
    bitsStored > bitsAllocated ||
    (samplesPerPixel !== 1 && samplesPerPixel !== 3)
  ) {
    throw new VeilError('PIXELS_UNSUPPORTED_ENCODING', { path: '(0028,0100)' });
  }
  let palette: PixelModule['palette'];
  if (photometric === 'PALETTE COLOR') {
    const red = readLut(file, 0x00281101, 0x00281201, 0x00281221);
    const green = readLut(file, 0x00281102, 0x00281202, 0x00281222);
    const blue = readLut(file, 0x00281103, 0x00281203, 0x00281223);
    if (!red || !green || !blue) throw new VeilError('PIXELS_BAD_ATTRIBUTES', { path: '(0028,1101)' });
    palette = { red, green, blue };
  }
  return {
    rows,
    columns,
    samplesPerPixel,
    bitsAllocated,
    bitsStored,
    highBit,
    pixelRepresentation,
    planarConfiguration,
    photometric,
    frames,
    pixelData,
    palette,
  };
}
