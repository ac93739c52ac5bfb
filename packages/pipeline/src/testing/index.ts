/**
 * '@veil/pipeline/testing': the conformance suites every backend runs (node:test), so the SQLite and PostgreSQL
 * stores, and the embedded and BullMQ queues, are held to one contract.
 *
 * Example:
 *   import { runStoreSuite } from '@veil/pipeline/testing';
 *   runStoreSuite({ name: 'SqliteJobStore', create: async () => new SqliteJobStore(path) });
 */

export {
  type DestinationHarness,
  type DestinationSuiteOptions,
  runDestinationSuite,
  type SuiteItem,
} from './destination-suite.ts';
export { type GovernanceFixture, type GovernanceSuiteOptions, runGovernanceSuite } from './governance-suite.ts';
export { type PullFixture, type PullStoreSuiteOptions, runPullStoreSuite } from './pull-suite.ts';
export { type QueueSuiteOptions, runQueueSuite } from './queue-suite.ts';
export { runStoreSuite, type StoreSuiteOptions } from './store-suite.ts';
