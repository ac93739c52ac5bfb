/**
 * Operators' actions on a gateway's state, for `veil jobs` and `veil quarantine`: they work on the store named by the
 * server's configuration, whether the server runs or not, and then tell the server to pick the job up: through the
 * shared queue (BullMQ), or through the running embedded server's local HTTP endpoint (its address is in
 * <spool>/run/all.json). A server that is not running resumes the job when it starts.
 *
 * Example:
 *   const admin = await openAdmin(loadServerConfig('veil.yaml'));
 *   const job = await admin.replay(jobId);
 *   const how = await admin.kick(jobId);  // 'queue' | 'server' | 'later'
 *   await admin.close();
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  checkAcknowledgements,
  findingKey,
  heldFindings,
  type Job,
  type JobStore,
  offerJob,
  type QuarantineRecord,
} from '@veil/pipeline';
import { CliError, EXIT_FAILURES, EXIT_USAGE } from '../deid/cli-error.ts';
import { openQueue, openStore } from './backends.ts';
import type { LoadedServerConfig } from './config.ts';
import { runFilePath } from './server.ts';
import { Spool } from './spool.ts';

/** The first processing step (a replayed failed job starts over from it). */
export const FIRST_STEP = 'gate';

export type ReleaseHow =
  | {
      readonly mode: 'acknowledge';
      readonly acks: readonly string[];
      readonly operator: string;
      readonly reason: string;
    }
  | { readonly mode: 'rerun'; readonly operator: string; readonly reason: string };

/** The rules live in @veil/pipeline (quarantine.ts); re-exported for the CLI. */
export { type HeldFinding, heldFindings } from '@veil/pipeline';

export interface Admin {
  readonly store: JobStore;
  readonly spool: Spool;
  job(id: string): Promise<Job>;
  replay(id: string): Promise<Job>;
  /**
   * Lets a held job go on: either every finding it is held for is acknowledged (by key CODE@TAGPATH; the release
   * path then lets exactly those pass), or it re-runs from the first step under the configuration the server runs
   * now. Audited with the operator and the reason.
   */
  release(id: string, how: ReleaseHow): Promise<{ job: Job; record: QuarantineRecord; acknowledged: string[] }>;
  purge(id: string): Promise<Job>;
  /** Gets the job moving: 'queue' (enqueued), 'server' (the embedded server was told) or 'later' (at its next start). */
  kick(id: string): Promise<'queue' | 'server' | 'later'>;
  close(): Promise<void>;
}

