/**
 * `veil llm-proxy` under load and hostile peers, against a stand-in upstream on loopback that records what it
 * receives. Proves: a request over maxTextChars is refused (413 LLM_PROXY_TEXT_TOO_LONG) before anything goes
 * upstream; with scrub workers a small prompt sent while a 300 KB one is being scrubbed is answered first (by
 * completion order, not by time); a scrub worker that throws or dies fails its request closed (5xx, nothing
 * forwarded, no text in the answer or the audit) and is replaced; an oversized upstream event or answer is cut with
 * its code; events split anywhere, `\r\n\r\n` delimiters included, are still framed right; past
 * maxConcurrentRequests a request is refused (503 LLM_PROXY_BUSY, Retry-After) without reading its body.
 * Worker faults are injected with the test-only option scrubFaultForTests (llm/scrub-pool.ts).
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { parseLlmProxyConfig } from '../src/llm/config.ts';
import { createLlmProxy, type LlmProxyOptions } from '../src/llm/proxy.ts';
import { EventFramer } from '../src/llm/sse-framer.ts';
import { readText } from './llm-proxy-support.ts';

const key = new Uint8Array(32).map((_, i) => (i * 29 + 7) & 255);
const PHI_TEXT = 'Patient John Smith (MRN 4412889) was seen on 03/04/2021, phone 617-555-0199.';

let upstream: Server;
let upstreamUrl: string;
const seen: { model: string; body: string }[] = [];
/** open() answers the stand-in's 'held' request. */
const gate: { open: (() => void) | undefined } = { open: undefined };

/** Writes `text` in pieces of `n` characters, one write each, with a turn of the event loop between them. */
async function dribble(res: import('node:http').ServerResponse, text: string, n: number): Promise<void> {
  for (let i = 0; i < text.length; i += n) {
    res.write(text.slice(i, i + n));
    await new Promise((r) => setImmediate(r));
  }
  res.end();
}

const chunk = (content: string) =>
  JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] });

/** The model name picks the stand-in's answer. */
before(async () => {
  upstream = createServer(async (req, res) => {
    const body = await readText(req);
    const json = JSON.parse(body) as { model: string; messages: { content: string }[] };
    seen.push({ model: json.model, body });
    const last = json.messages.at(-1)!.content;
    switch (json.model) {
      case 'held': // answered when the test opens the gate
        await new Promise<void>((r) => {
          gate.open = r;
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'done' } }] }));
        return;
      case 'short': // a short answer: the answer side costs nothing
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }] }));
        return;
      case 'huge-event': // one event of 5,000 characters in 7-character writes
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        await dribble(res, `data: ${chunk('y'.repeat(5000))}\n\ndata: [DONE]\n\n`, 7);
        return;
      case 'many-events': // small events, 12,000 bytes in all
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        await dribble(res, `${`data: ${chunk('z'.repeat(40))}\n\n`.repeat(100)}data: [DONE]\n\n`, 500);
        return;
      case 'huge-json': // one JSON answer of ~6,000 bytes
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'w'.repeat(6000) } }] }));
        return;
      case 'tool-huge': // a tool call to an unlisted host with 80 KB of arguments: more than the guard reads
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            choices: [
              {
                index: 0,
                message: {
                  role: 'assistant',
                  content: null,
                  tool_calls: [
                    {
                      id: 'call_1',
                      type: 'function',
                      function: {
                        name: 'fetch',
                        arguments: JSON.stringify({
                          url: 'https://tools.example/lookup',
                          note: 'a '.repeat(40_000),
                        }),
                      },
                    },
                  ],
                },
              },
            ],
          }),
        );
        return;
      case 'crlf': // the echo as events delimited by \r\n\r\n, in 1-character writes
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        await dribble(res, `${[...last].map((c) => `data: ${chunk(c)}\r\n\r\n`).join('')}data: [DONE]\r\n\r\n`, 1);
        return;
      default:
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: last } }] }));
    }
  });
  upstream.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
after(() => upstream.close());

async function withProxy(
  configRaw: object,
  fn: (base: string, audit: string[]) => Promise<void>,
  extra: Partial<LlmProxyOptions> = {},
): Promise<void> {
  const audit: string[] = [];
  const proxy = createLlmProxy({
    upstream: upstreamUrl,
    key,
    config: parseLlmProxyConfig(configRaw),
    audit: (l) => audit.push(l),
    ...extra,
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, audit);
  } finally {
    await new Promise<void>((r) => proxy.close(() => r()));
  }
}

