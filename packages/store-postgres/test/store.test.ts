// Runs the JobStore suite against the real PostgreSQL (VEIL_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test,
// started by scripts/services.sh). Every store gets its own schema, named after this run; all are dropped at the end.
// Without a server the suite is skipped, except under CI=true, where a missing service is a failure.
import { randomBytes } from 'node:crypto';
import { runStoreSuite } from '@veil/pipeline/testing';
import pg from 'pg';
import { PostgresJobStore } from '../src/index.ts';

const url = process.env.VEIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const run = `veil_test_${process.pid}_${randomBytes(4).toString('hex')}`;
const schemas: string[] = [];

async function reachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (e) {
    return `PostgreSQL not reachable at ${url.replace(/\/\/[^@]*@/, '//')} (${(e as { code?: string }).code ?? 'error'})`;
  } finally {
    await client.end().catch(() => {});
  }
}

const problem = await reachable();
if (problem && process.env.CI)
  throw new Error(`${problem}; CI=true: the service is required (scripts/services.sh starts it)`);
if (problem) console.log(`# skipping the PostgreSQL store suite: ${problem} (run scripts/services.sh)`);

runStoreSuite({
  name: 'PostgresJobStore',
  skip: problem,
  create: async () => {
    const schema = `${run}_${schemas.length}`;
    schemas.push(schema);
    return new PostgresJobStore({ connectionString: url, schema, max: 4 });
  },
  reopen: async (closed) =>
    new PostgresJobStore({ connectionString: url, schema: (closed as PostgresJobStore).schema }),
  cleanup: async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    } finally {
      await client.end();
    }
  },
});
