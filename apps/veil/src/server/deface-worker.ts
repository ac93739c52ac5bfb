/**
 * The worker thread of `veil serve`'s study-level defacing pass (deface-series.ts): the series pass of `veil deid`
 * (planDefacing: decode, detect, remove, verify) over a stable study's spooled inputs, off the gateway's event loop
 * and under the V8 heap limit of processing.threadHeapMb, so that a large or hostile series neither stalls ingress
 * nor takes the process down. Speaks release/thread-pool.ts's protocol; the plan it answers is plain JSON (paths,
 * codes, figures), its pixel and mask files written under the request's work folder.
 */
import { parentPort } from 'node:worker_threads';
import type { DefaceMode } from '../deface/options.ts';
import { type DefacePlan, planDefacing } from '../deface/prepass.ts';

export interface DefacePassRequest {
  readonly files: readonly { path: string; rel: string }[];
  /** A fresh folder for the pass's <key>.pixels / <key>.mask files. */
  readonly work: string;
  readonly mode?: DefaceMode | undefined;
  /** The project key: series named by a keyed hash in the plan (logged by deface-series.ts). */
  readonly seriesKey?: Uint8Array | undefined;
}

export type DefacePassResult = DefacePlan;

const port = parentPort;
if (!port) throw new Error('deface-worker runs as a worker thread');

let queue: Promise<void> = Promise.resolve();
port.on('message', (m: { id: number; request: DefacePassRequest }) => {
  queue = queue.then(async () => {
    try {
      const { files, work, mode, seriesKey } = m.request;
      const plan = await planDefacing(files, work, { ...(mode ? { mode } : {}), ...(seriesKey ? { seriesKey } : {}) });
      port.postMessage({ id: m.id, ok: true, result: plan });
    } catch (e) {
      // By code only: a message might quote a value.
      const code = (e as { code?: unknown }).code;
      port.postMessage({ id: m.id, ok: false, code: typeof code === 'string' ? code : 'INTERNAL_ERROR' });
    }
  });
});
port.postMessage({ type: 'ready' });
