/**
 * `veil stow <files|dirs> --to URL`: stores DICOM files on a DICOMweb server with STOW-RS, each file byte for byte
 * as it is on disk (no re-encoding, no transcoding), in one or more multipart requests. Prints a summary; failures
 * are listed per file by relative path and Failure Reason, never by UID or value.
 */

import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { DicomwebClient, isDicomwebError, isUid, type StowFile, stowFileFromPath } from '@veil/dicomweb';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { CliError, EXIT_FAILURES, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';
import { listInputs } from '../deid/inputs.ts';
import { parsePositive } from './echo.ts';

interface StowFlags extends HttpClientSecurityFlags {
  to: string;
  study?: string;
  batch: number;
  maxRequestMb: number;
  timeout: number;
  header?: string[];
}

/** --token-env, --tls-ca, --tls-cert, --tls-key of the DICOMweb client commands. */
export interface HttpClientSecurityFlags {
  tokenEnv?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export function addHttpClientSecurityOptions(cmd: Command): Command {
  return cmd
    .option('--token-env <var>', 'send "Authorization: Bearer" with the token in this environment variable')
    .option('--tls-ca <file>', 'PEM CA the server certificate must chain to (https)')
    .option('--tls-cert <file>', 'PEM client certificate, for servers that take one (mutual TLS)')
    .option('--tls-key <file>', 'PEM key of --tls-cert');
}

function readPemFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new CliError(EXIT_USAGE, `${flag}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * The client's credentials: an Authorization header from --token-env (the token never on the command line, where
 * other local users can read it), and an https.Agent for --tls-ca / --tls-cert / --tls-key.
 */
export function clientSecurityFrom(flags: HttpClientSecurityFlags): {
  headers: Record<string, string>;
  agent: HttpsAgent | undefined;
} {
  const headers: Record<string, string> = {};
  if (flags.tokenEnv !== undefined) {
    const token = process.env[flags.tokenEnv];
    if (token === undefined || token.trim() === '')
      throw new CliError(EXIT_USAGE, `--token-env: ${flags.tokenEnv} is not set`);
    headers.authorization = `Bearer ${token.trim()}`;
  }
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new CliError(EXIT_USAGE, '--tls-cert and --tls-key go together');
  }
  const agent =
    flags.tlsCa !== undefined || flags.tlsCert !== undefined
      ? new HttpsAgent({
          keepAlive: true,
          ...(flags.tlsCa !== undefined ? { ca: readPemFile('--tls-ca', flags.tlsCa) } : {}),
          ...(flags.tlsCert !== undefined ? { cert: readPemFile('--tls-cert', flags.tlsCert) } : {}),
          ...(flags.tlsKey !== undefined ? { key: readPemFile('--tls-key', flags.tlsKey) } : {}),
        })
      : undefined;
  return { headers, agent };
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
  const security = clientSecurityFrom(flags);
  const client = new DicomwebClient({
    baseUrl: flags.to,
    headers: { ...headersFrom(flags.header), ...security.headers },
    timeoutMs: flags.timeout * 1000,
    ...(security.agent ? { agent: security.agent } : {}),
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
  const cmd = program
    .command('stow')
    .description('Store DICOM files on a DICOMweb server (STOW-RS), byte for byte')
    .argument('<input...>', 'DICOM files and folders (walked recursively; non-DICOM files are skipped)')
    .requiredOption('--to <url>', 'the DICOMweb service root, e.g. http://127.0.0.1:8042/dicom-web', parseServiceUrl)
    .option('--study <uid>', 'POST to /studies/{uid}: the server refuses instances of other studies')
    .option('--batch <n>', 'most files per request', parsePositive, 100)
    .option('--max-request-mb <n>', 'start a new request before one would pass this size', parsePositive, 256)
    .option('--timeout <seconds>', 'idle timeout of a request', parsePositive, 120)
    .option('--header <field>', 'extra request header field, e.g. "Authorization: Bearer X" (repeatable)', parseHeader);
  addHttpClientSecurityOptions(cmd)
    .addHelpText(
      'after',
      `
Exit codes: 0 every DICOM file was stored (possibly with warnings), 1 some failed, 2 usage error.

Example:
  veil stow samples --to http://127.0.0.1:8042/dicom-web
  VEIL_TOKEN=... veil stow samples --to https://veil.example:8443/dicom-web --token-env VEIL_TOKEN --tls-ca ca.crt`,
    )
    .action(async (inputs: string[], flags: StowFlags) => {
      await runCommand('stow', () => runStow(inputs, flags));
    });
}
