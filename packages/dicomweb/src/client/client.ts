/**
 * A DICOMweb client for one service root (e.g. http://pacs:8042/dicom-web): STOW-RS of Part 10 files byte for
 * byte in one or more multipart requests (each with an exact Content-Length), QIDO-RS searches answered as DICOM
 * JSON, and WADO-RS retrieval streamed part by part (each part's bytes exactly as the server sent them).
 *
 * Example:
 *   const client = new DicomwebClient({ baseUrl: 'http://127.0.0.1:8042/dicom-web' });
 *   const result = await client.stow(await Promise.all(paths.map((p) => stowFileFromPath(p))));
 *   const studies = await client.searchStudies({ PatientID: 'X' });
 *   for await (const part of client.retrieve({ studyInstanceUid })) await save(part.body);
 */
import type { Agent } from 'node:http';
import type { DicomJsonObject } from '@veil/core';
import { DicomwebError } from '../errors.ts';
import { formatMediaType, type MediaType, parseMediaType } from '../media-type.ts';
import { readMultipart } from '../multipart/reader.ts';
import { multipartLength, newBoundary, type OutgoingPart, writeMultipart } from '../multipart/writer.ts';
import { decodeStowResponse, type StowResponse } from '../stow/response.ts';
import { isUid } from '../uid.ts';
import { type HttpResponse, httpRequest } from './http.ts';
import type { StowFile } from './stow-file.ts';

export interface DicomwebClientOptions {
  /** The service root, without a trailing slash needed: http://host:port/dicom-web */
  readonly baseUrl: string;
  /** Extra header fields on every request (e.g. authorization). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Idle timeout per request (default 120 s). */
  readonly timeoutMs?: number;
  /** An http(s).Agent for every request (for https: CA, client certificate and key for mutual TLS). */
  readonly agent?: Agent;
}

export interface StowOptions {
  /** POST to /studies/{study} instead of /studies. */
  readonly studyInstanceUid?: string;
  /** Most files per request (default 100). */
  readonly maxInstancesPerRequest?: number;
  /** A new request starts before the body would pass this size (default 256 MiB; a larger file goes alone). */
  readonly maxRequestBytes?: number;
  readonly signal?: AbortSignal;
  /** Called after each request with its summary. */
  readonly onRequest?: (r: StowRequestResult) => void;
}

export type StowFileStatus = 'stored' | 'warning' | 'failed';

export interface StowFileOutcome {
  readonly file: StowFile;
  readonly status: StowFileStatus;
  readonly httpStatus: number;
  readonly failureReason?: number;
  readonly warningReason?: number;
  readonly retrieveUrl?: string;
  /** Why, when the request itself failed or the response did not mention the file: a code. */
  readonly error?: string;
}

export interface StowRequestResult {
  readonly httpStatus: number;
  readonly files: number;
  readonly bytes: number;
  readonly response: StowResponse;
  /** The Warning header field, if any. */
  readonly warning?: string;
  /** A code when no usable response came (connection refused, timeout, not DICOM JSON). */
  readonly error?: string;
}

export interface StowResult {
  readonly requests: readonly StowRequestResult[];
  readonly outcomes: readonly StowFileOutcome[];
  readonly stored: number;
  readonly failed: number;
}

export type QidoParams = Readonly<Record<string, string | number | readonly string[]>>;

export interface RetrieveScope {
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid?: string;
  readonly sopInstanceUid?: string;
}

export interface RetrievedPart {
  readonly index: number;
  readonly contentType: MediaType | undefined;
  /** The transfer-syntax parameter of the part's Content-Type, if any. */
  readonly transferSyntaxUid: string | undefined;
  /** The part's bytes, single use; read them before asking for the next part. */
  readonly body: AsyncIterable<Uint8Array>;
}

export interface RetrieveOptions {
  /** The transfer-syntax parameter to ask for: '*' (default: as stored), a UID, or null to send none. */
  readonly transferSyntax?: string | null;
  readonly signal?: AbortSignal;
}

const DICOM_JSON = 'application/dicom+json';

function checkUid(uid: string, path: string): string {
  if (!isUid(uid)) throw new DicomwebError('DICOMWEB_BAD_QUERY', { path });
  return uid;
}

export class DicomwebClient {
  readonly baseUrl: string;

  constructor(private readonly options: DicomwebClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    return { ...this.options.headers, ...extra };
  }

