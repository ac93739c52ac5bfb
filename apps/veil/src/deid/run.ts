/**
 * A `veil deid` run over files and folders: check paths, load key and configuration, list the inputs, process them
 * on a pool of worker threads, feed the crosswalk, write the report. Returns the exit code: 0 when every DICOM file
 * was written, 1 when some were quarantined or failed; usage and configuration errors throw CliError (2, 3).
 *
 * Example:
 *   const code = await runDeid({ inputs: ['in/'], out: 'out/', keyFile: 'veil.key', dryRun: false });
 */
import { availableParallelism } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { DefacePlan } from '../deface/prepass.ts';
import { type ActionCounts, ActionTally } from './action-tally.ts';
import { CliError, EXIT_CONFIG, EXIT_FAILURES, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE } from './cli-error.ts';
import type { Crosswalk } from './crosswalk.ts';
import { assertOutsideInputs, listInputs } from './inputs.ts';
import { keyId, loadKey } from './keys.ts';
import { runPool, WorkerStartError } from './pool.ts';
import { DEFAULT_MAX_PREVIEWS } from './previews.ts';
import type { FileContext } from './process-file.ts';
import { createProgress } from './progress.ts';
import type { Task, TaskResult, WorkerInit } from './protocol.ts';
import { RunReport, writeReport } from './report.ts';

/** Files per worker thread below which the default run adds no further worker (see below). */
const FILES_PER_WORKER = 400;

export interface DeidRunOptions {
  readonly inputs: readonly string[];
  readonly out?: string | undefined;
  readonly config?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly jobs?: number | undefined;
  /** V8 heap cap per worker thread in MiB (default DEFAULT_THREAD_HEAP_MB). */
  readonly threadHeapMb?: number | undefined;
  /** Run on the main thread, without a heap cap (`--inline`: for profiling and debugging only). */
  readonly inline?: boolean | undefined;
  readonly dryRun: boolean;
  readonly crosswalk?: string | undefined;
  /**
   * The crosswalk's own key (a separate file, `veil keygen`): the crosswalk is then encrypted with it, not with the
   * pseudonym key, so whoever holds only the pseudonym key cannot re-identify. Without it: the project key (older).
   */
  readonly crosswalkKeyFile?: string | undefined;
  readonly quarantine?: string | undefined;
  readonly report?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly stdout?: NodeJS.WriteStream;
  readonly stderr?: NodeJS.WriteStream;
  /** Show progress (default true). */
  readonly progress?: boolean;
}

/**
 * `--inline`: the work is done on the main thread, with no heap cap (a profiler or debugger sees it there). Yields now
 * and then so the progress bar keeps drawing.
 */
async function runInline(
  tasks: readonly Task[],
  init: WorkerInit,
  onResult: (t: Task, r: TaskResult) => void,
  onActions: (actions: ActionCounts) => void,
): Promise<void> {
  // Loaded here, not at the top: usage and key errors are reported before the core is loaded.
  const [{ parseDeidConfig }, { processFile }, { loadReleaseStages, loadFreeTextCleaner }] = await Promise.all([
    import('@veil/core'),
    import('./process-file.ts'),
    import('../release/stages.ts'),
  ]);
  const config = parseDeidConfig(init.deidInput);
  const ctx: FileContext = {
    config,
    stages: await loadReleaseStages(init.deidInput, config, { defacePlan: init.defacePlan }),
    keys: { key: init.key, cleanFreeText: await loadFreeTextCleaner(config) },
    layout: init.layout,
    outDir: init.outDir,
    quarantineDir: init.quarantineDir,
    dryRun: init.dryRun,
    identities: init.identities,
    verifyLevels: init.verifyLevels,
    previews: init.previews ? { reportDir: init.previews.reportDir, remaining: init.previews.perThread } : undefined,
    tally: new ActionTally(),
  };
  let lastYield = performance.now();
  for (const task of tasks) {
    let result: TaskResult;
    try {
      const r = processFile(task, ctx);
      result = r instanceof Promise ? await r : r;
    } catch {
      result = { id: task.id, outcome: 'error', code: 'INTERNAL_ERROR' };
    }
    onActions(ctx.tally!.take());
    onResult(task, result);
    // Back to the event loop now and then (the progress bar draws there), not after every file: a turn of the loop
    // costs about what a small file does.
    const now = performance.now();
    if (now - lastYield >= 50) {
      await new Promise<void>((r) => setImmediate(r));
      lastYield = now;
    }
  }
}

/** `<out>/../<out-name>.quarantine`. */
export function defaultQuarantineDir(out: string): string {
  const abs = resolve(out);
  return join(dirname(abs), `${basename(abs)}.quarantine`);
}

