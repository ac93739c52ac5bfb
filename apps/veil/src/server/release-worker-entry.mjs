// Entry of a gateway release worker thread from source: a worker does not inherit the tsx loader its parent
// registered, so register tsx here (resolved from this file, so any cwd works), then load the worker.
import { register } from 'tsx/esm/api';

register();
await import('./release-worker.ts');
