/**
 * The gateway server, composed: spool, store, queue, steps, destinations, Runner, folder ingress, sweeper, HTTP.
 *
 * Roles: `all` (the default: everything in one process; with the embedded queue and SQLite this is the embedded
 * deployment), `ingress` (folder watchers, recovery and the sweeper: exactly one such process per deployment) and
 * `worker` (consumes the queue: as many as wanted). Scale-out needs a shared queue (BullMQ), a shared store
 * (PostgreSQL) and a spool every process sees.
 *
 * Start-up, in this order, before anything new is taken in: leases of a dead predecessor are broken (single process
 * only), spool files of finished jobs are removed, claims without a job row get one, and every unfinished job and
 * delivery in the store is enqueued again (the embedded queue kept nothing; BullMQ drops duplicates by key).
 *
 * Example:
 *   const server = await startServer({ config: loadServerConfig('veil.yaml'), key, role: 'all' });
 *   ...
 *   await server.close();
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  type Destination,
  errorCode,
  type Job,
  type JobQueue,
  type JobStore,
  type OutgoingInstance,
  Runner,
  retryDelayMs,
  routeFor,
} from '@veil/pipeline';
import { CliError, EXIT_USAGE } from '../deid/cli-error.ts';
import { loadCrosswalkPublicKey } from '../governance/crosswalk.ts';
import { withCrosswalk } from '../governance/crosswalk-step.ts';
import { patientCopiesFor } from '../governance/patient-copies.ts';
import { loadSigningKey, openGovernanceStore, startGovernance } from '../governance/runtime.ts';
import { writeFileDurable } from '../release/durable.ts';
import { createWeb } from '../web/index.ts';
import { exposureWarnings, generateToken } from './auth.ts';
import { openQueue, openStore } from './backends.ts';
import type { LoadedServerConfig } from './config.ts';
import { createDestination, withReceipts } from './destinations/index.ts';
import { type HttpHandle, startHttp } from './http.ts';
import { DimseIngress } from './ingress/dimse.ts';
import { FolderIngress } from './ingress/folder.ts';
import { SpoolQuota } from './ingress/quota.ts';
import { Receiver } from './ingress/receiver.ts';
import { StowIngress } from './ingress/stow.ts';
import { createObservability, type Observability, type Role } from './observe.ts';
import { type PullManager, startPulls } from './pulls.ts';
import { createPooledSteps } from './release-pool.ts';
import { Spool } from './spool.ts';
import { outputOf } from './steps.ts';

export interface ServerOptions {
  readonly config: LoadedServerConfig;
  readonly key: Uint8Array;
  readonly role: Role;
  /** Overrides http.port (0: any free port). */
  readonly httpPort?: number | undefined;
  readonly obs?: Observability;
}

export interface ServerHandle {
  readonly role: Role;
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly runner: Runner;
  readonly obs: Observability;
  readonly spool: Spool;
  readonly http: HttpHandle | undefined;
  /** Ports the network ingresses listen on, by ingress name. */
  readonly ingressPorts: Readonly<Record<string, number>>;
  close(): Promise<void>;
}

/** An ingress, whatever its kind: recover its orphaned claims, start taking instances in, stop. */
interface Ingress {
  readonly name: string;
  recoverOrphans(): Promise<number>;
  /** Resolves with the port of a network ingress. */
  start(): Promise<number | undefined>;
  stop(): Promise<void>;
}

