// Runs the JobQueue suite against the real Redis (VEIL_TEST_REDIS_URL, default redis://127.0.0.1:6379, started by
// scripts/services.sh), one key prefix per queue, named after this run and deleted at the end. Without a server the
// suite is skipped, except under CI=true, where a missing service is a failure.
import { randomBytes } from 'node:crypto';
import { runQueueSuite } from '@veil/pipeline/testing';
import { Redis } from 'ioredis';
import { BullmqQueue } from '../src/index.ts';

const url = process.env.VEIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = `veil-test-${process.pid}-${randomBytes(4).toString('hex')}`;
const prefixes: string[] = [];

async function reachable(): Promise<string | undefined> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 3000,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
    return undefined;
  } catch (e) {
    return `Redis not reachable at ${url} (${(e as { code?: string }).code ?? 'error'})`;
  } finally {
    r.disconnect();
  }
}

const problem = await reachable();
if (problem && process.env.CI)
  throw new Error(`${problem}; CI=true: the service is required (scripts/services.sh starts it)`);
if (problem) console.log(`# skipping the BullMQ queue suite: ${problem} (run scripts/services.sh)`);

runQueueSuite({
  name: 'BullmqQueue',
  skip: problem,
  create: async (options) => {
    const prefix = `${run}-${prefixes.length}`;
    prefixes.push(prefix);
    return new BullmqQueue({ ...options, url, prefix });
  },
  cleanup: async () => {
    const r = new Redis(url);
    try {
      for (const p of prefixes) {
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', `${p}:*`, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) await r.del(...keys);
        } while (cursor !== '0');
      }
    } finally {
      r.disconnect();
    }
  },
});
