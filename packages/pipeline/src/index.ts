/**
 * @veil/pipeline: the gateway's durable job model and the ports its backends implement. One job per received
 * instance, resumable steps with JSON state, per-destination deliveries (pending -> sending -> delivered, retries with
 * backoff, dead letter), quarantine records, study grouping, an audit log. JobStore (SQLite, PostgreSQL) and JobQueue
 * (embedded, BullMQ) are ports; the Runner drives jobs through them; Destination is the egress port.
 * Must not import: @veil/core's byte path, apps, or any backend. Conformance suites: '@veil/pipeline/testing'.
 *
 * Example:
 *   import { EmbeddedQueue, Runner, newJobId, parseServerConfig } from '@veil/pipeline';
 *   const queue = new EmbeddedQueue();
 *   const runner = new Runner({ store, queue, steps, destinations, routes, outgoing, owner, processing, delivery });
 *   await queue.consume((m) => runner.handle(m), { concurrency: 4 });
 */

export * from './audit-chain.ts';
export * from './config.ts';
export * from './destination.ts';
export * from './destination-config.ts';
export * from './embedded-queue.ts';
export * from './governance-config.ts';
export * from './governance-store.ts';
export * from './ids.ts';
export * from './lifecycle.ts';
export * from './model.ts';
export * from './pull-store.ts';
export * from './quarantine.ts';
export * from './queue.ts';
export * from './runner.ts';
export * from './store.ts';
export * from './store-rows.ts';
export * from './store-transactions.ts';
export * from './study-settling.ts';
