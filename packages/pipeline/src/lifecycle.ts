/**
 * The job and delivery lifecycle rules that every JobStore applies inside its transactions, in one place: the stores
 * persist (rows, locks, SQL dialect); what a state change means is decided here. Pure functions over the model.
 *
 * Example (inside a store's saveJob / finishDelivery transaction):
 *   const finishedAt = finishedAtAfter(job, update.state, now);
 *   const next = jobStateAfterDeliveries(countsByState);          // 'done' | 'dead' | undefined
 *   audit(deliveryAudit(destination, attempts, result));
 */

import { type AuditInput, isSettled, type Job, type JobState, type JsonObject } from './model.ts';
import type { DeliveryResult } from './store.ts';

/** finished_at after a job update: set when the job enters a settled state, cleared when it leaves one. */
export function finishedAtAfter(job: Job, next: JobState | undefined, now: number): number | null {
  if (next === undefined || next === job.state) return job.finishedAt;
  return isSettled(next) ? now : null;
}

/**
 * The state a delivering job moves to once its deliveries are counted by state: done when every one is delivered,
 * dead when none is in flight and at least one is dead; undefined while any is pending, sending or waiting to retry.
 */
export function jobStateAfterDeliveries(countsByState: Readonly<Record<string, number>>): JobState | undefined {
  const inFlight = (countsByState.pending ?? 0) + (countsByState.sending ?? 0) + (countsByState.retry ?? 0);
  if (inFlight > 0) return undefined;
  return (countsByState.dead ?? 0) === 0 ? 'done' : 'dead';
}

/** The error a delivery keeps after its result (none once delivered). */
export function deliveryError(result: DeliveryResult): string | null {
  return result.state === 'delivered' ? null : result.error;
}

/** The audit event of a delivery attempt's result: delivery.delivered | delivery.retry | delivery.dead. */
export function deliveryAudit(destination: string, attempts: number, result: DeliveryResult): AuditInput {
  const detail: JsonObject = { destination, attempts };
  const error = deliveryError(result);
  if (error !== null) detail.code = error;
  return { event: `delivery.${result.state}`, detail };
}

/** The audit event of a job that its deliveries settled. */
export function jobSettledAudit(state: JobState): AuditInput {
  return { event: `job.${state}` };
}
