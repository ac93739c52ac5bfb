/**
 * @veil/queue-bullmq: the JobQueue of a scaled-out gateway, on BullMQ and Redis.
 * Must not import: apps, @veil/core, other backends.
 *
 * Example:
 *   import { BullmqQueue } from '@veil/queue-bullmq';
 *   const queue = new BullmqQueue({ url: 'redis://127.0.0.1:6379', prefix: 'veil', maxAttempts: 3 });
 */
export { BullmqQueue, type BullmqQueueOptions } from './bullmq-queue.ts';
