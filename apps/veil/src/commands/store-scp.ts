/**
 * `veil store-scp --port N --out DIR`: a C-STORE SCP (and C-ECHO) that writes each received instance as a Part 10
 * file: file meta built from the association (SOP class/instance UID, the accepted transfer syntax, calling AE)
 * followed by the data set bytes exactly as received. A file is written to a temporary name, fsynced, renamed and
 * its folder fsynced BEFORE the C-STORE response is sent: an acknowledged instance survives a crash.
 * Runs until SIGINT or SIGTERM. Logs AE titles and counts, never UIDs or values.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AssociationPolicy,
  DimseServer,
  type DimseServerTlsOptions,
  encodeFileMeta,
  isSuccessful,
  Status,
  type StoreHandler,
  type StoreRequest,
  type StoreSink,
} from '@veil/dimse';
import type { Command } from 'commander';
import { CliError, EXIT_CONFIG, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';
import { publishDurableAsync } from '../release/durable.ts';
import { exposureWarnings } from '../server/auth.ts';
import { parseAeTitle, parsePositive } from './echo.ts';

/** Fragments are gathered up to this size before a write (fewer syscalls; bounded memory per association). */
const WRITE_BATCH = 1024 * 1024;

/** A safe file name for an instance: its UID when it is a plain UID, else a hash of it. */
export function instanceFileName(sopInstanceUid: string): string {
  if (/^[0-9]+(\.[0-9]+)*$/.test(sopInstanceUid) && sopInstanceUid.length <= 64) return `${sopInstanceUid}.dcm`;
  return `${createHash('sha256').update(sopInstanceUid).digest('hex').slice(0, 32)}.dcm`;
}

/** Writes one instance: temp file, meta, fragments, fsync, rename, fsync of the folder. */
class Part10FileSink implements StoreSink {
  private parts: Uint8Array[] = [];
  private size = 0;
  private closed = false;

  constructor(
    private readonly handle: FileHandle,
    private readonly tmpPath: string,
    private readonly finalPath: string,
    _dir: string, // the folder of finalPath: publishDurableAsync fsyncs it
    meta: Uint8Array,
  ) {
    this.parts.push(meta);
    this.size = meta.length;
  }

  private async flush(): Promise<void> {
    if (this.size === 0) return;
    const parts = this.parts;
    this.parts = [];
    this.size = 0;
    let buffers = parts;
    // writev may write less than asked: loop until every byte is down.
    while (buffers.length > 0) {
      const { bytesWritten } = await this.handle.writev(buffers);
      let n = bytesWritten;
      const rest: Uint8Array[] = [];
      for (const b of buffers) {
        if (n >= b.length) n -= b.length;
        else {
          rest.push(n > 0 ? b.subarray(n) : b);
          n = 0;
        }
      }
      buffers = rest;
    }
  }

  async write(fragment: Uint8Array): Promise<void> {
    this.parts.push(fragment);
    this.size += fragment.length;
    if (this.size >= WRITE_BATCH) await this.flush();
  }

  async end(): Promise<number> {
    await this.flush();
    await this.handle.sync();
    this.closed = true;
    await this.handle.close();
    await publishDurableAsync(this.tmpPath, this.finalPath);
    return Status.Success;
  }

  async abort(): Promise<void> {
    this.parts = [];
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => {});
    }
    await unlink(this.tmpPath).catch(() => {});
  }
}

export function fileStoreHandler(outDir: string): StoreHandler {
  const tmpDir = join(outDir, '.incoming');
  mkdirSync(tmpDir, { recursive: true });
  return {
    async beginStore(rq: StoreRequest): Promise<StoreSink> {
      const tmpPath = join(tmpDir, `${randomBytes(12).toString('hex')}.part`);
      const handle = await open(tmpPath, 'wx');
      const meta = encodeFileMeta({
        sopClassUid: rq.sopClassUid,
        sopInstanceUid: rq.sopInstanceUid,
        transferSyntaxUid: rq.transferSyntaxUid,
        sourceAeTitle: rq.association.callingAeTitle,
        receivingAeTitle: rq.association.calledAeTitle,
      });
      return new Part10FileSink(handle, tmpPath, join(outDir, instanceFileName(rq.sopInstanceUid)), outDir, meta);
    },
  };
}

interface StoreScpFlags {
  port: number;
  out: string;
  aet: string;
  bind: string;
  callingAet?: string[];
  acceptAnyCalledAet?: boolean;
  transferSyntax?: string[];
  maxPdu?: number;
  maxAssociations?: number;
  maxAssociationsPerPeer: number;
  maxConnectionsPerPeer: number;
  idleTimeout?: number;
  pduTimeout: number;
  associationTimeout: number;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  quiet?: boolean;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new CliError(EXIT_USAGE, '--port: a port number from 0 to 65535');
  return n;
}

