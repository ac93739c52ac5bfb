/**
 * Replaces PHI in every text of an OpenAI-style request that the model will read: chat messages (system,
 * developer, user, assistant, tool; string content or content parts), earlier tool calls' arguments, the
 * Responses API's instructions and input items (messages, input_text parts, function_call arguments,
 * function_call_output). Structure (model, roles, ids, tool schemas, image URLs) is left as it is.
 * Each replaced value is recorded (surrogate -> original) for the answer's restoration; the record holds PHI and
 * lives only in memory for the request.
 */
import { type DeidentifyOptions, deidentify, type PhiType, Surrogates } from '@veil/text';

export class ScrubSession {
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

function scrubParts(content: unknown, s: ScrubSession): unknown {
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
export function scrubChatRequest(body: Json, s: ScrubSession): Json {
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
export function scrubResponsesRequest(body: Json, s: ScrubSession): Json {
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
