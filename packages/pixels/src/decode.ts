/**
 * Pixel access: frame-by-frame decode of a scanned file, whatever its transfer syntax (native, deflated, big
 * endian, RLE here; JPEG family through a FrameCodec). Only one frame's bytes are read at a time, so a 2 GB
 * multi-frame read through a windowed ByteSource stays bounded.
 *
 * Example:
 *   const px = openPixels(scanFile(bytes), codec);
 *   for (let i = 0; i < px.frames; i++) inspect(px.decodeFrame(i));
 */
import { inflateRawSync } from 'node:zlib';
import { type DicomFile, VeilError } from '@veil/core';
import { type FrameCodec, TS } from './codecs/port.ts';
import { encapsulatedFrame, frameFragments } from './fragments.ts';
import { type DecodedFrame, layoutOf } from './frame.ts';
import { decodeNative, nativeFrameRange } from './native.ts';
import { type PixelModule, readPixelModule } from './pixel-module.ts';
import { decodeRle } from './rle.ts';

export interface PixelAccess {
  readonly module: PixelModule;
  readonly transferSyntax: string;
  readonly encapsulated: boolean;
  readonly frames: number;
  /** Fragment groups per frame (encapsulated only). */
  readonly fragmentGroups: number[][] | undefined;
  /** The stored bytes of frame i (the codestream, or the native bytes). */
  encodedFrame(i: number): Uint8Array;
  decodeFrame(i: number): DecodedFrame;
  /** Decodes one frame's stored bytes in this file's transfer syntax and geometry (e.g. a re-encoded frame). */
  decodeEncoded(bytes: Uint8Array): DecodedFrame;
}

/** Whether this package (with the codec, when given) can decode the transfer syntax. */
export function canDecode(transferSyntax: string, codec: FrameCodec | undefined): boolean {
  if (transferSyntax === TS.rle || transferSyntax === TS.deflatedImageFrame) return true;
  if ([TS.implicitLE, TS.explicitLE, TS.explicitBE, TS.deflatedLE].includes(transferSyntax as never)) return true;
  return codec?.canDecode(transferSyntax) ?? false;
}

/** Pixel access for a file with Pixel Data, or undefined when it has none. Throws PIXELS_* VeilErrors. */
export function openPixels(file: DicomFile, codec?: FrameCodec): PixelAccess | undefined {
  const m = readPixelModule(file);
  if (!m) return undefined;
  const ts = file.transferSyntax.uid;
  const encapsulated = file.transferSyntax.encapsulated;
  if (!canDecode(ts, codec)) throw new VeilError('PIXELS_UNSUPPORTED_ENCODING', { path: '(0002,0010)' });
  const layout = layoutOf(m);
  if (!encapsulated) {
    const el = m.pixelData;
    const le = el.parent.syntax.littleEndian;
    return {
      module: m,
      transferSyntax: ts,
      encapsulated,
      frames: m.frames,
      fragmentGroups: undefined,
      encodedFrame(i) {
        const r = nativeFrameRange(m, i);
        if (el.valueOffset + r.end > el.valueOffset + el.length) {
          throw new VeilError('PIXELS_TRUNCATED', { path: '(7FE0,0010)' });
        }
        // One byte more for an odd-length frame: its last 16-bit word (OW, big endian) includes the padding.
        const end = Math.min(el.length, r.end + (r.end % 2));
        return el.parent.source.read(el.valueOffset + r.start, el.valueOffset + end).slice();
      },
      decodeFrame(i) {
        const r = nativeFrameRange(m, i);
        return decodeNative(this.encodedFrame(i), m, le, r.bitOffset, el.vr === 'OW');
      },
      decodeEncoded(bytes) {
        return decodeNative(bytes, m, le, 0, el.vr === 'OW');
      },
    };
  }
  const groups = frameFragments(file, m);
  return {
    module: m,
    transferSyntax: ts,
    encapsulated,
    frames: m.frames,
    fragmentGroups: groups,
    encodedFrame(i) {
      const g = groups[i];
      if (!g) throw new VeilError('PIXELS_BAD_FRAGMENTS', { path: '(7FE0,0010)' });
      return encapsulatedFrame(m, g);
    },
    decodeFrame(i) {
      return this.decodeEncoded(this.encodedFrame(i));
    },
    decodeEncoded(bytes) {
      if (ts === TS.rle) return decodeRle(bytes, layout);
      if (ts === TS.deflatedImageFrame) return decodeNative(inflateFrame(bytes), m, true);
      if (!codec) throw new VeilError('PIXELS_UNSUPPORTED_ENCODING', { path: '(0002,0010)' });
      return codec.decode(ts, bytes, layout);
    },
  };
}

/** Deflated Image Frame Compression (1.2.840.10008.1.2.8.1): each frame a raw deflate stream of native bytes. */
function inflateFrame(bytes: Uint8Array): Uint8Array {
  try {
    return new Uint8Array(inflateRawSync(bytes, { maxOutputLength: 1 << 30 }));
  } catch {
    throw new VeilError('PIXELS_DECODE_FAILED', { path: '(7FE0,0010)' });
  }
}
