/**
 * @veil/store-postgres: the JobStore of a scaled-out gateway, on PostgreSQL (pg 8).
 * Must not import: apps, @veil/core, other backends.
 *
 * Example:
 *   import { PostgresJobStore } from '@veil/store-postgres';
 *   const store = new PostgresJobStore({ connectionString: 'postgres://postgres@127.0.0.1:5432/veil' });
 *   await store.init();
 */
export { PostgresJobStore, type PostgresJobStoreOptions } from './postgres-job-store.ts';
