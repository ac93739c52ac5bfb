/**
 * Hostile and broken peers on 127.0.0.1, talking raw bytes to a DimseServer (and a raw acceptor to DimseClient):
 * each gets the A-ABORT or A-ASSOCIATE-RJ PS3.8 prescribes, the server keeps serving, memory stays bounded when a
 * peer stops reading, and nothing is acknowledged that was not completely stored.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  type AssociateRqPdu,
  CommandField,
  DimseClient,
  type DimseError,
  DimseServer,
  decodePdu,
  encodeCommand,
  encodeIdentifier,
  encodePdu,
  type Pdu,
  QueryRetrieve,
  VERIFICATION_SOP_CLASS,
} from '@veil/dimse';
import { datasetOf, pick } from './support/corpus.ts';
import { MemoryStore } from './support/memory-store.ts';

const IMPLICIT = '1.2.840.10008.1.2';
const EXPLICIT = '1.2.840.10008.1.2.1';
const CT = '1.2.840.10008.5.1.4.1.1.2';

function rq(overrides: Partial<AssociateRqPdu> = {}): AssociateRqPdu {
  return {
    type: 'A-ASSOCIATE-RQ',
    protocolVersion: 1,
    calledAeTitle: 'VEIL',
    callingAeTitle: 'RAW',
    applicationContextName: '1.2.840.10008.3.1.1.1',
    presentationContexts: [
      { id: 1, abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT] },
      { id: 3, abstractSyntax: CT, transferSyntaxes: [EXPLICIT] },
      { id: 5, abstractSyntax: QueryRetrieve.StudyRootFind, transferSyntaxes: [EXPLICIT] },
    ],
    userInformation: { maxLength: 16384, implementationClassUid: '1.2.3' },
    ...overrides,
  };
}

/** A raw TCP peer: writes what it is told, collects everything it receives, reports when the server closes. */
class RawPeer {
  readonly socket: Socket;
  private received: Buffer[] = [];
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.received.push(d));
    socket.on('error', () => {});
    this.closed = once(socket, 'close').then(() => undefined);
  }

  static async open(port: number): Promise<RawPeer> {
    const s = connect(port, '127.0.0.1');
    await once(s, 'connect');
    return new RawPeer(s);
  }

  send(...parts: Uint8Array[]): void {
    for (const p of parts) this.socket.write(p);
  }

  get bytes(): Buffer {
    return Buffer.concat(this.received);
  }

  /** The PDUs received so far (whole ones). */
  pdus(): Pdu[] {
    const b = this.bytes;
    const out: Pdu[] = [];
    let o = 0;
    while (o + 6 <= b.length) {
      const n = 6 + b.readUInt32BE(o + 2);
      if (o + n > b.length) break;
      const r = decodePdu(new Uint8Array(b.subarray(o, o + n)));
      assert.ok(r.ok, 'Veil sent a valid PDU');
      out.push(r.value);
      o += n;
    }
    return out;
  }

  async waitFor(pred: (pdus: Pdu[]) => boolean, ms = 3000): Promise<Pdu[]> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const p = this.pdus();
      if (pred(p)) return p;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out; received ${JSON.stringify(this.pdus().map((p) => p.type))}`);
  }

  /** Sends an A-ASSOCIATE-RQ and waits for the AC. */
  async associate(req = rq()): Promise<void> {
    this.send(encodePdu(req));
    const p = await this.waitFor((x) => x.length > 0);
    assert.equal(p[0]!.type, 'A-ASSOCIATE-AC');
    this.received = [];
  }
}

function pdata(contextId: number, isCommand: boolean, isLast: boolean, data: Uint8Array): Uint8Array {
  return encodePdu({ type: 'P-DATA-TF', pdvs: [{ contextId, isCommand, isLast, data }] });
}

const abortOf = (p: Pdu[]) => p.find((x) => x.type === 'A-ABORT') as { source: number; reason: number } | undefined;

describe('bad peers against DimseServer', () => {
  const store = new MemoryStore();
  let found = 0;
  let server: DimseServer;
  let port = 0;
  const sample = datasetOf(pick(EXPLICIT, 1)[0]!.path);

  before(async () => {
    server = new DimseServer({
      aeTitle: 'VEIL',
      callingAeTitles: ['RAW', 'SCU', 'GOOD'],
      maxPduLength: 16384,
      maxAssociations: 60,
      timeouts: { artimMs: 300, sendMs: 500, idleMs: 5000 },
      handlers: {
        store,
        find: {
          // An endless supply of 64 KB matches: only backpressure keeps this bounded.
          *find(rq) {
            const big = encodeIdentifier(
              [
                [0x00080052, 'STUDY'],
                [0x00081030, 'x'.repeat(60000)],
              ],
              rq.transferSyntaxUid,
            );
            for (let i = 0; i < 100000; i++) {
              found++;
              yield big;
            }
          },
        },
      },
    });
    ({ port } = await server.listen({ port: 0 }));
  });

  after(async () => {
    await server.close({ abort: true });
  });

  // Before an association exists (Sta2) PS3.8 answers a bad PDU with AA-1: an A-ABORT of the service-user source.
  it('answers an unrecognized PDU type with A-ABORT (AA-1) and closes', async () => {
    const peer = await RawPeer.open(port);
    peer.send(new Uint8Array([0x09, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
    await peer.closed;
    assert.deepEqual([...peer.bytes], [7, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
  });

  it('answers a malformed A-ASSOCIATE-RQ (item overrunning the PDU) with A-ABORT (AA-1)', async () => {
    const bytes = encodePdu(rq());
    const i = bytes.indexOf(0x20, 74); // first presentation context item
    bytes[i + 2] = 0x7f;
    const peer = await RawPeer.open(port);
    peer.send(bytes);
    await peer.closed;
    assert.deepEqual(abortOf(peer.pdus()), { type: 'A-ABORT', source: 0, reason: 0 });
  });

  it('answers a P-DATA-TF before any association with A-ABORT (AA-1)', async () => {
    const peer = await RawPeer.open(port);
    peer.send(pdata(1, true, true, new Uint8Array(4)));
    await peer.closed;
    assert.deepEqual(abortOf(peer.pdus()), { type: 'A-ABORT', source: 0, reason: 0 });
  });

  it('answers an unexpected PDU on an established association with A-ABORT (AA-8: provider, reason 2)', async () => {
    const peer = await RawPeer.open(port);
    await peer.associate();
    peer.send(encodePdu({ type: 'A-RELEASE-RP' }));
    await peer.closed;
    assert.deepEqual(abortOf(peer.pdus()), { type: 'A-ABORT', source: 2, reason: 2 });
  });

  it('rejects with the PS3.8 result/source/reason: called AE, calling AE, application context, protocol version', async () => {
    const cases: Array<[Partial<AssociateRqPdu>, [number, number, number]]> = [
      [{ calledAeTitle: 'OTHER' }, [1, 1, 7]],
      [{ callingAeTitle: 'STRANGER' }, [1, 1, 3]],
      [{ applicationContextName: '1.2.3' }, [1, 1, 2]],
      [{ protocolVersion: 2 }, [1, 2, 2]],
    ];
    for (const [o, [result, source, reason]] of cases) {
      const peer = await RawPeer.open(port);
      peer.send(encodePdu(rq(o)));
      await peer.closed;
      assert.deepEqual(peer.pdus(), [{ type: 'A-ASSOCIATE-RJ', result, source, reason }], JSON.stringify(o));
    }
  });

  it('closes a connection that never sends an A-ASSOCIATE-RQ when ARTIM expires', async () => {
    const peer = await RawPeer.open(port);
    const t0 = Date.now();
    await peer.closed;
    assert.ok(Date.now() - t0 >= 250, 'not before ARTIM');
    assert.equal(peer.bytes.length, 0);
  });

  it('aborts an established association that stays idle past the idle timeout', async () => {
    const idle = new DimseServer({ aeTitle: 'VEIL', handlers: {}, timeouts: { idleMs: 300, artimMs: 300 } });
    const { port: p } = await idle.listen({ port: 0 });
    try {
      const peer = await RawPeer.open(p);
      await peer.associate(rq({ callingAeTitle: 'ANY' }));
      const t0 = Date.now();
      await peer.closed;
      assert.ok(Date.now() - t0 >= 250);
      assert.deepEqual(abortOf(peer.pdus()), { type: 'A-ABORT', source: 0, reason: 0 });
    } finally {
      await idle.close({ abort: true });
    }
  });

  it('aborts a PDU longer than the announced maximum before buffering it (AA-8: provider, reason 6)', async () => {
    const peer = await RawPeer.open(port);
    await peer.associate();
    peer.send(new Uint8Array([4, 0, 0x06, 0, 0, 0])); // a 100 MB P-DATA-TF header
    await peer.closed;
    assert.deepEqual(abortOf(peer.pdus()), { type: 'A-ABORT', source: 2, reason: 6 });
  });

  it('aborts a PDV on a presentation context that was not accepted, and a truncated command set', async () => {
    const peer = await RawPeer.open(port);
    await peer.associate();
    peer.send(pdata(7, true, true, new Uint8Array(8)));
    await peer.closed;
    assert.equal(abortOf(peer.pdus())?.source, 2);
    const peer2 = await RawPeer.open(port);
    await peer2.associate();
    peer2.send(pdata(1, true, true, new Uint8Array([0, 0, 0, 0, 4, 0, 0])));
    await peer2.closed;
    assert.equal(abortOf(peer2.pdus())?.source, 2);
  });

  it('acknowledges nothing when a peer aborts or vanishes mid-transfer, and aborts the sink', async () => {
    const command = encodeCommand({
      commandField: CommandField.CStoreRq,
      messageId: 1,
      affectedSopClassUid: CT,
      affectedSopInstanceUid: '1.2.3.4.5.6.7',
      priority: 0,
      hasDataset: true,
    });
    const before = { aborted: store.aborted, stored: store.stored.size };
    // 1: A-ABORT after half the data set.
    const peer = await RawPeer.open(port);
    await peer.associate();
    peer.send(pdata(3, true, true, command), pdata(3, false, false, sample.bytes.subarray(0, 1000)));
    peer.send(encodePdu({ type: 'A-ABORT', source: 0, reason: 0 }));
    await peer.closed;
    // 2: the socket just closes.
    const peer2 = await RawPeer.open(port);
    await peer2.associate();
    peer2.send(pdata(3, true, true, command), pdata(3, false, false, sample.bytes.subarray(0, 1000)));
    await new Promise((r) => setTimeout(r, 50));
    peer2.socket.destroy();
    const until = Date.now() + 2000;
    while (store.aborted < before.aborted + 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal(store.aborted, before.aborted + 2);
    assert.equal(store.stored.size, before.stored);
    assert.ok(!peer.pdus().some((p) => p.type === 'P-DATA-TF'), 'no C-STORE-RSP was sent');
  });

  it('aborts a peer that stops reading after the send timeout, having produced a bounded amount', async () => {
    const peer = await RawPeer.open(port);
    await peer.associate();
    const identifier = encodeIdentifier([[0x00080052, 'STUDY']], EXPLICIT);
    const command = encodeCommand({
      commandField: CommandField.CFindRq,
      messageId: 1,
      affectedSopClassUid: QueryRetrieve.StudyRootFind,
      priority: 0,
      hasDataset: true,
    });
    peer.socket.pause(); // stop reading: the kernel buffers fill, then Veil's writes must wait
    peer.send(pdata(5, true, true, command), pdata(5, false, true, identifier));
    const t0 = Date.now();
    while (server.activeAssociations > 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.activeAssociations, 0, 'the association was dropped');
    // Each match is 64 KB; what was produced fits in socket buffers, not in 100,000 matches (6.4 GB).
    assert.ok(found < 1000, `matches produced: ${found}`);
    peer.socket.destroy();
  });

  it('serves 50 simultaneous associations and acknowledges exactly what it stored', async () => {
    const slow = new MemoryStore();
    slow.writeDelayMs = 1;
    const busy = new DimseServer({ aeTitle: 'VEIL', handlers: { store: slow }, maxPduLength: 16384 });
    const { port: p } = await busy.listen({ port: 0 });
    try {
      const acked: string[] = [];
      await Promise.all(
        Array.from({ length: 50 }, async (_, k) => {
          const c = await DimseClient.connect({
            host: '127.0.0.1',
            port: p,
            callingAeTitle: `SCU${k}`,
            calledAeTitle: 'VEIL',
            contexts: [{ abstractSyntax: sample.sopClassUid, transferSyntaxes: [sample.transferSyntaxUid] }],
          });
          for (let i = 0; i < 4; i++) {
            const uid = `1.2.826.0.1.3680043.2.1143.${k}.${i}`;
            const r = await c.store({ ...sample, sopInstanceUid: uid, dataset: sample.bytes });
            if (r.status === 0) acked.push(uid);
          }
          await c.release();
        }),
      );
      assert.equal(acked.length, 200);
      for (const uid of acked) assert.ok(Buffer.from(slow.stored.get(uid)!.bytes).equals(Buffer.from(sample.bytes)));
    } finally {
      await busy.close({ abort: true });
    }
  });

  it('rejects associations over the limit transiently (2, 3, 2) and serves the others', async () => {
    const limited = new DimseServer({ aeTitle: 'VEIL', handlers: {}, maxAssociations: 5 });
    const { port: p } = await limited.listen({ port: 0 });
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, () =>
          DimseClient.connect({
            host: '127.0.0.1',
            port: p,
            callingAeTitle: 'SCU',
            calledAeTitle: 'VEIL',
            contexts: [{ abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT] }],
          }),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.ok(ok.length >= 5 && rejected.length >= 1, `${ok.length} accepted`);
      for (const r of rejected) {
        const e = r.reason as DimseError;
        assert.deepEqual([e.code, e.result, e.source, e.reason], ['DIMSE_ASSOCIATION_REJECTED', 2, 3, 2]);
      }
      for (const r of ok) {
        const c = (r as PromiseFulfilledResult<DimseClient>).value;
        assert.equal(await c.echo(), 0);
        await c.release();
      }
    } finally {
      await limited.close({ abort: true });
    }
  });

  it('still serves after all of the above', async () => {
    const c = await DimseClient.connect({
      host: '127.0.0.1',
      port,
      callingAeTitle: 'GOOD',
      calledAeTitle: 'VEIL',
      contexts: [{ abstractSyntax: sample.sopClassUid, transferSyntaxes: [sample.transferSyntaxUid] }],
    });
    assert.equal((await c.store({ ...sample, dataset: sample.bytes })).status, 0);
    await c.release();
    assert.ok(Buffer.from(store.stored.get(sample.sopInstanceUid)!.bytes).equals(Buffer.from(sample.bytes)));
  });
});

describe('bad acceptors against DimseClient', () => {
  it('fails a C-STORE to a peer that stops reading with DIMSE_TIMEOUT, reading a bounded part of the data set', async () => {
    const sockets: Socket[] = [];
    const acceptor = createServer((s) => {
      sockets.push(s);
      s.once('data', (d: Buffer) => {
        const r = decodePdu(new Uint8Array(d));
        assert.ok(r.ok && r.value.type === 'A-ASSOCIATE-RQ');
        s.write(
          encodePdu({
            type: 'A-ASSOCIATE-AC',
            protocolVersion: 1,
            calledAeTitle: r.value.calledAeTitle,
            callingAeTitle: r.value.callingAeTitle,
            applicationContextName: '1.2.840.10008.3.1.1.1',
            presentationContexts: [{ id: 1, result: 0, transferSyntax: EXPLICIT }],
            userInformation: { maxLength: 16384 },
          }),
        );
        s.pause(); // never read again
      });
    });
    acceptor.listen(0, '127.0.0.1');
    await once(acceptor, 'listening');
    const port = (acceptor.address() as { port: number }).port;
    try {
      const c = await DimseClient.connect({
        host: '127.0.0.1',
        port,
        callingAeTitle: 'VEIL',
        calledAeTitle: 'STUCK',
        contexts: [{ abstractSyntax: CT, transferSyntaxes: [EXPLICIT] }],
        timeouts: { sendMs: 400, artimMs: 200 },
      });
      let pulled = 0;
      async function* endless(): AsyncGenerator<Uint8Array> {
        const chunk = new Uint8Array(1024 * 1024);
        for (;;) {
          pulled++;
          yield chunk;
        }
      }
      await assert.rejects(
        c.store({ sopClassUid: CT, sopInstanceUid: '1.2.3', transferSyntaxUid: EXPLICIT, dataset: endless() }),
        (e: DimseError) => e.code === 'DIMSE_TIMEOUT',
      );
      assert.ok(pulled < 200, `MB pulled from the data set: ${pulled}`);
    } finally {
      for (const s of sockets) s.destroy();
      acceptor.close();
    }
  });

  it('reports an A-ASSOCIATE-RJ and a silent acceptor as errors with codes', async () => {
    const silent = createServer(() => {});
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const port = (silent.address() as { port: number }).port;
    try {
      await assert.rejects(
        DimseClient.connect({
          host: '127.0.0.1',
          port,
          callingAeTitle: 'VEIL',
          calledAeTitle: 'SILENT',
          contexts: [{ abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT] }],
          timeouts: { acseMs: 300, artimMs: 100 },
        }),
        (e: DimseError) => e.code === 'DIMSE_TIMEOUT',
      );
    } finally {
      silent.close();
    }
  });
});