/** The network listeners this process opens, for the start-up exposure warning. */
function listenersOf(
  cfg: LoadedServerConfig['server'],
  takesIn: boolean,
): { name: string; host: string; tls: boolean; auth: boolean }[] {
  const out: { name: string; host: string; tls: boolean; auth: boolean }[] = [];
  for (const i of takesIn ? cfg.ingress : []) {
    if (i.kind === 'dimse') {
      out.push({
        name: i.name,
        host: i.host,
        tls: i.tls !== undefined,
        // Who may associate is known only with a client CA or user identities; an AE title is not a credential.
        auth: i.tls?.clientCa !== undefined || (i.userIdentity?.required ?? false),
      });
    } else if (i.kind === 'stow') {
      out.push({
        name: i.name,
        host: i.host,
        tls: i.tls !== undefined,
        auth: (i.auth?.tokens.length ?? 0) > 0 || (i.auth?.mtls === true && i.tls?.clientCa !== undefined),
      });
    }
  }
  if (cfg.http !== false) {
    const a = cfg.http.auth;
    out.push({
      name: 'http',
      host: cfg.http.host,
      tls: cfg.http.tls !== undefined,
      auth: (a?.tokens.length ?? 0) > 0 || (a?.mtls === true && cfg.http.tls?.clientCa !== undefined),
    });
  }
  return out;
}

/** Where a running server says how to reach it (`veil jobs --replay` with the embedded queue). */
export function runFilePath(spoolRoot: string, role: Role): string {
  return join(spoolRoot, 'run', `${role}.json`);
}

function writeRunFile(file: string, body: Record<string, unknown>): void {
  // 0600: the file holds this run's admin token (POST /admin/*), for local operators who can read the spool.
  writeFileDurable(file, JSON.stringify({ pid: process.pid, ...body }), { mode: 0o600 });
}

/** The pid of another live `veil serve` that wrote this run file, if any (a dead one's file is stale). */
function liveServer(file: string): number | undefined {
  let pid: number;
  try {
    pid = Number((JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown }).pid);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  // The pid may have been reused by something else since: on Linux, look at what it runs.
  const cmdline = `/proc/${pid}/cmdline`;
  if (existsSync(cmdline)) {
    try {
      if (!readFileSync(cmdline, 'utf8').split('\0').includes('serve')) return undefined;
    } catch {
      return undefined;
    }
  }
  return pid;
}

export function checkRole(config: LoadedServerConfig, role: Role): void {
  if (role === 'all') return;
  const s = config.server;
  if (s.queue.kind === 'embedded') {
    throw new CliError(
      EXIT_USAGE,
      `--role ${role} needs a shared queue (queue.kind: bullmq); embedded runs --role all`,
    );
  }
  if (s.store.kind === 'sqlite') {
    throw new CliError(
      EXIT_USAGE,
      `--role ${role} needs a shared store (store.kind: postgres); sqlite runs --role all`,
    );
  }
}

/**
 * Removes spool files whose job is done or purged (or, for outputs, gone), and temporaries older than tempAgeMs.
 * Quarantined, dead and unfinished jobs keep theirs.
 */
async function collectGarbage(store: JobStore, spool: Spool, tempAgeMs: number, now: number): Promise<number> {
  let removed = 0;
  const finished = (job: Job | undefined): boolean => job?.state === 'done' || job?.state === 'purged';
  for (const id of spool.listOutputs()) {
    const job = await store.getJob(id);
    if (!job || finished(job)) {
      spool.remove(spool.outputRel(id));
      removed++;
    }
  }
  for (const f of spool.listIncoming()) {
    if (finished(await store.getJob(f.jobId))) {
      spool.remove(f.rel);
      removed++;
    }
  }
  removed += spool.removeStaleTemporaries(now, tempAgeMs);
  return removed;
}

