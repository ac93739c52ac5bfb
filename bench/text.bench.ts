/**
 * Free-text and LLM proxy benchmark (not a test): how fast the @veil/text engine de-identifies 1 KB and 20 KB
 * prompts, and how much latency `veil llm-proxy` adds in front of an upstream, on loopback.
 *
 *   engine   deidentify(prompt, surrogate mode) in this process: per-call latency p50/p99 and queries/s on one core
 *   direct   POST /v1/chat/completions straight to a stand-in upstream (echoes the last user message at once)
 *   proxy    the same request through the proxy (scrub, forward, guard and restore the answer), twice: scrubbing
 *            in-process (scrubWorkers 0) and in the default pool of worker threads (scrubWorkers 2: the body's
 *            bytes go to a thread and the scrubbed JSON comes back, a copy each way)
 *   beside   1 KB requests sent one after another while one 300 KB prompt is in flight through the same proxy:
 *            in-process the scrub holds the event loop and they wait for it; with workers they do not
 *   hop      the scrub call alone on a body with no model-visible text (parse, copy, stringify, no detection),
 *            in-process and through a worker thread: what the thread hop itself costs, per body size
 * The added latency is proxy minus direct, p50 and p99 (each percentile of its own series). Prompts are clinical
 * sentences with names, dates, IDs, phones and addresses, repeated to size; each size runs BENCH_N requests
 * (default 300) after a warm-up. Prints a Markdown table and writes it to bench/out/text.md.
 * Usage: npx tsx bench/text.bench.ts   Env: BENCH_N.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { deidentify } from '@veil/text';
import { parseLlmProxyConfig } from '../apps/veil/src/llm/config.ts';
import { createLlmProxy } from '../apps/veil/src/llm/proxy.ts';
import { createScrubber } from '../apps/veil/src/llm/scrub-pool.ts';
import { OUT_DIR } from './generate-corpus.ts';

const N = Number(process.env.BENCH_N ?? 300);
const key = new Uint8Array(32).fill(42);

const SENTENCES = [
  'Patient John Smith (MRN 4412889) was seen by Dr. Ana Ortiz at Massachusetts General Hospital on 03/04/2021.',
  "He is a 67-year-old with Parkinson's disease and type 2 diabetes, on Metformin 500 mg twice daily.",
  'Call his daughter Maria Kowalczyk at 617-555-0199 or email m.kowalczyk@mailbox.example.org.',
  'Lives at 1668 Glyn St, Springfield, IL 62704. CT chest on March 3rd, 2020 showed a 4 mm nodule in the RUL.',
  'Compared with the prior study of 2019-11-02, no change. Follow up in 3 weeks with Dr. Patel.',
  'Summarise the findings for the referring physician and list the next steps in plain language.',
];

function prompt(bytes: number): string {
  let t = '';
  for (let i = 0; t.length < bytes; i++) t += `${SENTENCES[i % SENTENCES.length]} `;
  return t.slice(0, bytes);
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main(): Promise<void> {
  const upstream = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      const msgs = (JSON.parse(body) as { messages: { content: string }[] }).messages;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          choices: [{ index: 0, message: { role: 'assistant', content: msgs.at(-1)!.content }, finish_reason: 'stop' }],
        }),
      );
    });
  });
  // Idle gaps between the series (the engine rows) must not close pooled keep-alive sockets under a request.
  upstream.keepAliveTimeout = 120_000;
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const proxies = await Promise.all(
    [0, 2].map(async (scrubWorkers) => {
      const server = createLlmProxy({
        upstream: upUrl,
        key,
        config: parseLlmProxyConfig({ maxBodyBytes: 1 << 20, scrubWorkers }),
        audit: () => {},
      });
      server.keepAliveTimeout = 120_000;
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const label = scrubWorkers === 0 ? 'in-process scrub' : `${scrubWorkers} scrub workers`;
      return { server, label, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    }),
  );

  // Each scrub thread compiles the engine afresh: warm every proxy up (both threads of the pool) before measuring.
  for (const p of proxies) {
    const body = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: prompt(4096) }] });
    for (let i = 0; i < 50; i++) {
      const batch = [0, 1].map(() =>
        fetch(`${p.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        }),
      );
      for (const r of await Promise.all(batch)) await r.text();
    }
  }

  const rows: string[] = [];
  for (const size of [1024, 20 * 1024]) {
    const text = prompt(size);
    for (let i = 0; i < 30; i++) deidentify(text, { mode: 'surrogate', key });
    const eng: number[] = [];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const s = performance.now();
      deidentify(text, { mode: 'surrogate', key, patientKey: `p${i % 10}` });
      eng.push(performance.now() - s);
    }
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const qpsCore = N / ((cpu.user + cpu.system) / 1e6);
    rows.push(
      `| engine (deidentify, surrogates) | ${size / 1024} KB | ${pct(eng, 50).toFixed(2)} | ${pct(eng, 99).toFixed(2)} | ${(N / (wall / 1000)).toFixed(0)} | ${qpsCore.toFixed(0)} | ${(1000 / qpsCore).toFixed(2)} |`,
    );

    const body = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: text }] });
    const run = async (base: string) => {
      const times: number[] = [];
      for (let i = 0; i < N + 20; i++) {
        const s = performance.now();
        const r = await fetch(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await r.text();
        if (i >= 20) times.push(performance.now() - s);
      }
      return times;
    };
    const dirCpu0 = process.cpuUsage();
    const dirT0 = performance.now();
    const direct = await run(upUrl);
    const dirWall = performance.now() - dirT0;
    const dirCpu = process.cpuUsage(dirCpu0);
    const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000 / (N + 20);
    const row = (label: string, t: number[], wall: number, cpu: NodeJS.CpuUsage) =>
      `| ${label} | ${size / 1024} KB | ${pct(t, 50).toFixed(2)} | ${pct(t, 99).toFixed(2)} | ${((N + 20) / (wall / 1000)).toFixed(0)} | ${(1000 / cpuMs(cpu)).toFixed(0)} | ${cpuMs(cpu).toFixed(2)} |`;
    rows.push(row('direct to upstream', direct, dirWall, dirCpu));
    for (const p of proxies) {
      const viaCpu0 = process.cpuUsage();
      const viaT0 = performance.now();
      const via = await run(p.url);
      const viaWall = performance.now() - viaT0;
      // process-wide: the worker threads' CPU is counted too
      const viaCpu = process.cpuUsage(viaCpu0);
      rows.push(row(`through llm-proxy, ${p.label}`, via, viaWall, viaCpu));
      rows.push(
        `| **added by the proxy, ${p.label}** | ${size / 1024} KB | **${(pct(via, 50) - pct(direct, 50)).toFixed(2)}** | **${(pct(via, 99) - pct(direct, 99)).toFixed(2)}** | | | **${(cpuMs(viaCpu) - cpuMs(dirCpu)).toFixed(2)}** |`,
      );
    }
  }
  // Small requests beside one large prompt, per proxy.
  const largeBody = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: prompt(300 * 1024) }] });
  const smallBody = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: prompt(1024) }] });
  const postTo = async (url: string, body: string) =>
    (
      await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
    ).text();
  for (const p of proxies) {
    const small: number[] = [];
    let largeDone = false;
    const t0 = performance.now();
    const large = postTo(p.url, largeBody).then(() => {
      largeDone = true;
    });
    while (!largeDone) {
      const s = performance.now();
      await postTo(p.url, smallBody);
      small.push(performance.now() - s);
    }
    await large;
    const largeMs = performance.now() - t0;
    rows.push(
      `| 1 KB beside a 300 KB prompt (${small.length} sent while it took ${largeMs.toFixed(0)} ms), ${p.label} | 1 KB | ${pct(small, 50).toFixed(2)} | ${Math.max(...small).toFixed(2)} (max) | | | |`,
    );
  }
  for (const p of proxies) p.server.close();

  // The hop alone: a body of the size whose only text is not model-visible (no detection runs).
  for (const workers of [0, 1]) {
    const scrubber = createScrubber({ workers });
    for (const size of [1024, 20 * 1024]) {
      const body = new TextEncoder().encode(JSON.stringify({ model: 'bench', metadata: { pad: 'x'.repeat(size) } }));
      const call = () => scrubber.scrub({ kind: 'chat', body, key, patientKey: 'p', maxTextChars: 1 << 20 });
      for (let i = 0; i < 50; i++) await call();
      const times: number[] = [];
      for (let i = 0; i < N; i++) {
        const s = performance.now();
        await call();
        times.push(performance.now() - s);
      }
      rows.push(
        `| scrub hop alone, ${workers === 0 ? 'in-process' : 'worker thread'} | ${size / 1024} KB | ${pct(times, 50).toFixed(3)} | ${pct(times, 99).toFixed(3)} | | | |`,
      );
    }
    await scrubber.close();
  }
  upstream.close();
  const md = [
    `Date: ${new Date().toISOString().slice(0, 10)}. Machine: ${cpus().length} vCPU (${cpus()[0]?.model ?? '?'}), Node ${process.version}. Load average: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}. N = ${N} per row, sequential.`,
    "Proxy rows: the stand-in upstream, the proxy and the client share one process (their CPU is counted together); the added CPU per request (proxy row minus direct row) is the proxy's own cost and, unlike wall times, does not depend on the load of a shared machine.",
    '',
    '| Path | Prompt | p50 ms | p99 ms | q/s (wall) | q/s per core (CPU) | CPU ms/req |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
  console.log(md);
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, 'text.md'), `${md}\n`);
}

await main();
