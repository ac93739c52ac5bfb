/**
 * The multipart/related codec: what the writer produces the reader gives back byte for byte, however the body is
 * cut into chunks (property tests, including bodies full of CRLF, dashes and near-boundaries); truncated and
 * malformed bodies fail with their codes; preamble, epilogue, transport padding and unread bodies are handled.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  isDicomwebError,
  type MultipartPart,
  multipartLength,
  newBoundary,
  type OutgoingPart,
  readMultipart,
  writeMultipart,
} from '../src/index.ts';

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of source) chunks.push(c);
  return Buffer.concat(chunks);
}

async function* chunked(bytes: Uint8Array, cuts: readonly number[]): AsyncGenerator<Uint8Array> {
  let prev = 0;
  for (const c of [...new Set(cuts.map((x) => Math.min(x, bytes.length)))].sort((a, b) => a - b)) {
    if (c > prev) yield bytes.slice(prev, c);
    prev = c;
  }
  if (prev < bytes.length) yield bytes.slice(prev);
}

async function readAll(
  source: AsyncIterable<Uint8Array>,
  boundary: string,
): Promise<{ headers: ReadonlyMap<string, string>; body: Buffer }[]> {
  const out: { headers: ReadonlyMap<string, string>; body: Buffer }[] = [];
  for await (const p of readMultipart(source, boundary)) out.push({ headers: p.headers, body: await collect(p.body) });
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(isDicomwebError(e), `not a DicomwebError: ${String(e)}`);
    return e.code;
  }
  return 'no error';
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('multipart/related codec', () => {
  test('round trip under any chunking, with hostile bodies (property)', async () => {
    const boundary = 'b0undary';
    // Bodies built from pieces that look like delimiters, so that near-misses are common.
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc
        .constantFrom(
          '\r\n',
          '--',
          '\r\n--',
          `\r\n--${boundary.slice(0, 5)}`,
          `--${boundary}`,
          `\r\n-${boundary}`,
          '\r\n\r\n',
          '\r',
        )
        .map(enc),
    );
    // RFC 2046: the delimiter never occurs inside a body (the writer's random boundary makes that so in practice).
    const delimiter = Buffer.from(`\r\n--${boundary}`);
    const body = fc
      .array(piece, { maxLength: 12 })
      .map((ps) => Buffer.concat(ps))
      .filter((b) => b.indexOf(delimiter) < 0);
    await fc.assert(
      fc.asyncProperty(
        fc.array(body, { minLength: 0, maxLength: 5 }),
        fc.array(fc.nat({ max: 800 }), { maxLength: 30 }),
        async (bodies, cuts) => {
          const parts: OutgoingPart[] = bodies.map((b, i) => ({
            contentType: 'application/dicom',
            headers: { 'X-Index': String(i) },
            length: b.length,
            body: b,
          }));
          const bytes = await collect(writeMultipart(parts, boundary));
          assert.equal(bytes.length, multipartLength(parts, boundary));
          if (bodies.length === 0) return; // a close delimiter alone is tested below
          const got = await readAll(chunked(bytes, cuts), boundary);
          assert.equal(got.length, bodies.length);
          got.forEach((g, i) => {
            assert.deepEqual(g.body, bodies[i]);
            assert.equal(g.headers.get('x-index'), String(i));
            assert.equal(g.headers.get('content-type'), 'application/dicom');
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a body cut anywhere before the close delimiter is truncated or malformed (property)', async () => {
    const boundary = newBoundary();
    const parts: OutgoingPart[] = [
      { contentType: 'application/dicom', body: enc('first\r\n--not-it\r\n') },
      { contentType: 'application/dicom', body: new Uint8Array(300).fill(0x2d) },
    ];
    const bytes = await collect(writeMultipart(parts, boundary));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bytes.length - `--${boundary}--`.length - 3 }), async (cut) => {
        const code = await codeOf(readAll(chunked(bytes.subarray(0, cut), [7, 50]), boundary));
        assert.ok(
          code === 'DICOMWEB_MULTIPART_TRUNCATED' || code === 'DICOMWEB_MULTIPART_MALFORMED',
          `cut at ${cut}: ${code}`,
        );
        // Once the first delimiter is complete, the error is truncation.
        if (cut >= `--${boundary}\r\n`.length) assert.equal(code, 'DICOMWEB_MULTIPART_TRUNCATED');
      }),
      { numRuns: 200 },
    );
  });

  test('preamble, epilogue, transport padding, no part headers, missing final CRLF', async () => {
    const b = 'XyZ';
    const text = `preamble text\r\n--${b}  \t\r\n\r\nbody one\r\n--${b}\r\nContent-Type: application/dicom;\r\n transfer-syntax=1.2.840.10008.1.2.1\r\n\r\nbody two\r\n--${b}--`;
    const got = await readAll(chunked(enc(text), [3, 20, 21, 22]), b);
    assert.equal(got.length, 2);
    assert.equal(got[0]!.body.toString(), 'body one');
    assert.equal(got[0]!.headers.size, 0);
    assert.equal(got[1]!.body.toString(), 'body two');
    assert.equal(got[1]!.headers.get('content-type'), 'application/dicom; transfer-syntax=1.2.840.10008.1.2.1');
    const withEpilogue = `--${b}\r\n\r\nx\r\n--${b}--\r\nignored epilogue --${b}\r\n`;
    assert.deepEqual(
      (await readAll(chunked(enc(withEpilogue), []), b)).map((p) => p.body.toString()),
      ['x'],
    );
  });

  test('unread and half-read bodies are skipped; breaking out of a body loop is safe', async () => {
    const b = newBoundary();
    const big = new Uint8Array(200_000).map((_, i) => i % 251);
    const bytes = await collect(
      writeMultipart(
        [
          { contentType: 'application/dicom', body: big },
          { contentType: 'application/dicom', body: big },
          { contentType: 'application/dicom', body: enc('last') },
        ],
        b,
      ),
    );
    const seen: string[] = [];
    let i = 0;
    for await (const part of readMultipart(chunked(bytes, [1000, 65_536, 130_000, 260_000]), b)) {
      if (i === 1) {
        for await (const _ of part.body) break;
      }
      if (i === 2) seen.push((await collect(part.body)).toString());
      i++;
    }
    assert.deepEqual(seen, ['last']);
    assert.equal(i, 3);
  });

  test('no delimiter at all, a bad header block, a boundary with CR', async () => {
    assert.equal(await codeOf(readAll(chunked(enc('just some bytes'), []), 'b')), 'DICOMWEB_MULTIPART_MALFORMED');
    assert.equal(await codeOf(readAll(chunked(enc(''), []), 'b')), 'DICOMWEB_MULTIPART_MALFORMED');
    assert.equal(
      await codeOf(readAll(chunked(enc('--b\r\nno colon here\r\n\r\nx\r\n--b--'), []), 'b')),
      'DICOMWEB_MULTIPART_MALFORMED',
    );
    assert.equal(
      await codeOf(readAll(chunked(enc('--bX\r\n\r\nx\r\n--b--'), []), 'b')),
      'DICOMWEB_MULTIPART_MALFORMED',
    );
    assert.equal(await codeOf(readAll(chunked(enc('--b\r\n\r\nx'), []), 'b\r\n')), 'DICOMWEB_MISSING_BOUNDARY');
  });

  test('the writer streams bodies given as functions and checks declared lengths', async () => {
    const b = newBoundary();
    const parts: OutgoingPart[] = [
      {
        contentType: 'application/dicom',
        length: 6,
        body: async function* () {
          yield enc('abc');
          yield enc('def');
        },
      },
    ];
    const got = await readAll(writeMultipart(parts, b), b);
    assert.equal(got[0]!.body.toString(), 'abcdef');
    const wrong: OutgoingPart[] = [{ contentType: 'application/dicom', length: 7, body: enc('abcdef') }];
    assert.equal(await codeOf(collect(writeMultipart(wrong, b))), 'DICOMWEB_PART_LENGTH_CHANGED');
  });

  test('part metadata: index and parsed content type', async () => {
    const b = 'q';
    const parts: MultipartPart[] = [];
    const text = `--q\r\nContent-Type: application/dicom; transfer-syntax="1.2.840.10008.1.2"\r\n\r\n\r\n--q--\r\n`;
    for await (const p of readMultipart(chunked(enc(text), []), b)) {
      parts.push(p);
      assert.equal((await collect(p.body)).length, 0);
    }
    assert.equal(parts[0]!.index, 0);
    assert.equal(parts[0]!.contentType?.type, 'application/dicom');
    assert.equal(parts[0]!.contentType?.params.get('transfer-syntax'), '1.2.840.10008.1.2');
  });
});
