// Entry of the LLM proxy's scrub worker thread from source: a worker does not inherit the tsx loader its parent
// registered, so register tsx here (resolved from this file, so any cwd works), then load the worker.
import { register } from 'tsx/esm/api';

register();
await import('./scrub-worker.ts');
