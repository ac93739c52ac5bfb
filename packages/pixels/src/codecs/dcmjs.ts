/**
 * The FrameCodec over dcmjs-codecs' frame-level NativeCodecs (WASM: JPEG baseline/lossless via libjpeg-turbo and
 * IJG, JPEG-LS via CharLS, JPEG 2000 via OpenJPEG, HTJ2K via OpenJPH). Its Transcoder is not used: it rewrites the
 * dataset through dcmjs. The WASM module is loaded once per thread (`await loadDcmjsCodecs()`), then every call is
 * synchronous.
 *
 * Example:
 *   const codec = await loadDcmjsCodecs();
 *   const frame = codec.decode(TS.jpegLsLossless, bytes, layout);
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { VeilError } from '@veil/core';
import { bytesPerSample, type FrameLayout } from '../frame.ts';
import { type FrameCodec, TS } from './port.ts';

type Codecs = typeof import('dcmjs-codecs');

let loading: Promise<FrameCodec> | undefined;

const DECODE = new Set<string>([
  TS.jpegBaseline,
  TS.jpegExtended,
  TS.jpegLossless,
  TS.jpegLosslessSV1,
  TS.jpegLsLossless,
  TS.jpegLsNearLossless,
  TS.j2kLossless,
  TS.j2k,
  TS.htj2kLossless,
  TS.htj2kLosslessRpcl,
  TS.htj2k,
]);
const ENCODE = new Set<string>([
  TS.jpegLossless,
  TS.jpegLosslessSV1,
  TS.jpegLsLossless,
  TS.j2kLossless,
  TS.htj2kLossless,
  TS.htj2kLosslessRpcl,
]);

export function loadDcmjsCodecs(): Promise<FrameCodec> {
  loading ??= (async () => {
    const require = createRequire(import.meta.url);
    const lib = require('dcmjs-codecs') as Codecs;
    lib.log.setLevel('silent');
    const wasm = join(dirname(require.resolve('dcmjs-codecs')), 'dcmjs-native-codecs.wasm');
    await lib.NativeCodecs.initializeAsync({ webAssemblyModulePathOrUrl: wasm });
    return dcmjsCodec(lib);
  })();
  return loading;
}

function dcmjsCodec(lib: Codecs): FrameCodec {
  const { Context, NativeCodecs } = lib;
  const context = (layout: FrameLayout, photometric: string) =>
    new Context({
      width: layout.columns,
      height: layout.rows,
      bitsAllocated: layout.bitsAllocated,
      bitsStored: layout.bitsStored,
      samplesPerPixel: layout.samplesPerPixel,
      pixelRepresentation: layout.pixelRepresentation,
      planarConfiguration: 0,
      photometricInterpretation: photometric,
    });
  return {
    canDecode: (ts) => DECODE.has(ts),
    canEncodeLossless: (ts) => ENCODE.has(ts),
    decode(ts, encoded, layout) {
      const ctx = context(layout, layout.photometric);
      ctx.setEncodedBuffer(encoded);
      let out: InstanceType<Codecs['Context']>;
      try {
        if (ts === TS.jpegBaseline || ts === TS.jpegExtended || ts === TS.jpegLossless || ts === TS.jpegLosslessSV1) {
          out = NativeCodecs.decodeJpeg(ctx, { convertColorspaceToRgb: false });
        } else if (ts === TS.jpegLsLossless || ts === TS.jpegLsNearLossless) {
          out = NativeCodecs.decodeJpegLs(ctx);
        } else if (ts === TS.j2kLossless || ts === TS.j2k) {
          out = NativeCodecs.decodeJpeg2000(ctx);
        } else if (ts === TS.htj2kLossless || ts === TS.htj2kLosslessRpcl || ts === TS.htj2k) {
          out = NativeCodecs.decodeHtJpeg2000(ctx);
        } else {
          throw new VeilError('PIXELS_UNSUPPORTED_ENCODING', { path: '(0002,0010)' });
        }
      } catch (e) {
        if (e instanceof VeilError) throw e;
        throw new VeilError('PIXELS_DECODE_FAILED', { path: '(7FE0,0010)' });
      }
      const decoded = out.getDecodedBuffer();
      const bps = bytesPerSample(layout.bitsAllocated);
      const expected = layout.rows * layout.columns * layout.samplesPerPixel * bps;
      if (!decoded || decoded.length < expected) throw new VeilError('PIXELS_DECODE_FAILED', { path: '(7FE0,0010)' });
      return { ...layout, bytesPerSample: bps, data: decoded.slice(0, expected) };
    },
    encode(ts, frame) {
      const ctx = context(frame, frame.photometric);
      ctx.setDecodedBuffer(frame.data);
      let out: InstanceType<Codecs['Context']>;
      try {
        if (ts === TS.jpegLossless || ts === TS.jpegLosslessSV1) {
          out = NativeCodecs.encodeJpeg(ctx, { lossy: false, predictor: 1, pointTransform: 0 });
        } else if (ts === TS.jpegLsLossless) {
          out = NativeCodecs.encodeJpegLs(ctx, { lossy: false });
        } else if (ts === TS.j2kLossless) {
          out = NativeCodecs.encodeJpeg2000(ctx, { lossy: false });
        } else if (ts === TS.htj2kLossless || ts === TS.htj2kLosslessRpcl) {
          out = NativeCodecs.encodeHtJpeg2000(ctx, { lossy: false });
        } else {
          throw new VeilError('PIXELS_UNSUPPORTED_ENCODING', { path: '(0002,0010)' });
        }
      } catch (e) {
        if (e instanceof VeilError) throw e;
        throw new VeilError('PIXELS_ENCODE_FAILED', { path: '(7FE0,0010)' });
      }
      const encoded = out.getEncodedBuffer();
      if (!encoded) throw new VeilError('PIXELS_ENCODE_FAILED', { path: '(7FE0,0010)' });
      return encoded.slice();
    },
  };
}
