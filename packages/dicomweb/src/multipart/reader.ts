/**
 * A streaming multipart/related reader (RFC 2387 over RFC 2046 5.1): parts come out one at a time with their
 * headers and a body stream; a body is never gathered in memory. Body bytes are exactly the bytes between the part's
 * header block and the next `CRLF--boundary`, so a DICOM file sent as a part comes out byte for byte.
 *
 * Memory is bounded by the source's chunk size plus the delimiter length: a body chunk is yielded as soon as it
 * cannot be the start of a delimiter. Yielded chunks are views of buffers that are never reused (they may be kept).
 * A body not read to its end is skipped when the next part is requested; breaking out of a body loop is safe.
 *
 * Example:
 *   for await (const part of readMultipart(request.body, boundary)) {
 *     for await (const chunk of part.body) sink.write(chunk);
 *   }
 */
import { DicomwebError } from '../errors.ts';
import { type MediaType, parseMediaType } from '../media-type.ts';

export interface MultipartPart {
  /** Zero-based position in the body. */
  readonly index: number;
  /** Header fields by lower-case name (a repeated field keeps its first value). */
  readonly headers: ReadonlyMap<string, string>;
  /** The parsed Content-Type header, if any. */
  readonly contentType: MediaType | undefined;
  /** The part's bytes. Single use. Throws DICOMWEB_MULTIPART_TRUNCATED when the body ends inside the part. */
  readonly body: AsyncIterable<Uint8Array>;
}

export interface MultipartReaderOptions {
  /** Largest header block of one part (default 16 KiB). */
  readonly maxHeaderBytes?: number;
  /** Largest preamble before the first delimiter (default 64 KiB). */
  readonly maxPreambleBytes?: number;
}

const CRLF = Buffer.from('\r\n', 'latin1');
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const DASH = 0x2d;

/** Whether a boundary parameter is usable: RFC 2046 allows 1 to 70 characters; CR and LF never. */
export function isValidBoundary(boundary: string): boolean {
  return boundary.length >= 1 && boundary.length <= 200 && !/[\r\n]/.test(boundary);
}

function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

class Scanner {
  buf: Buffer = CRLF;
  private readonly it: AsyncIterator<Uint8Array>;
  private ended = false;
  partDone = true;
  partIndex = -1;

  constructor(
    source: AsyncIterable<Uint8Array>,
    readonly delim: Buffer,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** The next non-empty source chunk, or undefined at the end of the source. */
  async pull(): Promise<Buffer | undefined> {
    while (!this.ended) {
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        return undefined;
      }
      if (r.value.length > 0) return toBuffer(r.value);
    }
    return undefined;
  }

  /** Appends one chunk to buf; false at the end of the source. */
  async more(): Promise<boolean> {
    const chunk = await this.pull();
    if (!chunk) return false;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }

  truncated(): DicomwebError {
    return new DicomwebError('DICOMWEB_MULTIPART_TRUNCATED', this.partIndex >= 0 ? { part: this.partIndex } : {});
  }

  malformed(): DicomwebError {
    return new DicomwebError('DICOMWEB_MULTIPART_MALFORMED', this.partIndex >= 0 ? { part: this.partIndex } : {});
  }

  /** The next chunk of the current part's body; null once the delimiter that ends it has been consumed. */
  async bodyChunk(): Promise<Buffer | null> {
    if (this.partDone) return null;
    const delim = this.delim;
    for (;;) {
      const buf = this.buf;
      const i = buf.indexOf(delim);
      if (i === 0) {
        this.buf = buf.subarray(delim.length);
        this.partDone = true;
        return null;
      }
      if (i > 0) {
        this.buf = buf.subarray(i);
        return buf.subarray(0, i);
      }
      // No delimiter: everything but a tail that could start one is body.
      const keep = Math.min(buf.length, delim.length - 1);
      if (buf.length > keep) {
        this.buf = buf.subarray(buf.length - keep);
        return buf.subarray(0, buf.length - keep);
      }
      const chunk = await this.pull();
      if (!chunk) throw this.truncated();
      if (buf.length === 0) {
        this.buf = chunk;
        continue;
      }
      if (chunk.length >= delim.length) {
        // Does a delimiter start in the short tail? Probe only the bytes that could complete it, so the (large)
        // chunk is not copied in the common case.
        const probe = Buffer.concat([buf, chunk.subarray(0, delim.length - 1)]);
        if (probe.indexOf(delim) < 0) {
          this.buf = chunk;
          return buf;
        }
      }
      this.buf = Buffer.concat([buf, chunk]);
    }
  }

