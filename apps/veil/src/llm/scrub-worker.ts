/**
 * The worker thread of `veil llm-proxy`'s request scrub (scrub-pool.ts): scrubRequest (detection and surrogates over
 * every model-visible text) off the proxy's event loop, so that one caller's large prompt does not stall the others.
 * Speaks release/thread-pool.ts's protocol; answers plain data (the scrubbed JSON text, surrogate -> original pairs,
 * counts) or a code, never a message (a message might quote the prompt).
 *
 * workerData may hold a test-only fault (ScrubFaultForTests): the thread throws or exits on a body holding the marker,
 * or exits before it is ready.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ScrubRefused, type ScrubRequest, scrubRequest } from './scrub.ts';
import type { ScrubFaultForTests } from './scrub-pool.ts';

const port = parentPort;
if (!port) throw new Error('scrub-worker runs as a worker thread');
const fault = (workerData as { fault?: ScrubFaultForTests } | null)?.fault;
const marker = fault ? Buffer.from(fault.marker, 'utf8') : undefined;
// A thread that cannot start (kind 'start'): it exits before it is ready.
if (fault?.kind === 'start') process.exit(71);

port.on('message', (m: { id: number; request: ScrubRequest }) => {
  try {
    if (
      fault &&
      marker &&
      Buffer.from(m.request.body.buffer, m.request.body.byteOffset, m.request.body.byteLength).includes(marker)
    ) {
      if (fault.kind === 'exit') process.exit(70);
      throw new Error('injected fault');
    }
    port.postMessage({ id: m.id, ok: true, result: scrubRequest(m.request) });
  } catch (e) {
    port.postMessage({ id: m.id, ok: false, code: e instanceof ScrubRefused ? e.code : 'LLM_PROXY_SCRUB_FAILED' });
  }
});
port.postMessage({ type: 'ready' });
