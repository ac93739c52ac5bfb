/**
 * Frames in and out for defacing, whatever the transfer syntax: native pixel data is read and written in place
 * (only the Pixel Data value changes); encapsulated (compressed) pixel data is decoded frame by frame with
 * @veil/pixels (its RLE, and JPEG / JPEG-LS / JPEG 2000 through the dcmjs-codecs port) and written back either in
 * its own transfer syntax ('own-syntax': `veil deface`; lossless re-encode of the defaced frames, JPEG baseline in
 * the DCT domain, see @veil/pixels/deface writeback.ts) or decoded as Explicit VR Little Endian ('decoded': the
 * series pass of `veil deid`, whose release stage lays the defaced frames over the text stage's and writes them
 * in the input's syntax itself).
 */
import { type DicomFile, type Edit, VeilError } from '@veil/core';
import { type DecodedFrame, type FrameCodec, loadDcmjsCodecs, openPixels } from '@veil/pixels';
import {
  type DefaceWriteBack,
  defaceClaimEdits,
  defaceEdits,
  defaceFrameEdits,
  encodeNativeFrame,
  type InstanceInfo,
  readNativeFrames,
  type StoredPixels,
  storedFromBytes,
} from '@veil/pixels/deface';

/** The codec, loaded once per thread, and only when a compressed input needs it. */
export async function codecFor(infos: readonly InstanceInfo[]): Promise<FrameCodec | undefined> {
  return infos.some((i) => i.encapsulated) ? loadDcmjsCodecs() : undefined;
}

function access(file: DicomFile, codec: FrameCodec | undefined) {
  try {
    const px = openPixels(file, codec);
    if (!px) throw new VeilError('DEFACE_NO_PIXELS', { path: '(7FE0,0010)' });
    return px;
  } catch (e) {
    // No decoder for this transfer syntax here (e.g. 12-bit JPEG extended): held back with the pixel stage's code.
    throw e instanceof VeilError ? e : new VeilError('DEFACE_COMPRESSED', { path: '(7FE0,0010)' });
  }
}

/** The stored values of every frame. */
export function readFrames(file: DicomFile, info: InstanceInfo, codec: FrameCodec | undefined): StoredPixels[] {
  if (!info.encapsulated) return readNativeFrames(file, info);
  const px = access(file, codec);
  const out: StoredPixels[] = [];
  for (let i = 0; i < px.frames; i++) out.push(storedFromBytes(px.decodeFrame(i).data, info));
  return out;
}

/** The edits that write the changed frames and record the defacing (RVF NO, 113102). */
export function outputEdits(
  file: DicomFile,
  info: InstanceInfo,
  frames: ReadonlyMap<number, StoredPixels>,
  codec: FrameCodec | undefined,
  writeBack: DefaceWriteBack = 'decoded',
): Edit[] {
  if (!info.encapsulated) return defaceEdits(file, info, frames);
  const px = access(file, codec);
  const changed = new Map<number, DecodedFrame>();
  for (const [n, values] of frames) {
    const decoded = px.decodeFrame(n);
    changed.set(n, { ...decoded, data: encodeNativeFrame(values, decoded.data, info) });
  }
  return [...defaceFrameEdits(file, px, changed, { codec, writeBack }), ...defaceClaimEdits(file)];
}