function readPem(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(EXIT_CONFIG, `${flag}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function runStoreScp(flags: StoreScpFlags): Promise<number> {
  let tls: DimseServerTlsOptions | undefined;
  if (flags.tlsCert || flags.tlsKey) {
    if (!flags.tlsCert || !flags.tlsKey) throw new CliError(EXIT_CONFIG, '--tls-cert and --tls-key go together');
    tls = {
      cert: readPem('--tls-cert', flags.tlsCert),
      key: readPem('--tls-key', flags.tlsKey),
      ...(flags.tlsCa ? { ca: readPem('--tls-ca', flags.tlsCa), requireClientCertificate: true } : {}),
    };
  }
  try {
    mkdirSync(flags.out, { recursive: true });
  } catch (e) {
    throw new CliError(
      EXIT_USAGE,
      `--out: cannot create ${flags.out} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const log = (line: string): void => {
    if (!flags.quiet) process.stderr.write(`veil store-scp: ${line}\n`);
  };
  // Reachable from the network without TLS or without client certificates: anyone who can reach the port can store.
  const exposure = exposureWarnings([
    { name: 'store-scp', host: flags.bind, tls: tls !== undefined, auth: flags.tlsCa !== undefined },
  ]);
  for (const w of exposure) process.stderr.write(`veil store-scp: WARNING: ${w}\n`);
  const stored = new Map<number, { ok: number; failed: number }>();
  const policy: AssociationPolicy = {
    services: ['echo', 'store'],
    ...(flags.transferSyntax ? { transferSyntaxes: flags.transferSyntax } : {}),
  };
  const server = new DimseServer({
    aeTitle: flags.aet,
    acceptAnyCalledAeTitle: flags.acceptAnyCalledAet === true,
    ...(flags.callingAet ? { callingAeTitles: flags.callingAet } : {}),
    defaultPolicy: policy,
    handlers: { store: fileStoreHandler(flags.out) },
    ...(flags.maxPdu !== undefined ? { maxPduLength: flags.maxPdu } : {}),
    ...(flags.maxAssociations !== undefined ? { maxAssociations: flags.maxAssociations } : {}),
    maxAssociationsPerPeer: flags.maxAssociationsPerPeer,
    maxConnectionsPerPeer: flags.maxConnectionsPerPeer,
    // A peer trickling bytes resets the idle timer; the per-PDU deadline and the lifetime it cannot.
    timeouts: {
      ...(flags.idleTimeout !== undefined ? { idleMs: flags.idleTimeout * 1000 } : {}),
      pduMs: flags.pduTimeout * 1000,
      maxAssociationMs: flags.associationTimeout * 1000,
    },
    ...(tls ? { tls } : {}),
    onEvent(e) {
      switch (e.type) {
        case 'associated':
          stored.set(e.association.id, { ok: 0, failed: 0 });
          log(
            `#${e.association.id} ${e.association.callingAeTitle}@${e.association.remoteAddress ?? '?'} associated (${e.acceptedContexts} contexts accepted)`,
          );
          break;
        case 'rejected':
          log(`${e.callingAeTitle}@${e.remoteAddress ?? '?'} rejected (${e.reason})`);
          break;
        case 'refused':
          log(`${e.remoteAddress ?? '?'} connection refused (${e.reason})`);
          break;
        case 'operation':
          if (e.service === 'store') {
            const c = stored.get(e.association.id);
            if (c) {
              if (isSuccessful(e.status)) c.ok++;
              else c.failed++;
            }
          }
          break;
        case 'ended': {
          const c = stored.get(e.association.id) ?? { ok: 0, failed: 0 };
          stored.delete(e.association.id);
          log(
            `#${e.association.id} ${e.end.kind}${e.end.kind === 'aborted' ? ` by ${e.end.by}${e.end.code ? ` (${e.end.code})` : ''}` : ''}: ${c.ok} stored, ${c.failed} failed`,
          );
          break;
        }
      }
    },
  });
  let address: { address: string; port: number };
  try {
    address = await server.listen({ port: flags.port, host: flags.bind });
  } catch (e) {
    throw new CliError(
      EXIT_USAGE,
      `cannot listen on ${flags.bind}:${flags.port} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  process.stdout.write(
    `veil store-scp: listening on ${address.address}:${address.port} as ${flags.aet}${tls ? ' (TLS)' : ''}\n`,
  );
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
  await server.close({ abort: true });
  return 0;
}

export function register(program: Command): void {
  program
    .command('store-scp')
    .description('Receive DICOM instances (C-STORE SCP) and write them as Part 10 files, data sets byte for byte')
    .requiredOption('--port <n>', 'TCP port to listen on (0: any free port, printed at start)', parsePort)
    .requiredOption('--out <dir>', 'folder the received files are written to (<SOPInstanceUID>.dcm)')
    .option('--aet <title>', "this AE's title (the called AE title peers must use)", parseAeTitle, 'VEIL')
    .option('--bind <address>', 'interface to listen on', '127.0.0.1')
    .option('--calling-aet <titles...>', 'accept only these calling AE titles')
    .option('--accept-any-called-aet', 'accept any called AE title, not only --aet')
    .option('--transfer-syntax <uids...>', 'accept only these transfer syntaxes, in this order of preference')
    .option('--max-pdu <bytes>', 'maximum PDU length announced', parsePositive)
    .option('--max-associations <n>', 'simultaneous associations (default 100)', parsePositive)
    .option('--max-associations-per-peer <n>', 'simultaneous associations from one address', parsePositive, 10)
    .option(
      '--max-connections-per-peer <n>',
      'open connections from one address (more: closed at once)',
      parsePositive,
      20,
    )
    .option('--idle-timeout <seconds>', 'abort an association idle this long (default 120)', parsePositive)
    .option('--pdu-timeout <seconds>', 'abort when a PDU begun is not complete within this', parsePositive, 120)
    .option('--association-timeout <seconds>', 'longest life of one association', parsePositive, 3600)
    .option('--tls-cert <file>', 'PEM server certificate: serve DICOM over TLS')
    .option('--tls-key <file>', 'PEM key of the server certificate')
    .option('--tls-ca <file>', 'PEM CA: require client certificates signed by it')
    .option('--quiet', 'no per-association log lines')
    .addHelpText(
      'after',
      `
Each instance is written to <out>/.incoming, fsynced, renamed to <out>/<SOPInstanceUID>.dcm and the folder fsynced
before Success is answered. Stop with Ctrl-C (SIGINT) or SIGTERM.

Example:
  veil store-scp --port 11112 --out /tmp/received --aet VEIL`,
    )
    .action(async (flags: StoreScpFlags) => {
      await runCommand('store-scp', () => runStoreScp(flags));
    });
}