  /** After a delimiter: true for the close delimiter (`--`), false when a part follows (its boundary line eaten). */
  async afterDelimiter(): Promise<boolean> {
    while (this.buf.length < 2) if (!(await this.more())) throw this.truncated();
    if (this.buf[0] === DASH && this.buf[1] === DASH) return true;
    // Transport padding (linear white space) up to the CRLF that ends the boundary line; kept for the header scan.
    for (;;) {
      const i = this.buf.indexOf(CRLF);
      if (i >= 0) {
        for (let k = 0; k < i; k++) {
          const c = this.buf[k];
          if (c !== 0x20 && c !== 0x09) throw this.malformed();
        }
        this.buf = this.buf.subarray(i);
        return false;
      }
      if (this.buf.length > 1024) throw this.malformed();
      if (!(await this.more())) throw this.truncated();
    }
  }

  /** Reads the header block (buf starts at the CRLF that ends the boundary line). */
  async headers(maxHeaderBytes: number): Promise<Map<string, string>> {
    for (;;) {
      const i = this.buf.indexOf(CRLFCRLF);
      if (i >= 0) {
        const text = this.buf.subarray(2, i).toString('latin1');
        this.buf = this.buf.subarray(i + 4);
        return parseHeaderBlock(text, () => this.malformed());
      }
      if (this.buf.length > maxHeaderBytes) throw this.malformed();
      if (!(await this.more())) throw this.truncated();
    }
  }

  /** Skips everything to the first delimiter. */
  async preamble(maxPreambleBytes: number): Promise<void> {
    let skipped = 0;
    for (;;) {
      const i = this.buf.indexOf(this.delim);
      if (i >= 0) {
        this.buf = this.buf.subarray(i + this.delim.length);
        return;
      }
      const keep = Math.min(this.buf.length, this.delim.length - 1);
      skipped += this.buf.length - keep;
      this.buf = this.buf.subarray(this.buf.length - keep);
      if (skipped > maxPreambleBytes) throw this.malformed();
      if (!(await this.more())) throw this.malformed();
    }
  }

  async drain(): Promise<void> {
    this.buf = Buffer.alloc(0);
    while (await this.pull());
  }
}

function parseHeaderBlock(text: string, malformed: () => Error): Map<string, string> {
  const headers = new Map<string, string>();
  if (text === '') return headers;
  const lines: string[] = [];
  for (const line of text.split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && lines.length > 0)
      lines[lines.length - 1] += ` ${line.trim()}`;
    else lines.push(line);
  }
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed();
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw malformed();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return headers;
}

/**
 * Reads a multipart body. Throws DICOMWEB_MULTIPART_MALFORMED when there is no first delimiter or a part's header
 * block is bad, DICOMWEB_MULTIPART_TRUNCATED when the body ends before the close delimiter.
 */
export async function* readMultipart(
  source: AsyncIterable<Uint8Array>,
  boundary: string,
  options: MultipartReaderOptions = {},
): AsyncGenerator<MultipartPart, void, undefined> {
  if (!isValidBoundary(boundary)) throw new DicomwebError('DICOMWEB_MISSING_BOUNDARY');
  const s = new Scanner(source, Buffer.from(`\r\n--${boundary}`, 'latin1'));
  await s.preamble(options.maxPreambleBytes ?? 64 * 1024);
  for (;;) {
    if (await s.afterDelimiter()) {
      await s.drain(); // the epilogue
      return;
    }
    s.partIndex++;
    const headers = await s.headers(options.maxHeaderBytes ?? 16 * 1024);
    s.partDone = false;
    const body: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<Uint8Array>> => {
          const chunk = await s.bodyChunk();
          return chunk ? { value: chunk, done: false } : { value: undefined, done: true };
        },
      }),
    };
    yield { index: s.partIndex, headers, contentType: parseMediaType(headers.get('content-type')), body };
    while ((await s.bodyChunk()) !== null);
  }
}
