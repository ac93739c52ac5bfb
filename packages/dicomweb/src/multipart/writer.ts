/**
 * A multipart/related writer: parts are streamed out in order, each body exactly as given (bytes or a stream), and
 * the total length can be computed beforehand so that a request carries a Content-Length instead of chunked
 * encoding (some servers refuse chunked uploads). The boundary is 128 random bits: the chance that it occurs inside
 * a DICOM file is negligible, so bodies are not searched for it.
 *
 * Example:
 *   const boundary = newBoundary();
 *   const parts = files.map((f) => ({ contentType: 'application/dicom', length: f.length, body: f.bytes }));
 *   const length = multipartLength(parts, boundary);
 *   for await (const chunk of writeMultipart(parts, boundary)) socket.write(chunk);
 */
import { randomBytes } from 'node:crypto';
import { DicomwebError } from '../errors.ts';

export interface OutgoingPart {
  readonly contentType: string;
  /** Further header fields (names as given; values must be Latin-1 without CR/LF). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The body length; required by multipartLength, and checked against what the body yields when given. */
  readonly length?: number;
  /** The body: bytes, a stream, or a function that opens one (called only when the part is written). */
  readonly body: Uint8Array | AsyncIterable<Uint8Array> | (() => AsyncIterable<Uint8Array> | Uint8Array);
}

export function newBoundary(): string {
  return `veil-${randomBytes(16).toString('hex')}`;
}

/** The bytes before a part's body: `--boundary CRLF` header fields `CRLF`. */
export function partPrologue(boundary: string, part: Pick<OutgoingPart, 'contentType' | 'headers'>): Buffer {
  let text = `--${boundary}\r\nContent-Type: ${part.contentType}\r\n`;
  for (const [k, v] of Object.entries(part.headers ?? {})) {
    if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) throw new DicomwebError('DICOMWEB_MULTIPART_MALFORMED');
    text += `${k}: ${v}\r\n`;
  }
  return Buffer.from(`${text}\r\n`, 'latin1');
}

export function multipartEpilogue(boundary: string): Buffer {
  return Buffer.from(`--${boundary}--\r\n`, 'latin1');
}

const CRLF = Buffer.from('\r\n', 'latin1');

/** The exact byte length writeMultipart produces for these parts (each must have `length`). */
export function multipartLength(
  parts: Iterable<Pick<OutgoingPart, 'contentType' | 'headers' | 'length'>>,
  boundary: string,
): number {
  let n = multipartEpilogue(boundary).length;
  for (const p of parts) {
    if (p.length === undefined) throw new TypeError('multipartLength: a part has no length');
    n += partPrologue(boundary, p).length + p.length + CRLF.length;
  }
  return n;
}

/** Writes the parts as one multipart body. Throws if a body's size differs from its declared length. */
export async function* writeMultipart(
  parts: Iterable<OutgoingPart> | AsyncIterable<OutgoingPart>,
  boundary: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  let index = 0;
  for await (const part of parts) {
    yield partPrologue(boundary, part);
    const body = typeof part.body === 'function' ? part.body() : part.body;
    let n = 0;
    if (body instanceof Uint8Array) {
      n = body.length;
      if (n > 0) yield body;
    } else {
      for await (const chunk of body) {
        n += chunk.length;
        if (chunk.length > 0) yield chunk;
      }
    }
    if (part.length !== undefined && n !== part.length)
      throw new DicomwebError('DICOMWEB_PART_LENGTH_CHANGED', { part: index });
    yield CRLF;
    index++;
  }
  yield multipartEpilogue(boundary);
}
