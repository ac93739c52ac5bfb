/**
 * A `veil verify` run: every DICOM file under the inputs is scanned and verified (verifyFile), against its original
 * when --originals is given (matched by relative path, or by remapped SOP Instance UID with a key), with the
 * configuration the outputs were made with (--config: options, private tag policy, overrides, verify levels).
 * Each finding is printed as one line (file, tag path, detector, level, masked value, code) or one JSON object
 * (--json); --report DIR writes verify-report.json and verify-report.html.
 *
 * Returns the exit code: 1 when any error-level finding, else 0; usage errors throw CliError 2, configuration and
 * key errors CliError 3.
 *
 * Example:
 *   const code = await runVerify({ inputs: ['out/'], originals: 'in/', keyFile: 'veil.key', json: false });
 */
import { existsSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import {
  type DetectorLevel,
  type DicomFile,
  effectiveLevels,
  findElement,
  isVeilError,
  readString,
  scanFile,
  type VerifyContext,
  type VerifyFinding,
  verifyFile,
} from '@veil/core';
import { CliError, EXIT_FAILURES, EXIT_OK, EXIT_USAGE } from '../deid/cli-error.ts';
import { type InputFile, listInputs } from '../deid/inputs.ts';
import { keyId, loadKey } from '../deid/keys.ts';
import { type FileSource, openFileSource } from '../io/file-source.ts';
import { loadVerifyConfig } from './config.ts';
import { Originals } from './originals.ts';
import { loadPixelCheck, type PixelCheck } from './pixels.ts';
import {
  countVerdicts,
  type FileVerdict,
  type OriginalMatch,
  PATH_NOTE,
  statusOf,
  type VerifyReportJson,
  writeVerifyReport,
} from './report.ts';

export interface VerifyRunOptions {
  readonly inputs: readonly string[];
  readonly originals?: string | undefined;
  readonly config?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly json: boolean;
  readonly report?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WritableStream;
}

/** The files of each input with paths relative to that input (a file alone: its name), as the mirror layout has them. */
function listOutputs(inputs: readonly string[]): InputFile[] {
  const out: InputFile[] = [];
  for (const input of inputs) out.push(...listInputs([input]));
  return out;
}

function finding(detector: string, level: 'error' | 'warn', code: string): VerifyFinding {
  return { detector, tagPath: '', level, masked: '', code };
}

export function formatFinding(file: string, f: VerifyFinding): string {
  return `${file}  ${f.tagPath || '-'}  ${f.detector}  ${f.level}  ${f.masked || '-'}  (${f.code})`;
}

export async function runVerify(o: VerifyRunOptions): Promise<number> {
  const stdout = o.stdout ?? process.stdout;
  const stderr = o.stderr ?? process.stderr;
  const started = new Date();
  if (o.inputs.length === 0) throw new CliError(EXIT_USAGE, 'give at least one file or folder to verify');
  if (o.originals !== undefined && !(existsSync(o.originals) && statSync(o.originals).isDirectory())) {
    throw new CliError(EXIT_USAGE, `--originals ${o.originals} is not a folder`);
  }
  const env = o.env ?? process.env;
  const haveKey = o.keyFile !== undefined || (env.VEIL_KEY !== undefined && env.VEIL_KEY.trim() !== '');
  const key = haveKey
    ? loadKey({ keyFile: o.keyFile, env, warn: (m) => stderr.write(`veil verify: ${m}\n`) })
    : undefined;
  const { deid: config, levels, pixelText } = loadVerifyConfig(o.config);
  const pixels = await loadPixelCheck(pixelText);
  const outputs = listOutputs(o.inputs);
  const originals = o.originals === undefined ? undefined : new Originals(o.originals, key);

  const verdicts: FileVerdict[] = [];
  for (const f of outputs) {
    const verdict = await verifyOne(f, originals, { config, key, levels, pixels });
    verdicts.push(verdict);
    for (const x of verdict.findings) {
      stdout.write(
        o.json
          ? `${JSON.stringify({ file: f.rel, tagPath: x.tagPath, detector: x.detector, level: x.level, code: x.code, masked: x.masked })}\n`
          : `${formatFinding(f.rel, x)}\n`,
      );
    }
    // Let output drain between files on large runs.
    if (verdicts.length % 64 === 0) await new Promise<void>((r) => setImmediate(r));
  }

  const finished = new Date();
  const seconds = (finished.getTime() - started.getTime()) / 1000;
  const { counts, findingsByDetector } = countVerdicts(verdicts);
  if (o.report !== undefined) {
    const report: VerifyReportJson = {
      tool: 'veil verify',
      reportVersion: 1,
      note: PATH_NOTE,
      run: {
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        seconds,
        originals: originals !== undefined,
        keyId: key ? keyId(key) : null,
        config: {
          profile: config.profile,
          options: config.options,
          privateTags: config.privateTags,
          dates: config.dates,
          overrides: config.overrides.length,
          pixels: pixels ? 'scanned' : 'off',
        },
        detectors: effectiveLevels(config, levels),
      },
      counts,
      findingsByDetector,
      files: verdicts,
    };
    const paths = writeVerifyReport(resolve(o.report), report);
    stderr.write(`veil verify: report ${relative(process.cwd(), paths.html) || paths.html}\n`);
  }
  stderr.write(
    `veil verify: ${counts.files} files in ${seconds.toFixed(1)} s: ${counts.passed} passed, ${counts.warned} with ` +
      `warnings, ${counts.failed} failed, ${counts.skippedNonDicom} skipped (not DICOM)\n`,
  );
  return counts.failed > 0 ? EXIT_FAILURES : EXIT_OK;
}

const SOP_INSTANCE_UID = 0x00080018;

interface Checks {
  readonly config: VerifyContext['config'];
  readonly key: Uint8Array | undefined;
  readonly levels: Readonly<Record<string, DetectorLevel>> | undefined;
  /** The pixel half (pixels.ts); undefined when the configuration turned it off. */
  readonly pixels: PixelCheck | undefined;
}

function scanPath(path: string): { src: FileSource; file: DicomFile } {
  const src = openFileSource(path);
  try {
    return { src, file: scanFile(src) };
  } catch (e) {
    src.close();
    throw e;
  }
}

async function verifyOne(f: InputFile, originals: Originals | undefined, checks: Checks): Promise<FileVerdict> {
  const level = (detector: 'unreadable' | 'original-missing'): DetectorLevel =>
    checks.levels?.[detector] ?? (detector === 'unreadable' ? 'error' : 'warn');
  const missing = (code: string): void => {
    const l = level('original-missing');
    if (l !== 'off') extra.push(finding('original-missing', l, code));
  };
  const extra: VerifyFinding[] = [];
  let out: { src: FileSource; file: DicomFile };
  try {
    out = scanPath(f.path);
  } catch (e) {
    if (isVeilError(e) && e.code === 'DICOM_NOT_DICOM')
      return { file: f.rel, status: 'skipped', original: 'none', findings: [] };
    const code = isVeilError(e)
      ? e.code
      : `READ_FAILED${(e as NodeJS.ErrnoException).code ? `_${(e as NodeJS.ErrnoException).code}` : ''}`;
    const l = level('unreadable');
    const findings = l === 'off' ? [] : [finding('unreadable', l, code)];
    return { file: f.rel, status: statusOf(findings), original: 'none', findings };
  }
  let original: { src: FileSource; file: DicomFile } | undefined;
  let how: OriginalMatch = 'none';
  try {
    if (originals) {
      const match = originals.find(f.rel, sopOf(out.file));
      if (match) {
        try {
          original = scanPath(match.path);
          how = match.how;
        } catch {
          missing('ORIGINAL_UNREADABLE');
        }
      } else {
        missing('ORIGINAL_NOT_FOUND');
      }
    }
    const findings = [
      ...extra,
      ...verifyFile(out.file, {
        original: original?.file,
        config: checks.config,
        key: checks.key,
        detectorLevels: checks.levels,
      }),
      // The output's pixels, scanned again (the file's source stays open until this is done).
      ...(checks.pixels ? await checks.pixels(out.file) : []),
    ];
    return { file: f.rel, status: statusOf(findings), original: how, findings };
  } finally {
    out.src.close();
    original?.src.close();
  }
}

/** The output's SOP Instance UID (remapped, unless UIDs were retained). */
function sopOf(file: DicomFile): string | undefined {
  const el = findElement(file.dataset, SOP_INSTANCE_UID);
  const uid = el && el.items === undefined ? readString(el).replace(/\0+$/, '').trim() : '';
  return uid === '' ? undefined : uid;
}
