/**
 * The STOW-RS Store Instances transaction (PS3.18 10.5) for PS3.10 files: POST {root}/studies[/{study}] with a
 * multipart/related; type="application/dicom" body. Each part is streamed into the application's StowSink as it
 * arrives (never gathered whole), while its first bytes are kept to read the file meta (to refuse a non-DICOM part
 * before anything is stored) and, at the part's end, the instance's UIDs (to check the target study). The outcome
 * of every part goes into the response data set; the HTTP status follows PS3.18 Table 10.5.3-1:
 *
 *   200 every instance stored, no warnings     202 some stored, with failures or warnings
 *   400 nothing stored: the body is not a valid multipart/related of DICOM files
 *   409 nothing stored for other reasons (study mismatch, refused by the application)
 *   413 the body exceeds the request limit, or nothing was stored and an instance exceeded the instance limit
 *   415 not multipart/related; type="application/dicom"
 *   507 nothing stored and the handler said it is out of space (StowFailed.insufficientStorage)
 *
 * Request-level problems are also named, by code only, in a `Warning: 299` header field.
 *
 * Example:
 *   const r = await handleStow({ contentType, contentLength, body, studyInstanceUid: undefined, signal,
 *     retrieveBase: undefined }, handler);
 *   r.status; // 200
 */
import type { DicomJsonObject } from '@veil/core';
import { DicomwebError, isDicomwebError } from '../errors.ts';
import { parseMediaType } from '../media-type.ts';
import { readMultipart } from '../multipart/reader.ts';
import { identifyInstance, type Part10Meta, readPart10Meta } from '../part10.ts';
import { isUid } from '../uid.ts';
import { isStowFailed, type StowFailed, type StowHandler, type StowInstance, type StowSink } from './ports.ts';
import { FailureReason } from './reasons.ts';
import { encodeStowResponse, type StowFailedSop, type StowOtherFailure, type StowReferencedSop } from './response.ts';

export interface StowLimits {
  /** Largest request body (default 4 GiB). Larger: 413, the connection is closed. */
  readonly maxRequestBytes: number;
  /** Largest single instance (default 2 GiB). Larger: that instance fails with 0xA700, the others go on. */
  readonly maxInstanceBytes: number;
  /** Most parts in one request (default 10 000). */
  readonly maxParts: number;
  /**
   * Bytes of each part kept to identify the instance (default 4 MiB). A part up to this size is also checked to
   * parse as a whole; a larger one is identified from this head (the data set's UIDs precede its bulk data).
   */
  readonly headBytes: number;
  /** Largest header block of a part (default 16 KiB). */
  readonly maxPartHeaderBytes: number;
}

export const DEFAULT_STOW_LIMITS: StowLimits = Object.freeze({
  maxRequestBytes: 4 * 1024 ** 3,
  maxInstanceBytes: 2 * 1024 ** 3,
  maxParts: 10_000,
  headBytes: 4 * 1024 * 1024,
  maxPartHeaderBytes: 16 * 1024,
});

export interface StowHttpRequest {
  /** The Content-Type header field. */
  readonly contentType: string | null | undefined;
  /** The Content-Length header field, when given. */
  readonly contentLength: number | undefined;
  readonly body: AsyncIterable<Uint8Array> | null;
  /** From the target resource /studies/{study}; undefined for /studies. */
  readonly studyInstanceUid: string | undefined;
  readonly signal: AbortSignal;
  /** Base URL for Retrieve URLs (e.g. `http://127.0.0.1:8080/dicom-web`); undefined to send none. */
  readonly retrieveBase: string | undefined;
}

export interface StowHttpResult {
  readonly status: number;
  /** The response data set (application/dicom+json). */
  readonly body: DicomJsonObject;
  /** Codes for a `Warning: 299` header field (request-level problems and parts that failed, by index). */
  readonly warnings: readonly string[];
  /** True when the request body was not read to its end: the connection should close. */
  readonly closeConnection: boolean;
  readonly stored: number;
  readonly failed: number;
}

