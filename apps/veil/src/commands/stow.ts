/**
 * `veil stow <files|dirs> --to URL`: stores DICOM files on a DICOMweb server with STOW-RS, each file byte for byte
 * as it is on disk (no re-encoding, no transcoding), in one or more multipart requests. Prints a summary; failures
 * are listed per file by relative path and Failure Reason, never by UID or value.
 */

import { DicomwebClient, isDicomwebError, isUid, type StowFile, stowFileFromPath } from '@veil/dicomweb';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { CliError, EXIT_FAILURES, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';
import { listInputs } from '../deid/inputs.ts';
import { parsePositive } from './echo.ts';

interface StowFlags {
  to: string;
  study?: string;
  batch: number;
  maxRequestMb: number;
  timeout: number;
  header?: string[];
}

/** A DICOMweb service root URL: http(s), no credentials in it (they would end up in logs). */
export function parseServiceUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError('an http:// or https:// URL');
  if (url.username || url.password) throw new InvalidArgumentError('no credentials in the URL: use --header');
  if (url.search || url.hash) throw new InvalidArgumentError('a service root without query or fragment');
  return url.toString().replace(/\/+$/, '');
}

export function parseHeader(value: string, previous: string[] = []): string[] {
  if (!/^[A-Za-z0-9-]+:\s*\S/.test(value) || /[\r\n]/.test(value)) throw new InvalidArgumentError('"Name: value"');
  return [...previous, value];
}

export function headersFrom(list: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list ?? []) {
    const i = h.indexOf(':');
    out[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  return out;
}

const hex4 = (n: number): string => `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;

async function runStow(inputs: string[], flags: StowFlags): Promise<number> {
  if (flags.study !== undefined && !isUid(flags.study)) throw new CliError(EXIT_USAGE, '--study: not a UID');
  const files: StowFile[] = [];
  let skipped = 0;
  let failed = 0;
  for (const f of listInputs(inputs)) {
    try {
      files.push(await stowFileFromPath(f.path, f.rel));
    } catch (e) {
      if (isDicomwebError(e) && e.code === 'DICOMWEB_NOT_PART10') skipped++;
      else {
        failed++;
        process.stderr.write(`veil stow: ${f.rel}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})\n`);
      }
    }
  }
  const client = new DicomwebClient({
    baseUrl: flags.to,
    headers: headersFrom(flags.header),
    timeoutMs: flags.timeout * 1000,
  });
  const started = performance.now();
  const result = await client.stow(files, {
    maxInstancesPerRequest: flags.batch,
    maxRequestBytes: flags.maxRequestMb * 1024 * 1024,
    ...(flags.study ? { studyInstanceUid: flags.study } : {}),
    onRequest: (r) => {
      process.stderr.write(
        `veil stow: request of ${r.files} files (${(r.bytes / 1e6).toFixed(1)} MB): ${r.httpStatus === 0 ? (r.error ?? 'no response') : `HTTP ${r.httpStatus}`}\n`,
      );
    },
  });
  for (const o of result.outcomes) {
    if (o.status !== 'failed') continue;
    failed++;
    const why =
      o.failureReason !== undefined ? `Failure Reason ${hex4(o.failureReason)}` : (o.error ?? `HTTP ${o.httpStatus}`);
    process.stderr.write(`veil stow: ${o.file.label ?? '?'}: not stored (${why})\n`);
  }
  const warnings = result.outcomes.filter((o) => o.status === 'warning').length;
  const bytes = result.outcomes.filter((o) => o.status !== 'failed').reduce((n, o) => n + o.file.length, 0);
  const s = Math.max((performance.now() - started) / 1000, 1e-3);
  process.stdout.write(
    `veil stow: ${result.stored} stored (${warnings} with warnings), ${failed} failed, ${skipped} skipped (not DICOM) in ${result.requests.length} requests, ${s.toFixed(2)} s (${(result.stored / s).toFixed(1)} files/s, ${(bytes / 1e6 / s).toFixed(1)} MB/s)\n`,
  );
  return failed > 0 ? EXIT_FAILURES : 0;
}

export function register(program: Command): void {
  program
    .command('stow')
    .description('Store DICOM files on a DICOMweb server (STOW-RS), byte for byte')
    .argument('<input...>', 'DICOM files and folders (walked recursively; non-DICOM files are skipped)')
    .requiredOption('--to <url>', 'the DICOMweb service root, e.g. http://127.0.0.1:8042/dicom-web', parseServiceUrl)
    .option('--study <uid>', 'POST to /studies/{uid}: the server refuses instances of other studies')
    .option('--batch <n>', 'most files per request', parsePositive, 100)
    .option('--max-request-mb <n>', 'start a new request before one would pass this size', parsePositive, 256)
    .option('--timeout <seconds>', 'idle timeout of a request', parsePositive, 120)
    .option('--header <field>', 'extra request header field, e.g. "Authorization: Bearer X" (repeatable)', parseHeader)
    .addHelpText(
      'after',
      `
Exit codes: 0 every DICOM file was stored (possibly with warnings), 1 some failed, 2 usage error.

Example:
  veil stow samples --to http://127.0.0.1:8042/dicom-web`,
    )
    .action(async (inputs: string[], flags: StowFlags) => {
      await runCommand('stow', () => runStow(inputs, flags));
    });
}
