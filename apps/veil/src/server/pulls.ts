/**
 * Pull jobs of the gateway: `POST /api/pulls` with a study list (the CSV of `veil pull`) and a source (a PACS,
 * `AE@host:port`, by C-FIND then C-MOVE to an SCP of this process or C-GET; or a DICOMweb base URL, QIDO-RS then
 * WADO-RS). For each row the studies are found and retrieved into the spool (spool/pulls/<id>/raw), and each
 * instance is taken in as if it had arrived on the named ingress: a job row, the ingress's route, the one release
 * path, its destinations, retries, quarantine. Progress: `GET /api/pulls/<id>` (rows found, not found, failed;
 * instances retrieved, delivered, quarantined). When every instance of a pull has settled, the batch's
 * re-identification risk report is written (risk-batch.ts) from the quasi-identifiers stored as each was delivered.
 *
 * Durable (PullStore, in the job store's database): the pull, its rows and the job of each instance. The job id of
 * an instance is derived from the pull and its SOP Instance UID (keyed hash), and recorded before the job is
 * committed, so a pull resumed after a crash retrieves its unfinished rows again and skips the instances already
 * taken in: each instance is one job, delivered once. The list (identifiable) is kept 0600 in the spool until every
 * row is done, then removed; the store holds line numbers, counts and codes only.
 *
 * Example:
 *   const pulls = await startPulls({ config, key, store, spool, runner, obs, takesIn: true });
 *   if (pulls.handles(url.pathname)) await pulls.handle(req, res, url);
 *   await pulls.resume();   // after start-up recovery: unfinished pulls go on
 */
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { scanFile } from '@veil/core';
import { describePart10 } from '@veil/dimse';
import {
  errorCode,
  type Job,
  type JobStore,
  type JsonObject,
  type PullRecord,
  type PullRow,
  type PullStore,
  type Runner,
  routeFor,
  type StoreConfig,
} from '@veil/pipeline';
import { openFileSource } from '../io/file-source.ts';
import { parseStudyList, StudyListError, type StudyRow } from '../pull/list.ts';
import { openDicomwebSource, openDimseSource, type PullSource } from '../pull/sources.ts';
import { instanceQuasiIdentifiers } from '../risk/quasi-identifiers.ts';
import type { LoadedServerConfig } from './config.ts';
import type { SpoolQuota } from './ingress/quota.ts';
import { Receiver } from './ingress/receiver.ts';
import type { Observability } from './observe.ts';
import { type BatchRisk, latestRiskReport, writeBatchRisk } from './risk-batch.ts';
import { fsyncPathAsync, type Spool } from './spool.ts';

export async function openPullStore(config: StoreConfig): Promise<PullStore> {
  if (config.kind === 'sqlite') {
    const { SqlitePullStore } = await import('@veil/store-sqlite');
    return new SqlitePullStore(config.path);
  }
  const { PostgresPullStore } = await import('@veil/store-postgres');
  return new PostgresPullStore({ connectionString: config.url, schema: config.schema });
}

export interface PullsOptions {
  readonly config: LoadedServerConfig;
  readonly key: Uint8Array;
  readonly store: JobStore;
  readonly spool: Spool;
  readonly runner: Runner;
  readonly obs: Observability;
  /** Only a process that takes data in runs pulls; every process records the quasi-identifiers of what it delivered. */
  readonly takesIn: boolean;
  readonly quota?: SpoolQuota | undefined;
  /** Opened by startPulls from the configuration when absent (tests pass their own). */
  readonly pullStore?: PullStore;
}

/** A pull request's settings (stored with the pull: no list values, no secrets). */
interface PullOptions {
  readonly mode: 'move' | 'get' | 'web';
  readonly ingress: string;
  readonly callingAe: string;
  readonly moveAe?: string;
  readonly movePort?: number;
  readonly timeoutSeconds: number;
  readonly k: number;
  readonly l: number;
  readonly rows: number;
}

