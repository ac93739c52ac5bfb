/**
 * `veil pull`: for each row of a study list, find the studies on a PACS (C-FIND) or DICOMweb server (QIDO-RS),
 * retrieve them (C-MOVE to this process's SCP, C-GET, or WADO-RS) into a work folder, de-identify them exactly as
 * `veil deid` does (the same run, the same configuration, key and crosswalk options), and deliver the outputs to
 * TARGET (a folder, dicom://, http(s):// STOW-RS, s3://). Then a report: rows found, not found, failed; deliveries.
 *
 * Resumable: a state file in the work folder (written atomically after every row and every delivery) records what
 * is done; after a crash the next run with the same list skips rows already retrieved and instances already
 * delivered, retrieves a half-retrieved row again from scratch, and de-identifies again when anything new came in
 * (the outputs are deterministic for a key). An instance delivered but not yet recorded is sent again: every
 * destination is idempotent per SOP Instance UID, so the target ends with one copy.
 *
 * The work folder holds identifiable data (the retrieved originals in raw/); it is removed once every row is done
 * and every output delivered, unless --keep-work. Reports and progress name rows by line number, never by value.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { findElement, readString, scanFile } from '@veil/core';
import { describePart10 } from '@veil/dimse';
import {
  ConfigError,
  DeliveryError,
  type Destination,
  type OutgoingInstance,
  parseDestinationConfig,
} from '@veil/pipeline';
import { CliError, EXIT_CONFIG, EXIT_FAILURES, EXIT_OK, EXIT_USAGE } from '../deid/cli-error.ts';
import { loadKey } from '../deid/keys.ts';
import { runDeid } from '../deid/run.ts';
import { openFileSource } from '../io/file-source.ts';
import { writeFileDurable } from '../release/durable.ts';
import { buildRiskReport, writeRiskReport } from '../risk/run.ts';
import { createDestination, resolveDestinationPaths } from '../server/destinations/index.ts';
import { parseStudyList, StudyListError, type StudyRow } from './list.ts';
import { openDicomwebSource, openDimseSource, type PullSource } from './sources.ts';

export interface PullOptions {
  readonly from: string;
  readonly list: string;
  readonly to: string;
  /** A JSON file with more settings of the target (s3 endpoint and credentials file, STOW auth, TLS...). */
  readonly toConfig?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly config?: string | undefined;
  readonly crosswalk?: string | undefined;
  readonly work: string;
  readonly callingAe: string;
  readonly moveAe?: string | undefined;
  readonly movePort?: number | undefined;
  readonly moveHost?: string | undefined;
  readonly get: boolean;
  /** Bearer token file for a DICOMweb --from. */
  readonly fromTokenFile?: string | undefined;
  readonly timeoutSeconds: number;
  readonly keepWork: boolean;
  readonly jobs?: number | undefined;
}

type RowStatus = 'pending' | 'retrieved' | 'not-found' | 'failed';

interface RowState {
  status: RowStatus;
  studies: number;
  instances: number;
  failedInstances: number;
  error?: string;
}

interface PullState {
  version: 1;
  /** sha256 of the list file: a different list in the same work folder is refused. */
  list: string;
  rows: Record<string, RowState>;
  deid: { done: boolean; exitCode: number | null };
  /** Output path (relative to out/) -> what the target acknowledged. */
  delivered: Record<string, Record<string, string | number | boolean>>;
}

export interface PullReport {
  readonly tool: 'veil pull';
  readonly reportVersion: 1;
  readonly rows: readonly ({ readonly line: number } & RowState)[];
  readonly notFound: readonly number[];
  readonly failedRows: readonly number[];
  readonly studies: number;
  readonly retrieved: number;
  readonly deidExitCode: number | null;
  readonly outputs: number;
  readonly delivered: number;
  readonly deliveryFailures: readonly { readonly file: string; readonly code: string }[];
  readonly target: string;
  /** Re-identification risk of the released outputs (details in <work>/risk-report.html), per study, k = 5. */
  readonly risk: { readonly k: number; readonly records: number; readonly uniqueRecords: number } | null;
}

