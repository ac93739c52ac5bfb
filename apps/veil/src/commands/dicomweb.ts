/**
 * `veil dicomweb-serve --dir DIR`: a DICOMweb server (STOW-RS, QIDO-RS, WADO-RS) over a folder of Part 10 files,
 * on 127.0.0.1 unless told otherwise. Stored instances go to DIR/<study>/<series>/<SOP instance>.dcm byte for byte,
 * fsynced before the response. Logs one line per request: transaction, status, counts; never UIDs or values.
 * Credentials: bearer tokens (--token-hash) and/or client certificates (--mtls); without them it serves loopback only.
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
import {
  type AuthConfig,
  allowedHostsFor,
  authConfigured,
  httpGuard,
  isLoopback,
  isTokenHash,
  tlsServerOptions,
} from '../server/auth.ts';
import { parsePositive } from './echo.ts';
import {
  addHttpClientSecurityOptions,
  clientSecurityFrom,
  type HttpClientSecurityFlags,
  headersFrom,
  parseHeader,
  parseServiceUrl,
} from './stow.ts';

interface ServeFlags {
  dir: string;
  port: number;
  bind: string;
  root: string;
  maxRequestMb: number;
  maxInstanceMb: number;
  fsync: boolean;
  quiet?: boolean;
  tokenHash?: string[];
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  mtls?: boolean;
  allowedHost?: string[];
  maxConnections: number;
  requestTimeout: number;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function parseTokenHash(value: string, previous: string[] = []): string[] {
  if (!isTokenHash(value) || !value.startsWith('sha256:'))
    throw new InvalidArgumentError('a token hash, sha256:<hex> (see veil token)');
  return [...previous, value];
}

/** Credentials and TLS of `veil dicomweb-serve`, checked before it listens. */
function securityOf(flags: ServeFlags): { auth: AuthConfig; tls: ReturnType<typeof tlsServerOptions> | undefined } {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new CliError(EXIT_USAGE, '--tls-cert and --tls-key go together');
  }
  if (flags.tlsClientCa !== undefined && flags.tlsCert === undefined) {
    throw new CliError(EXIT_USAGE, '--tls-client-ca needs --tls-cert and --tls-key');
  }
  if (flags.mtls && flags.tlsClientCa === undefined) throw new CliError(EXIT_USAGE, '--mtls needs --tls-client-ca');
  const auth: AuthConfig = { tokens: flags.tokenHash ?? [], mtls: flags.mtls === true };
  let tls: ReturnType<typeof tlsServerOptions> | undefined;
  if (flags.tlsCert !== undefined && flags.tlsKey !== undefined) {
    try {
      tls = tlsServerOptions(
        {
          cert: flags.tlsCert,
          key: flags.tlsKey,
          ...(flags.tlsClientCa !== undefined ? { clientCa: flags.tlsClientCa } : {}),
        },
        flags.mtls === true && auth.tokens!.length === 0,
      );
    } catch (e) {
      throw new CliError(EXIT_USAGE, (e as Error).message);
    }
  }
  return { auth, tls };
}

interface PullFlags extends HttpClientSecurityFlags {
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
  const { auth, tls } = securityOf(flags);
  const authOn = authConfigured(auth);
  // The folder holds original files: QIDO shows names and IDs, WADO the whole file. Off this machine only with
  // credentials; on it, say that every local user can read them.
  if (!authOn && !isLoopback(flags.bind)) {
    throw new CliError(
      EXIT_USAGE,
      `--bind ${flags.bind} reaches the network: give --token-hash or --mtls (the folder's files and names would be open to anyone)`,
    );
  }
  if (!authOn) {
    process.stderr.write(
      'veil dicomweb-serve: WARNING: no authentication (--token-hash, --mtls): every local user and process can read and write this folder over HTTP\n',
    );
  } else if (!tls && !isLoopback(flags.bind)) {
    process.stderr.write(
      `veil dicomweb-serve: WARNING: --bind ${flags.bind} without TLS (--tls-cert/--tls-key): tokens and data cross the network in clear\n`,
    );
  }
  const guard = httpGuard({ auth, allowedHosts: allowedHostsFor(flags.allowedHost, flags.bind) });
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
      {
        port: flags.port,
        host: flags.bind,
        maxConnections: flags.maxConnections,
        requestTimeoutMs: flags.requestTimeout * 1000,
        ...(tls ? { tls } : {}),
        guard: (req) => guard(req, authOn),
        onRefused: (r) => log(`refused ${r.status} (${r.code})`),
      },
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
  const security = clientSecurityFrom(flags);
  const client = new DicomwebClient({
    baseUrl: flags.from,
    headers: { ...headersFrom(flags.header), ...security.headers },
    timeoutMs: flags.timeout * 1000,
    ...(security.agent ? { agent: security.agent } : {}),
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
    .option('--token-hash <hash>', 'accept this bearer token (its hash, from `veil token`; repeatable)', parseTokenHash)
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS')
    .option('--tls-key <file>', 'PEM key of --tls-cert')
    .option('--tls-client-ca <file>', 'PEM CA that client certificates are verified against')
    .option('--mtls', 'a client certificate verified by --tls-client-ca is enough (no token needed)')
    .option('--allowed-host <name>', 'accepted Host header name (repeatable; default: the loopback names)', collect)
    .option('--max-connections <n>', 'connections open at once', parsePositive, 64)
    .option('--request-timeout <seconds>', 'longest time to receive one request, body included', parsePositive, 900)
    .addHelpText(
      'after',
      `
Without --token-hash or --mtls the server answers anyone who can reach it: it refuses to start on an address other
than loopback, and warns on loopback (every local user can then read the folder's original files).
Clients send the token as 'Authorization: Bearer TOKEN' (veil stow / dicomweb-pull: --token-env VAR).

Stop with Ctrl-C (SIGINT) or SIGTERM.

Example:
  veil dicomweb-serve --dir /tmp/inbox --port 8080
  veil stow samples --to http://127.0.0.1:8080/dicom-web`,
    )
    .action(async (flags: ServeFlags) => {
      await runCommand('dicomweb-serve', () => runServe(flags));
    });

  const pull = program
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
    .option('--header <field>', 'extra request header field (repeatable)', parseHeader);
  addHttpClientSecurityOptions(pull)
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