async function chat(base: string, model: string, content: string, stream = false) {
  const r = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content }] }),
  });
  return { status: r.status, text: await r.text() };
}

/** A prompt of about `chars` characters of clinical text with PHI in it. */
const prompt = (chars: number) => `${PHI_TEXT} Reviewed, no change. `.repeat(Math.ceil(chars / 100)).slice(0, chars);

test('config: the new keys parse, with their defaults; bad values are refused', () => {
  const d = parseLlmProxyConfig({});
  assert.equal(d.maxTextChars, 1024 * 1024);
  assert.equal(d.maxAnswerBytes, 16 * 1024 * 1024);
  assert.equal(d.maxEventChars, 1024 * 1024);
  assert.equal(d.maxConcurrentRequests, 64);
  assert.ok(d.scrubWorkers >= 1 && d.scrubWorkers <= 2);
  assert.equal(parseLlmProxyConfig({ scrubWorkers: 0 }).scrubWorkers, 0);
  for (const bad of [
    { scrubWorkers: -1 },
    { scrubWorkers: 1.5 },
    { maxTextChars: 0 },
    { maxAnswerBytes: '1' },
    { maxConcurrentRequests: 0 },
  ])
    assert.throws(() => parseLlmProxyConfig(bad), /LLM_PROXY_CONFIG_INVALID/);
});

for (const scrubWorkers of [1, 0]) {
  test(`a request over maxTextChars: 413 LLM_PROXY_TEXT_TOO_LONG, nothing upstream (scrubWorkers ${scrubWorkers})`, async () => {
    await withProxy({ maxTextChars: 1000, scrubWorkers }, async (base, audit) => {
      const before = seen.length;
      const r = await chat(base, 'echo', prompt(1500));
      assert.equal(r.status, 413);
      assert.match(r.text, /LLM_PROXY_TEXT_TOO_LONG/);
      assert.doesNotMatch(r.text, /Smith|4412889/);
      assert.equal(seen.length, before, 'the upstream received nothing');
      const line = JSON.parse(audit.at(-1)!) as Record<string, unknown>;
      assert.equal(line.decision, 'rejected');
      assert.equal(line.code, 'LLM_PROXY_TEXT_TOO_LONG');
      assert.doesNotMatch(audit.join('\n'), /Smith|4412889|Reviewed/);
      // The cap counts every model-visible text: two messages of 600 characters are over it too.
      const two = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({
          model: 'echo',
          messages: [
            { role: 'system', content: prompt(600) },
            { role: 'user', content: prompt(600) },
          ],
        }),
      });
      assert.equal(two.status, 413);
      // At the cap: scrubbed and forwarded.
      const ok = await chat(base, 'echo', prompt(1000));
      assert.equal(ok.status, 200);
      assert.equal(seen.length, before + 1);
      assert.doesNotMatch(seen.at(-1)!.body, /John Smith|4412889/);
    });
  });
}

/** Posts `body`; resolves with the status once the answer has been read; `onWritten` when the body is sent. */
function send(base: string, body: string, onWritten?: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body, onWritten);
  });
}

test('a small prompt sent while a 300 KB one is being scrubbed is answered first (scrub workers)', async () => {
  await withProxy({ scrubWorkers: 2 }, async (base, audit) => {
    // Both threads up and compiled: rounds of two requests at once.
    for (let i = 0; i < 4; i++)
      await Promise.all([chat(base, 'short', prompt(20_000)), chat(base, 'short', prompt(20_000))]);
    const order: string[] = [];
    const large = JSON.stringify({ model: 'short', messages: [{ role: 'user', content: prompt(300 * 1024) }] });
    const small = JSON.stringify({ model: 'short', messages: [{ role: 'user', content: PHI_TEXT }] });
    let written: () => void = () => {};
    const sent = new Promise<void>((r) => {
      written = r;
    });
    const largeDone = send(base, large, written).then((status) => order.push(`large ${status}`));
    // The large body is out and the proxy is scrubbing it (hundreds of ms): now the small one.
    await sent;
    await new Promise((r) => setTimeout(r, 50));
    const smallDone = send(base, small).then((status) => order.push(`small ${status}`));
    await Promise.all([largeDone, smallDone]);
    assert.deepEqual(order, ['small 200', 'large 200']);
    // The large one was scrubbed, not refused: its PHI counts are in its audit line.
    const lines = audit.slice(-2).map((l) => JSON.parse(l) as { phi: Record<string, number> });
    assert.ok(Object.values(lines[1]!.phi).reduce((a, b) => a + b, 0) > 1000);
  });
});