export async function runDeid(o: DeidRunOptions): Promise<number> {
  const stdout = o.stdout ?? process.stdout;
  const stderr = o.stderr ?? process.stderr;
  const started = new Date();
  if (o.inputs.length === 0) throw new CliError(EXIT_USAGE, 'give at least one input file or folder');
  if (o.out === undefined && !o.dryRun) throw new CliError(EXIT_USAGE, '--out DIR is required (or use --dry-run)');
  const jobs = o.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new CliError(EXIT_USAGE, '--jobs must be 1 to 256');
  const heap = o.threadHeapMb;
  if (heap !== undefined && (!Number.isInteger(heap) || heap < 64 || heap > 65_536))
    throw new CliError(EXIT_USAGE, '--thread-heap-mb must be 64 to 65536');

  const outDir = o.out === undefined ? undefined : resolve(o.out);
  const quarantineDir = outDir === undefined ? undefined : resolve(o.quarantine ?? defaultQuarantineDir(outDir));
  const reportDir = outDir === undefined ? undefined : resolve(o.report ?? outDir);
  if (!o.dryRun) {
    const outputs = [
      { flag: '--out', path: outDir! },
      { flag: '--quarantine', path: quarantineDir! },
      { flag: '--report', path: reportDir! },
    ];
    if (o.crosswalk !== undefined) outputs.push({ flag: '--crosswalk', path: resolve(o.crosswalk) });
    assertOutsideInputs(o.inputs, outputs);
  }

  const key = loadKey({
    keyFile: o.keyFile,
    env: o.env ?? process.env,
    warn: (m) => stderr.write(`veil deid: ${m}\n`),
  });
  const files = listInputs(o.inputs);
  const { loadRunConfig } = await import('./config.ts');
  const config = loadRunConfig(o.config);
  let crosswalk: Crosswalk | undefined;
  if (o.crosswalk !== undefined && !o.dryRun) {
    const { Crosswalk } = await import('./crosswalk.ts');
    if (o.crosswalkKeyFile !== undefined) {
      const cwKey = loadKey({ keyFile: o.crosswalkKeyFile, warn: (m) => stderr.write(`veil deid: ${m}\n`) });
      if (Buffer.from(cwKey).equals(Buffer.from(key))) {
        throw new CliError(EXIT_CONFIG, '--crosswalk-key-file holds the pseudonym key itself: make a separate one');
      }
      crosswalk = Crosswalk.open(o.crosswalk, cwKey, { create: true, keyKind: 'crosswalk' });
    } else {
      crosswalk = Crosswalk.open(o.crosswalk, key, { create: true });
    }
  }

  // Defacing needs whole series: a series pass before the per-file path (see deface/prepass.ts); its defaced pixels
  // wait in a private temporary folder, removed when the run ends.
  let defacePlan: DefacePlan | undefined;
  let defaceSpool: string | undefined;
  if (config.deid.pixels?.cleanRecognizableVisualFeatures) {
    const [{ planDefacing }, { parseDefaceOptions }, { mkdtempSync }, { tmpdir }] = await Promise.all([
      import('../deface/prepass.ts'),
      import('../deface/options.ts'),
      import('node:fs'),
      import('node:os'),
    ]);
    defaceSpool = mkdtempSync(join(tmpdir(), 'veil-deface-spool-'));
    defacePlan = await planDefacing(files, defaceSpool, {
      picDir: o.dryRun ? undefined : reportDir,
      mode: parseDefaceOptions(config.deidInput.pixels).mode,
      seriesKey: key,
    });
  }

  const init: WorkerInit = {
    defacePlan,
    deidInput: config.deidInput,
    layout: config.layout,
    key,
    outDir,
    quarantineDir,
    dryRun: o.dryRun,
    identities: crosswalk !== undefined,
    verifyLevels: config.verifyLevels,
  };
  const tasks: Task[] = files.map((f, id) => ({ id, path: f.path, rel: f.rel }));
  const report = new RunReport();
  // A worker thread costs ~0.15 s of start-up from the bundle (~0.6 s from source) plus its own JIT warm-up, about what
  // the main thread needs for a couple of hundred files: without an explicit --jobs, add workers only when each gets
  // enough files to repay it.
  const byDefault = o.jobs === undefined ? Math.floor(tasks.length / FILES_PER_WORKER) : jobs;
  const workers = Math.max(1, Math.min(jobs, byDefault, tasks.length));
  const progress = createProgress(tasks.length, stderr, (o.progress ?? true) && !(o.dryRun && stdout.isTTY));
  let sinceFlush = 0;

  const onResult = (task: Task, r: TaskResult): void => {
    report.add(task, r);
    if (o.dryRun) {
      const head =
        r.outcome === 'written'
          ? `${task.rel}: would write ${r.out ?? ''}`
          : r.outcome === 'skipped'
            ? `${task.rel}: would skip (not DICOM)`
            : `${task.rel}: would ${r.outcome === 'quarantined' ? 'quarantine' : 'fail'} (${r.code ?? ''}${r.tagPath ? ` at ${r.tagPath}` : ''})`;
      stdout.write(`${[head, ...(r.changes ?? []).map((c) => `  ${c}`)].join('\n')}\n`);
    }
    if (crosswalk && r.identity) {
      const i = r.identity;
      if (i.patientId !== undefined && i.pseudoPatientId !== undefined)
        crosswalk.put('patientId', i.patientId, i.pseudoPatientId);
      if (i.accession !== undefined && i.pseudoAccession !== undefined)
        crosswalk.put('accession', i.accession, i.pseudoAccession);
      if (i.studyUID !== undefined && i.pseudoStudyUID !== undefined)
        crosswalk.put('studyUID', i.studyUID, i.pseudoStudyUID);
      if (++sinceFlush >= 256) {
        crosswalk.flush();
        sinceFlush = 0;
      }
    }
    progress.tick({ quarantined: report.quarantinedCount, errors: report.errorCount });
  };

  try {
    // Even one worker is a thread with a heap cap: a file that exhausts memory where no parser cap reaches (a pixel
    // decoder's allocation...) ends that thread and is quarantined WORKER_CRASHED, never the whole run.
    // Thumbnails of redacted outputs for the report, the run's budget shared between the threads.
    const withPreviews: WorkerInit =
      o.dryRun || reportDir === undefined
        ? init
        : { ...init, previews: { reportDir, perThread: Math.ceil(DEFAULT_MAX_PREVIEWS / workers) } };
    const onActions = (a: ActionCounts): void => report.addActions(a);
    if (o.inline === true) await runInline(tasks, withPreviews, onResult, onActions);
    else await runPool(tasks, workers, withPreviews, onResult, { threadHeapMb: o.threadHeapMb, onActions });
  } catch (e) {
    if (e instanceof WorkerStartError)
      throw new CliError(EXIT_INTERNAL, `cannot start de-identification workers (${e.code})`);
    throw e;
  } finally {
    progress.stop();
    crosswalk?.close();
    if (defaceSpool !== undefined) (await import('node:fs')).rmSync(defaceSpool, { recursive: true, force: true });
  }

  const finished = new Date();
  const seconds = (finished.getTime() - started.getTime()) / 1000;
  const d = config.deid;
  const json = report.toJson(
    {
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      seconds,
      jobs: workers,
      dryRun: o.dryRun,
      keyId: keyId(key),
      layout: config.layout,
      inputs: o.inputs.length,
      crosswalk: crosswalk !== undefined,
      // A summary of the configuration: no override values, no lookup table (they can hold identities).
      config: {
        profile: d.profile,
        options: d.options,
        privateTags: d.privateTags,
        dates: d.dates,
        overrides: d.overrides.length,
        sopClassAllowList: d.sopClassAllowList?.length ?? null,
        lookupEntries: d.lookup?.size ?? 0,
      },
    },
    config.pixelText.enabled ? 'on' : 'off',
  );
  const c = json.counts;
  const rate = seconds > 0 ? c.processed / seconds : 0;
  let where = '';
  if (!o.dryRun && reportDir !== undefined) {
    const paths = writeReport(reportDir, json);
    where = `; report ${relative(process.cwd(), paths.html) || paths.html}`;
  }
  stderr.write(
    `veil deid: ${c.processed} files in ${seconds.toFixed(1)} s (${rate.toFixed(1)} files/s): ` +
      `${c.written} ${o.dryRun ? 'would be written' : 'written'}, ${c.skippedNonDicom} skipped (not DICOM), ` +
      `${c.quarantined} quarantined, ${c.errors} failed${where}\n`,
  );
  const px = json.pixels;
  stderr.write(
    px.stage === 'off'
      ? 'veil deid: pixels: burned-in text stage off (pixels.text.enabled: false): no image scanned or claimed clean\n'
      : `veil deid: pixels: ${px.scanned} image(s) scanned for burned-in text, ${px.redacted} redacted (${px.boxes} ` +
          `boxes)${px.passedUnscanned > 0 ? `, ${px.passedUnscanned} passed unscanned by configuration` : ''}\n`,
  );
  if (c.quarantined > 0 && !o.dryRun) stderr.write(`veil deid: quarantined files are in ${quarantineDir}\n`);
  if (json.outputCollisions > 0) {
    stderr.write(`veil deid: ${json.outputCollisions} output path(s) were produced twice (duplicate instances?)\n`);
  }
  return c.quarantined + c.errors > 0 ? EXIT_FAILURES : EXIT_OK;
}
