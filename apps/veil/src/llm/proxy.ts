/**
 * The LLM privacy proxy: an OpenAI-compatible HTTP server (node:http) in front of any upstream that speaks the
 * same API. For POST /v1/chat/completions and POST /v1/responses it replaces PHI in every text the model will see
 * with keyed surrogates, forwards the request, guards the answer against exfiltration and restores the original
 * values for the caller, streamed (server-sent events) or not. GET /v1/models passes through. Anything else: 404.
 *
 * One audit line per request (JSON): time, caller (address and a keyed fingerprint of its Authorization header),
 * route, model, stream, PHI counts per type, restored / neutralised / blocked counts, status, decision, duration.
 * Never text, never values. Errors answer with a code (`LLM_PROXY_...`) and no request content.
 *
 * Request bodies are scrubbed off the event loop (scrub-pool.ts: worker threads, config scrubWorkers); what a peer
 * controls is capped: body bytes, text characters, answer bytes and one event's characters (config.ts).
 *
 * Example:
 *   const proxy = createLlmProxy({ upstream: 'https://api.example.com', key, config });
 *   proxy.listen(8089, '127.0.0.1');
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { detectPhi } from '@veil/text';
import { AnswerProcessor, ChatStream, ResponsesStream } from './answer.ts';
import type { LlmProxyConfig } from './config.ts';
import type { GuardContext } from './exfil.ts';
import { Restorer } from './restore.ts';
import { ScrubRefused } from './scrub.ts';
import { createScrubber, ScrubFailure, type ScrubFaultForTests } from './scrub-pool.ts';
import { EventFramer } from './sse-framer.ts';

export interface LlmProxyOptions {
  upstream: string;
  key: Uint8Array;
  config: LlmProxyConfig;
  /** Receives each audit line (JSON text without newline). */
  audit: (line: string) => void;
  /** Test-only: make the scrub worker fail on a marked body (scrub-pool.ts). Never set from the config. */
  scrubFaultForTests?: ScrubFaultForTests;
  /** Operational messages (no request text): the scrub threads could not start, every request gets 503. */
  log?: (message: string) => void;
}

export interface AuditRecord {
  time: string;
  caller: string;
  route: string;
  model?: string;
  stream: boolean;
  phi: Record<string, number>;
  restored: number;
  neutralised: number;
  blockedToolCalls: number;
  status: number;
  decision: 'forwarded' | 'neutralised' | 'blocked' | 'rejected' | 'failed';
  code?: string;
  ms: number;
}

class ProxyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(code);
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new ProxyError(413, 'LLM_PROXY_BODY_TOO_LARGE'));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => reject(new ProxyError(400, 'LLM_PROXY_BODY_READ')));
  });
}

/** The proxy's own error, in the chat API's error shape (an answer body, or a chat stream's error event). */
function errorJson(code: string): string {
  return JSON.stringify({ error: { message: `Veil LLM proxy: ${code}`, type: 'veil_proxy_error', code } });
}

function sendError(res: ServerResponse, status: number, code: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(errorJson(code));
}

/** The longest URL or tool-call argument text the answer guard reads; longer ones are treated as carrying PHI. */
const GUARD_MAX_CHARS = 64 * 1024;
/** Hop-by-hop and recomputed headers are not forwarded. */
const DROP_REQUEST_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'accept-encoding',
  'keep-alive',
  'upgrade',
  'proxy-authorization',
  'te',
  'trailer',
]);
const DROP_RESPONSE_HEADERS = new Set([
  'connection',
  'content-length',
  'transfer-encoding',
  'content-encoding',
  'keep-alive',
]);