for (const kind of ['exit', 'throw'] as const) {
  test(`a scrub worker that ${kind === 'exit' ? 'dies' : 'throws'} fails its request closed and is replaced`, async () => {
    await withProxy(
      { scrubWorkers: 1 },
      async (base, audit) => {
        const before = seen.length;
        const r = await chat(base, 'echo', `${PHI_TEXT} FAULT-HERE`);
        assert.equal(r.status, 500);
        assert.match(r.text, /LLM_PROXY_SCRUB_FAILED/);
        assert.doesNotMatch(r.text, /Smith|4412889/);
        assert.equal(seen.length, before, 'nothing forwarded');
        const line = JSON.parse(audit.at(-1)!) as Record<string, unknown>;
        assert.equal(line.decision, 'failed');
        assert.equal(line.code, 'LLM_PROXY_SCRUB_FAILED');
        assert.doesNotMatch(audit.join('\n'), /Smith|4412889/);
        // The next requests are served (by a new thread when the old one died).
        for (let i = 0; i < 2; i++) {
          const ok = await chat(base, 'echo', PHI_TEXT);
          assert.equal(ok.status, 200);
          assert.match(JSON.parse(ok.text).choices[0].message.content, /John Smith/);
          assert.doesNotMatch(seen.at(-1)!.body, /John Smith|4412889/);
        }
      },
      { scrubFaultForTests: { marker: 'FAULT-HERE', kind } },
    );
  });
}

test('an upstream event over maxEventChars cuts the stream with LLM_PROXY_EVENT_TOO_LARGE', async () => {
  await withProxy({ maxEventChars: 2000 }, async (base, audit) => {
    const r = await chat(base, 'huge-event', 'hello', true);
    assert.equal(r.status, 200);
    const events = r.text.split('\n\n').filter((e) => e.trim() !== '');
    assert.equal(events.length, 1, 'only the error event: nothing of the huge event is relayed');
    assert.equal(JSON.parse(events[0]!.replace(/^data: /, '')).error.code, 'LLM_PROXY_EVENT_TOO_LARGE');
    const line = JSON.parse(audit.at(-1)!) as Record<string, unknown>;
    assert.equal(line.code, 'LLM_PROXY_EVENT_TOO_LARGE');
    assert.equal(line.decision, 'failed');
  });
  // Under the cap the same event is relayed whole.
  await withProxy({ maxEventChars: 6000 }, async (base) => {
    const r = await chat(base, 'huge-event', 'hello', true);
    assert.match(r.text, /y{5000}/);
    assert.doesNotMatch(r.text, /LLM_PROXY_/);
  });
});

test('an answer over maxAnswerBytes: a stream is cut with an error event, a JSON answer gets 502', async () => {
  await withProxy({ maxAnswerBytes: 3000 }, async (base, audit) => {
    const s = await chat(base, 'many-events', 'hello', true);
    assert.equal(s.status, 200);
    const events = s.text.split('\n\n').filter((e) => e.trim() !== '');
    assert.ok(events.length > 1 && events.length < 100, 'the events before the cap are relayed');
    assert.equal(JSON.parse(events.at(-1)!.replace(/^data: /, '')).error.code, 'LLM_PROXY_ANSWER_TOO_LARGE');
    assert.equal(JSON.parse(audit.at(-1)!).code, 'LLM_PROXY_ANSWER_TOO_LARGE');
    const j = await chat(base, 'huge-json', 'hello');
    assert.equal(j.status, 502);
    assert.equal(JSON.parse(j.text).error.code, 'LLM_PROXY_ANSWER_TOO_LARGE');
    assert.equal(JSON.parse(audit.at(-1)!).code, 'LLM_PROXY_ANSWER_TOO_LARGE');
  });
});

test('events delimited by \\r\\n\\r\\n and split into single characters are framed and restored', async () => {
  await withProxy({}, async (base) => {
    const r = await chat(base, 'crlf', PHI_TEXT, true);
    let out = '';
    for (const e of r.text.split('\n\n')) {
      const d = e.replace(/^data: /, '');
      if (d === '' || d === '[DONE]') continue;
      out += (JSON.parse(d) as { choices: { delta: { content?: string } }[] }).choices[0]!.delta.content ?? '';
    }
    assert.match(out, /John Smith \(MRN 4412889\)/);
    assert.doesNotMatch(seen.at(-1)!.body, /John Smith|4412889/);
  });
});

