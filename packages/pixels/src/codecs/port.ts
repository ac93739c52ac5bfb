/**
 * The codec port: frame-level decode and encode of compressed transfer syntaxes. The package's own RLE needs no
 * port; JPEG, JPEG-LS, JPEG 2000 and HTJ2K come from an implementation the app picks (dcmjs-codecs' WASM codecs,
 * see dcmjs.ts). Codecs are synchronous, so they run inside the worker thread that handles the file.
 */
import type { DecodedFrame, FrameLayout } from '../frame.ts';

export interface FrameCodec {
  /** Whether this codec decodes / encodes (losslessly) the transfer syntax. */
  canDecode(transferSyntax: string): boolean;
  canEncodeLossless(transferSyntax: string): boolean;
  /** One frame's codestream to the canonical layout (samples as stored, colour space unchanged). */
  decode(transferSyntax: string, encoded: Uint8Array, layout: FrameLayout): DecodedFrame;
  /** A canonical frame to one codestream in the transfer syntax, losslessly. */
  encode(transferSyntax: string, frame: DecodedFrame): Uint8Array;
}

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflatedLE: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegExtended: '1.2.840.10008.1.2.4.51',
  jpegLossless: '1.2.840.10008.1.2.4.57',
  jpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  jpegLsLossless: '1.2.840.10008.1.2.4.80',
  jpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  j2kLossless: '1.2.840.10008.1.2.4.90',
  j2k: '1.2.840.10008.1.2.4.91',
  htj2kLossless: '1.2.840.10008.1.2.4.201',
  htj2kLosslessRpcl: '1.2.840.10008.1.2.4.202',
  htj2k: '1.2.840.10008.1.2.4.203',
  rle: '1.2.840.10008.1.2.5',
  deflatedImageFrame: '1.2.840.10008.1.2.8.1',
} as const;

/** Transfer syntaxes whose pixel data is lossy: never re-compressed by default. */
export const LOSSY = new Set<string>([TS.jpegBaseline, TS.jpegExtended, TS.jpegLsNearLossless, TS.j2k, TS.htj2k]);
