/**
 * `veil send <files|dirs> --to AET@host:port`: C-STOREs DICOM files to a peer, each data set byte for byte as it
 * is in the file (the meta is stripped, nothing is re-encoded). One association proposes every SOP class /
 * transfer syntax pair of the files, one pair per presentation context, so that the peer's answer is known per pair;
 * a file whose pair the peer did not accept fails with DIMSE_NO_ACCEPTABLE_CONTEXT (Veil never converts). More than
 * 128 pairs take several associations, one after the other.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isVeilError } from '@veil/core';
import { DimseClient, describePart10, isDimseError, isSuccessful, type Part10Info } from '@veil/dimse';
import type { Command } from 'commander';
import { EXIT_FAILURES, runCommand } from '../deid/cli-error.ts';
import { listInputs } from '../deid/inputs.ts';
import { openFileSource } from '../io/file-source.ts';
import {
  addClientTlsOptions,
  addUserIdentityOptions,
  clientTlsFrom,
  describeDimseFailure,
  type PeerAddress,
  parseAeTitle,
  parsePeerAddress,
  parsePositive,
  type TlsFlags,
  type UserIdentityFlags,
  userIdentityFrom,
} from './echo.ts';

/** Files up to this size are read whole (one read per file); larger data sets are streamed from disk. */
const WHOLE_READ_LIMIT = 64 * 1024 * 1024;
const MAX_CONTEXTS = 128;

interface SendFlags extends TlsFlags, UserIdentityFlags {
  to: PeerAddress;
  aet: string;
  progressEvery: number;
  maxPdu?: number;
  timeout?: number;
}

interface SendItem {
  readonly path: string;
  readonly rel: string;
  readonly info: Part10Info;
}

type Loaded = { readonly dataset: Uint8Array | AsyncIterable<Uint8Array> } | { readonly error: unknown };

function load(item: SendItem): Promise<Loaded> {
  if (item.info.length > WHOLE_READ_LIMIT) {
    const stream = createReadStream(item.path, { start: item.info.datasetOffset, highWaterMark: 1024 * 1024 });
    return Promise.resolve({ dataset: stream as AsyncIterable<Uint8Array> });
  }
  return readFile(item.path).then(
    (buf) => ({
      dataset: new Uint8Array(
        buf.buffer,
        buf.byteOffset + item.info.datasetOffset,
        buf.length - item.info.datasetOffset,
      ),
    }),
    (error: unknown) => ({ error }),
  );
}

const pairKey = (i: Part10Info): string => `${i.sopClassUid}\t${i.transferSyntaxUid}`;