test('EventFramer: any split of a stream gives the blocks of the whole, delimiters \\n\\n and \\r\\n\\r\\n alike', () => {
  let x = 12345;
  const rnd = (n: number) => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x % n;
  };
  const delimiters = ['\n\n', '\r\n\r\n', '\n\r\n', '\r\n\n'];
  for (let round = 0; round < 200; round++) {
    let whole = '';
    const n = 1 + rnd(6);
    for (let i = 0; i < n; i++) whole += `event: e${i}\ndata: ${'ab\r\ncd'.slice(0, rnd(7))}${delimiters[rnd(4)]}`;
    if (rnd(2) === 0) whole += 'data: unterminated';
    const expected = whole.split(/\r?\n\r?\n/);
    const rest = expected.pop()!;
    const f = new EventFramer();
    const got: string[] = [];
    for (let i = 0; i < whole.length; ) {
      const k = rnd(3) === 0 ? 1 : 1 + rnd(9);
      got.push(...f.push(whole.slice(i, i + k)));
      i += k;
      assert.ok(f.pendingLength <= whole.length);
    }
    assert.deepEqual(got, expected, JSON.stringify(whole));
    assert.equal(f.end(), rest);
  }
});

test('a tool call with 80 KB of arguments to an unlisted host: blocked without reading it all (fail closed)', async () => {
  // The guard reads at most 64 KB of a URL or of a tool call's arguments (its detection runs on the event loop);
  // longer ones count as carrying PHI. A short one is blocked too here, for its URL (llm-proxy.test.ts).
  await withProxy({ scrubWorkers: 0 }, async (base, audit) => {
    const r = await chat(base, 'tool-huge', 'look it up');
    assert.equal(r.status, 200);
    const huge = JSON.parse(r.text) as { choices: { message: { tool_calls?: unknown[]; content: string | null } }[] };
    assert.equal(huge.choices[0]!.message.tool_calls, undefined);
    assert.match(String(huge.choices[0]!.message.content), /tool call blocked by Veil/);
    assert.equal((JSON.parse(audit.at(-1)!) as { decision: string }).decision, 'blocked');
  });
});

test('past maxConcurrentRequests a request gets 503 LLM_PROXY_BUSY with Retry-After, unread; then it is served', async () => {
  await withProxy({ maxConcurrentRequests: 1, scrubWorkers: 0 }, async (base, audit) => {
    gate.open = undefined;
    const first = chat(base, 'held', 'hold this one');
    while (gate.open === undefined) await new Promise((r) => setTimeout(r, 5));
    const upstreamSaw = seen.length;
    const r = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'short', messages: [{ role: 'user', content: PHI_TEXT }] }),
    });
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '1');
    assert.equal((JSON.parse(await r.text()) as { error: { code: string } }).error.code, 'LLM_PROXY_BUSY');
    assert.equal(seen.length, upstreamSaw, 'the refused request never went upstream');
    (gate.open as () => void)();
    assert.equal((await first).status, 200);
    assert.equal((await chat(base, 'short', PHI_TEXT)).status, 200, 'served once the first is done');
    const busy = audit
      .map((l) => JSON.parse(l) as { code?: string; decision: string })
      .filter((l) => l.code === 'LLM_PROXY_BUSY');
    assert.equal(busy.length, 1);
    assert.equal(busy[0]!.decision, 'rejected');
    assert.ok(!audit.join('\n').includes('Smith'), 'no text in the audit');
  });
});

test('scrub threads that cannot start: every request gets 503 LLM_PROXY_SCRUB_UNAVAILABLE, the log says so once', async () => {
  const logged: string[] = [];
  await withProxy(
    { scrubWorkers: 1 },
    async (base, audit) => {
      const before = seen.length;
      for (let i = 0; i < 2; i++) {
        const r = await chat(base, 'short', PHI_TEXT);
        assert.equal(r.status, 503);
        assert.equal((JSON.parse(r.text) as { error: { code: string } }).error.code, 'LLM_PROXY_SCRUB_UNAVAILABLE');
      }
      assert.equal(seen.length, before, 'nothing went upstream');
      assert.equal(logged.length, 1);
      assert.match(logged[0]!, /^LLM_PROXY_SCRUB_UNAVAILABLE: .*WORKERS_KEEP_CRASHING/);
      assert.ok(!`${logged.join('')}${audit.join('')}`.includes('Smith'), 'no text in the log or the audit');
    },
    { scrubFaultForTests: { marker: '', kind: 'start' }, log: (m) => logged.push(m) },
  );
});
