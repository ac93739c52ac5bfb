// The PullStore suite on the real PostgreSQL (VEIL_TEST_PG_URL, as store.test.ts), in a schema of its own per store.
// Skipped without a server, except under CI=true.
import { randomBytes } from 'node:crypto';
import { runPullStoreSuite } from '@veil/pipeline/testing';
import pg from 'pg';
import { PostgresJobStore, PostgresPullStore } from '../src/index.ts';

const url = process.env.VEIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const run = `veil_pulls_${process.pid}_${randomBytes(4).toString('hex')}`;
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
if (problem) console.log(`# skipping the PostgreSQL pull suite: ${problem} (run scripts/services.sh)`);

runPullStoreSuite({
  name: 'PostgresPullStore',
  skip: problem,
  create: async () => {
    const schema = `${run}_${schemas.length}`;
    schemas.push(schema);
    return {
      store: new PostgresJobStore({ connectionString: url, schema, max: 2 }),
      pulls: new PostgresPullStore({ connectionString: url, schema }),
      reopen: () => new PostgresPullStore({ connectionString: url, schema }),
    };
  },
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
