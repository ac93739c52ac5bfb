/**
 * Picks the JobStore and JobQueue named by the configuration. Backends are loaded on use, so an embedded server never
 * loads pg or BullMQ, and a scaled-out one never loads SQLite.
 *
 * Example:
 *   const store = await openStore({ kind: 'sqlite', path: '/var/lib/veil/veil.db' });
 *   const queue = await openQueue({ kind: 'embedded' }, { maxAttempts: 5 });
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  EmbeddedQueue,
  type JobQueue,
  type JobStore,
  type QueueConfig,
  type QueueOptions,
  type StoreConfig,
} from '@veil/pipeline';

export async function openStore(config: StoreConfig): Promise<JobStore> {
  if (config.kind === 'sqlite') {
    const { SqliteJobStore } = await import('@veil/store-sqlite');
    mkdirSync(dirname(config.path), { recursive: true });
    return new SqliteJobStore(config.path);
  }
  const { PostgresJobStore } = await import('@veil/store-postgres');
  return new PostgresJobStore({ connectionString: config.url, schema: config.schema });
}

export async function openQueue(config: QueueConfig, options: QueueOptions): Promise<JobQueue> {
  if (config.kind === 'embedded') return new EmbeddedQueue(options);
  const { BullmqQueue } = await import('@veil/queue-bullmq');
  return new BullmqQueue({ ...options, url: config.url, prefix: config.prefix, lockMs: config.lockSeconds * 1000 });
}
