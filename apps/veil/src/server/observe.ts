/**
 * Logs and metrics of the gateway, fed by the Runner's events and the ingress. pino writes one JSON line per event
 * to stdout; every field is an id, a name, a code, a count or a duration: never a value from a file, a file name
 * from an ingress folder, or an error message (which could quote either).
 *
 * Example:
 *   const obs = createObservability({ level: 'info', role: 'all' });
 *   obs.log.info({ event: 'server.started' }, 'started');
 *   runner = new Runner({ ..., onEvent: obs.onRunnerEvent });
 */
import type { JobQueue, JobState, JobStore, RunnerEvent } from '@veil/pipeline';
import { JOB_STATES } from '@veil/pipeline';
import { type Logger, pino } from 'pino';
import { Metrics } from './metrics.ts';

export type Role = 'all' | 'ingress' | 'worker';

export interface Observability {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly received: (ingress: string) => void;
  readonly onRunnerEvent: (e: RunnerEvent) => void;
  /** Gauges read at scrape time: queue depth, and job / delivery counts where this process sees the store. */
  readonly watch: (queue: JobQueue | undefined, store: JobStore | undefined) => void;
  readonly counters: {
    readonly received: () => number;
    readonly deidentified: () => number;
    readonly verified: () => number;
    readonly quarantined: () => number;
    readonly exported: () => number;
    readonly failed: () => number;
    readonly dead: () => number;
  };
}

export function createLogger(level: string, role: Role): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, role },
      // Belt and braces: these names never carry PHI in Veil's own calls, but a future field of that name is cut.
      redact: { paths: ['path', 'file', 'name', 'value', 'err.message', 'err.stack'], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: 1, sync: true }),
  );
}

export function createObservability(options: { readonly level: string; readonly role: Role }): Observability {
  const log = createLogger(options.level, options.role);
  const m = new Metrics();
  const received = m.counter('veil_received_total', 'Instances received and durably spooled', ['ingress']);
  const deidentified = m.counter('veil_deidentified_total', 'Instances de-identified', []);
  const verified = m.counter('veil_verified_total', 'De-identified instances that passed verification', []);
  const quarantined = m.counter('veil_quarantined_total', 'Instances quarantined', ['step', 'code']);
  const exported = m.counter('veil_exported_total', 'Instances delivered to a destination', ['destination']);
  const retries = m.counter('veil_delivery_retries_total', 'Delivery attempts that failed and will be retried', [
    'destination',
    'code',
  ]);
  const dead = m.counter('veil_dead_letters_total', 'Deliveries out of attempts (dead letter)', ['destination']);
  const failed = m.counter('veil_failed_total', 'Jobs failed in processing', ['step', 'code']);
  const done = m.counter('veil_jobs_done_total', 'Jobs with every delivery done', []);
  const stable = m.counter('veil_studies_stable_total', 'Studies that became stable', []);
  const stepSeconds = m.histogram('veil_step_seconds', 'Processing step duration', ['step']);
  const deliverySeconds = m.histogram('veil_delivery_seconds', 'Delivery duration', ['destination']);
  const endToEnd = m.histogram('veil_end_to_end_seconds', 'From received to every delivery done', []);

  const onRunnerEvent = (e: RunnerEvent): void => {
    switch (e.type) {
      case 'step':
        stepSeconds.observe({ step: e.step }, e.ms / 1000);
        if (e.outcome === 'next' && e.step === 'deidentify') deidentified.inc();
        if (e.outcome === 'next' && e.step === 'verify') verified.inc();
        log.debug({ event: 'step', jobId: e.job.id, step: e.step, outcome: e.outcome, ms: Math.round(e.ms) });
        break;
      case 'quarantined':
        quarantined.inc({ step: e.step, code: e.code });
        log.info({ event: 'job.quarantined', jobId: e.job.id, step: e.step, code: e.code }, 'quarantined');
        break;
      case 'retry':
        log.warn({ event: 'step.retry', jobId: e.job.id, step: e.step, code: e.code, delayMs: e.delayMs }, 'retry');
        break;
      case 'failed':
        failed.inc({ step: e.step, code: e.code });
        log.error({ event: 'job.failed', jobId: e.job.id, step: e.step, code: e.code }, 'failed');
        break;
      case 'delivered':
        exported.inc({ destination: e.destination });
        deliverySeconds.observe({ destination: e.destination }, e.ms / 1000);
        log.debug({ event: 'delivery.delivered', jobId: e.job.id, destination: e.destination, ms: Math.round(e.ms) });
        break;
      case 'delivery-retry':
        retries.inc({ destination: e.destination, code: e.code });
        log.warn(
          {
            event: 'delivery.retry',
            jobId: e.job.id,
            destination: e.destination,
            code: e.code,
            attempts: e.attempts,
            delayMs: e.delayMs,
          },
          'delivery failed; will retry',
        );
        break;
      case 'dead':
        dead.inc({ destination: e.destination });
        log.error(
          { event: 'delivery.dead', jobId: e.job.id, destination: e.destination, code: e.code, attempts: e.attempts },
          'delivery out of attempts (dead letter)',
        );
        break;
      case 'done':
        done.inc();
        endToEnd.observe({}, e.latencyMs / 1000);
        log.info({ event: 'job.done', jobId: e.job.id, latencyMs: e.latencyMs }, 'delivered');
        break;
      case 'study-stable':
        stable.inc();
        log.info(
          { event: 'study.stable', studyKey: e.study.studyKey, instances: e.study.instances, outcome: e.study.outcome },
          'study stable',
        );
        break;
      case 'error':
        log.error({ event: 'error', where: e.where, code: e.code, jobId: e.jobId }, 'error');
        break;
    }
  };

  const watch = (queue: JobQueue | undefined, store: JobStore | undefined): void => {
    if (queue) {
      m.gauge('veil_queue_depth', 'Messages in the job queue', ['state'], async () => {
        const d = await queue.depth();
        return [
          [{ state: 'waiting' }, d.waiting],
          [{ state: 'delayed' }, d.delayed],
          [{ state: 'active' }, d.active],
        ];
      });
    }
    if (store) {
      m.gauge('veil_jobs', 'Jobs by state (from the store)', ['state'], async () => {
        const c = await store.countJobs();
        return JOB_STATES.map((s: JobState) => [{ state: s }, c[s]] as const);
      });
      m.gauge('veil_deliveries', 'Deliveries by state (from the store)', ['state'], async () => {
        const c = await store.countDeliveries();
        return Object.entries(c).map(([s, n]) => [{ state: s }, n] as const);
      });
    }
  };

  return {
    log,
    metrics: m,
    received: (ingress) => received.inc({ ingress }),
    onRunnerEvent,
    watch,
    counters: {
      received: () => received.total(),
      deidentified: () => deidentified.total(),
      verified: () => verified.total(),
      quarantined: () => quarantined.total(),
      exported: () => exported.total(),
      failed: () => failed.total(),
      dead: () => dead.total(),
    },
  };
}
