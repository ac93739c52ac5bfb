/**
 * The DICOMweb HTTP service as a Hono app: STOW-RS (POST /studies[/{study}]) through a StowHandler, QIDO-RS
 * (GET /studies, /series, /instances and their nested forms) and WADO-RS instance retrieval (GET /studies/{study}
 * [/series/{series}[/instances/{instance}]]) through a DicomwebStore. Either port may be left out: its routes then
 * answer 405 (STOW) or 404. Routes live under `root` (e.g. '/dicom-web'). Responses never carry request values in
 * headers; problems are named by code in `Warning: 299` fields.
 *
 * Example:
 *   const app = createDicomwebApp({ stow: handler, store, root: '/dicom-web' });
 *   const res = await app.request('/dicom-web/studies', { headers: { accept: 'application/dicom+json' } });
 */
import { type DicomJsonObject, stringifyDicomJson } from '@veil/core';
import { type Context, Hono } from 'hono';
import { DicomwebError, isDicomwebError } from './errors.ts';
import { handleQido, type QidoLevel } from './qido/server.ts';
import type { DicomwebStore, InstanceScope } from './store.ts';
import type { StowHandler } from './stow/ports.ts';
import { handleStow, type StowLimits } from './stow/server.ts';
import { handleRetrieve } from './wado/server.ts';

/** What one request did, for logs and metrics: no UIDs, no values. */
export interface DicomwebRequestEvent {
  readonly transaction: 'stow' | 'qido' | 'wado';
  readonly status: number;
  readonly ms: number;
  readonly stored?: number;
  readonly failed?: number;
  readonly results?: number;
  readonly warnings: readonly string[];
}

export interface DicomwebAppOptions {
  readonly stow?: StowHandler;
  readonly store?: DicomwebStore;
  readonly limits?: Partial<StowLimits>;
  /** Path prefix of the service, e.g. '/dicom-web' (default: none). */
  readonly root?: string;
  /** Public base URL for Retrieve URLs (default: the request's origin and root). */
  readonly publicUrl?: string;
  readonly onRequest?: (event: DicomwebRequestEvent) => void;
}

export const DICOM_JSON = 'application/dicom+json';

function warningHeader(warnings: readonly string[]): string | undefined {
  if (warnings.length === 0) return undefined;
  return warnings.map((w) => `299 veil "${w.replace(/["\\\r\n]/g, ' ')}"`).join(', ');
}

function headersFor(contentType: string | undefined, warnings: readonly string[], close = false): Headers {
  const h = new Headers();
  if (contentType) h.set('content-type', contentType);
  const w = warningHeader(warnings);
  if (w) h.set('warning', w);
  if (close) h.set('connection', 'close');
  return h;
}

function jsonArray(items: readonly DicomJsonObject[]): string {
  return `[${items.map((o) => stringifyDicomJson(o)).join(',')}]`;
}

/** A pull-driven stream over an async iterable: the next chunk is produced only when the socket wants it. */
function streamOf(body: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = body[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      } catch (e) {
        // The adapter logs a failed response stream: hand it a code, never an error whose message may name a path
        // made of UIDs.
        controller.error(isDicomwebError(e) ? e : new DicomwebError('DICOMWEB_RESPONSE_STREAM_FAILED'));
      }
    },
    async cancel() {
      await it.return?.();
    },
  });
}

/** The UIDs of the target resource. */
function scopeOf(c: Context): InstanceScope {
  const study = c.req.param('study') as string | undefined;
  const series = c.req.param('series') as string | undefined;
  const instance = c.req.param('instance') as string | undefined;
  return {
    ...(study !== undefined ? { studyInstanceUid: study } : {}),
    ...(series !== undefined ? { seriesInstanceUid: series } : {}),
    ...(instance !== undefined ? { sopInstanceUid: instance } : {}),
  };
}

export function createDicomwebApp(options: DicomwebAppOptions): Hono {
  const root = (options.root ?? '').replace(/\/+$/, '');
  const app = new Hono();
  const emit = (e: DicomwebRequestEvent): void => {
    try {
      options.onRequest?.(e);
    } catch {
      // A logging hook must not break a transaction.
    }
  };
  const base = (c: Context): string => options.publicUrl?.replace(/\/+$/, '') ?? `${new URL(c.req.url).origin}${root}`;

  const stow = async (c: Context): Promise<Response> => {
    const started = performance.now();
    if (!options.stow)
      return new Response(null, { status: 405, headers: headersFor(undefined, ['DICOMWEB_STOW_DISABLED']) });
    const lengthText = c.req.header('content-length');
    const length = lengthText !== undefined && /^\d+$/.test(lengthText) ? Number(lengthText) : undefined;
    const body = c.req.raw.body as unknown as AsyncIterable<Uint8Array> | null;
    const r = await handleStow(
      {
        contentType: c.req.header('content-type'),
        contentLength: length,
        body,
        studyInstanceUid: scopeOf(c).studyInstanceUid,
        signal: c.req.raw.signal,
        retrieveBase: options.store ? base(c) : undefined,
      },
      options.stow,
      options.limits,
    );
    emit({
      transaction: 'stow',
      status: r.status,
      ms: performance.now() - started,
      stored: r.stored,
      failed: r.failed,
      warnings: r.warnings,
    });
    return new Response(stringifyDicomJson(r.body), {
      status: r.status,
      headers: headersFor(DICOM_JSON, r.warnings, r.closeConnection),
    });
  };

  const qido =
    (level: QidoLevel) =>
    async (c: Context): Promise<Response> => {
      const started = performance.now();
      if (!options.store) return new Response(null, { status: 404 });
      const r = await handleQido(level, scopeOf(c), new URL(c.req.url).searchParams, options.store, {
        signal: c.req.raw.signal,
        retrieveBase: base(c),
      });
      emit({
        transaction: 'qido',
        status: r.status,
        ms: performance.now() - started,
        results: r.body.length,
        warnings: r.warnings,
      });
      return new Response(jsonArray(r.body), { status: r.status, headers: headersFor(DICOM_JSON, r.warnings) });
    };

  const wado = async (c: Context): Promise<Response> => {
    const started = performance.now();
    if (!options.store) return new Response(null, { status: 404 });
    const r = await handleRetrieve(scopeOf(c), c.req.header('accept'), options.store, c.req.raw.signal);
    emit({ transaction: 'wado', status: r.status, ms: performance.now() - started, warnings: r.warnings });
    return new Response(r.body ? streamOf(r.body) : null, {
      status: r.status,
      headers: headersFor(r.contentType, r.warnings),
    });
  };

  app.post(`${root}/studies`, stow);
  app.post(`${root}/studies/:study`, stow);
  app.get(`${root}/studies`, qido('studies'));
  app.get(`${root}/series`, qido('series'));
  app.get(`${root}/instances`, qido('instances'));
  app.get(`${root}/studies/:study/series`, qido('series'));
  app.get(`${root}/studies/:study/instances`, qido('instances'));
  app.get(`${root}/studies/:study/series/:series/instances`, qido('instances'));
  app.get(`${root}/studies/:study`, wado);
  app.get(`${root}/studies/:study/series/:series`, wado);
  app.get(`${root}/studies/:study/series/:series/instances/:instance`, wado);
  app.onError((_e, c) => {
    // Never echo the error: it may quote request content. The code (if any) is enough to find the cause.
    const code = (_e as { code?: unknown }).code;
    return c.body(null, 500, { warning: `299 veil "${typeof code === 'string' ? code : 'DICOMWEB_INTERNAL'}"` });
  });
  return app;
}
