/**
 * `veil dicomweb-serve --dir DIR`: a DICOMweb server (STOW-RS, QIDO-RS, WADO-RS) over a folder of Part 10 files,
 * on 127.0.0.1 unless told otherwise. Stored instances go to DIR/<study>/<series>/<SOP instance>.dcm byte for byte,
 * fsynced before the response. Logs one line per request: transaction, status, counts; never UIDs or values.
 *
 * `veil dicomweb-pull --from URL --out DIR`: finds studies with QIDO-RS (by --study UIDs or --query matches) and
 * retrieves them with WADO-RS, each instance saved byte for byte as the server sent it.
 */
import { mkdirSync } from 'node:fs';
import {
  attributeKey,
  DicomwebClient,
  FolderStore,
  isDicomwebError,
  isUid,
  retrieveToFolder,
  serveDicomweb,
} from '@veil/dicomweb';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { CliError, EXIT_FAILURES, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';
import { parsePositive } from './echo.ts';
import { headersFrom, parseHeader, parseServiceUrl } from './stow.ts';

interface ServeFlags {
  dir: string;
  port: number;
  bind: string;
  root: string;
  maxRequestMb: number;
  maxInstanceMb: number;
  fsync: boolean;
  quiet?: boolean;
}

interface PullFlags {
  from: string;
  out: string;
  study?: string[];
  query?: string[];
  timeout: number;
  header?: string[];
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('a port number, 0 to 65535');
  return n;
}

function parseRoot(value: string): string {
  if (value !== '' && !/^(\/[A-Za-z0-9._~-]+)+\/?$/.test(value))
    throw new InvalidArgumentError('a path such as /dicom-web');
  return value.replace(/\/+$/, '');
}

function parseQuery(value: string, previous: string[] = []): string[] {
  const eq = value.indexOf('=');
  if (eq <= 0 || !attributeKey(value.slice(0, eq))) throw new InvalidArgumentError('KEYWORD=value or GGGGEEEE=value');
  return [...previous, value];
}

async function runServe(flags: ServeFlags): Promise<number> {
  try {
    mkdirSync(flags.dir, { recursive: true });
  } catch (e) {
    throw new CliError(
      EXIT_USAGE,
      `--dir: cannot create ${flags.dir} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const store = await FolderStore.open(flags.dir, { fsync: flags.fsync });
  const log = (line: string): void => {
    if (!flags.quiet) process.stderr.write(`veil dicomweb-serve: ${line}\n`);
  };
  let server: Awaited<ReturnType<typeof serveDicomweb>>;
  try {
    server = await serveDicomweb(
      {
        stow: store,
        store,
        root: flags.root,
        limits: {
          maxRequestBytes: flags.maxRequestMb * 1024 * 1024,
          maxInstanceBytes: flags.maxInstanceMb * 1024 * 1024,
        },
        onRequest: (e) => {
          const counts =
            e.transaction === 'stow'
              ? `${e.stored ?? 0} stored, ${e.failed ?? 0} failed`
              : e.results !== undefined
                ? `${e.results} results`
                : '';
          const codes = e.warnings
            .filter((w) => /^[A-Z0-9_ a-z]+$/.test(w))
            .slice(0, 4)
            .join('; ');
          log(
            `${e.transaction} ${e.status}${counts ? `: ${counts}` : ''} in ${e.ms.toFixed(0)} ms${codes ? ` (${codes})` : ''}`,
          );
        },
      },
      { port: flags.port, host: flags.bind },
    );
  } catch (e) {
    throw new CliError(
      EXIT_USAGE,
      `cannot listen on ${flags.bind}:${flags.port} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  process.stdout.write(`veil dicomweb-serve: listening on ${server.url} (${store.size} instances in the folder)\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  log('stopping');
  await server.close();
  return 0;
}

async function runPull(flags: PullFlags): Promise<number> {
  for (const s of flags.study ?? []) if (!isUid(s)) throw new CliError(EXIT_USAGE, '--study: not a UID');
  if (!flags.study?.length && !flags.query?.length) throw new CliError(EXIT_USAGE, 'give --study or --query');
  const client = new DicomwebClient({
    baseUrl: flags.from,
    headers: headersFrom(flags.header),
    timeoutMs: flags.timeout * 1000,
  });
  const started = performance.now();
  const studies = new Set<string>(flags.study ?? []);
  try {
    if (flags.query?.length) {
      const params: Record<string, string[]> = {};
      for (const q of flags.query) {
        const eq = q.indexOf('=');
        const k = q.slice(0, eq);
        params[k] = [...(params[k] ?? []), q.slice(eq + 1)];
      }
      for (const s of await client.searchStudies(params)) {
        const uid = s['0020000D']?.Value?.[0];
        if (typeof uid === 'string' && isUid(uid)) studies.add(uid);
      }
    }
  } catch (e) {
    throw new CliError(EXIT_FAILURES, `search failed (${isDicomwebError(e) ? e.message : 'error'})`);
  }
  let files = 0;
  let bytes = 0;
  let failed = 0;
  let n = 0;
  for (const uid of studies) {
    n++;
    try {
      const r = await retrieveToFolder(client, { studyInstanceUid: uid }, flags.out);
      files += r.files.length;
      bytes += r.files.reduce((s, f) => s + f.length, 0);
      if (r.notPart10 > 0)
        process.stderr.write(`veil dicomweb-pull: study ${n}: ${r.notPart10} parts were not DICOM files\n`);
    } catch (e) {
      failed++;
      process.stderr.write(
        `veil dicomweb-pull: study ${n}: not retrieved (${isDicomwebError(e) ? e.message : 'error'})\n`,
      );
    }
  }
  const s = Math.max((performance.now() - started) / 1000, 1e-3);
  process.stdout.write(
    `veil dicomweb-pull: ${studies.size - failed} studies, ${files} files, ${(bytes / 1e6).toFixed(1)} MB in ${s.toFixed(2)} s; ${failed} studies failed\n`,
  );
  return failed > 0 ? EXIT_FAILURES : 0;
}

export function register(program: Command): void {
  program
    .command('dicomweb-serve')
    .description('Serve a folder over DICOMweb: STOW-RS into it, QIDO-RS and WADO-RS from it (byte for byte)')
    .requiredOption('--dir <dir>', 'the folder (created if missing; files already in it are served)')
    .option('--port <n>', 'TCP port (0: any free port, printed at start)', parsePort, 8080)
    .option('--bind <address>', 'interface to listen on', '127.0.0.1')
    .option('--root <path>', 'path of the service root', parseRoot, '/dicom-web')
    .option('--max-request-mb <n>', 'largest STOW-RS request body', parsePositive, 4096)
    .option('--max-instance-mb <n>', 'largest single instance', parsePositive, 2048)
    .option('--no-fsync', 'do not fsync before answering (faster, not crash-safe)')
    .option('--quiet', 'no per-request log lines')
    .addHelpText(
      'after',
      `
Stop with Ctrl-C (SIGINT) or SIGTERM.

Example:
  veil dicomweb-serve --dir /tmp/inbox --port 8080
  veil stow samples --to http://127.0.0.1:8080/dicom-web`,
    )
    .action(async (flags: ServeFlags) => {
      await runCommand('dicomweb-serve', () => runServe(flags));
    });

  program
    .command('dicomweb-pull')
    .description('Retrieve studies from a DICOMweb server (QIDO-RS + WADO-RS) into a folder, byte for byte')
    .requiredOption('--from <url>', 'the DICOMweb service root, e.g. http://127.0.0.1:8042/dicom-web', parseServiceUrl)
    .requiredOption('--out <dir>', 'folder the instances are written to (<SOPInstanceUID>.dcm)')
    .option('--study <uids...>', 'Study Instance UIDs to retrieve')
    .option(
      '--query <match>',
      'QIDO-RS study match, e.g. PatientID=123 or StudyDate=20240101- (repeatable)',
      parseQuery,
    )
    .option('--timeout <seconds>', 'idle timeout of a request', parsePositive, 120)
    .option('--header <field>', 'extra request header field (repeatable)', parseHeader)
    .addHelpText(
      'after',
      `
Exit codes: 0 every study was retrieved, 1 some failed, 2 usage error.

Example:
  veil dicomweb-pull --from http://127.0.0.1:8042/dicom-web --query PatientID=P1 --out /tmp/pulled`,
    )
    .action(async (flags: PullFlags) => {
      await runCommand('dicomweb-pull', () => runPull(flags));
    });
}
