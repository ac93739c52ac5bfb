/**
 * Defacing in `veil serve` (pixels.cleanRecognizableVisualFeatures: true): whole series, once their study is stable.
 *
 * The gateway processes one instance per job, and a face can only be found in a whole series. So:
 *
 * 1. While no decision exists for an instance, the `pixels:deface` release stage (in the release worker threads, via
 *    defaceLookupFromDir) holds it back with DEFACE_PENDING. A held job is settled, so its study can become stable
 *    (studies.stableAfterSeconds of quiet, every job settled).
 * 2. When the Runner reports a study stable, this module (in the process that runs the sweeper: `all` or `ingress`)
 *    takes the study's jobs held with DEFACE_PENDING, runs the series pass of `veil deid` (planDefacing: grouping,
 *    detection, removal, verification of the re-read output) over their spooled inputs in a worker thread under the
 *    heap limit of processing.threadHeapMb (deface-worker.ts: the event loop keeps receiving meanwhile; a pass that
 *    exhausts the heap or crashes its thread leaves the jobs held, the process up), and writes one
 *    decision per SOP Instance UID under <spool>/deface/ (<sha256 of the UID>.json, with the defaced Pixel Data value
 *    and its change mask beside it).
 * 3. Each of those jobs is released by the system (quarantine state `released`, audit `deface.released`) back to the
 *    deidentify step: the one release path runs again, the stage now finds its decision: defaced (Pixel Data replaced,
 *    Recognizable Visual Features NO, code 113102, then the `pixels:deface-check` stage re-reads the planned pixels:
 *    no head voxel may remain in the face region), no face (RVF NO, no 113102), or quarantine with the series' code
 *    (DEFACE_UNCERTAIN, DEFACE_VERIFY_FAILED, DEFACE_COMPRESSED...). Nothing is acknowledged: any other finding still
 *    holds the file.
 *
 * A decision's files are removed when its job is done or purged (onDone in this process; for jobs finished by other
 * processes or while this one was down, before each study's pass and at start).
 * A late instance of a stable study reopens it and is decided with the other instances still pending then (alone, it
 * usually cannot be decided: DEFACE_UNCERTAIN). Jobs without a Study Instance UID have no study and stay held
 * (DEFACE_PENDING) for an operator.
 *
 * Example:
 *   const defacing = createServeDefacing({ store, runner, spool, log });
 *   onEvent: (e) => defacing.onRunnerEvent(e);  onDone: (job) => defacing.forget(job);
 *   await defacing.recover();  ...  await defacing.close();
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode, type Job, type JobStore, type JsonObject, type Runner, type RunnerEvent } from '@veil/pipeline';
import type { DefaceDecision, DefaceLookup } from '@veil/pixels/deface';
import type { DefaceMode } from '../deface/options.ts';
import { type DefacePlan, type DefacePlanEntry, entryDecision, sopKey } from '../deface/prepass.ts';
import { isTemporaryName, writeFileDurable } from '../release/durable.ts';
import { ThreadPool } from '../release/thread-pool.ts';
import type { DefacePassRequest } from './deface-worker.ts';

// From source (tsx), the worker starts through its .mjs entry, which registers tsx in the new thread; from the bundle
// (scripts/build.mjs), the bundled worker sits beside the bundled CLI.
const ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('./deface-worker-entry.mjs', import.meta.url)
  : new URL('./deface-worker.mjs', import.meta.url);

export const DEFACE_PENDING = 'DEFACE_PENDING';

interface Logger {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
  error(o: object, msg: string): void;
}

/** Where a spool's defacing decisions live. */
export function defaceDirOf(spoolRoot: string): string {
  return join(spoolRoot, 'deface');
}

/**
 * The decisions the release worker threads read: <dir>/<key>.json, its spooled files named relative to dir (a spool
 * mounted elsewhere by another worker process reads the same). No decision: held, DEFACE_PENDING.
 */
export function defaceLookupFromDir(dir: string): DefaceLookup {
  return {
    decision(sop: string): DefaceDecision {
      const key = sopKey(sop);
      let entry: DefacePlanEntry;
      try {
        entry = JSON.parse(readFileSync(join(dir, `${key}.json`), 'utf8')) as DefacePlanEntry;
      } catch {
        return { outcome: 'quarantine', series: '', code: DEFACE_PENDING, tagPath: '(7FE0,0010)' };
      }
      return entryDecision({
        ...entry,
        ...(entry.spool ? { spool: join(dir, entry.spool) } : {}),
        ...(entry.mask ? { mask: join(dir, entry.mask) } : {}),
      });
    },
  };
}