export async function openAdmin(config: LoadedServerConfig): Promise<Admin> {
  const cfg = config.server;
  const store = await openStore(cfg.store);
  await store.init();
  const spool = new Spool(cfg.spool);
  const now = Date.now;

  const job = async (id: string): Promise<Job> => {
    const j = await store.getJob(id);
    if (!j) throw new CliError(EXIT_USAGE, `no job ${id}`);
    return j;
  };

  return {
    store,
    spool,
    job,
    async replay(id) {
      const j = await job(id);
      let saved: Job | undefined;
      if (j.state === 'dead') {
        saved = await store.saveJob(
          id,
          { states: ['dead'] },
          {
            state: 'delivering',
            replayDead: true,
            error: null,
            audit: { event: 'job.replayed', detail: { from: 'dead' } },
          },
          now(),
        );
      } else if (j.state === 'failed') {
        saved = await store.saveJob(
          id,
          { states: ['failed'] },
          {
            state: 'queued',
            step: FIRST_STEP,
            attempts: 0,
            error: null,
            audit: { event: 'job.replayed', detail: { from: 'failed' } },
          },
          now(),
        );
      } else {
        throw new CliError(EXIT_FAILURES, `job ${id} is ${j.state}: only dead and failed jobs are replayed`);
      }
      if (!saved) throw new CliError(EXIT_FAILURES, `job ${id} changed meanwhile; look again`);
      return saved;
    },
    async release(id, how) {
      const j = await job(id);
      const record = await store.getQuarantine(id);
      if (j.state !== 'quarantined' || !record || record.state !== 'held') {
        throw new CliError(EXIT_FAILURES, `job ${id} is ${j.state}: only quarantined jobs are released`);
      }
      const listed = heldFindings(j, record);
      let acknowledged: string[] = [];
      if (how.mode === 'acknowledge') {
        const { keys, unknown, missing } = checkAcknowledgements(listed, how.acks);
        if (unknown.length > 0) {
          throw new CliError(
            EXIT_USAGE,
            `not a finding of job ${id}: ${unknown.join(', ')} (see veil quarantine show)`,
          );
        }
        if (missing.length > 0) {
          throw new CliError(
            EXIT_USAGE,
            `job ${id}: every finding must be acknowledged; not acknowledged: ${missing.join(', ')}`,
          );
        }
        acknowledged = keys;
      }
      const keys = [...new Set(listed.map(findingKey))];
      const prior = Array.isArray(j.stepState.acknowledged) ? j.stepState.acknowledged : [];
      // A re-run starts over from the first step with the configuration the server runs now, acknowledging nothing.
      const rerun = how.mode === 'rerun';
      const saved = await store.saveJob(
        id,
        { states: ['quarantined'] },
        {
          state: 'queued',
          step: rerun ? FIRST_STEP : record.step,
          attempts: 0,
          error: null,
          stepState: rerun ? { ...j.stepState } : { ...j.stepState, acknowledged: [...prior, ...acknowledged] },
          quarantineState: 'released',
          audit: {
            event: rerun ? 'quarantine.rerun' : 'quarantine.released',
            actor: `cli:${how.operator}`,
            detail: {
              code: record.code,
              step: record.step,
              acknowledged,
              findings: keys.length,
              operator: how.operator,
              reason: how.reason,
            },
          },
        },
        now(),
      );
      if (!saved) throw new CliError(EXIT_FAILURES, `job ${id} changed meanwhile; look again`);
      return { job: saved, record, acknowledged };
    },
    async purge(id) {
      const j = await job(id);
      if (j.state !== 'quarantined') {
        throw new CliError(EXIT_FAILURES, `job ${id} is ${j.state}: only quarantined jobs are purged`);
      }
      const saved = await store.saveJob(
        id,
        { states: ['quarantined'] },
        { state: 'purged', quarantineState: 'purged', audit: { event: 'quarantine.purged' } },
        now(),
      );
      if (!saved) throw new CliError(EXIT_FAILURES, `job ${id} changed meanwhile; look again`);
      // Recorded first, deleted second: a crash in between leaves files the server's start-up removes.
      spool.remove(String(saved.source.spool));
      spool.remove(spool.outputRel(id));
      return saved;
    },
    async kick(id) {
      if (cfg.queue.kind === 'bullmq') {
        const queue = await openQueue(cfg.queue, {});
        try {
          await offerJob(store, queue, id, now());
        } finally {
          await queue.close();
        }
        return 'queue';
      }
      try {
        const run = JSON.parse(readFileSync(runFilePath(cfg.spool, 'all'), 'utf8')) as {
          host: string;
          port: number;
          tls?: boolean;
          token?: string;
        };
        const host = run.host === '0.0.0.0' || run.host === '::' ? '127.0.0.1' : run.host;
        const httpCfg = cfg.http === false ? undefined : cfg.http;
        const status = await postLocal({
          host,
          port: run.port,
          path: `/admin/recover?job=${id}`,
          token: run.token,
          // HTTPS: trust exactly the server's own certificate (the name in it need not be the loopback address).
          ca: run.tls && httpCfg?.tls ? readFileSync(httpCfg.tls.cert) : undefined,
        });
        if (status >= 200 && status < 300) return 'server';
      } catch {
        // Not running (or not reachable): its start-up recovery picks the job up.
      }
      return 'later';
    },
    async close() {
      await store.close();
    },
  };
}

/** POST to the local server's admin port (http, or https pinned to its certificate) with this run's token. */
function postLocal(o: {
  host: string;
  port: number;
  path: string;
  token: string | undefined;
  ca: Buffer | undefined;
}): Promise<number> {
  return new Promise((resolve, reject) => {
    const options = {
      host: o.host,
      port: o.port,
      path: o.path,
      method: 'POST',
      timeout: 5000,
      headers: {
        host: o.host.includes(':') ? `[${o.host}]` : o.host,
        ...(o.token !== undefined ? { authorization: `Bearer ${o.token}` } : {}),
      },
    };
    const done = (res: import('node:http').IncomingMessage): void => {
      res.resume();
      resolve(res.statusCode ?? 0);
    };
    const req =
      o.ca !== undefined
        ? httpsRequest({ ...options, ca: o.ca, checkServerIdentity: () => undefined }, done)
        : httpRequest(options, done);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