async function* countBytes(source: AsyncIterable<Uint8Array>, max: number): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    if (n > max) throw new DicomwebError('DICOMWEB_BODY_TOO_LARGE');
    yield chunk;
  }
}

function concat(chunks: readonly Uint8Array[], limit = Number.POSITIVE_INFINITY): Uint8Array {
  if (chunks.length === 1 && chunks[0]!.length <= limit) return chunks[0]!;
  const buf = Buffer.concat(chunks as Uint8Array[]);
  return buf.length > limit ? buf.subarray(0, limit) : buf;
}

function failureReasonOf(e: unknown): number {
  const r = (e as { failureReason?: unknown } | null)?.failureReason;
  return typeof r === 'number' && Number.isInteger(r) && r >= 0 && r <= 0xffff ? r : FailureReason.ProcessingFailure;
}

async function safeAbort(sink: StowSink): Promise<void> {
  try {
    await sink.abort();
  } catch {
    // The part has failed already; a failing abort changes nothing the client can act on.
  }
}

function requestError(status: number, code: string, closeConnection: boolean): StowHttpResult {
  return { status, body: {}, warnings: [code], closeConnection, stored: 0, failed: 0 };
}

/** Runs one STOW-RS request against a handler. Never throws for anything the client sent. */
export async function handleStow(
  request: StowHttpRequest,
  handler: StowHandler,
  limits: Partial<StowLimits> = {},
): Promise<StowHttpResult> {
  const lim: StowLimits = { ...DEFAULT_STOW_LIMITS, ...limits };
  const study = request.studyInstanceUid;
  if (study !== undefined && !isUid(study)) return requestError(400, 'DICOMWEB_BAD_STUDY_UID', true);
  const mt = parseMediaType(request.contentType);
  if (mt?.type !== 'multipart/related') return requestError(415, 'DICOMWEB_UNSUPPORTED_MEDIA_TYPE', true);
  const partType = mt.params.get('type')?.toLowerCase();
  if (partType !== undefined && partType !== 'application/dicom') {
    return requestError(415, 'DICOMWEB_UNSUPPORTED_MEDIA_TYPE', true);
  }
  const boundary = mt.params.get('boundary');
  if (!boundary) return requestError(400, 'DICOMWEB_MISSING_BOUNDARY', true);
  if (request.contentLength !== undefined && request.contentLength > lim.maxRequestBytes) {
    return requestError(413, 'DICOMWEB_BODY_TOO_LARGE', true);
  }
  if (!request.body) return requestError(400, 'DICOMWEB_MULTIPART_MALFORMED', false);

  const referenced: StowReferencedSop[] = [];
  const failed: StowFailedSop[] = [];
  const otherFailures: StowOtherFailure[] = [];
  const warnings: string[] = [];
  let syntaxFailures = 0;
  let warned = false;
  const studies = new Set<string>();

  const fail = (
    index: number,
    meta: { sopClassUid?: string | undefined; sopInstanceUid?: string | undefined } | undefined,
    reason: number,
    code: string,
  ): void => {
    if (meta?.sopInstanceUid)
      failed.push({ sopClassUid: meta.sopClassUid, sopInstanceUid: meta.sopInstanceUid, failureReason: reason });
    else otherFailures.push({ failureReason: reason });
    if (reason === FailureReason.CannotUnderstand) syntaxFailures++;
    if (warnings.length < 32) warnings.push(`part ${index} ${code}`);
  };

  let requestProblem: { status: number; code: string; close: boolean } | undefined;
  let tooLargeParts = 0;
  let noSpaceParts = 0;
  const refusedCode = (f: StowFailed): string => {
    if (f.insufficientStorage) noSpaceParts++;
    if (f.code !== undefined && /^[A-Z0-9_]{1,64}$/.test(f.code)) return f.code;
    return f.insufficientStorage ? 'DICOMWEB_INSUFFICIENT_STORAGE' : 'DICOMWEB_REFUSED';
  };
  let partCount = 0;
  try {
    const parts = readMultipart(countBytes(request.body, lim.maxRequestBytes), boundary, {
      maxHeaderBytes: lim.maxPartHeaderBytes,
    });
    for await (const part of parts) {
      if (++partCount > lim.maxParts) throw new DicomwebError('DICOMWEB_TOO_MANY_PARTS', { part: part.index });
      const index = part.index;
      const ct = part.contentType?.type;
      if (ct !== undefined && ct !== 'application/dicom') {
        fail(index, undefined, FailureReason.CannotUnderstand, 'DICOMWEB_UNSUPPORTED_MEDIA_TYPE');
        continue;
      }
      const it = part.body[Symbol.asyncIterator]();
      const head: Uint8Array[] = [];
      let headSize = 0;
      let size = 0;
      let ended = false;
      let meta: Part10Meta | 'more' = 'more';
      // 1. The file meta, before the application sees anything.
      try {
        while (meta === 'more') {
          const r = await it.next();
          if (r.done) ended = true;
          else {
            head.push(r.value);
            size += r.value.length;
          }
          meta = readPart10Meta(concat(head), ended);
        }
      } catch (e) {
        if (!isDicomwebError(e)) throw e;
        if (e.code === 'DICOMWEB_NOT_PART10') {
          fail(index, undefined, FailureReason.CannotUnderstand, e.code);
          continue;
        }
        fail(
          index,
          undefined,
          e.code === 'DICOMWEB_BODY_TOO_LARGE' ? FailureReason.OutOfResources : FailureReason.CannotUnderstand,
          e.code,
        );
        throw e;
      }
      headSize = size;
      // 2. The application's sink.
      let begun: Awaited<ReturnType<StowHandler['begin']>>;
      try {
        begun = await handler.begin(
          {
            index,
            sopClassUid: meta.sopClassUid,
            sopInstanceUid: meta.sopInstanceUid,
            transferSyntaxUid: meta.transferSyntaxUid,
          },
          { studyInstanceUid: study, signal: request.signal },
        );
      } catch (e) {
        fail(index, meta, failureReasonOf(e), 'DICOMWEB_HANDLER_FAILED');
        continue;
      }
      if (isStowFailed(begun)) {
        fail(index, meta, begun.failureReason, refusedCode(begun));
        continue;
      }
      const sink = begun;
      // 3. The bytes, as they come.
      let partFailed = false;
      try {
        for (const c of head) await sink.write(c);
        while (!ended) {
          const r = await it.next();
          if (r.done) break;
          const c = r.value;
          size += c.length;
          if (size > lim.maxInstanceBytes) {
            await safeAbort(sink);
            fail(index, meta, FailureReason.OutOfResources, 'DICOMWEB_INSTANCE_TOO_LARGE');
            tooLargeParts++;
            partFailed = true;
            break;
          }
          if (headSize < lim.headBytes) {
            head.push(c);
            headSize += c.length;
          }
          await sink.write(c);
        }
      } catch (e) {
        await safeAbort(sink);
        if (isDicomwebError(e) && e.code.startsWith('DICOMWEB_')) {
          // The request itself broke (truncated, too large, malformed): this part fails, the request stops.
          fail(
            index,
            meta,
            e.code === 'DICOMWEB_BODY_TOO_LARGE' ? FailureReason.OutOfResources : FailureReason.CannotUnderstand,
            e.code,
          );
          throw e;
        }
        if (request.signal.aborted) throw e;
        fail(index, meta, failureReasonOf(e), 'DICOMWEB_SINK_FAILED');
        continue;
      }
      if (partFailed) continue;
      // 4. The instance's identity and the standard's checks.
      const complete = size <= lim.headBytes;
      const id = identifyInstance(concat(head, lim.headBytes), complete);
      const known = {
        sopClassUid: id.sopClassUid ?? meta.sopClassUid,
        sopInstanceUid: id.sopInstanceUid ?? meta.sopInstanceUid,
      };
      let reason: number | undefined;
      let code = '';
      if (id.error) {
        reason =
          id.error === 'DICOMWEB_SOP_CLASS_MISMATCH'
            ? FailureReason.DataSetDoesNotMatchSopClass
            : FailureReason.CannotUnderstand;
        code = id.error;
      } else if (!known.sopClassUid || !known.sopInstanceUid) {
        reason = FailureReason.CannotUnderstand;
        code = 'DICOMWEB_NO_SOP_UIDS';
      } else if (study !== undefined && id.studyInstanceUid !== undefined && id.studyInstanceUid !== study) {
        reason = FailureReason.DataSetDoesNotMatchSopClass;
        code = 'DICOMWEB_STUDY_MISMATCH';
      }
      if (reason !== undefined) {
        await safeAbort(sink);
        fail(index, known, reason, code);
        continue;
      }
      const instance: StowInstance = {
        index,
        sopClassUid: known.sopClassUid!,
        sopInstanceUid: known.sopInstanceUid!,
        studyInstanceUid: id.studyInstanceUid ?? (id.metaOnly ? study : undefined),
        seriesInstanceUid: id.seriesInstanceUid,
        transferSyntaxUid: id.transferSyntaxUid ?? meta.transferSyntaxUid,
        length: size,
      };
      // 5. Durable, then acknowledged.
      let outcome: Awaited<ReturnType<StowSink['end']>>;
      try {
        outcome = await sink.end(instance);
      } catch (e) {
        await safeAbort(sink);
        fail(index, known, failureReasonOf(e), 'DICOMWEB_SINK_FAILED');
        continue;
      }
      if (isStowFailed(outcome)) {
        fail(index, known, outcome.failureReason, refusedCode(outcome));
        continue;
      }
      if (outcome?.warningReason !== undefined) warned = true;
      const url =
        outcome?.retrieveUrl ??
        (request.retrieveBase && instance.studyInstanceUid && instance.seriesInstanceUid
          ? `${request.retrieveBase}/studies/${instance.studyInstanceUid}/series/${instance.seriesInstanceUid}/instances/${instance.sopInstanceUid}`
          : undefined);
      if (instance.studyInstanceUid) studies.add(instance.studyInstanceUid);
      referenced.push({
        sopClassUid: instance.sopClassUid,
        sopInstanceUid: instance.sopInstanceUid,
        ...(url ? { retrieveUrl: url } : {}),
        ...(outcome?.warningReason !== undefined ? { warningReason: outcome.warningReason } : {}),
      });
    }
  } catch (e) {
    if (isDicomwebError(e)) {
      const tooLarge = e.code === 'DICOMWEB_BODY_TOO_LARGE' || e.code === 'DICOMWEB_TOO_MANY_PARTS';
      requestProblem = { status: tooLarge ? 413 : 400, code: e.code, close: tooLarge };
    } else if (request.signal.aborted) {
      requestProblem = { status: 400, code: 'DICOMWEB_CLIENT_ABORTED', close: true };
    } else {
      requestProblem = { status: 400, code: 'DICOMWEB_BODY_READ_FAILED', close: true };
    }
    warnings.unshift(requestProblem.code);
  }

  const stored = referenced.length;
  const nFailed = failed.length + otherFailures.length;
  let status: number;
  if (requestProblem?.status === 413) status = 413;
  else if (requestProblem) status = stored > 0 ? 202 : 400;
  else if (partCount === 0) {
    status = 400;
    warnings.push('DICOMWEB_NO_PARTS');
  } else if (nFailed === 0) status = warned ? 202 : 200;
  else if (stored > 0) status = 202;
  else if (noSpaceParts > 0) status = 507;
  else if (tooLargeParts > 0) status = 413;
  else status = syntaxFailures === nFailed ? 400 : 409;

  const retrieveUrl =
    request.retrieveBase && studies.size === 1 ? `${request.retrieveBase}/studies/${[...studies][0]}` : undefined;
  return {
    status,
    body: encodeStowResponse({ ...(retrieveUrl ? { retrieveUrl } : {}), referenced, failed, otherFailures }),
    warnings,
    closeConnection: requestProblem?.close ?? false,
    stored,
    failed: nFailed,
  };
}