export function createLlmProxy(options: LlmProxyOptions): Server {
  const base = options.upstream.replace(/\/+$/, '').replace(/\/v1$/, '');
  const { config, key } = options;
  const callerId = (auth: string | undefined) =>
    auth ? createHmac('sha256', key).update(`caller:${auth}`).digest('hex').slice(0, 12) : 'anonymous';

  const scrubber = createScrubber({
    workers: config.scrubWorkers,
    faultForTests: options.scrubFaultForTests,
    onUnavailable: (code) =>
      options.log?.(
        `LLM_PROXY_SCRUB_UNAVAILABLE: the scrub threads cannot run (${code}); every request is refused with 503 until restart (scrubWorkers 0 scrubs in-process)`,
      ),
  });

  // Requests being handled: past config.maxConcurrentRequests a request is refused before its body is read.
  let inFlight = 0;
  const server = createServer((req, res) => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://proxy.local');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    const rec: AuditRecord = {
      time: new Date(started).toISOString(),
      caller: `${req.socket.remoteAddress ?? '?'}/${callerId(req.headers.authorization)}`,
      route,
      stream: false,
      phi: {},
      restored: 0,
      neutralised: 0,
      blockedToolCalls: 0,
      status: 0,
      decision: 'forwarded',
      ms: 0,
    };
    const finish = () => {
      rec.ms = Date.now() - started;
      rec.status = res.statusCode;
      options.audit(JSON.stringify(rec));
    };
    if (inFlight >= config.maxConcurrentRequests) {
      rec.decision = 'rejected';
      rec.code = 'LLM_PROXY_BUSY';
      res.setHeader('retry-after', '1');
      res.setHeader('connection', 'close');
      sendError(res, 503, 'LLM_PROXY_BUSY');
      req.resume();
      finish();
      return;
    }
    inFlight++;
    handle(req, res, url, rec)
      .catch((e: unknown) => {
        const err =
          e instanceof ProxyError
            ? e
            : e instanceof ScrubRefused || e instanceof ScrubFailure
              ? new ProxyError(e.status, e.code)
              : new ProxyError(
                  502,
                  (e as Error)?.name === 'TimeoutError' ? 'LLM_PROXY_UPSTREAM_TIMEOUT' : 'LLM_PROXY_UPSTREAM_FAILED',
                );
        rec.decision = err.status < 500 ? 'rejected' : 'failed';
        rec.code = err.code;
        sendError(res, err.status, err.code);
      })
      .finally(() => {
        inFlight--;
        finish();
      });
  });
  server.requestTimeout = config.timeoutMs + 10_000;
  server.headersTimeout = 30_000;
  // The scrub threads start with the server (not on the first request) and end with it.
  server.on('listening', () => scrubber.warm());
  server.on('close', () => void scrubber.close());

  function upstreamHeaders(req: IncomingMessage): Record<string, string> {
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || DROP_REQUEST_HEADERS.has(k) || k === config.patientKeyHeader) continue;
      h[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    if (config.upstreamKey !== undefined) h.authorization = `Bearer ${config.upstreamKey}`;
    return h;
  }

  function copyResponseHeaders(up: Response, res: ServerResponse): void {
    up.headers.forEach((v, k) => {
      if (!DROP_RESPONSE_HEADERS.has(k)) res.setHeader(k, v);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, rec: AuditRecord): Promise<void> {
    const signal = AbortSignal.timeout(config.timeoutMs);
    if (req.method === 'GET' && url.pathname === '/v1/models') {
      const up = await fetchOnce(`${base}/v1/models`, { headers: upstreamHeaders(req), signal });
      res.statusCode = up.status;
      copyResponseHeaders(up, res);
      res.end(Buffer.from(await up.arrayBuffer()));
      return;
    }
    const kind =
      url.pathname === '/v1/chat/completions' ? 'chat' : url.pathname === '/v1/responses' ? 'responses' : undefined;
    if (req.method !== 'POST' || kind === undefined) throw new ProxyError(404, 'LLM_PROXY_NOT_FOUND');
    const raw = await readBody(req, config.maxBodyBytes);
    const patientHeader = req.headers[config.patientKeyHeader];
    // Dates of one patient shift together: the caller names the patient in a header; without one, each caller
    // (keyed fingerprint of its Authorization) gets its own shift, so one known date does not reveal everyone's.
    const patientKey =
      typeof patientHeader === 'string' ? `patient:${patientHeader}` : `caller:${callerId(req.headers.authorization)}`;
    // Parse, cap and scrub in a worker thread (or in-process with scrubWorkers 0): plain data comes back.
    const scrubbed = await scrubber.scrub({
      kind,
      body: raw,
      key,
      patientKey,
      threshold: config.threshold,
      maxTextChars: config.maxTextChars,
    });
    if (scrubbed.model !== undefined) rec.model = scrubbed.model;
    rec.stream = scrubbed.stream;
    rec.phi = scrubbed.counts;
    const pairs = new Map(scrubbed.pairs);
    const restorer = new Restorer(pairs);
    const originals = [...pairs.values()];
    const guard: GuardContext = {
      allowHosts: config.allowHosts,
      // A link's URL or a tool call's arguments longer than GUARD_MAX_CHARS counts as carrying PHI (neutralised or
      // blocked): the check runs on the event loop and its cost grows with the text.
      carriesPhi: (t) =>
        t.length > GUARD_MAX_CHARS ||
        restorer.contains(t) ||
        originals.some((o) => o.length >= 3 && t.includes(o)) ||
        detectPhi(t).some((s) => s.confidence >= 0.85),
    };
    const processor = new AnswerProcessor(restorer, guard);
    const headers = upstreamHeaders(req);
    headers['content-type'] = 'application/json';
    const up = await fetchOnce(`${base}${url.pathname}`, {
      method: 'POST',
      headers,
      body: scrubbed.body,
      signal,
    });
    const contentType = up.headers.get('content-type') ?? '';
    if (contentType.includes('text/event-stream') && up.body) {
      res.statusCode = up.status;
      copyResponseHeaders(up, res);
      res.flushHeaders();
      await relayEvents(up.body, res, kind, processor, guard, restorer, config);
    } else {
      const text = await readAnswer(up, config.maxAnswerBytes);
      res.statusCode = up.status;
      copyResponseHeaders(up, res);
      let out = text;
      if (up.ok && contentType.includes('json')) {
        try {
          const json = JSON.parse(text) as Record<string, unknown>;
          out = JSON.stringify(kind === 'chat' ? processor.chat(json) : processor.response(json));
        } catch {
          throw new ProxyError(502, 'LLM_PROXY_UPSTREAM_BAD_JSON');
        }
      } else if (!up.ok) {
        // Upstream errors may quote the (surrogate) prompt: the caller gets its own values back, like any answer.
        out = processor.text(text);
      }
      // A length, not chunked encoding: one write for the whole answer.
      res.setHeader('content-length', Buffer.byteLength(out));
      res.end(out);
    }
    rec.restored = processor.stats.restored;
    rec.neutralised = processor.stats.neutralised;
    rec.blockedToolCalls = processor.stats.blockedToolCalls;
    if (processor.stats.blockedToolCalls > 0) rec.decision = 'blocked';
    else if (processor.stats.neutralised > 0) rec.decision = 'neutralised';
  }

  return server;
}

/**
 * fetch, tried a second time only when a pooled keep-alive connection turned out to be closed by the upstream
 * before it answered (the request never reached it), never after a response or a timeout.
 */
async function fetchOnce(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    const code = (e as { cause?: { code?: string } }).cause?.code;
    if (code !== 'ECONNRESET' && code !== 'UND_ERR_SOCKET') throw e;
    return await fetch(url, init);
  }
}

