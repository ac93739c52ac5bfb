// Entry of the hang guard's worker thread: a worker does not inherit its parent's tsx loader, so register it here.
import { register } from 'tsx/esm/api';

register();
await import('./hostile-worker.ts');