  private async get(path: string, accept: string, signal?: AbortSignal): Promise<HttpResponse> {
    return httpRequest({
      method: 'GET',
      url: `${this.baseUrl}${path}`,
      headers: this.headers({ accept }),
      ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}),
      ...(this.options.agent ? { agent: this.options.agent } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  // ------------------------------------------------------------------------------------------------ STOW-RS

  /** Stores the files; never throws for a refused file or request: see the outcomes. */
  async stow(files: Iterable<StowFile>, options: StowOptions = {}): Promise<StowResult> {
    const maxFiles = options.maxInstancesPerRequest ?? 100;
    const maxBytes = options.maxRequestBytes ?? 256 * 1024 * 1024;
    const batches: StowFile[][] = [];
    let cur: StowFile[] = [];
    let curBytes = 0;
    for (const f of files) {
      if (cur.length > 0 && (cur.length >= maxFiles || curBytes + f.length > maxBytes)) {
        batches.push(cur);
        cur = [];
        curBytes = 0;
      }
      cur.push(f);
      curBytes += f.length;
    }
    if (cur.length > 0) batches.push(cur);

    const requests: StowRequestResult[] = [];
    const outcomes: StowFileOutcome[] = [];
    for (const batch of batches) {
      const r = await this.stowRequest(batch, options);
      requests.push(r.request);
      outcomes.push(...r.outcomes);
      options.onRequest?.(r.request);
    }
    return {
      requests,
      outcomes,
      stored: outcomes.filter((o) => o.status !== 'failed').length,
      failed: outcomes.filter((o) => o.status === 'failed').length,
    };
  }

  private async stowRequest(
    batch: readonly StowFile[],
    options: StowOptions,
  ): Promise<{ request: StowRequestResult; outcomes: StowFileOutcome[] }> {
    const boundary = newBoundary();
    const parts: OutgoingPart[] = batch.map((f) => ({
      contentType: 'application/dicom',
      length: f.length,
      body: f.open,
    }));
    const length = multipartLength(parts, boundary);
    const bytes = batch.reduce((n, f) => n + f.length, 0);
    const path = options.studyInstanceUid ? `/studies/${checkUid(options.studyInstanceUid, 'study')}` : '/studies';
    let res: HttpResponse;
    try {
      res = await httpRequest({
        method: 'POST',
        url: `${this.baseUrl}${path}`,
        headers: this.headers({
          'content-type': formatMediaType('multipart/related', { type: 'application/dicom', boundary }),
          'content-length': String(length),
          accept: DICOM_JSON,
        }),
        body: writeMultipart(parts, boundary),
        ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}),
        ...(this.options.agent ? { agent: this.options.agent } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (e) {
      const code = e instanceof DicomwebError ? e.code : 'DICOMWEB_HTTP_ERROR';
      const empty: StowResponse = { referenced: [], failed: [], otherFailures: [] };
      return {
        request: { httpStatus: 0, files: batch.length, bytes, response: empty, error: code },
        outcomes: batch.map((file) => ({ file, status: 'failed', httpStatus: 0, error: code })),
      };
    }
    const text = await res.text();
    const warning = typeof res.headers.warning === 'string' ? res.headers.warning : undefined;
    let response: StowResponse = { referenced: [], failed: [], otherFailures: [] };
    let error: string | undefined;
    if (text.trim() !== '') {
      try {
        response = decodeStowResponse(JSON.parse(text));
      } catch {
        error = 'DICOMWEB_BAD_RESPONSE';
      }
    }
    // Match the response to the files by SOP Instance UID, in order (a UID sent twice matches twice).
    const referenced = new Map<string, (typeof response.referenced)[number][]>();
    for (const r of response.referenced)
      referenced.set(r.sopInstanceUid, [...(referenced.get(r.sopInstanceUid) ?? []), r]);
    const failed = new Map<string, (typeof response.failed)[number][]>();
    for (const f of response.failed) failed.set(f.sopInstanceUid, [...(failed.get(f.sopInstanceUid) ?? []), f]);
    const outcomes: StowFileOutcome[] = batch.map((file) => {
      const uid = file.sopInstanceUid ?? '';
      const ok = referenced.get(uid)?.shift();
      if (ok) {
        return {
          file,
          status: ok.warningReason !== undefined ? 'warning' : 'stored',
          httpStatus: res.status,
          ...(ok.warningReason !== undefined ? { warningReason: ok.warningReason } : {}),
          ...(ok.retrieveUrl ? { retrieveUrl: ok.retrieveUrl } : {}),
        };
      }
      const bad = failed.get(uid)?.shift();
      if (bad) return { file, status: 'failed', httpStatus: res.status, failureReason: bad.failureReason };
      // Not mentioned: a 200 means every instance was stored; anything else is a failure we cannot attribute.
      if (res.status === 200 && !error) return { file, status: 'stored', httpStatus: res.status };
      return { file, status: 'failed', httpStatus: res.status, error: error ?? 'DICOMWEB_NOT_IN_RESPONSE' };
    });
    return {
      request: {
        httpStatus: res.status,
        files: batch.length,
        bytes,
        response,
        ...(warning ? { warning } : {}),
        ...(error ? { error } : {}),
      },
      outcomes,
    };
  }

  // ------------------------------------------------------------------------------------------------ QIDO-RS

  private async search(path: string, params: QidoParams | undefined, signal?: AbortSignal): Promise<DicomJsonObject[]> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params ?? {})) {
      if (Array.isArray(v)) for (const x of v) q.append(k, String(x));
      else q.append(k, String(v));
    }
    const qs = q.toString();
    const res = await this.get(`${path}${qs ? `?${qs}` : ''}`, `${DICOM_JSON}, application/json;q=0.9`, signal);
    if (res.status === 204) {
      res.discard();
      return [];
    }
    if (res.status !== 200) {
      res.discard();
      throw new DicomwebError('DICOMWEB_HTTP_ERROR', { status: res.status });
    }
    const text = await res.text();
    if (text.trim() === '') return [];
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new DicomwebError('DICOMWEB_BAD_RESPONSE', { status: res.status });
    }
    if (!Array.isArray(json)) throw new DicomwebError('DICOMWEB_BAD_RESPONSE', { status: res.status });
    return json as DicomJsonObject[];
  }

