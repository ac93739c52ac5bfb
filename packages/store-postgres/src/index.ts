/**
 * @veil/store-postgres: the JobStore of a scaled-out gateway, on PostgreSQL (pg 8), and the GovernanceStore (chained
 * audit, consent, releases, portal, accounts) in the same schema.
 * Must not import: apps, @veil/core, other backends.
 *
 * Example:
 *   import { PostgresJobStore } from '@veil/store-postgres';
 *   const store = new PostgresJobStore({ connectionString: 'postgres://postgres@127.0.0.1:5432/veil' });
 *   await store.init();
 */

export { PostgresGovernanceStore, type PostgresGovernanceStoreOptions } from './governance.ts';
export { PostgresJobStore, type PostgresJobStoreOptions } from './postgres-job-store.ts';
export { PostgresPullStore, type PostgresPullStoreOptions, pullSchemaSql } from './pulls.ts';
