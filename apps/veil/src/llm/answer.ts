/**
 * The way back: an upstream answer (whole JSON, or server-sent events) is guarded against exfiltration and then
 * has the original values restored, for the Chat Completions and the Responses APIs. Tool calls are held until
 * complete (they arrive in argument fragments), then checked: a call that would send PHI to a host that is not
 * allowed is dropped; the others get the original values back, since the caller's tools need them.
 */
import { type GuardContext, guardText, StreamGuard, toolCallLeaks } from './exfil.ts';
import type { Restorer, StreamRestorer } from './restore.ts';

type Json = Record<string, unknown>;

export interface AnswerStats {
  restored: number;
  neutralised: number;
  blockedToolCalls: number;
}

export class AnswerProcessor {
  readonly stats: AnswerStats = { restored: 0, neutralised: 0, blockedToolCalls: 0 };
  constructor(
    private readonly restorer: Restorer,
    private readonly guard: GuardContext,
  ) {}

  /** Guard, then restore one complete text. */
  text(t: string): string {
    const g = guardText(t, this.guard);
    this.stats.neutralised += g.neutralised;
    const r = this.restorer.restore(g.text);
    if (r !== g.text) this.stats.restored++;
    return r;
  }

  /** Tool-call arguments: undefined when the call must be dropped. */
  toolArguments(args: string): string | undefined {
    if (toolCallLeaks(args, this.guard)) {
      this.stats.blockedToolCalls++;
      return undefined;
    }
    try {
      return JSON.stringify(this.restoreStrings(JSON.parse(args)));
    } catch {
      return this.restorer.restore(args);
    }
  }

  private restoreStrings(v: unknown): unknown {
    if (typeof v === 'string') return this.restorer.restore(v);
    if (Array.isArray(v)) return v.map((x) => this.restoreStrings(x));
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.restoreStrings(x)]));
    return v;
  }

  /** A whole chat completion. */
  chat(body: Json): Json {
    if (!Array.isArray(body.choices)) return body;
    return {
      ...body,
      choices: body.choices.map((c) => {
        const choice = { ...(c as Json) };
        const msg = choice.message as Json | undefined;
        if (msg) choice.message = this.chatMessage(msg);
        return choice;
      }),
    };
  }

  private chatMessage(m: Json): Json {
    const msg = { ...m };
    if (typeof msg.content === 'string') msg.content = this.text(msg.content);
    if (Array.isArray(msg.tool_calls)) {
      const kept: Json[] = [];
      for (const tc of msg.tool_calls as Json[]) {
        const fn = tc.function as Json | undefined;
        if (!fn || typeof fn.arguments !== 'string') {
          kept.push(tc);
          continue;
        }
        const args = this.toolArguments(fn.arguments);
        if (args !== undefined) kept.push({ ...tc, function: { ...fn, arguments: args } });
      }
      if (kept.length > 0) msg.tool_calls = kept;
      else {
        delete msg.tool_calls;
        msg.content = `${typeof msg.content === 'string' ? msg.content : ''}[tool call blocked by Veil: it would send patient data to a host that is not allowed]`;
      }
    }
    return msg;
  }

  /** A whole Responses API object (also the `response` of response.completed events). */
  response(body: Json): Json {
    const out = { ...body };
    if (Array.isArray(body.output)) {
      const items: unknown[] = [];
      for (const item of body.output as Json[]) {
        const it = this.responseItem(item);
        if (it) items.push(it);
      }
      out.output = items;
    }
    if (typeof body.output_text === 'string') out.output_text = this.text(body.output_text);
    return out;
  }

  responseItem(item: Json): Json | undefined {
    const it = { ...item };
    if (Array.isArray(it.content)) {
      it.content = (it.content as Json[]).map((p) =>
        typeof p.text === 'string' ? { ...p, text: this.text(p.text) } : p,
      );
    }
    if (typeof it.arguments === 'string') {
      const args = this.toolArguments(it.arguments);
      if (args === undefined) return undefined;
      it.arguments = args;
    }
    return it;
  }
}

/** One text stream of an answer: guard, then restore, each holding back what could still change. */
export class TextPipe {
  private readonly guard: StreamGuard;
  private readonly restore: StreamRestorer;
  constructor(
    ctx: GuardContext,
    restorer: Restorer,
    private readonly stats: AnswerStats,
  ) {
    this.guard = new StreamGuard(ctx);
    this.restore = restorer.stream();
  }
  push(chunk: string): string {
    return this.restore.push(this.guard.push(chunk));
  }
  flush(): string {
    const out = this.restore.push(this.guard.flush()) + this.restore.flush();
    this.stats.neutralised += this.guard.neutralised;
    this.guard.neutralised = 0;
    return out;
  }
}

interface PendingCall {
  index: number;
  id?: unknown;
  type?: unknown;
  name: string;
  args: string;
}

/** Rewrites a Chat Completions event stream, event by event (`data:` payloads). */
export class ChatStream {
  private readonly pipes = new Map<number, TextPipe>();
  private readonly calls = new Map<number, Map<number, PendingCall>>();
  constructor(
    private readonly p: AnswerProcessor,
    private readonly ctx: GuardContext,
    private readonly restorer: Restorer,
  ) {}

  private pipe(i: number): TextPipe {
    let x = this.pipes.get(i);
    if (!x) {
      x = new TextPipe(this.ctx, this.restorer, this.p.stats);
      this.pipes.set(i, x);
    }
    return x;
  }

