// Entry of a de-identification worker thread. Node 20 cannot load TypeScript, and a worker does not inherit the tsx
// loader its parent registered, so register tsx here (resolved from this file, so any cwd works), then load the worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
