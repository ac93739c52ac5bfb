/**
 * Replaces PHI in every text of an OpenAI-style request that the model will read: chat messages (system,
 * developer, user, assistant, tool; string content or content parts), earlier tool calls' arguments, the
 * Responses API's instructions and input items (messages, input_text parts, function_call arguments,
 * function_call_output). Structure (model, roles, ids, tool schemas, image URLs) is left as it is.
 * Each replaced value is recorded (surrogate -> original) for the answer's restoration; the record holds PHI and
 * lives only in memory for the request.
 *
 * scrubRequest is the whole request's scrub as one call on plain data (bytes in; JSON text, pairs and counts out),
 * so that it runs the same in a worker thread (scrub-worker.ts, the default) or in-process (scrubWorkers: 0).
 */
import { type DeidentifyOptions, deidentify, type PhiType, Surrogates } from '@veil/text';

/** What the request walkers call for each model-visible text. */
export interface TextScrubber {
  text(value: string): string;
  /** Tool-call arguments (JSON text). */
  json(argumentsText: string): string;
}

export class ScrubSession implements TextScrubber {
  readonly counts: Partial<Record<PhiType, number>> = {};
  /** surrogate -> original; a surrogate that two originals share is dropped (it cannot be restored safely) */
  readonly pairs = new Map<string, string>();
  private readonly ambiguous = new Set<string>();
  private readonly options: DeidentifyOptions;

  constructor(key: Uint8Array, patientKey: string, threshold?: number) {
    this.options = {
      mode: 'surrogate',
      surrogates: new Surrogates({ key, patientKey }),
      ...(threshold !== undefined ? { threshold } : {}),
    };
  }

  text(value: string): string {
    const r = deidentify(value, this.options);
    for (const rep of r.replacements) {
      this.counts[rep.span.type] = (this.counts[rep.span.type] ?? 0) + 1;
      const s = rep.replacement;
      // Not restorable safely: ages (every "90" in the answer would turn into the patient's age) and surrogates
      // shorter than 3 characters (state codes): the caller sees the surrogate there instead.
      if (rep.span.type === 'AGE' || s.length < 3) continue;
      if (this.ambiguous.has(s)) continue;
      const prev = this.pairs.get(s);
      if (prev !== undefined && prev !== rep.original) {
        this.pairs.delete(s);
        this.ambiguous.add(s);
        continue;
      }
      this.pairs.set(s, rep.original);
    }
    return r.text;
  }

  /** Tool-call arguments are JSON: scrub its strings, keep it valid JSON. */
  json(argumentsText: string): string {
    try {
      return JSON.stringify(this.walkStrings(JSON.parse(argumentsText)));
    } catch {
      return this.text(argumentsText);
    }
  }

  private walkStrings(v: unknown): unknown {
    if (typeof v === 'string') return this.text(v);
    if (Array.isArray(v)) return v.map((x) => this.walkStrings(x));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = this.walkStrings(x);
      return out;
    }
    return v;
  }

  total(): number {
    return Object.values(this.counts).reduce((a, b) => a + (b ?? 0), 0);
  }
}

type Json = Record<string, unknown>;

function scrubParts(content: unknown, s: TextScrubber): unknown {
  if (typeof content === 'string') return s.text(content);
  if (!Array.isArray(content)) return content;
  return content.map((p) => {
    if (!p || typeof p !== 'object') return p;
    const part = { ...(p as Json) };
    if (typeof part.text === 'string') part.text = s.text(part.text);
    if (typeof part.output === 'string') part.output = s.text(part.output);
    if (typeof part.refusal === 'string') part.refusal = s.text(part.refusal);
    return part;
  });
}

