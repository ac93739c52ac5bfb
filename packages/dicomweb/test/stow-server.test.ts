/**
 * The STOW-RS transaction without HTTP: handleStow against an in-memory StowHandler. Covers the statuses of
 * PS3.18 Table 10.5.3-1, the Failure Reasons per instance, the byte-for-byte hand-over to the sink, and that a
 * refused part never reaches (or is aborted in) the application.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  decodeStowResponse,
  FailureReason,
  formatMediaType,
  handleStow,
  newBoundary,
  type StowHandler,
  type StowHttpRequest,
  type StowInstance,
  type StowLimits,
  type StowOutcome,
  writeMultipart,
} from '../src/index.ts';
import { corpusAvailable, dicomDir } from './support/corpus.ts';

const skip = corpusAvailable() ? false : 'shared test data not found';
const file = (p: string): Uint8Array => new Uint8Array(readFileSync(join(dicomDir, p)));
const CT = 'dcm4che/test-data/CT-JPEGLosslessSV1.dcm';
const SR = 'dcmjs/examples/data/structured_report.dcm';
const NM = 'dcm4che/test-data/NM-MONO2-16-13x-heart';
const CT_STUDY = '1.2.826.0.1.3680043.2.307.62.48865.356531.1';

interface Memory {
  handler: StowHandler;
  stored: Map<string, { bytes: Buffer; instance: StowInstance }>;
  begun: number[];
  aborted: number[];
}

function memory(
  outcome?: (i: StowInstance) => StowOutcome | undefined,
  refuse?: (index: number) => number | undefined,
): Memory {
  const m: Memory = { handler: undefined as unknown as StowHandler, stored: new Map(), begun: [], aborted: [] };
  m.handler = {
    begin(part) {
      m.begun.push(part.index);
      const r = refuse?.(part.index);
      if (r !== undefined) return { failureReason: r };
      const chunks: Uint8Array[] = [];
      return {
        write: (c) => {
          chunks.push(c);
        },
        end: (instance) => {
          const o = outcome?.(instance);
          if (o && 'failureReason' in o) return o;
          m.stored.set(instance.sopInstanceUid, { bytes: Buffer.concat(chunks), instance });
          return o;
        },
        abort: () => {
          m.aborted.push(part.index);
        },
      };
    },
  };
  return m;
}

async function bodyOf(parts: { body: Uint8Array; contentType?: string }[], boundary: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of writeMultipart(
    parts.map((p) => ({ contentType: p.contentType ?? 'application/dicom', body: p.body })),
    boundary,
  )) {
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

async function* inChunks(bytes: Uint8Array, size = 16_384): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

async function stow(
  parts: { body: Uint8Array; contentType?: string }[],
  m: Memory,
  o: {
    study?: string;
    contentType?: string;
    cut?: number;
    limits?: Partial<StowLimits>;
    contentLength?: number;
    retrieveBase?: string;
  } = {},
) {
  const boundary = newBoundary();
  let bytes: Uint8Array = await bodyOf(parts, boundary);
  if (o.cut !== undefined) bytes = bytes.subarray(0, o.cut);
  const request: StowHttpRequest = {
    contentType: o.contentType ?? formatMediaType('multipart/related', { type: 'application/dicom', boundary }),
    contentLength: o.contentLength,
    body: inChunks(bytes),
    studyInstanceUid: o.study,
    signal: new AbortController().signal,
    retrieveBase: o.retrieveBase,
  };
  const r = await handleStow(request, m.handler, o.limits);
  return { ...r, response: decodeStowResponse(r.body), bytes };
}

describe('STOW-RS handleStow', { skip }, () => {
  test('200: every instance stored byte for byte, with Retrieve URLs', async () => {
    const m = memory();
    const files = [file(CT), file(SR), file(NM)];
    const r = await stow(
      files.map((body) => ({ body })),
      m,
      { retrieveBase: 'http://x/dicom-web' },
    );
    assert.equal(r.status, 200);
    assert.equal(r.response.referenced.length, 3);
    assert.equal(r.response.failed.length + r.response.otherFailures.length, 0);
    assert.equal(m.stored.size, 3);
    for (const [i, f] of files.entries()) {
      const ref = r.response.referenced[i]!;
      assert.deepEqual(m.stored.get(ref.sopInstanceUid)!.bytes, Buffer.from(f));
      assert.match(
        ref.retrieveUrl ?? '',
        /^http:\/\/x\/dicom-web\/studies\/[\d.]+\/series\/[\d.]+\/instances\/[\d.]+$/,
      );
    }
    assert.equal(m.stored.get(r.response.referenced[0]!.sopInstanceUid)!.instance.studyInstanceUid, CT_STUDY);
    assert.equal(r.response.retrieveUrl, undefined, 'three studies: no study-level Retrieve URL');
  });

  test('202 and 400: a non-DICOM part fails with 0xC000 in Other Failures, never reaching the application', async () => {
    const m = memory();
    const r = await stow([{ body: file(CT) }, { body: new TextEncoder().encode('not dicom at all') }], m);
    assert.equal(r.status, 202);
    assert.equal(r.response.referenced.length, 1);
    assert.deepEqual(r.response.otherFailures, [{ failureReason: FailureReason.CannotUnderstand }]);
    assert.deepEqual(m.begun, [0]);
    assert.ok(r.warnings.includes('part 1 DICOMWEB_NOT_PART10'));

    const only = await stow([{ body: new Uint8Array(500) }], memory());
    assert.equal(only.status, 400);
    assert.equal(only.response.otherFailures[0]?.failureReason, 0xc000);
  });

  test('415 for other media types, 400 without a boundary or with a bad study UID', async () => {
    const m = memory();
    assert.equal((await stow([{ body: file(CT) }], m, { contentType: 'application/dicom' })).status, 415);
    assert.equal((await stow([{ body: file(CT) }], m, { contentType: 'application/json' })).status, 415);
    assert.equal(
      (
        await stow([{ body: file(CT) }], m, {
          contentType: 'multipart/related; type="application/dicom+json"; boundary=x',
        })
      ).status,
      415,
    );
    const noBoundary = await stow([{ body: file(CT) }], m, {
      contentType: 'multipart/related; type="application/dicom"',
    });
    assert.equal(noBoundary.status, 400);
    assert.ok(noBoundary.warnings.includes('DICOMWEB_MISSING_BOUNDARY'));
    assert.equal((await stow([{ body: file(CT) }], m, { study: 'x.1' })).status, 400);
    assert.equal(m.begun.length, 0);
  });

  test('truncated bodies: 202 with the cut instance failed (0xC000), or 400 when nothing was stored', async () => {
    const ct = file(CT);
    const sr = file(SR);
    const m = memory();
    const full = await stow([{ body: ct }, { body: sr }], memory());
    const cut = await stow([{ body: ct }, { body: sr }], m, { cut: full.bytes.length - 3000 });
    assert.equal(cut.status, 202);
    assert.equal(cut.response.referenced.length, 1);
    assert.equal(cut.response.failed.length, 1);
    assert.equal(cut.response.failed[0]!.failureReason, FailureReason.CannotUnderstand);
    assert.equal(cut.warnings[0], 'DICOMWEB_MULTIPART_TRUNCATED');
    assert.deepEqual(m.aborted, [1]);

    const m2 = memory();
    const early = await stow([{ body: ct }], m2, { cut: 50_000 });
    assert.equal(early.status, 400);
    assert.equal(m2.stored.size, 0);
    assert.deepEqual(m2.aborted, [0]);

    const none = await stow([], memory());
    assert.equal(none.status, 400);
  });

  test('409: instances of another study than the target resource fail with 0xA900; mixed: 202', async () => {
    const m = memory();
    const r = await stow([{ body: file(SR) }], m, { study: CT_STUDY });
    assert.equal(r.status, 409);
    assert.equal(r.response.failed[0]!.failureReason, FailureReason.DataSetDoesNotMatchSopClass);
    assert.deepEqual(m.aborted, [0]);
    const mixed = await stow([{ body: file(CT) }, { body: file(SR) }], memory(), { study: CT_STUDY });
    assert.equal(mixed.status, 202);
    assert.equal(mixed.response.referenced.length, 1);
    assert.equal(mixed.response.failed.length, 1);
  });

  test('limits: 413 for a declared or streamed body over the request limit; 0xA700 for an instance over its limit', async () => {
    const declared = await stow([{ body: file(CT) }], memory(), {
      contentLength: 10_000_000,
      limits: { maxRequestBytes: 1_000_000 },
    });
    assert.equal(declared.status, 413);
    assert.ok(declared.closeConnection);
    const m = memory();
    const streamed = await stow([{ body: file(SR) }, { body: file(CT) }, { body: file(NM) }], m, {
      limits: { maxRequestBytes: 100_000 },
    });
    assert.equal(streamed.status, 413);
    assert.ok(streamed.closeConnection);
    assert.equal(streamed.response.referenced.length, 1, 'what was stored before the limit is reported');
    const big = await stow([{ body: file(SR) }, { body: file(CT) }], memory(), {
      limits: { maxInstanceBytes: 100_000 },
    });
    assert.equal(big.status, 202);
    assert.equal(big.response.failed[0]!.failureReason, FailureReason.OutOfResources);
    const alone = await stow([{ body: file(CT) }], memory(), { limits: { maxInstanceBytes: 100_000 } });
    assert.equal(alone.status, 413, 'nothing stored and an instance over its limit: 413');
    assert.equal(alone.response.failed[0]!.failureReason, FailureReason.OutOfResources);
  });

  test('507: nothing stored because the handler is out of space', async () => {
    const full: StowHandler = { begin: () => ({ failureReason: 0xa700, insufficientStorage: true, code: 'QUOTA_X' }) };
    const boundary = newBoundary();
    const r = await handleStow(
      {
        contentType: formatMediaType('multipart/related', { type: 'application/dicom', boundary }),
        contentLength: undefined,
        body: inChunks(await bodyOf([{ body: file(CT) }, { body: file(SR) }], boundary)),
        studyInstanceUid: undefined,
        signal: new AbortController().signal,
        retrieveBase: undefined,
      },
      full,
    );
    assert.equal(r.status, 507);
    assert.equal(decodeStowResponse(r.body).failed.length, 2);
    assert.ok(r.warnings.some((w) => w.endsWith('QUOTA_X')));
  });

  test('the application refuses (begin), fails (end throws) or reports a failure or warning (end)', async () => {
    const refused = await stow(
      [{ body: file(CT) }],
      memory(undefined, () => FailureReason.SopClassNotSupported),
    );
    assert.equal(refused.status, 409);
    assert.equal(refused.response.failed[0]!.failureReason, 0x0122);

    const throwing: StowHandler = {
      begin: () => ({
        write: () => {},
        end: () => {
          throw new Error('disk full');
        },
        abort: () => {},
      }),
    };
    const boundary = newBoundary();
    const r = await handleStow(
      {
        contentType: formatMediaType('multipart/related', { type: 'application/dicom', boundary }),
        contentLength: undefined,
        body: inChunks(await bodyOf([{ body: file(CT) }], boundary)),
        studyInstanceUid: undefined,
        signal: new AbortController().signal,
        retrieveBase: undefined,
      },
      throwing,
    );
    assert.equal(r.status, 409);
    assert.equal(decodeStowResponse(r.body).failed[0]!.failureReason, FailureReason.ProcessingFailure);

    const dup = await stow(
      [{ body: file(CT) }, { body: file(SR) }],
      memory((i) => (i.index === 0 ? { failureReason: 0x0111 } : undefined)),
    );
    assert.equal(dup.status, 202);
    assert.equal(dup.response.failed[0]!.failureReason, 0x0111);

    const warned = await stow(
      [{ body: file(CT) }],
      memory(() => ({ warningReason: 0xb000 })),
    );
    assert.equal(warned.status, 202);
    assert.equal(warned.response.referenced[0]!.warningReason, 0xb000);
  });

  test('a part larger than the kept head is identified from its head; a corrupt small one fails with 0xC000', async () => {
    const m = memory();
    const r = await stow([{ body: file(NM) }], m, { limits: { headBytes: 4096 } });
    assert.equal(r.status, 200);
    const stored = [...m.stored.values()][0]!;
    assert.ok(stored.instance.studyInstanceUid, 'study UID read from the head');
    assert.deepEqual(stored.bytes, Buffer.from(file(NM)));

    const broken = file(CT).slice(0, 60_000); // valid meta, data set cut inside Pixel Data
    const m2 = memory();
    const b = await stow([{ body: broken }], m2);
    assert.equal(b.status, 400);
    assert.equal(b.response.failed[0]!.failureReason, FailureReason.CannotUnderstand);
    assert.deepEqual(m2.aborted, [0]);
  });
});