  searchStudies(params?: QidoParams, signal?: AbortSignal): Promise<DicomJsonObject[]> {
    return this.search('/studies', params, signal);
  }

  searchSeries(studyInstanceUid?: string, params?: QidoParams, signal?: AbortSignal): Promise<DicomJsonObject[]> {
    const path = studyInstanceUid ? `/studies/${checkUid(studyInstanceUid, 'study')}/series` : '/series';
    return this.search(path, params, signal);
  }

  searchInstances(
    studyInstanceUid?: string,
    seriesInstanceUid?: string,
    params?: QidoParams,
    signal?: AbortSignal,
  ): Promise<DicomJsonObject[]> {
    let path = '/instances';
    if (studyInstanceUid) {
      path = `/studies/${checkUid(studyInstanceUid, 'study')}`;
      path += seriesInstanceUid ? `/series/${checkUid(seriesInstanceUid, 'series')}/instances` : '/instances';
    }
    return this.search(path, params, signal);
  }

  // ------------------------------------------------------------------------------------------------ WADO-RS

  /** Retrieves a study, series or instance; yields each part as it arrives. */
  async *retrieve(scope: RetrieveScope, options: RetrieveOptions = {}): AsyncGenerator<RetrievedPart, void, undefined> {
    let path = `/studies/${checkUid(scope.studyInstanceUid, 'study')}`;
    if (scope.seriesInstanceUid) path += `/series/${checkUid(scope.seriesInstanceUid, 'series')}`;
    if (scope.sopInstanceUid) {
      if (!scope.seriesInstanceUid) throw new DicomwebError('DICOMWEB_BAD_QUERY', { path: 'series' });
      path += `/instances/${checkUid(scope.sopInstanceUid, 'instance')}`;
    }
    const ts = options.transferSyntax === undefined ? '*' : options.transferSyntax;
    const accept = formatMediaType('multipart/related', {
      type: 'application/dicom',
      ...(ts !== null ? { 'transfer-syntax': ts } : {}),
    });
    const res = await this.get(path, accept, options.signal);
    if (res.status !== 200) {
      res.discard();
      throw new DicomwebError('DICOMWEB_HTTP_ERROR', { status: res.status });
    }
    const ct = parseMediaType(
      typeof res.headers['content-type'] === 'string' ? res.headers['content-type'] : undefined,
    );
    const boundary = ct?.params.get('boundary');
    if (ct?.type !== 'multipart/related' || !boundary) {
      res.discard();
      throw new DicomwebError('DICOMWEB_BAD_RESPONSE', { status: res.status });
    }
    let finished = false;
    try {
      for await (const part of readMultipart(res.body, boundary)) {
        yield {
          index: part.index,
          contentType: part.contentType,
          transferSyntaxUid: part.contentType?.params.get('transfer-syntax'),
          body: part.body,
        };
      }
      finished = true;
    } finally {
      if (!finished) res.destroy();
    }
  }
}