const TERMINAL = new Set(['done', 'quarantined', 'dead', 'failed', 'purged']);
const DIGITS = '0123456789abcdefghjkmnpqrstvwxyz';

export class PullError extends Error {
  constructor(
    readonly code: string,
    readonly status = 400,
  ) {
    super(code);
    this.name = 'PullError';
  }
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // The HTML report holds released values (escaped): no script, nothing fetched.
    ...(type.startsWith('text/html')
      ? { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" }
      : {}),
  });
  // A string is sent as it is (a report file read from disk); anything else as JSON.
  res.end(typeof body === 'string' ? body : `${JSON.stringify(body)}\n`);
}

/** The request body, up to `limit` bytes (server.http.maxRequestBytes). */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new PullError('PULL_REQUEST_TOO_LARGE', 413);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseFrom(
  from: string,
): { kind: 'dimse'; ae: string; host: string; port: number } | { kind: 'web'; url: string } {
  if (/^https?:\/\/[^\s@]+$/.test(from)) return { kind: 'web', url: from };
  const m = /^([^@\s]{1,16})@([A-Za-z0-9.-]+):(\d{1,5})$/.exec(from);
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65_535) throw new PullError('PULL_BAD_SOURCE');
  return { kind: 'dimse', ae: m[1]!, host: m[2]!, port: Number(m[3]) };
}