export async function startServer(o: ServerOptions): Promise<ServerHandle> {
  const { server: cfg, routes } = o.config;
  checkRole(o.config, o.role);
  const obs = o.obs ?? createObservability({ level: cfg.log.level, role: o.role });
  const { log } = obs;
  const spool = new Spool(cfg.spool);
  spool.init();
  const takesIn = o.role !== 'worker';
  const patientCopies = patientCopiesFor(o.config, o.key, {
    sweep: takesIn,
    onError: (code) => log.error({ event: 'patient_copy.error', code }, 'patient copy'),
  });
  const runFile = runFilePath(cfg.spool, o.role);
  const adminToken = generateToken();
  if (takesIn) {
    // One `all` (or one `ingress`) per deployment: two would break each other's leases and claims.
    const other = liveServer(runFile);
    if (other !== undefined) {
      throw new CliError(EXIT_USAGE, `another veil serve --role ${o.role} (pid ${other}) is running on this spool`);
    }
    writeRunFile(runFile, { host: null, port: null });
  }
  const store = await openStore(cfg.store);
  await store.init();
  // Consent at the deliver step, releases under contracts, signed audit checkpoints (governance/runtime.ts). Only a
  // process that takes data in holds the checkpoint signing key; workers never read it.
  const gov = await openGovernanceStore(cfg.store);
  await gov.init();
  const governance = startGovernance({
    config: o.config,
    gov,
    signingKey: o.role === 'worker' ? undefined : loadSigningKey(o.config),
    metrics: obs.metrics,
    log,
  });
  const queue = await openQueue(cfg.queue, {
    maxAttempts: 5,
    retryDelayMs: 1000,
    onError: (m, code) => log.error({ event: 'queue.dropped', kind: m.kind, jobId: m.jobId, code }, 'message dropped'),
  });
  const owner = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const destinations = new Map<string, Destination>(
    cfg.destinations.map(
      (d) =>
        [
          d.name,
          // What a network peer acknowledged (DIMSE status, HTTP status, ETag) goes to the job's audit log; a
          // folder acknowledges nothing beyond the delivery itself (delivery.delivered).
          d.kind === 'folder'
            ? createDestination(d)
            : withReceipts(createDestination(d), (item, r) =>
                store.appendAudit(
                  item.jobId,
                  { event: 'delivery.acknowledged', detail: { destination: d.name, peer: r.peer, ...r.acknowledged } },
                  Date.now(),
                ),
              ),
        ] as const,
    ),
  );
  const crosswalkPem = cfg.crosswalk ? loadCrosswalkPublicKey(cfg.crosswalk.publicKey) : undefined;
  // The processing steps (the one release path) run in worker threads with heap limits: see release-pool.ts.
  const pooled = createPooledSteps({
    spoolRoot: cfg.spool,
    deidInput: o.config.deid.deidInput,
    verifyLevels: o.config.deid.verifyLevels,
    key: o.key,
    routes,
    threads: o.role === 'ingress' ? 1 : cfg.processing.threads,
    maxOldGenerationSizeMb: cfg.processing.threadHeapMb,
    maxAttempts: cfg.processing.maxAttempts,
    duplicateUid: cfg.processing.duplicateUid,
    onFatal: (code) =>
      log.error({ event: 'release.threads.unavailable', code }, 'release threads cannot run; jobs wait until restart'),
  });
  // The encrypted crosswalk (governance/crosswalk-step.ts): identities sealed to crosswalk.publicKey, in the store.
  const steps = withCrosswalk(pooled.steps, { gov, projectKey: o.key, publicKeyPem: crosswalkPem });
  const outgoing = (job: Job): OutgoingInstance => {
    const out = outputOf(job);
    if (!out) throw Object.assign(new Error('no output'), { code: 'PIPELINE_NO_OUTPUT' });
    return {
      jobId: job.id,
      path: spool.path(out.path),
      size: out.size,
      sopInstanceUid: out.sopInstanceUid,
      sopClassUid: out.sopClassUid,
      transferSyntaxUid: out.transferSyntaxUid,
      studyKey: job.studyKey,
      hierarchy: out.hierarchy,
      ...(out.version ? { version: out.version } : {}),
    };
  };
  // Defacing (pixels.cleanRecognizableVisualFeatures): whole series once their study is stable (deface-series.ts),
  // in the process that runs the sweeper.
  let defacing: import('./deface-series.ts').ServeDefacing | undefined;
  // Pull jobs (POST /api/pulls, pulls.ts): they record what each delivered instance released, for the risk report.
  let pulls: PullManager | undefined;
  const runner = new Runner({
    store,
    queue,
    steps,
    destinations,
    routes,
    outgoing,
    owner,
    processing: {
      maxAttempts: cfg.processing.maxAttempts,
      leaseMs: cfg.processing.leaseSeconds * 1000,
      retryDelayMs: (n) => retryDelayMs(n, 1, 60),
    },
    delivery: {
      maxAttempts: cfg.delivery.maxAttempts,
      leaseMs: cfg.delivery.leaseSeconds * 1000,
      retryDelayMs: (n) => retryDelayMs(n, cfg.delivery.backoffSeconds, cfg.delivery.maxBackoffSeconds),
    },
    stableAfterMs: cfg.studies.stableAfterSeconds * 1000,
    onEvent: (e) => {
      obs.onRunnerEvent(e);
      governance.onRunnerEvent(e);
      defacing?.onRunnerEvent(e);
    },
    beforeSend: governance.beforeSend,
    // Only called after the commit that recorded the last delivery.
    onDone: async (job) => {
      await pulls?.onJobDone(job);
      // The original moves to the patient-copy store when portal.keepOriginalsDays asks (governance/patient-copies.ts).
      patientCopies.keep(job.id, spool.path(String(job.source.spool)));
      spool.remove(String(job.source.spool));
      spool.remove(spool.outputRel(job.id));
      defacing?.forget(job);
    },
  });
  if (takesIn && o.config.deid.deid.pixels?.cleanRecognizableVisualFeatures) {
    const [{ createServeDefacing }, { parseDefaceOptions }] = await Promise.all([
      import('./deface-series.ts'),
      import('../deface/options.ts'),
    ]);
    const { mode } = parseDefaceOptions(o.config.deid.deidInput.pixels);
    defacing = createServeDefacing({ store, runner, spool, log, mode, key: o.key });
  }
  obs.watch(queue, store);

  const ingresses: Ingress[] = [];
  const quota = new SpoolQuota({ root: cfg.spool, minFreeBytes: cfg.spoolQuota.minFreeBytes });
  pulls = await startPulls({ config: o.config, key: o.key, store, spool, runner, obs, takesIn, quota });
  for (const config of takesIn ? cfg.ingress : []) {
    const receiver = new Receiver({
      quota,
      ingress: config.name,
      transport: config.kind,
      spool,
      store,
      runner,
      routeName: routeFor(routes, config.name)?.name,
      obs,
    });
    if (config.kind === 'folder') {
      const folder = new FolderIngress({ config, spool, receiver, obs });
      ingresses.push({
        name: config.name,
        recoverOrphans: () => folder.recoverOrphans(),
        start: async () => {
          folder.start();
          return undefined;
        },
        stop: () => folder.stop(),
      });
    } else {
      const net =
        config.kind === 'dimse'
          ? new DimseIngress({ config, receiver, obs })
          : new StowIngress({ config, receiver, obs });
      ingresses.push({
        name: config.name,
        recoverOrphans: () => receiver.recoverOrphans(),
        start: () => net.start(),
        stop: () => net.stop(),
      });
    }
  }
  const ingressPorts: Record<string, number> = {};
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;
  let closed = false;
  let http: HttpHandle | undefined;

  try {
    if (takesIn) {
      const now = Date.now();
      if (o.role === 'all') {
        const broken = await store.breakLeases(now);
        if (broken > 0) log.warn({ event: 'recovery.leases', broken }, 'took over leases of a previous run');
      }
      // Alone (all), nothing else can be writing: every temporary is a crash's leftover.
      // Outputs of jobs done just before a crash: their quasi-identifiers are recorded before the spool drops them.
      await pulls.recoverDone();
      const removed = await collectGarbage(store, spool, o.role === 'all' ? 0 : 3_600_000, now);
      if (removed > 0) log.info({ event: 'recovery.spool', removed }, 'removed finished spool files');
      for (const ing of ingresses) await ing.recoverOrphans();
      await defacing?.recover();
      const offered = await runner.recover();
      if (offered > 0) log.info({ event: 'recovery.enqueued', messages: offered }, 'resumed unfinished work');
      const staleMs = Math.max(cfg.processing.leaseSeconds * 1000, cfg.sweepSeconds * 3000);
      // About every 10 s, the spool too: files of jobs finished by a process that died before removing them.
      const gcEvery = Math.max(1, Math.round(10 / cfg.sweepSeconds));
      let sweeps = 0;
      const sweep = (): void => {
        if (closed) return;
        const gc = ++sweeps % gcEvery === 0;
        sweeping = runner
          .sweep(staleMs)
          .then(async () => {
            // Temporaries: only old ones (a live worker's and a dead one's look alike by name).
            if (gc) await collectGarbage(store, spool, 600_000, Date.now());
          })
          .catch((e: unknown) => log.error({ event: 'sweep.error', code: errorCode(e) }, 'sweep failed'))
          .finally(() => {
            sweeping = undefined;
            if (!closed) sweepTimer = setTimeout(sweep, cfg.sweepSeconds * 1000);
          });
      };
      sweepTimer = setTimeout(sweep, cfg.sweepSeconds * 1000);
    }
    if (o.role !== 'ingress') {
      await queue.consume((m) => runner.handle(m), { concurrency: cfg.processing.concurrency });
    }
    for (const ing of ingresses) {
      const port = await ing.start();
      if (port !== undefined) ingressPorts[ing.name] = port;
    }
    for (const w of exposureWarnings(listenersOf(cfg, takesIn))) {
      log.warn({ event: 'security.exposed', detail: w }, 'listener exposed');
      process.stderr.write(`veil serve: WARNING: ${w}\n`);
    }
    if (cfg.http !== false) {
      http = await startHttp({
        tls: cfg.http.tls,
        auth: cfg.http.auth,
        allowedHosts: cfg.http.allowedHosts,
        adminToken,
        host: cfg.http.host,
        port: o.httpPort ?? cfg.http.port,
        role: o.role,
        obs,
        store,
        queue,
        runner,
        pulls,
        web: createWeb({ config: o.config, gov, store, runner, spool, key: o.key }),
      });
      if (takesIn) writeRunFile(runFile, { host: http.host, port: http.port, tls: http.tls, token: adminToken });
    }
  } catch (e) {
    closed = true;
    if (sweepTimer) clearTimeout(sweepTimer);
    for (const ing of ingresses) await ing.stop();
    await http?.close();
    await queue.close().catch(() => {});
    await pooled.close().catch(() => {});
    await pulls.close().catch(() => {});
    await governance.close().catch(() => {});
    await store.close().catch(() => {});
    if (takesIn) rmSync(runFile, { force: true });
    throw e;
  }
  await store.appendAudit(null, { event: 'server.started', detail: { role: o.role } }, Date.now());
  if (takesIn) await pulls.resume();
  log.info(
    {
      event: 'server.started',
      role: o.role,
      store: cfg.store.kind,
      queue: cfg.queue.kind,
      ingress: ingresses.map((i) => i.name),
      ports: ingressPorts,
      destinations: destinations.size,
      http: http ? `${http.host}:${http.port}` : null,
    },
    'veil serve started',
  );

  return {
    role: o.role,
    store,
    queue,
    runner,
    obs,
    spool,
    http,
    ingressPorts,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (sweepTimer) clearTimeout(sweepTimer);
      for (const ing of ingresses) await ing.stop();
      await sweeping;
      await defacing?.close();
      await queue.close();
      await pooled.close();
      for (const d of destinations.values()) await d.close?.();
      await http?.close();
      if (takesIn) rmSync(runFile, { force: true });
      await store.appendAudit(null, { event: 'server.stopped', detail: { role: o.role } }, Date.now()).catch(() => {});
      await pulls?.close();
      await governance.close();
      await store.close();
      log.info({ event: 'server.stopped', role: o.role }, 'veil serve stopped');
    },
  };
}