/** The whole (not streamed) answer as text, read up to `limit` bytes; more: LLM_PROXY_ANSWER_TOO_LARGE. */
async function readAnswer(up: Response, limit: number): Promise<string> {
  if (!up.body) return '';
  const reader = up.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      void reader.cancel().catch(() => {});
      throw new ProxyError(502, 'LLM_PROXY_ANSWER_TOO_LARGE');
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks, size)); // as Response.text() decodes (a BOM dropped)
}

/** The error event that ends a stream cut by the proxy, in the API's own error shape. */
function errorEvent(kind: 'chat' | 'responses', code: string): string {
  return kind === 'chat'
    ? `data: ${errorJson(code)}\n\n`
    : `event: error\ndata: ${JSON.stringify({ type: 'error', code, message: `Veil LLM proxy: ${code}`, param: null })}\n\n`;
}

/**
 * Reads server-sent events, rewrites each, writes them on; the stream's framing (event/data lines) is kept.
 * Events are cut by EventFramer, which searches each chunk once (one huge event in small chunks: linear). Past
 * maxAnswerBytes in all or maxEventChars in one event, the stream is cut: an error event, then the end (ProxyError
 * for the audit line).
 */
async function relayEvents(
  body: ReadableStream<Uint8Array>,
  res: ServerResponse,
  kind: 'chat' | 'responses',
  processor: AnswerProcessor,
  guard: GuardContext,
  restorer: Restorer,
  limits: Pick<LlmProxyConfig, 'maxAnswerBytes' | 'maxEventChars'>,
): Promise<void> {
  const chat = new ChatStream(processor, guard, restorer);
  const responses = new ResponsesStream(processor, guard, restorer);
  const decoder = new TextDecoder();
  const framer = new EventFramer();
  const handleEvent = (block: string) => {
    let name: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) name = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length === 0) return;
    const payload = data.join('\n');
    if (kind === 'chat') {
      for (const d of chat.event(payload)) res.write(`${name ? `event: ${name}\n` : ''}data: ${d}\n\n`);
    } else {
      for (const [n, d] of responses.event(name, payload)) res.write(`${n ? `event: ${n}\n` : ''}data: ${d}\n\n`);
    }
  };
  const reader = body.getReader();
  const cut = (code: string): never => {
    res.write(errorEvent(kind, code));
    void reader.cancel().catch(() => {});
    throw new ProxyError(502, code);
  };
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > limits.maxAnswerBytes) cut('LLM_PROXY_ANSWER_TOO_LARGE');
    for (const block of framer.push(decoder.decode(value, { stream: true }))) {
      if (block.length > limits.maxEventChars) cut('LLM_PROXY_EVENT_TOO_LARGE');
      handleEvent(block);
    }
    if (framer.pendingLength > limits.maxEventChars) cut('LLM_PROXY_EVENT_TOO_LARGE');
  }
  for (const block of framer.push(decoder.decode())) handleEvent(block);
  const last = framer.end();
  if (last.trim() !== '') handleEvent(last);
  if (kind === 'chat') for (const d of chat.event('[DONE]').slice(0, -1)) res.write(`data: ${d}\n\n`);
  res.end();
}