/** Whether a held job waits for its series pass (a DEFACE_PENDING finding in its quarantine record). */
export function isPendingDeface(job: Job): boolean {
  if (job.state !== 'quarantined') return false;
  const q = job.stepState.quarantine as { findings?: { code?: unknown }[] } | undefined;
  return Array.isArray(q?.findings) && q.findings.some((f) => f?.code === DEFACE_PENDING);
}

export interface ServeDefacingOptions {
  readonly store: JobStore;
  readonly runner: Runner;
  readonly spool: { readonly root: string; path(rel: string): string };
  readonly log: Logger;
  /** pixels.deface.mode (remove by default). */
  readonly mode?: DefaceMode | undefined;
  /** The project key: series are named in the log by a keyed hash of their UID. */
  readonly key?: Uint8Array | undefined;
  /** V8 old-generation heap limit of the pass's worker thread (MB; processing.threadHeapMb, at least 1024). */
  readonly threadHeapMb?: number | undefined;
}

export interface ServeDefacing {
  onRunnerEvent(e: RunnerEvent): void;
  /** A job is done or purged: its decision's files go. */
  forget(job: Job): void;
  /** At start: decisions of finished jobs removed; stable studies with held jobs (a crash mid-pass) decided now. */
  recover(): Promise<void>;
  /** Resolves when no pass is running or queued. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function createServeDefacing(o: ServeDefacingOptions): ServeDefacing {
  const dir = defaceDirOf(o.spool.root);
  const byJob = join(dir, 'jobs');
  mkdirSync(byJob, { recursive: true, mode: 0o700 });
  let chain: Promise<void> = Promise.resolve();
  let closed = false;
  const queued = new Set<string>();
  // One thread, started on the first pass (a 160-slice MR peaks near 430 MiB): passes run one at a time anyway.
  let pool: ThreadPool<DefacePassRequest, DefacePlan> | undefined;
  const plan = (request: DefacePassRequest): Promise<DefacePlan> => {
    pool ??= new ThreadPool<DefacePassRequest, DefacePlan>({
      entry: ENTRY,
      size: 1,
      workerData: null,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(o.threadHeapMb ?? 2048, 1024) },
    });
    return pool.run(request);
  };

  async function pendingJobs(studyKey: string | undefined): Promise<Job[]> {
    const out: Job[] = [];
    let afterId: string | undefined;
    for (;;) {
      const jobs = await o.store.listJobs({
        states: ['quarantined'],
        limit: 500,
        ...(afterId !== undefined ? { afterId } : {}),
      });
      for (const j of jobs) {
        if (isPendingDeface(j) && (studyKey === undefined ? j.studyKey !== null : j.studyKey === studyKey)) out.push(j);
      }
      if (jobs.length < 500) break;
      afterId = jobs[jobs.length - 1]!.id;
    }
    return out;
  }

  function removeDecision(key: string): void {
    for (const ext of ['json', 'pixels', 'mask']) rmSync(join(dir, `${key}.${ext}`), { force: true });
  }

  function writeAtomic(path: string, body: string): void {
    writeFileDurable(path, body, { mode: 0o600 });
  }

  /** Removes the decisions of jobs done or purged (a worker process that finished them has no onDone here). */
  async function collect(): Promise<void> {
    for (const id of readdirSync(byJob)) {
      // A write cut short by a crash: not a job id (its content names a live decision, so never forget() it).
      if (isTemporaryName(id)) {
        rmSync(join(byJob, id), { force: true });
        continue;
      }
      const job = await o.store.getJob(id);
      if (!job || job.state === 'done' || job.state === 'purged') forget(id);
    }
  }

  function forget(jobId: string): void {
    const link = join(byJob, jobId);
    try {
      removeDecision(readFileSync(link, 'utf8').trim());
    } catch {
      return; // no decision for this job
    }
    rmSync(link, { force: true });
  }

