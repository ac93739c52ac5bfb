import { EmbeddedQueue } from '../src/embedded-queue.ts';
import { runQueueSuite } from '../src/testing/index.ts';

runQueueSuite({ name: 'EmbeddedQueue', create: async (options) => new EmbeddedQueue(options) });