/** POST /v1/chat/completions body. */
export function scrubChatRequest(body: Json, s: TextScrubber): Json {
  const out = { ...body };
  if (Array.isArray(body.messages)) {
    out.messages = body.messages.map((m) => {
      if (!m || typeof m !== 'object') return m;
      const msg = { ...(m as Json) };
      if ('content' in msg) msg.content = scrubParts(msg.content, s);
      if (typeof msg.name === 'string') msg.name = s.text(msg.name);
      if (Array.isArray(msg.tool_calls)) {
        msg.tool_calls = msg.tool_calls.map((tc) => {
          const call = { ...(tc as Json) };
          const fn = call.function as Json | undefined;
          if (fn && typeof fn.arguments === 'string') call.function = { ...fn, arguments: s.json(fn.arguments) };
          return call;
        });
      }
      return msg;
    });
  }
  if (typeof body.prompt === 'string') out.prompt = s.text(body.prompt);
  return out;
}

/** POST /v1/responses body. */
export function scrubResponsesRequest(body: Json, s: TextScrubber): Json {
  const out = { ...body };
  if (typeof body.instructions === 'string') out.instructions = s.text(body.instructions);
  if (typeof body.input === 'string') out.input = s.text(body.input);
  else if (Array.isArray(body.input)) {
    out.input = body.input.map((item) => {
      if (!item || typeof item !== 'object') return item;
      const it = { ...(item as Json) };
      if ('content' in it) it.content = scrubParts(it.content, s);
      if (typeof it.arguments === 'string') it.arguments = s.json(it.arguments);
      if (typeof it.output === 'string') it.output = s.text(it.output);
      return it;
    });
  }
  return out;
}

/** Adds up the characters the walkers would scrub, changing nothing: the cap is checked before any scrubbing. */
class TextMeter implements TextScrubber {
  chars = 0;
  text(value: string): string {
    this.chars += value.length;
    return value;
  }
  json(argumentsText: string): string {
    this.chars += argumentsText.length;
    return argumentsText;
  }
}

/** A refusal with a stable code: the HTTP status the proxy answers with. */
export class ScrubRefused extends Error {
  constructor(
    readonly status: 400 | 413,
    readonly code: 'LLM_PROXY_BAD_JSON' | 'LLM_PROXY_TEXT_TOO_LONG',
  ) {
    super(code);
    this.name = 'ScrubRefused';
  }
}

export const SCRUB_REFUSALS: Record<string, 400 | 413> = { LLM_PROXY_BAD_JSON: 400, LLM_PROXY_TEXT_TOO_LONG: 413 };

export interface ScrubRequest {
  readonly kind: 'chat' | 'responses';
  /** The request body as received (UTF-8 JSON). */
  readonly body: Uint8Array;
  readonly key: Uint8Array;
  readonly patientKey: string;
  readonly threshold?: number | undefined;
  /** Most characters of model-visible text in one request. */
  readonly maxTextChars: number;
}

/** Plain data only: it crosses the thread boundary by structured clone. */
export interface ScrubOutcome {
  /** The scrubbed body, JSON text to forward upstream. */
  readonly body: string;
  readonly model?: string;
  readonly stream: boolean;
  /** surrogate -> original (PHI: in memory for the request only) */
  readonly pairs: [string, string][];
  readonly counts: Record<string, number>;
}

/** Parses, measures and scrubs one request body. Throws ScrubRefused (bad JSON, too much text). */
export function scrubRequest(r: ScrubRequest): ScrubOutcome {
  let body: Json;
  try {
    body = JSON.parse(Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength).toString('utf8')) as Json;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
  } catch {
    throw new ScrubRefused(400, 'LLM_PROXY_BAD_JSON');
  }
  const walk = r.kind === 'chat' ? scrubChatRequest : scrubResponsesRequest;
  const meter = new TextMeter();
  walk(body, meter);
  if (meter.chars > r.maxTextChars) throw new ScrubRefused(413, 'LLM_PROXY_TEXT_TOO_LONG');
  const session = new ScrubSession(r.key, r.patientKey, r.threshold);
  const scrubbed = walk(body, session);
  return {
    body: JSON.stringify(scrubbed),
    ...(typeof body.model === 'string' ? { model: body.model } : {}),
    stream: body.stream === true,
    pairs: [...session.pairs],
    counts: { ...session.counts } as Record<string, number>,
  };
}
