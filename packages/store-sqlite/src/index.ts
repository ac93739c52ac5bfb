/**
 * @veil/store-sqlite: the JobStore of the embedded gateway, on one SQLite file (WAL, synchronous=FULL), and the
 * GovernanceStore (chained audit, consent, releases, portal, accounts) on the same file.
 * Must not import: apps, @veil/core, other backends.
 *
 * Example:
 *   import { SqliteJobStore } from '@veil/store-sqlite';
 *   const store = new SqliteJobStore('veil.db');
 *   await store.init();
 */

export { SqliteGovernanceStore } from './governance.ts';
export { PULL_SCHEMA, SqlitePullStore } from './pulls.ts';
export { SqliteJobStore, type SqliteJobStoreOptions } from './sqlite-job-store.ts';
