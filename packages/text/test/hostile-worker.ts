/** The hang guard's worker (hostile.test.ts): runs detectPhi on each shape it is sent and answers with the time. */
import { parentPort } from 'node:worker_threads';
import { detectPhi } from '@veil/text';
import { HOSTILE_SHAPES, periodicShapes } from './hostile-shapes.ts';

const all = new Map([...Object.entries(HOSTILE_SHAPES), ...periodicShapes(40, 7)]);
parentPort!.on('message', (m: { name: string; chars: number }) => {
  const text = all.get(m.name)!(m.chars);
  const t0 = performance.now();
  const spans = detectPhi(text);
  const ms = performance.now() - t0;
  const inside = spans.every((s) => s.start >= 0 && s.start < s.end && s.end <= text.length);
  parentPort!.postMessage({ name: m.name, ms, inside });
});
parentPort!.postMessage({ ready: true });
