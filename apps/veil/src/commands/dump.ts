/**
 * `veil dump [--json] FILE...`: print DICOM files as DCMTK's dcmdump does, or as the DICOM JSON model (PS3.18 F.2).
 * Folders are walked recursively. A file that fails prints `veil dump: <path>: <code> at <tag path>` on stderr (a
 * code and a place, never a value) and the others go on; the exit code is then 1.
 *
 * Example:
 *   veil dump --json --bulk-threshold 256 study/
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { type DicomFile, dumpText, isVeilError, scanFile, stringifyDicomJson, toDicomJson } from '@veil/core';
import { type Command, InvalidArgumentError } from 'commander';
import { openFileSource } from '../io/file-source.ts';

interface DumpFlags {
  json?: boolean;
  meta?: boolean;
  bulkThreshold?: number;
  full?: boolean;
}

/** Binary values above this many bytes are BulkDataURI placeholders unless --bulk-threshold says otherwise. */
const DEFAULT_BULK_THRESHOLD = 1024;

export function register(program: Command): void {
  program
    .command('dump')
    .description('Print DICOM files like dcmdump, or as DICOM JSON (PS3.18 F.2) with --json')
    .argument('<files...>', 'DICOM files and folders (walked recursively)')
    .option('--json', 'print the DICOM JSON model; one file: indented, several: one line per file {"path","dataset"}')
    .option('--meta', 'with --json: add the File Meta Information (group 0002) to the dataset')
    .option(
      '--bulk-threshold <bytes>',
      `with --json: binary values longer than this are BulkDataURI placeholders (default ${DEFAULT_BULK_THRESHOLD})`,
      parseThreshold,
    )
    .option('--full', 'print long values in full (dcmdump +L)')
    .addHelpText(
      'after',
      `
Files found in folders that are not DICOM at all (no preamble and no plausible first element) are skipped; a file
named on the command line must be DICOM. Exit codes: 0 every file dumped, 1 some file failed, 2 usage error.

Examples:
  veil dump image.dcm
  veil dump --json --bulk-threshold 0 image.dcm`,
    )
    .action(async (inputs: string[], flags: DumpFlags) => {
      process.exitCode = await runDump(inputs, flags);
    });
}

function parseThreshold(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError('not a byte count');
  return n;
}

interface Input {
  readonly path: string;
  /** Found by walking a folder, not named on the command line. */
  readonly walked: boolean;
}

function* expand(inputs: readonly string[]): Generator<Input> {
  for (const input of inputs) {
    let isDir = false;
    try {
      isDir = statSync(input).isDirectory();
    } catch {
      // Reported when opened.
    }
    if (!isDir) {
      yield { path: input, walked: false };
      continue;
    }
    yield* walk(input);
  }
}

/** Files under a folder, depth first, in name order. */
function* walk(dir: string): Generator<Input> {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield { path: p, walked: true };
  }
}

async function runDump(inputs: readonly string[], flags: DumpFlags): Promise<number> {
  const out = new Output();
  const files = [...expand(inputs)];
  const jsonLines = flags.json === true && files.length > 1;
  let failed = 0;
  let skipped = 0;
  for (const input of files) {
    let text: string;
    try {
      text = render(input.path, flags, jsonLines);
    } catch (e) {
      if (input.walked && isVeilError(e) && e.code === 'DICOM_NOT_DICOM') {
        skipped++;
        continue;
      }
      failed++;
      process.stderr.write(`veil dump: ${input.path}: ${describe(e)}\n`);
      continue;
    }
    if (!(await out.write(text))) break;
  }
  if (skipped > 0) process.stderr.write(`veil dump: skipped ${skipped} files that are not DICOM\n`);
  return failed > 0 ? 1 : 0;
}

function render(file: string, flags: DumpFlags, jsonLines: boolean): string {
  const source = openFileSource(file);
  try {
    const dicom = scanFile(source, { lenient: true });
    if (flags.json !== true)
      return dumpText(dicom, flags.full === true ? { maxValueLength: Number.POSITIVE_INFINITY } : {});
    const json = toJson(dicom, flags);
    if (!jsonLines) return `${stringifyDicomJson(json, 2)}\n`;
    return `{"path":${JSON.stringify(file)},"dataset":${stringifyDicomJson(json)}}\n`;
  } finally {
    source.close();
  }
}

function toJson(dicom: DicomFile, flags: DumpFlags): ReturnType<typeof toDicomJson> {
  const options = { bulkDataThreshold: flags.bulkThreshold ?? DEFAULT_BULK_THRESHOLD };
  const dataset = toDicomJson(dicom.dataset, options);
  return flags.meta === true && dicom.meta ? { ...toDicomJson(dicom.meta, options), ...dataset } : dataset;
}

/** "<code> at <tag path>" for a VeilError; a system error's code (ENOENT...); never a message that could hold a value. */
function describe(e: unknown): string {
  if (isVeilError(e)) return e.path ? `${e.code} at ${e.path}` : e.code;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'INTERNAL_ERROR';
}

/** stdout with back-pressure; stops quietly when the reader goes away (`veil dump big.dcm | head`). */
class Output {
  private closed = false;

  constructor() {
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      this.closed = true;
    });
  }

  /** False once the reader is gone. */
  async write(text: string): Promise<boolean> {
    if (this.closed) return false;
    if (!process.stdout.write(text)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          process.stdout.off('drain', done);
          process.stdout.off('close', done);
          resolve();
        };
        process.stdout.once('drain', done);
        process.stdout.once('close', done);
      });
    }
    return !this.closed;
  }
}
