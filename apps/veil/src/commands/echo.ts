/**
 * `veil echo AET@host:port`: a C-ECHO (verification) to a DICOM peer. Also home of the peer address parser and the
 * TLS flags that `veil send` shares.
 */
import { readFileSync } from 'node:fs';
import { IMPLICIT_VR_LITTLE_ENDIAN } from '@veil/core';
import {
  DimseClient,
  type DimseClientTlsOptions,
  isDimseError,
  type UserIdentityRq,
  VERIFICATION_SOP_CLASS,
} from '@veil/dimse';
import { type Command, InvalidArgumentError } from 'commander';
import { CliError, EXIT_CONFIG, EXIT_FAILURES, runCommand } from '../deid/cli-error.ts';

export interface PeerAddress {
  readonly aeTitle: string;
  readonly host: string;
  readonly port: number;
}

/** Parses `AET@host:port` (host may be a bracketed IPv6 address). */
export function parsePeerAddress(value: string): PeerAddress {
  const m = /^([^@]{1,16})@(\[[^\]]+\]|[^:@]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) throw new InvalidArgumentError('expected AET@host:port, e.g. PACS@127.0.0.1:104');
  return { aeTitle: m[1]!, host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

export function parseAeTitle(value: string): string {
  if (value.length < 1 || value.length > 16 || !/^[ -~]+$/.test(value) || value.includes('\\') || value.trim() === '') {
    throw new InvalidArgumentError('an AE title of 1 to 16 characters, no backslash or control characters');
  }
  return value;
}

export function parsePositive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('a whole number greater than 0');
  return n;
}

export interface TlsFlags {
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export function addClientTlsOptions(cmd: Command): Command {
  return cmd
    .option('--tls', 'use TLS (DICOM over TLS, PS3.15 B.1)')
    .option('--tls-ca <file>', 'PEM CA certificate(s) the peer certificate must chain to (implies --tls)')
    .option('--tls-cert <file>', 'PEM client certificate, for peers that require one (implies --tls)')
    .option('--tls-key <file>', 'PEM key of the client certificate');
}

function readPem(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(EXIT_CONFIG, `${flag}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export function clientTlsFrom(flags: TlsFlags): DimseClientTlsOptions | undefined {
  if (!flags.tls && !flags.tlsCa && !flags.tlsCert) return undefined;
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new CliError(EXIT_CONFIG, '--tls-cert and --tls-key go together');
  }
  return {
    ...(flags.tlsCa ? { ca: readPem('--tls-ca', flags.tlsCa) } : {}),
    ...(flags.tlsCert ? { cert: readPem('--tls-cert', flags.tlsCert) } : {}),
    ...(flags.tlsKey ? { key: readPem('--tls-key', flags.tlsKey) } : {}),
  };
}

/** A one-line description of a networking failure: its code and numbers, nothing from a data set. */
export function describeDimseFailure(e: unknown): string {
  if (isDimseError(e)) return e.message;
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'unexpected error';
}

interface EchoFlags extends TlsFlags, UserIdentityFlags {
  aet: string;
  timeout?: number;
}

export interface UserIdentityFlags {
  username?: string;
  passcodeEnv?: string;
}

/** --username / --passcode-env: user identity negotiation (PS3.7 D.3.3.7), the passcode never on the command line. */
export function addUserIdentityOptions(cmd: Command): Command {
  return cmd
    .option('--username <name>', 'user identity (PS3.7 D.3.3.7): username, with the passcode from --passcode-env')
    .option('--passcode-env <var>', 'environment variable holding the passcode', 'VEIL_DICOM_PASSCODE');
}

/** The A-ASSOCIATE-RQ user identity item: type 2 (username and passcode), positive response requested. */
export function userIdentityFrom(flags: UserIdentityFlags): UserIdentityRq | undefined {
  if (flags.username === undefined) return undefined;
  const passcode = process.env[flags.passcodeEnv ?? 'VEIL_DICOM_PASSCODE'];
  if (passcode === undefined) {
    throw new CliError(EXIT_CONFIG, `--username needs the passcode in ${flags.passcodeEnv ?? 'VEIL_DICOM_PASSCODE'}`);
  }
  return {
    type: 2,
    positiveResponseRequested: true,
    primaryField: new TextEncoder().encode(flags.username),
    secondaryField: new TextEncoder().encode(passcode),
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('echo')
    .description('Verify a DICOM peer with a C-ECHO')
    .argument('<peer>', 'the peer as AET@host:port', parsePeerAddress)
    .option('--aet <title>', "calling AE title (Veil's)", parseAeTitle, 'VEIL')
    .option('--timeout <seconds>', 'connection and response timeout', parsePositive);
  addClientTlsOptions(addUserIdentityOptions(cmd))
    .addHelpText(
      'after',
      '\nExit codes: 0 the peer answered Success, 1 it did not (refused, failed, unreachable).\n\nExample:\n  veil echo PACS@127.0.0.1:11112 --aet VEIL',
    )
    .action(async (peer: PeerAddress, flags: EchoFlags) => {
      await runCommand('echo', async () => {
        const tls = clientTlsFrom(flags);
        const userIdentity = userIdentityFrom(flags);
        const ms = (flags.timeout ?? 30) * 1000;
        const started = Date.now();
        let client: DimseClient;
        try {
          client = await DimseClient.connect({
            host: peer.host,
            port: peer.port,
            callingAeTitle: flags.aet,
            calledAeTitle: peer.aeTitle,
            contexts: [{ abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT_VR_LITTLE_ENDIAN] }],
            timeouts: { acseMs: ms, idleMs: ms },
            ...(tls ? { tls } : {}),
            ...(userIdentity ? { userIdentity } : {}),
          });
        } catch (e) {
          process.stderr.write(`veil echo: ${peer.aeTitle}@${peer.host}:${peer.port}: ${describeDimseFailure(e)}\n`);
          return EXIT_FAILURES;
        }
        try {
          const status = await client.echo();
          await client.release();
          const ok = status === 0;
          process.stdout.write(
            `veil echo: ${peer.aeTitle}@${peer.host}:${peer.port} ${ok ? 'Success' : `status 0x${status.toString(16).padStart(4, '0')}`} (${Date.now() - started} ms)\n`,
          );
          return ok ? 0 : EXIT_FAILURES;
        } catch (e) {
          client.abort();
          process.stderr.write(`veil echo: ${peer.aeTitle}@${peer.host}:${peer.port}: ${describeDimseFailure(e)}\n`);
          return EXIT_FAILURES;
        }
      });
    });
}
