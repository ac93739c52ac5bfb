/**
 * The acceptor's deadlines against slow peers: a PDU begun must be finished within `pduMs` (a peer trickling a byte
 * at a time cannot hold an association by resetting the idle timer), while a legitimate transfer that is merely slow
 * and whose PDUs straddle every read (a throttling proxy cuts the stream into 1000-byte slices) is not cut: the
 * deadline restarts with every completed PDU. And an association cannot outlive `maxAssociationMs`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type AssociationEnd,
  DimseClient,
  DimseServer,
  describePart10,
  encodePdu,
  VERIFICATION_SOP_CLASS,
} from '../src/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const CT = new Uint8Array(readFileSync(path.join(here, '../../../samples/CT_small.dcm')));
const IMPLICIT = '1.2.840.10008.1.2';

/** A TCP proxy that forwards what the client sends in `slice`-byte pieces every `everyMs` (the answers go straight). */
async function throttlingProxy(
  target: number,
  slice: number,
  everyMs: number,
): Promise<{ port: number; server: Server }> {
  const server = createServer((client: Socket) => {
    const upstream = connect(target, '127.0.0.1');
    const pending: Buffer[] = [];
    client.on('data', (d: Buffer) => pending.push(d));
    const timer = setInterval(() => {
      let budget = slice;
      while (budget > 0 && pending.length > 0) {
        const head = pending[0]!;
        const n = Math.min(budget, head.length);
        upstream.write(head.subarray(0, n));
        if (n === head.length) pending.shift();
        else pending[0] = head.subarray(n);
        budget -= n;
      }
    }, everyMs);
    upstream.pipe(client);
    const end = (): void => {
      clearInterval(timer);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : 0, server };
}

describe('DIMSE deadlines against slow peers', () => {
  const ends: AssociationEnd[] = [];
  const dimse = new DimseServer({
    aeTitle: 'VEIL',
    maxPduLength: 4096,
    timeouts: { pduMs: 400, idleMs: 10_000, maxAssociationMs: 5000 },
    handlers: {
      store: {
        beginStore: () => ({ write: () => {}, end: () => 0, abort: () => {} }),
      },
    },
    onEvent: (e) => {
      if (e.type === 'ended') ends.push(e.end);
    },
  });
  const servers: Server[] = [];
  let port = 0;
  before(async () => {
    port = (await dimse.listen({ port: 0 })).port;
  });
  after(async () => {
    for (const s of servers) s.close();
    await dimse.close({ abort: true });
  });

  it('a slow but steady C-STORE (longer than pduMs in all, PDUs straddling reads) completes', async () => {
    // 1000 bytes every 20 ms: ~50 KB/s, so the 39 KB file takes ~0.8 s, twice pduMs; each 4 KiB PDU ~80 ms.
    const proxy = await throttlingProxy(port, 1000, 20);
    servers.push(proxy.server);
    const info = describePart10(CT);
    const client = await DimseClient.connect({
      host: '127.0.0.1',
      port: proxy.port,
      callingAeTitle: 'SLOW',
      calledAeTitle: 'VEIL',
      contexts: [{ abstractSyntax: info.sopClassUid, transferSyntaxes: [info.transferSyntaxUid] }],
    });
    const started = Date.now();
    const { status } = await client.store({ ...info, dataset: CT.subarray(info.datasetOffset) });
    assert.equal(status, 0);
    assert.ok(Date.now() - started > 400, 'the transfer took longer than pduMs');
    await client.release();
  });

  it('a PDU trickled one byte at a time is aborted after pduMs (TIMEOUT_PDU), not after idleMs', async () => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.write(
      encodePdu({
        type: 'A-ASSOCIATE-RQ',
        protocolVersion: 1,
        calledAeTitle: 'VEIL',
        callingAeTitle: 'TRICKLE',
        applicationContextName: '1.2.840.10008.3.1.1.1',
        presentationContexts: [{ id: 1, abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT] }],
        userInformation: { maxLength: 16384 },
      }),
    );
    await new Promise<void>((r) => s.once('data', () => r()));
    s.write(Buffer.from([0x04, 0, 0, 0, 0x10, 0])); // P-DATA-TF announcing 4096 bytes
    const timer = setInterval(() => s.write(Buffer.from([0])), 50);
    const started = Date.now();
    await new Promise<void>((r) => s.once('close', () => r()));
    clearInterval(timer);
    const took = Date.now() - started;
    assert.ok(took < 3000, `closed after ${took} ms`);
    // The server records the end once its side of the connection has closed too.
    for (let i = 0; i < 40 && !ends.some((e) => e.kind === 'aborted'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(
      ends.some((e) => e.kind === 'aborted' && e.code === 'TIMEOUT_PDU'),
      JSON.stringify(ends),
    );
  });
});