  /** Returns the data payloads to send for one upstream payload (zero or one). */
  event(data: string): string[] {
    if (data.trim() === '[DONE]') return [...this.flushAll(), data];
    let body: Json;
    try {
      body = JSON.parse(data) as Json;
    } catch {
      return [];
    }
    if (!Array.isArray(body.choices)) return [data];
    const choices: Json[] = [];
    for (const c of body.choices as Json[]) {
      const index = typeof c.index === 'number' ? c.index : 0;
      const delta = { ...((c.delta as Json | undefined) ?? {}) };
      let content = '';
      if (typeof delta.content === 'string') content = this.pipe(index).push(delta.content);
      if (Array.isArray(delta.tool_calls)) {
        const pending = this.calls.get(index) ?? new Map<number, PendingCall>();
        this.calls.set(index, pending);
        for (const tc of delta.tool_calls as Json[]) {
          const ti = typeof tc.index === 'number' ? tc.index : 0;
          const cur = pending.get(ti) ?? { index: ti, name: '', args: '' };
          if (tc.id !== undefined) cur.id = tc.id;
          if (tc.type !== undefined) cur.type = tc.type;
          const fn = tc.function as Json | undefined;
          if (fn && typeof fn.name === 'string') cur.name += fn.name;
          if (fn && typeof fn.arguments === 'string') cur.args += fn.arguments;
          pending.set(ti, cur);
        }
        delete delta.tool_calls;
      }
      const finished = c.finish_reason !== null && c.finish_reason !== undefined;
      if (finished) {
        content += this.pipe(index).flush();
        const calls = this.finishCalls(index);
        if (calls.blocked)
          content += '[tool call blocked by Veil: it would send patient data to a host that is not allowed]';
        if (calls.kept.length > 0) delta.tool_calls = calls.kept;
      }
      if ('content' in delta || content !== '') delta.content = content;
      const empty =
        !finished &&
        content === '' &&
        delta.role === undefined &&
        delta.tool_calls === undefined &&
        delta.refusal === undefined;
      if (empty) continue;
      choices.push({ ...c, delta });
    }
    if (choices.length === 0 && (body.choices as Json[]).length > 0) return [];
    return [JSON.stringify({ ...body, choices })];
  }

  private finishCalls(index: number): { kept: Json[]; blocked: boolean } {
    const pending = this.calls.get(index);
    this.calls.delete(index);
    const kept: Json[] = [];
    let blocked = false;
    for (const c of pending?.values() ?? []) {
      const args = this.p.toolArguments(c.args);
      if (args === undefined) {
        blocked = true;
        continue;
      }
      kept.push({ index: c.index, id: c.id, type: c.type ?? 'function', function: { name: c.name, arguments: args } });
    }
    return { kept, blocked };
  }

  /** Text still held when the stream ends without a finish_reason. */
  private flushAll(): string[] {
    const out: string[] = [];
    for (const [index, pipe] of this.pipes) {
      const rest = pipe.flush();
      const calls = this.finishCalls(index);
      if (rest === '' && calls.kept.length === 0) continue;
      const delta: Json = { content: rest };
      if (calls.kept.length > 0) delta.tool_calls = calls.kept;
      out.push(JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index, delta, finish_reason: null }] }));
    }
    return out;
  }
}

/** Rewrites a Responses API event stream. */
export class ResponsesStream {
  private readonly pipes = new Map<string, TextPipe>();
  constructor(
    private readonly p: AnswerProcessor,
    private readonly ctx: GuardContext,
    private readonly restorer: Restorer,
  ) {}

  /** Returns [event name, data] pairs to send for one upstream event. */
  event(name: string | undefined, data: string): [string | undefined, string][] {
    let body: Json;
    try {
      body = JSON.parse(data) as Json;
    } catch {
      return data.trim() === '[DONE]' ? [[name, data]] : [];
    }
    const type = typeof body.type === 'string' ? body.type : (name ?? '');
    const key = `${String(body.item_id)}:${String(body.output_index)}:${String(body.content_index)}`;
    if (type === 'response.output_text.delta' && typeof body.delta === 'string') {
      let pipe = this.pipes.get(key);
      if (!pipe) {
        pipe = new TextPipe(this.ctx, this.restorer, this.p.stats);
        this.pipes.set(key, pipe);
      }
      const delta = pipe.push(body.delta);
      return delta === '' ? [] : [[name, JSON.stringify({ ...body, delta })]];
    }
    if (type === 'response.output_text.done') {
      const out: [string | undefined, string][] = [];
      const pipe = this.pipes.get(key);
      this.pipes.delete(key);
      const rest = pipe ? pipe.flush() : '';
      if (rest !== '')
        out.push([
          name === undefined ? undefined : 'response.output_text.delta',
          JSON.stringify({ ...body, type: 'response.output_text.delta', delta: rest, text: undefined }),
        ]);
      out.push([
        name,
        JSON.stringify({ ...body, text: typeof body.text === 'string' ? this.p.text(body.text) : body.text }),
      ]);
      return out;
    }
    if (type === 'response.function_call_arguments.delta') return [];
    if (type === 'response.function_call_arguments.done' && typeof body.arguments === 'string') {
      const args = this.p.toolArguments(body.arguments) ?? '{}';
      return [
        [
          name === undefined ? undefined : 'response.function_call_arguments.delta',
          JSON.stringify({
            ...body,
            type: 'response.function_call_arguments.delta',
            delta: args,
            arguments: undefined,
          }),
        ],
        [name, JSON.stringify({ ...body, arguments: args })],
      ];
    }
    const out = { ...body };
    if (out.response && typeof out.response === 'object') out.response = this.p.response(out.response as Json);
    if (out.item && typeof out.item === 'object')
      out.item = this.p.responseItem(out.item as Json) ?? { ...(out.item as Json), arguments: '{}' };
    if (out.part && typeof out.part === 'object' && typeof (out.part as Json).text === 'string') {
      out.part = { ...(out.part as Json), text: this.p.text((out.part as Json).text as string) };
    }
    return [[name, JSON.stringify(out)]];
  }
}
