// The GovernanceStore suite on the real PostgreSQL (VEIL_TEST_PG_URL, as store.test.ts): chained audit tampered with
// directly in the database, consent, releases, portal. Skipped without a server, except under CI=true.
import { randomBytes } from 'node:crypto';
import { runGovernanceSuite } from '@veil/pipeline/testing';
import pg from 'pg';
import { PostgresGovernanceStore, PostgresJobStore } from '../src/index.ts';

const url = process.env.VEIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const run = `veil_gov_${process.pid}_${randomBytes(4).toString('hex')}`;
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
if (problem) console.log(`# skipping the PostgreSQL governance suite: ${problem} (run scripts/services.sh)`);

runGovernanceSuite({
  name: 'PostgresGovernanceStore',
  skip: problem,
  create: async () => {
    const schema = `${run}_${schemas.length}`;
    schemas.push(schema);
    return {
      store: new PostgresJobStore({ connectionString: url, schema, max: 4 }),
      gov: new PostgresGovernanceStore({ connectionString: url, schema, max: 4 }),
      exec: async (sql: string) => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query(sql.replaceAll('{audit}', `"${schema}".audit`));
        } finally {
          await client.end();
        }
      },
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