/** Splits the files (in order) into runs whose SOP class / transfer syntax pairs fit one association. */
function batches(items: readonly SendItem[]): SendItem[][] {
  const out: SendItem[][] = [];
  let current: SendItem[] = [];
  let pairs = new Set<string>();
  for (const item of items) {
    const key = pairKey(item.info);
    if (!pairs.has(key) && pairs.size === MAX_CONTEXTS) {
      out.push(current);
      current = [];
      pairs = new Set();
    }
    pairs.add(key);
    current.push(item);
  }
  if (current.length > 0) out.push(current);
  return out;
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

async function runSend(inputs: string[], flags: SendFlags): Promise<number> {
  const peer = flags.to;
  const tls = clientTlsFrom(flags);
  const userIdentity = userIdentityFrom(flags);
  const files = listInputs(inputs);
  const items: SendItem[] = [];
  let skipped = 0;
  let failed = 0;
  const fail = (rel: string, why: string): void => {
    failed++;
    process.stderr.write(`veil send: ${rel}: ${why}\n`);
  };
  for (const f of files) {
    let source: ReturnType<typeof openFileSource> | undefined;
    try {
      // Windowed source: only the meta is read here; the data set is read when it is sent.
      source = openFileSource(f.path, { wholeLimit: 0 });
      items.push({ path: f.path, rel: f.rel, info: describePart10(source) });
    } catch (e) {
      if (isVeilError(e) && e.code === 'DICOM_NOT_DICOM') skipped++;
      else fail(f.rel, isVeilError(e) ? e.code : describeDimseFailure(e));
    } finally {
      source?.close();
    }
  }

  const started = Date.now();
  let sent = 0;
  let bytes = 0;
  let done = 0;
  const total = items.length;
  const ms = (flags.timeout ?? 60) * 1000;
  const progress = (): void => {
    const s = Math.max((Date.now() - started) / 1000, 1e-3);
    process.stderr.write(
      `veil send: ${done}/${total} files, ${mb(bytes)} MB, ${(done / s).toFixed(1)} files/s, ${(bytes / 1e6 / s).toFixed(1)} MB/s, ${failed} failed\n`,
    );
  };

  for (const batch of batches(items)) {
    const pairs = new Map<string, Part10Info>();
    for (const it of batch) pairs.set(pairKey(it.info), it.info);
    let client: DimseClient;
    try {
      client = await DimseClient.connect({
        host: peer.host,
        port: peer.port,
        callingAeTitle: flags.aet,
        calledAeTitle: peer.aeTitle,
        contexts: [...pairs.values()].map((i) => ({
          abstractSyntax: i.sopClassUid,
          transferSyntaxes: [i.transferSyntaxUid],
        })),
        timeouts: { acseMs: ms, idleMs: ms, sendMs: ms },
        ...(flags.maxPdu !== undefined ? { maxPduLength: flags.maxPdu } : {}),
        ...(tls ? { tls } : {}),
        ...(userIdentity ? { userIdentity } : {}),
      });
    } catch (e) {
      const why = describeDimseFailure(e);
      for (const it of batch) fail(it.rel, why);
      done += batch.length;
      continue;
    }
    let broken: string | undefined;
    let next: Promise<Loaded> | undefined = load(batch[0]!);
    for (let k = 0; k < batch.length; k++) {
      const item = batch[k]!;
      const loaded: Loaded = await next!;
      next = k + 1 < batch.length ? load(batch[k + 1]!) : undefined;
      done++;
      if (broken !== undefined) {
        fail(item.rel, broken);
        continue;
      }
      if ('error' in loaded) {
        fail(item.rel, `cannot read (${(loaded.error as NodeJS.ErrnoException).code ?? 'error'})`);
        continue;
      }
      try {
        const r = await client.store({ ...item.info, dataset: loaded.dataset });
        if (isSuccessful(r.status)) {
          sent++;
          bytes += item.info.length - item.info.datasetOffset;
        } else {
          fail(item.rel, `peer answered status 0x${r.status.toString(16).padStart(4, '0')}`);
        }
      } catch (e) {
        if (isDimseError(e) && e.code === 'DIMSE_NO_ACCEPTABLE_CONTEXT') {
          fail(
            item.rel,
            'DIMSE_NO_ACCEPTABLE_CONTEXT: the peer accepted no context for this SOP class in this transfer syntax (Veil does not convert)',
          );
        } else {
          broken = describeDimseFailure(e);
          fail(item.rel, broken);
        }
      }
      if (done % flags.progressEvery === 0) progress();
    }
    if (broken === undefined) {
      try {
        await client.release();
      } catch {
        client.abort();
      }
    } else {
      client.abort();
    }
  }
  const s = Math.max((Date.now() - started) / 1000, 1e-3);
  process.stdout.write(
    `veil send: ${sent} sent, ${failed} failed, ${skipped} skipped (not DICOM) to ${peer.aeTitle}@${peer.host}:${peer.port} in ${s.toFixed(2)} s (${(sent / s).toFixed(1)} files/s, ${(bytes / 1e6 / s).toFixed(1)} MB/s)\n`,
  );
  return failed > 0 ? EXIT_FAILURES : 0;
}

export function register(program: Command): void {
  const cmd = program
    .command('send')
    .description('Send DICOM files to a peer with C-STORE, data sets byte for byte (no transcoding)')
    .argument('<input...>', 'DICOM files and folders (walked recursively; non-DICOM files are skipped)')
    .requiredOption('--to <peer>', 'the peer as AET@host:port', parsePeerAddress)
    .option('--aet <title>', "calling AE title (Veil's)", parseAeTitle, 'VEIL')
    .option('--progress-every <n>', 'print a progress line every n files', parsePositive, 100)
    .option('--max-pdu <bytes>', 'maximum PDU length Veil announces for receiving', parsePositive)
    .option('--timeout <seconds>', 'connection, response and send timeout', parsePositive);
  addClientTlsOptions(addUserIdentityOptions(cmd))
    .addHelpText(
      'after',
      `
Exit codes: 0 every DICOM file was stored (Success or a warning), 1 some failed, 2 usage error.

Example:
  veil send samples --to PACS@127.0.0.1:11112 --aet VEIL`,
    )
    .action(async (inputs: string[], flags: SendFlags) => {
      await runCommand('send', () => runSend(inputs, flags));
    });
}