const aeTitle = (v: unknown): string | undefined =>
  typeof v === 'string' && /^[\x21-\x5b\x5d-\x7e]([\x20-\x5b\x5d-\x7e]{0,14}[\x21-\x5b\x5d-\x7e])?$/.test(v)
    ? v
    : undefined;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.dcm'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export class PullManager {
  readonly #o: PullsOptions;
  readonly #pulls: PullStore;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  #settling = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  readonly #lastK = new Map<string, number>();

  constructor(o: PullsOptions, pulls: PullStore) {
    this.#o = o;
    this.#pulls = pulls;
    o.obs.metrics.gauge(
      'veil_risk_batch_k',
      'k-anonymity of the last risk report of each batch (pull job, destination day) this process wrote',
      ['batch'],
      async () => [...this.#lastK].map(([batch, k]) => [{ batch }, k] as const),
    );
  }

  get store(): PullStore {
    return this.#pulls;
  }

  handles(path: string): boolean {
    return path === '/api/pulls' || path.startsWith('/api/pulls/') || path.startsWith('/api/risk/');
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    try {
      if (req.method === 'POST' && path === '/api/pulls') {
        if (!this.#o.takesIn) throw new PullError('PULL_NOT_HERE', 409);
        const http = this.#o.config.server.http;
        const body = await readBody(req, http === false ? 4 * 1024 * 1024 : http.maxRequestBytes);
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          throw new PullError('PULL_BAD_JSON');
        }
        const p = await this.create(parsed as Record<string, unknown>);
        send(res, 202, await this.progress(p.id));
        return;
      }
      if (req.method === 'GET' && path === '/api/pulls') {
        const list = await this.#pulls.listPulls({ limit: 100 });
        send(res, 200, { pulls: list.map((p) => ({ id: p.id, state: p.state, createdAt: p.createdAt })) });
        return;
      }
      const m = /^\/api\/pulls\/([a-z0-9]{26})$/.exec(path);
      if (req.method === 'GET' && m) {
        const pr = await this.progress(m[1]!);
        if (!pr) send(res, 404, { error: 'PULL_NOT_FOUND' });
        else send(res, 200, pr);
        return;
      }
      if (req.method === 'POST' && path === '/api/risk/report') {
        if (!this.#o.takesIn) throw new PullError('PULL_NOT_HERE', 409);
        send(res, 200, { reported: await this.reportBatches(true) });
        return;
      }
      if (req.method === 'GET' && (path === '/api/risk/latest' || path === '/api/risk/latest.html')) {
        const latest = latestRiskReport(this.#o.spool.path('reports/risk'), path.endsWith('.html') ? 'html' : 'json');
        if (latest === undefined) send(res, 404, { error: 'RISK_NO_REPORT' });
        else send(res, 200, latest, path.endsWith('.html') ? 'text/html; charset=utf-8' : 'application/json');
        return;
      }
      send(res, 404, { error: 'NOT_FOUND' });
    } catch (e) {
      if (e instanceof PullError) send(res, e.status, { error: e.code });
      else if (e instanceof StudyListError) send(res, 400, { error: e.code, line: e.line, column: e.column ?? null });
      else throw e;
    }
  }

  /** Validates and records a pull request, then runs it (in the background, one pull at a time). */
  async create(body: Record<string, unknown>): Promise<PullRecord> {
    if (typeof body.from !== 'string') throw new PullError('PULL_BAD_SOURCE');
    const from = parseFrom(body.from);
    if (typeof body.list !== 'string') throw new PullError('PULL_NO_LIST');
    const rows = parseStudyList(body.list);
    const cfg = this.#o.config;
    const ingressName =
      typeof body.ingress === 'string'
        ? body.ingress
        : cfg.server.ingress.find((i) => routeFor(cfg.routes, i.name) !== undefined)?.name;
    if (ingressName === undefined || !cfg.server.ingress.some((i) => i.name === ingressName))
      throw new PullError('PULL_UNKNOWN_INGRESS');
    if (routeFor(cfg.routes, ingressName) === undefined) throw new PullError('PULL_INGRESS_UNROUTED');
    const mode = from.kind === 'web' ? 'web' : body.mode === 'get' ? 'get' : 'move';
    const callingAe = body.callingAe === undefined ? 'VEIL' : aeTitle(body.callingAe);
    if (callingAe === undefined) throw new PullError('PULL_BAD_AE_TITLE');
    const num = (v: unknown, dflt: number, min: number, max: number, code: string): number => {
      if (v === undefined) return dflt;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new PullError(code);
      return v;
    };
    let moveAe: string | undefined;
    let movePort: number | undefined;
    if (mode === 'move') {
      moveAe = aeTitle(body.moveAe);
      if (moveAe === undefined) throw new PullError('PULL_MOVE_AE_REQUIRED');
      movePort = num(body.movePort, 0, 1, 65_535, 'PULL_MOVE_PORT_REQUIRED');
      if (movePort === 0) throw new PullError('PULL_MOVE_PORT_REQUIRED');
    }
    const options: PullOptions = {
      mode,
      ingress: ingressName,
      callingAe,
      ...(moveAe !== undefined ? { moveAe } : {}),
      ...(movePort !== undefined ? { movePort } : {}),
      timeoutSeconds: num(body.timeoutSeconds, 30, 1, 3600, 'PULL_BAD_TIMEOUT'),
      k: num(body.k, cfg.server.risk.k, 2, 1000, 'PULL_BAD_K'),
      l: num(body.l, cfg.server.risk.l, 1, 1000, 'PULL_BAD_L'),
      rows: rows.length,
    };
    const now = Date.now();
    const id = newPullId(now);
    // The list holds identifiers: in the spool (which holds the originals anyway), 0600, until every row is done.
    const dir = this.#dir(id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'list.csv'), body.list, { mode: 0o600, flush: true });
    const source = from.kind === 'web' ? redactUrl(from.url) : body.from;
    const pull = await this.#pulls.createPull(
      { id, source, options: options as unknown as JsonObject, lines: rows.map((r) => r.line) },
      now,
    );
    await this.#o.store.appendAudit(
      null,
      {
        event: 'pull.created',
        actor: typeof body.operator === 'string' ? `api:${body.operator.slice(0, 64)}` : 'api',
        detail: { pull: id, rows: rows.length, mode, ingress: ingressName },
      },
      now,
    );
    this.#o.obs.log.info({ event: 'pull.created', pull: id, rows: rows.length, mode }, 'pull created');
    this.#schedule(id);
    return pull;
  }

  /** Unfinished pulls go on (after the server's start-up recovery); settled ones are checked now and then. */
  async resume(): Promise<void> {
    for (const p of await this.#pulls.listPulls({ state: 'running' })) {
      this.#o.obs.log.info({ event: 'pull.resumed', pull: p.id }, 'pull resumed');
      this.#schedule(p.id);
    }
    const tick = (): void => {
      if (this.#closed) return;
      void this.#settleAll()
        .catch((e: unknown) => this.#o.obs.log.error({ event: 'pull.error', code: errorCode(e) }, 'settle failed'))
        .finally(() => {
          if (!this.#closed) this.#timer = setTimeout(tick, 1000);
        });
    };
    this.#timer = setTimeout(tick, 200);
  }

  /** Called (by the Runner's onDone) after a job's last delivery and before its output leaves the spool. */
  async onJobDone(job: Job): Promise<void> {
    const path = this.#o.spool.path(this.#o.spool.outputRel(job.id));
    let qi: JsonObject;
    try {
      const src = openFileSource(path);
      try {
        qi = instanceQuasiIdentifiers(scanFile(src)) as unknown as JsonObject;
      } finally {
        src.close();
      }
    } catch (e) {
      this.#o.obs.log.warn({ event: 'risk.qi_missing', jobId: job.id, code: errorCode(e) }, 'no quasi-identifiers');
      return;
    }
    const row = JSON.parse(JSON.stringify(qi)) as JsonObject;
    try {
      // By job id, whatever the job's facts say (a job recovered from an orphaned spool file has lost them).
      await this.#pulls.setInstanceQi(job.id, row);
      // The day batches: each destination of the job's route, by the UTC day its last delivery was recorded.
      const now = Date.now();
      const day = new Date(job.finishedAt ?? now).toISOString().slice(0, 10);
      for (const d of this.#o.config.routes.find((r) => r.name === job.route)?.to ?? [])
        await this.#pulls.addRiskRow(`day-${day}-${d.replace(/[^A-Za-z0-9._-]/g, '_')}`, job.id, row, now);
    } catch (e) {
      // Never in the way of the job's own clean-up: the batch report counts it as uncaptured.
      this.#o.obs.log.error({ event: 'risk.qi_not_stored', jobId: job.id, code: errorCode(e) }, 'not stored');
    }
  }

  /**
   * At start, before the spool's clean-up: the outputs still there of jobs done before a crash (done committed,
   * onDone never ran) have their quasi-identifiers recorded, as onDone would have.
   */
  async recoverDone(): Promise<number> {
    let n = 0;
    for (const id of this.#o.spool.listOutputs()) {
      const job = await this.#o.store.getJob(id);
      if (job?.state !== 'done') continue;
      await this.onJobDone(job);
      n++;
    }
    if (n > 0) this.#o.obs.log.info({ event: 'risk.recovered', jobs: n }, 'quasi-identifiers of done jobs recorded');
    return n;
  }

  /**
   * Reports the batches with rows no report covered yet: every such batch when `all` (POST /api/risk/report), else
   * only day batches of days that have ended (UTC).
   */
  async reportBatches(all: boolean): Promise<BatchRisk[]> {
    const today = `day-${new Date().toISOString().slice(0, 10)}`;
    const out: BatchRisk[] = [];
    const { k, l } = this.#o.config.server.risk;
    for (const b of await this.#pulls.listUnreportedBatches()) {
      if (!all && b.batch.slice(0, today.length) >= today) continue;
      const rows = await this.#pulls.listRiskRows(b.batch);
      const risk = await writeBatchRisk({
        root: this.#o.spool.path('reports/risk'),
        batch: b.batch,
        instances: rows.map((r) => ({ line: 0, jobId: r.jobId, qi: r.qi })),
        delivered: rows.length,
        k,
        l,
      });
      if (!risk) continue;
      this.#reported(risk);
      await this.#pulls.markBatchReported(b.batch, rows.length, Date.now(), JSON.parse(JSON.stringify(risk)));
      await this.#o.store.appendAudit(
        null,
        { event: 'risk.reported', detail: { batch: b.batch, k: risk.k, records: risk.records, files: risk.files } },
        Date.now(),
      );
      out.push(risk);
    }
    return out;
  }

  /** The metric and, under the threshold, the warning of a written batch report. */
  #reported(risk: BatchRisk): void {
    this.#lastK.set(risk.batch, risk.k);
    if (!risk.belowThreshold) return;
    this.#o.obs.log.warn(
      { event: 'risk.below_threshold', batch: risk.batch, k: risk.k, threshold: risk.threshold, atRisk: risk.atRisk },
      're-identification risk: k under the threshold',
    );
    process.stderr.write(
      `veil serve: WARNING: batch ${risk.batch}: k = ${risk.k} under the threshold ${risk.threshold} (${risk.atRisk} of ${risk.records} records at risk); report ${risk.html}\n`,
    );
  }

  async progress(id: string): Promise<Record<string, unknown> | undefined> {
    const p = await this.#pulls.getPull(id);
    if (!p) return undefined;
    const rows = await this.#pulls.listRows(id);
    const jobs = await this.#pulls.countJobs(id);
    const count = (s: PullRow['status']): number => rows.filter((r) => r.status === s).length;
    const instances = Object.values(jobs).reduce((a, b) => a + b, 0);
    return {
      id: p.id,
      state: p.state,
      source: p.source,
      options: p.options,
      createdAt: new Date(p.createdAt).toISOString(),
      finishedAt: p.finishedAt === null ? null : new Date(p.finishedAt).toISOString(),
      rows: {
        total: rows.length,
        pending: count('pending'),
        found: count('retrieved') + count('failed'),
        retrieved: count('retrieved'),
        notFound: count('not-found'),
        failed: count('failed'),
      },
      notFoundLines: rows.filter((r) => r.status === 'not-found').map((r) => r.line),
      failedLines: rows.filter((r) => r.status === 'failed').map((r) => ({ line: r.line, error: r.error ?? null })),
      studies: rows.reduce((a, r) => a + r.studies, 0),
      retrieved: instances,
      delivered: jobs.done ?? 0,
      quarantined: jobs.quarantined ?? 0,
      inProgress: instances - [...TERMINAL].reduce((a, s) => a + (jobs[s] ?? 0), 0),
      jobs,
      risk: p.risk,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#chain.catch(() => {});
    await this.#pulls.close();
  }

  #dir(id: string): string {
    return this.#o.spool.path(`pulls/${id}`);
  }

  #schedule(id: string): void {
    this.#chain = this.#chain
      .then(() => (this.#closed ? undefined : this.#run(id)))
      .catch((e: unknown) => this.#o.obs.log.error({ event: 'pull.error', pull: id, code: errorCode(e) }, 'pull'));
  }

  /** Job id of an instance of a pull: the pull's time, then a keyed hash of pull id and SOP Instance UID. */
  #jobIdFor(p: PullRecord, sopInstanceUid: string): string {
    let time = '';
    let t = p.createdAt;
    for (let i = 0; i < 10; i++) {
      time = DIGITS[t % 32]! + time;
      t = Math.floor(t / 32);
    }
    const mac = createHmac('sha256', this.#o.key).update(`veil-pull-job\0${p.id}\0${sopInstanceUid}`).digest();
    let rand = '';
    for (const b of mac.subarray(0, 16)) rand += DIGITS[b & 31]!;
    return time + rand;
  }

  async #run(id: string): Promise<void> {
    const p = await this.#pulls.getPull(id);
    if (p?.state !== 'running') return;
    const opts = p.options as unknown as PullOptions;
    const dir = this.#dir(id);
    const listPath = join(dir, 'list.csv');
    const rows: StudyRow[] = existsSync(listPath) ? parseStudyList(readFileSync(listPath, 'utf8')) : [];
    const states = new Map((await this.#pulls.listRows(id)).map((r) => [r.line, r]));
    const todo = rows.filter((r) => states.get(r.line)?.status === 'pending');
    const log = this.#o.obs.log;
    if (todo.length > 0) {
      const receiver = new Receiver({
        quota: this.#o.quota,
        ingress: opts.ingress,
        transport: 'pull',
        spool: this.#o.spool,
        store: this.#o.store,
        runner: this.#o.runner,
        routeName: routeFor(this.#o.config.routes, opts.ingress)?.name,
        obs: this.#o.obs,
      });
      const from = parseFrom(p.source);
      const timeoutMs = opts.timeoutSeconds * 1000;
      let source: PullSource;
      try {
        source =
          from.kind === 'web'
            ? openDicomwebSource({ url: from.url, token: sourceToken(this.#o.config, from.url), timeoutMs })
            : await openDimseSource({
                ...from,
                callingAe: opts.callingAe,
                moveAe: opts.moveAe,
                movePort: opts.movePort,
                get: opts.mode === 'get',
                timeoutMs,
              });
      } catch (e) {
        log.error({ event: 'pull.source', pull: id, code: errorCode(e) }, 'cannot open the source');
        // Not a row's fault: the pull stays running and is tried again at the next start.
        return;
      }
      try {
        for (const row of todo) {
          if (this.#closed) return;
          const rs = await this.#row(p, row, source, receiver);
          await this.#pulls.saveRow(id, rs, Date.now());
          log.info(
            {
              event: 'pull.row',
              pull: id,
              line: row.line,
              status: rs.status,
              studies: rs.studies,
              instances: rs.instances,
              ...(rs.error ? { code: rs.error } : {}),
            },
            'pull row',
          );
        }
      } finally {
        await source.close();
      }
    }
    const all = await this.#pulls.listRows(id);
    if (all.some((r) => r.status === 'pending')) return;
    rmSync(join(dir, 'raw'), { recursive: true, force: true });
    rmSync(listPath, { force: true });
    await this.#pulls.setPullState(id, 'retrieved', Date.now());
    await this.#o.store.appendAudit(
      null,
      {
        event: 'pull.retrieved',
        detail: {
          pull: id,
          rows: all.length,
          notFound: all.filter((r) => r.status === 'not-found').length,
          failed: all.filter((r) => r.status === 'failed').length,
          instances: all.reduce((a, r) => a + r.instances, 0),
        },
      },
      Date.now(),
    );
  }

  /** Finds and retrieves one row, and takes each new instance in. */
  async #row(p: PullRecord, row: StudyRow, source: PullSource, receiver: Receiver): Promise<PullRow> {
    const base = join(this.#dir(p.id), 'raw', `row-${row.line}`);
    rmSync(base, { recursive: true, force: true });
    const rs = { line: row.line, status: 'pending' as PullRow['status'], studies: 0, instances: 0, failedInstances: 0 };
    try {
      const studies = await source.find(row);
      rs.studies = studies.length;
      if (studies.length === 0) return { ...rs, status: 'not-found' };
      for (const [s, uid] of studies.entries()) {
        const dir = join(base, `study-${s + 1}`);
        const r = await source.retrieve(uid, dir);
        rs.instances += r.written;
        rs.failedInstances += r.failed;
        for (const file of filesUnder(dir)) await this.#takeIn(p, row.line, file, receiver);
      }
      rmSync(base, { recursive: true, force: true });
      if (rs.instances > 0 && rs.failedInstances === 0) return { ...rs, status: 'retrieved' };
      return {
        ...rs,
        status: 'failed',
        error: rs.instances === 0 ? 'PULL_NOTHING_RETRIEVED' : 'PULL_SUBOPERATIONS_FAILED',
      };
    } catch (e) {
      return { ...rs, status: 'failed', error: errorCode(e) };
    }
  }

  async #takeIn(p: PullRecord, line: number, file: string, receiver: Receiver): Promise<void> {
    let sop: string;
    const src = openFileSource(file);
    try {
      sop = describePart10(src).sopInstanceUid;
    } finally {
      src.close();
    }
    const jobId = this.#jobIdFor(p, sop);
    // Recorded before the job: a crash in between leaves a record whose job the resumed row creates.
    await this.#pulls.addInstance(p.id, line, jobId, Date.now());
    const rel = this.#o.spool.incomingRel(receiver.ingress, jobId);
    // Taken in before a crash (or the same instance twice in one list): one job, one delivery.
    if ((await this.#o.store.getJob(jobId)) || existsSync(this.#o.spool.path(rel))) {
      rmSync(file, { force: true });
      return;
    }
    const dest = this.#o.spool.path(rel);
    await this.#o.spool.ensureDir(dirname(dest));
    const size = statSync(file).size;
    renameSync(file, dest);
    await fsyncPathAsync(dirname(dest));
    await receiver.accept(jobId, rel, size, { pull: p.id, row: String(line) });
  }

  async #settleAll(): Promise<void> {
    await this.reportBatches(false);
    for (const p of await this.#pulls.listPulls({ state: 'retrieved' })) {
      if (this.#settling.has(p.id)) continue;
      this.#settling.add(p.id);
      try {
        await this.#settle(p);
      } finally {
        this.#settling.delete(p.id);
      }
    }
  }

  /** Once every instance of a retrieved pull is settled: the batch's risk report, then done. */
  async #settle(p: PullRecord): Promise<void> {
    const jobs = await this.#pulls.countJobs(p.id);
    // Every row is done: an instance recorded without a job (its take-in failed, the row with it) gets none now.
    if (Object.entries(jobs).some(([s, n]) => n > 0 && !TERMINAL.has(s) && s !== 'missing')) return;
    const opts = p.options as unknown as PullOptions;
    const instances = await this.#pulls.listInstances(p.id);
    const risk: BatchRisk | undefined = await writeBatchRisk({
      root: this.#o.spool.path('reports/risk'),
      batch: `pull-${p.id}`,
      instances,
      delivered: jobs.done ?? 0,
      k: opts.k,
      l: opts.l,
    });
    const now = Date.now();
    if (risk) this.#reported(risk);
    const summary = risk ? (JSON.parse(JSON.stringify(risk)) as JsonObject) : undefined;
    await this.#pulls.setPullState(p.id, 'done', now, summary);
    await this.#o.store.appendAudit(
      null,
      {
        event: 'pull.done',
        detail: {
          pull: p.id,
          delivered: jobs.done ?? 0,
          quarantined: jobs.quarantined ?? 0,
          ...(risk ? { k: risk.k, records: risk.records, belowThreshold: risk.belowThreshold } : {}),
        },
      },
      now,
    );
    this.#o.obs.log.info({ event: 'pull.done', pull: p.id, delivered: jobs.done ?? 0 }, 'pull done');
  }
}

function newPullId(now: number): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = DIGITS[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  for (const b of randomBytes(16)) rand += DIGITS[b & 31]!;
  return time + rand;
}

/**
 * The bearer token for a DICOMweb source from server.pulls.dicomweb (the longest configured URL the source is or is
 * under), read from its file now; undefined when none is configured. PULL_SOURCE_TOKEN_UNREADABLE when the file
 * cannot be read or is empty (the pull is tried again at the next start).
 */
export function sourceToken(config: LoadedServerConfig, url: string): string | undefined {
  const trim = (u: string): string => u.replace(/\/+$/, '');
  const target = trim(url);
  const entry = config.server.pulls.dicomweb
    .filter((s) => target === trim(s.url) || target.startsWith(`${trim(s.url)}/`))
    .sort((a, b) => b.url.length - a.url.length)[0];
  if (entry === undefined) return undefined;
  let token: string | undefined;
  try {
    token = readFileSync(entry.tokenFile, 'utf8').split(/\r?\n/)[0]?.trim();
  } catch {
    token = undefined;
  }
  if (!token) throw new PullError('PULL_SOURCE_TOKEN_UNREADABLE', 500);
  return token;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

export async function startPulls(o: PullsOptions): Promise<PullManager> {
  const store = o.pullStore ?? (await openPullStore(o.config.server.store));
  await store.init();
  return new PullManager(o, store);
}