/** The pull's state and report: durable (the state says what was already taken in when a pull resumes). */
function writeAtomic(path: string, text: string): void {
  writeFileDurable(path, text);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

const SAFE = (s: string | undefined): string => (s ?? 'unknown').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || '_';

/** What a destination is given for one de-identified output (values read from the output itself). */
function outgoing(path: string, rel: string): OutgoingInstance {
  const src = openFileSource(path);
  try {
    const info = describePart10(src);
    const ds = scanFile(src).dataset;
    const text = (tag: number): string | undefined => {
      const el = findElement(ds, tag);
      return el ? readString(el).trim() || undefined : undefined;
    };
    return {
      jobId: createHash('sha256').update(rel).digest('hex').slice(0, 16),
      path,
      size: statSync(path).size,
      sopInstanceUid: info.sopInstanceUid,
      sopClassUid: info.sopClassUid,
      transferSyntaxUid: info.transferSyntaxUid,
      studyKey: text(0x0020000d) ?? null,
      hierarchy: [text(0x00100020), text(0x0020000d), text(0x0020000e)].map(SAFE).join('/'),
    };
  } finally {
    src.close();
  }
}

function parseFrom(
  from: string,
): { kind: 'dimse'; ae: string; host: string; port: number } | { kind: 'web'; url: string } {
  if (/^https?:\/\//.test(from)) return { kind: 'web', url: from };
  const m = /^([^@]{1,16})@([A-Za-z0-9.-]+):(\d{1,5})$/.exec(from);
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65_535)
    throw new CliError(EXIT_USAGE, '--from must be AE@host:port or an http(s) DICOMweb base URL');
  return { kind: 'dimse', ae: m[1]!, host: m[2]!, port: Number(m[3]) };
}

function targetConfig(o: PullOptions): ReturnType<typeof parseDestinationConfig> {
  let extra: Record<string, unknown> = {};
  if (o.toConfig !== undefined) {
    try {
      extra = JSON.parse(readFileSync(o.toConfig, 'utf8')) as Record<string, unknown>;
    } catch {
      throw new CliError(EXIT_CONFIG, `--to-config ${o.toConfig}: not a readable JSON object`);
    }
  }
  const isDicom = o.to.startsWith('dicom://');
  try {
    const parsed = parseDestinationConfig({
      ...(isDicom ? { callingAeTitle: o.callingAe } : {}),
      ...extra,
      name: 'target',
      url: o.to,
    });
    return resolveDestinationPaths(process.cwd(), parsed);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(EXIT_USAGE, `--to: ${e.message}`);
    throw e;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function deliverOne(
  dest: Destination,
  item: OutgoingInstance,
): Promise<Record<string, string | number | boolean>> {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await dest.send(item);
      return r ? { peer: r.peer, ...r.acknowledged } : { delivered: true };
    } catch (e) {
      const permanent = e instanceof DeliveryError && e.permanent;
      if (permanent || attempt >= 4) throw e;
      await sleep(500 * 2 ** (attempt - 1));
    }
  }
}

export async function runPull(o: PullOptions): Promise<number> {
  const log = (line: string): void => {
    process.stderr.write(`veil pull: ${line}\n`);
  };
  const from = parseFrom(o.from);
  if (from.kind === 'dimse' && !o.get && (o.moveAe === undefined || o.movePort === undefined))
    throw new CliError(EXIT_USAGE, 'C-MOVE needs --move-ae TITLE and --move-port N (or use --get)');
  let listText: string;
  try {
    listText = readFileSync(o.list, 'utf8');
  } catch (e) {
    throw new CliError(EXIT_USAGE, `--list ${o.list}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  let rows: StudyRow[];
  try {
    rows = parseStudyList(listText);
  } catch (e) {
    if (e instanceof StudyListError) throw new CliError(EXIT_USAGE, `--list: ${e.message}`);
    throw e;
  }
  // Key and target are checked before anything is pulled.
  loadKey({ keyFile: o.keyFile, warn: (m) => log(m) });
  const target = targetConfig(o);

  const work = resolve(o.work);
  const raw = join(work, 'raw');
  const out = join(work, 'out');
  mkdirSync(work, { recursive: true, mode: 0o700 });
  const statePath = join(work, 'pull-state.json');
  const listHash = createHash('sha256').update(listText).digest('hex');
  let state: PullState;
  if (existsSync(statePath)) {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as PullState;
    if (state.list !== listHash)
      throw new CliError(EXIT_USAGE, `the work folder ${o.work} belongs to another list: use another --work`);
    log(`resuming from ${statePath}`);
  } else {
    state = { version: 1, list: listHash, rows: {}, deid: { done: false, exitCode: null }, delivered: {} };
  }
  const save = (): void => writeAtomic(statePath, `${JSON.stringify(state)}\n`);

  // 1. Find and retrieve, row by row.
  const pending = rows.filter((r) => !['retrieved', 'not-found'].includes(state.rows[r.line]?.status ?? 'pending'));
  if (pending.length > 0) {
    let source: PullSource;
    const timeoutMs = o.timeoutSeconds * 1000;
    if (from.kind === 'web') {
      let token: string | undefined;
      if (o.fromTokenFile !== undefined) token = readFileSync(o.fromTokenFile, 'utf8').split(/\r?\n/)[0]?.trim();
      source = openDicomwebSource({ url: from.url, token, timeoutMs });
    } else {
      try {
        source = await openDimseSource({
          ...from,
          callingAe: o.callingAe,
          moveAe: o.moveAe,
          movePort: o.movePort,
          moveHost: o.moveHost,
          get: o.get,
          timeoutMs,
        });
      } catch (e) {
        throw new CliError(EXIT_CONFIG, `cannot listen for C-MOVE on port ${o.movePort}: ${codeOf(e)}`);
      }
    }
    try {
      for (const [i, row] of rows.entries()) {
        const prior = state.rows[row.line];
        if (prior && (prior.status === 'retrieved' || prior.status === 'not-found')) continue;
        const dir = join(raw, `row-${row.line}`);
        rmSync(dir, { recursive: true, force: true });
        const rs: RowState = { status: 'pending', studies: 0, instances: 0, failedInstances: 0 };
        try {
          const studies = await source.find(row);
          rs.studies = studies.length;
          if (studies.length === 0) rs.status = 'not-found';
          else {
            for (const [s, uid] of studies.entries()) {
              const r = await source.retrieve(uid, join(dir, `study-${s + 1}`));
              rs.instances += r.written;
              rs.failedInstances += r.failed;
            }
            rs.status = rs.instances > 0 && rs.failedInstances === 0 ? 'retrieved' : 'failed';
            if (rs.status === 'failed')
              rs.error = rs.instances === 0 ? 'PULL_NOTHING_RETRIEVED' : 'PULL_SUBOPERATIONS_FAILED';
            state.deid.done = false;
          }
        } catch (e) {
          rs.status = 'failed';
          rs.error = codeOf(e);
        }
        state.rows[row.line] = rs;
        save();
        log(
          `row ${i + 1}/${rows.length} (line ${row.line}): ${rs.status}, ${rs.studies} studies, ${rs.instances} instances${rs.error ? ` (${rs.error})` : ''}`,
        );
      }
    } finally {
      await source.close();
    }
  }

  // 2. De-identify everything retrieved, as `veil deid` does.
  if (!state.deid.done && filesUnder(raw).length > 0) {
    rmSync(out, { recursive: true, force: true });
    rmSync(join(work, 'quarantine'), { recursive: true, force: true });
    const code = await runDeid({
      inputs: [raw],
      out,
      config: o.config,
      keyFile: o.keyFile,
      crosswalk: o.crosswalk,
      quarantine: join(work, 'quarantine'),
      report: join(work, 'deid-report'),
      dryRun: false,
      progress: false,
      ...(o.jobs !== undefined ? { jobs: o.jobs } : {}),
    });
    state.deid = { done: true, exitCode: code };
    save();
  }

  // 3. Deliver what is not delivered yet.
  const outputs = filesUnder(out).filter((f) => f.endsWith('.dcm'));
  const failures: { file: string; code: string }[] = [];
  const todo = outputs.filter((f) => state.delivered[relative(out, f).split(sep).join('/')] === undefined);
  if (todo.length > 0) {
    const dest = createDestination(target);
    try {
      let next = 0;
      let done = outputs.length - todo.length;
      const worker = async (): Promise<void> => {
        while (next < todo.length) {
          const path = todo[next++]!;
          const rel = relative(out, path).split(sep).join('/');
          try {
            state.delivered[rel] = await deliverOne(dest, outgoing(path, rel));
            save();
            done++;
            if (done % 25 === 0 || done === outputs.length) log(`delivered ${done}/${outputs.length}`);
          } catch (e) {
            failures.push({ file: rel, code: codeOf(e) });
          }
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
    } finally {
      await dest.close?.();
    }
  }

  // The risk of what this pull released (the batch as a whole), for the sponsor's report.
  let risk: PullReport['risk'] = null;
  if (outputs.length > 0) {
    const r = buildRiskReport([out], { k: 5, l: 2, unit: 'study' });
    writeRiskReport(work, r);
    risk = { k: r.result.released.k, records: r.result.records, uniqueRecords: r.result.released.uniqueRecords };
  }
  const lines = rows.map((r) => ({ line: r.line, ...state.rows[r.line]! }));
  const report: PullReport = {
    tool: 'veil pull',
    reportVersion: 1,
    rows: lines,
    notFound: lines.filter((r) => r.status === 'not-found').map((r) => r.line),
    failedRows: lines.filter((r) => r.status === 'failed').map((r) => r.line),
    studies: lines.reduce((n, r) => n + r.studies, 0),
    retrieved: lines.reduce((n, r) => n + r.instances, 0),
    deidExitCode: state.deid.exitCode,
    outputs: outputs.length,
    delivered: Object.keys(state.delivered).length,
    deliveryFailures: failures,
    target: redactTarget(o.to),
    risk,
  };
  writeAtomic(join(work, 'pull-report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const ok =
    report.notFound.length === 0 &&
    report.failedRows.length === 0 &&
    failures.length === 0 &&
    (state.deid.exitCode ?? 0) === 0;
  log(
    `${rows.length} rows: ${rows.length - report.notFound.length - report.failedRows.length} found, ${report.notFound.length} not found${report.notFound.length ? ` (lines ${report.notFound.join(', ')})` : ''}, ${report.failedRows.length} failed; ${report.retrieved} instances retrieved, ${report.outputs} released, ${report.delivered} delivered, ${failures.length} delivery failures${risk ? `; risk: k = ${risk.k}, ${risk.uniqueRecords} of ${risk.records} studies unique` : ''}; report ${join(o.work, 'pull-report.json')}`,
  );
  if (report.failedRows.length === 0 && failures.length === 0 && report.delivered === outputs.length && !o.keepWork) {
    // The originals are identifiable: gone once nothing needs them (outputs and state stay for the record).
    rmSync(raw, { recursive: true, force: true });
  }
  return ok ? EXIT_OK : EXIT_FAILURES;
}

function redactTarget(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return url;
  }
}

function codeOf(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && /^[A-Z0-9_]+$/.test(code)) return code;
  if (e instanceof Error && /^[A-Z0-9_]+$/.test(e.message)) return e.message;
  return 'PULL_ERROR';
}