  async function passOver(studyKey: string): Promise<void> {
    await collect();
    const jobs = await pendingJobs(studyKey);
    if (jobs.length === 0) return;
    const started = process.hrtime.bigint();
    const files = jobs
      .map((j) => ({ job: j, path: o.spool.path(String(j.source.spool)) }))
      .filter((f) => existsSync(f.path));
    // The series pass writes <key>.pixels / <key>.mask into a fresh folder; they are moved beside the decisions.
    const work = join(dir, `tmp-${process.pid}-${Date.now()}`);
    let pass: DefacePlan;
    try {
      pass = await plan({
        files: files.map((f) => ({ path: f.path, rel: f.job.id })),
        work,
        ...(o.mode ? { mode: o.mode } : {}),
        ...(o.key ? { seriesKey: o.key } : {}),
      });
      for (const [key, entry] of Object.entries(pass.entries)) {
        const rel: Record<string, string> = {};
        for (const k of ['spool', 'mask'] as const) {
          const p = entry[k];
          if (p === undefined) continue;
          const name = `${key}.${k === 'spool' ? 'pixels' : 'mask'}`;
          renameSync(p, join(dir, name));
          rel[k] = name;
        }
        writeAtomic(join(dir, `${key}.json`), JSON.stringify({ ...entry, ...rel }));
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    // Which decision belongs to which job (removed when the job finishes), recorded before any job moves on.
    for (const [key, entry] of Object.entries(pass.entries)) {
      for (const id of entry.rels ?? []) writeAtomic(join(byJob, id), key);
    }
    for (const s of pass.series) {
      o.log.info(
        {
          event: 'deface.series',
          studyKey,
          series: s.series,
          files: s.files,
          outcome: s.outcome,
          ...(s.mode ? { mode: s.mode } : {}),
          ...(s.code ? { code: s.code } : {}),
          ...(s.reason ? { reason: s.reason } : {}),
          ...(s.noseMovedBackMm !== undefined ? { noseMovedBackMm: Math.round(s.noseMovedBackMm) } : {}),
          ...(s.changedVoxels !== undefined ? { changedVoxels: s.changedVoxels } : {}),
        },
        'series pass',
      );
    }
    // Each job back to the step that held it; the release path runs again with the decision in place.
    let released = 0;
    for (const { job } of files) {
      const q = job.stepState.quarantine as { step?: unknown } | undefined;
      const step = typeof q?.step === 'string' ? q.step : 'deidentify';
      const { quarantine: _held, ...rest } = job.stepState;
      const saved = await o.store.saveJob(
        job.id,
        { states: ['quarantined'] },
        {
          state: 'queued',
          step,
          attempts: 0,
          error: null,
          stepState: rest as JsonObject,
          quarantineState: 'released',
          audit: { event: 'deface.released', detail: { code: DEFACE_PENDING, step } },
        },
        Date.now(),
      );
      if (!saved) continue; // an operator acted on it meanwhile
      await o.runner.recoverJob(job.id);
      released++;
    }
    o.log.info(
      {
        event: 'deface.study',
        studyKey,
        jobs: jobs.length,
        released,
        series: pass.series.length,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      },
      'study defacing pass',
    );
  }

  function schedule(studyKey: string): void {
    if (closed || queued.has(studyKey)) return;
    queued.add(studyKey);
    chain = chain.then(async () => {
      queued.delete(studyKey);
      if (closed) return;
      try {
        await passOver(studyKey);
      } catch (e) {
        // The jobs stay held (DEFACE_PENDING): fail closed; a restart tries again (recover).
        o.log.error({ event: 'deface.error', studyKey, code: errorCode(e) }, 'study defacing pass failed');
      }
    });
  }

  return {
    onRunnerEvent(e) {
      if (e.type === 'study-stable') schedule(e.study.studyKey);
    },
    forget(job) {
      forget(job.id);
    },
    async recover() {
      await collect();
      for (const name of readdirSync(dir)) if (name.startsWith('tmp-')) rmSync(join(dir, name), { recursive: true });
      const studies = new Set((await pendingJobs(undefined)).map((j) => j.studyKey!));
      for (const key of studies) {
        if ((await o.store.getStudy(key))?.state === 'stable') schedule(key);
      }
    },
    idle: () => chain,
    async close() {
      closed = true;
      await chain;
      await pool?.close();
    },
  };
}
