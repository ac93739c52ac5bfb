/**
 * Every refusal of the DimseServer before an association is decided is reported as a 'refused' event with a stable
 * code (refusals.ts): a peer silent or trickling until ARTIM, a first PDU that is garbage, oversized or not an
 * A-ASSOCIATE-RQ, and connections over the total and per-peer limits (the total one is dropped by the socket layer
 * itself). A peer that goes away on its own, an A-ASSOCIATE-RJ (its own event) and a normal association are not.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it, test } from 'node:test';
import { DimseClient, DimseServer, type DimseServerEvent, encodePdu, VERIFICATION_SOP_CLASS } from '../src/index.ts';
import { refusalBeforeAssociation, refusalOfTlsHandshake } from '../src/services/refusals.ts';

const IMPLICIT = '1.2.840.10008.1.2';
type Refused = Extract<DimseServerEvent, { type: 'refused' }>;

async function open(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1', localAddress });
  s.on('error', () => {});
  s.resume(); // read (and drop) what Veil sends, so its end is seen
  await once(s, 'connect');
  return s;
}

/** Resolves when the socket is closed, whether Veil ended it, reset it or the peer did. */
const closed = (s: Socket): Promise<void> =>
  s.destroyed ? Promise.resolve() : new Promise((resolve) => s.once('close', () => resolve()));

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function rqBytes(calledAeTitle = 'VEIL'): Uint8Array {
  return encodePdu({
    type: 'A-ASSOCIATE-RQ',
    protocolVersion: 1,
    calledAeTitle,
    callingAeTitle: 'RAW',
    applicationContextName: '1.2.840.10008.3.1.1.1',
    presentationContexts: [{ id: 1, abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT] }],
    userInformation: { maxLength: 16384, implementationClassUid: '1.2.3.4' },
  });
}

describe('DimseServer refusals before an association', () => {
  const refused: Refused[] = [];
  const rejected: string[] = [];
  let server: DimseServer;
  let port = 0;
  const codes = (): string[] => refused.map((e) => e.code);

  before(async () => {
    server = new DimseServer({
      aeTitle: 'VEIL',
      handlers: {},
      timeouts: { artimMs: 400 },
      onEvent: (e) => {
        if (e.type === 'refused') refused.push(e);
        if (e.type === 'rejected') rejected.push(e.reason);
      },
    });
    ({ port } = await server.listen({ port: 0 }));
  });
  after(() => server.close({ abort: true }));

  it('a peer that sends nothing until ARTIM: TIMEOUT_ARTIM', async () => {
    refused.length = 0;
    const s = await open(port);
    await closed(s);
    await until('the refusal', () => refused.length === 1);
    assert.deepEqual(codes(), ['TIMEOUT_ARTIM']);
    assert.equal(refused[0]?.reason, 'before-association');
    assert.equal(refused[0]?.remoteAddress?.endsWith('127.0.0.1'), true);
  });

  it('a peer trickling its A-ASSOCIATE-RQ a byte at a time: TIMEOUT_ARTIM', async () => {
    refused.length = 0;
    const s = await open(port);
    const bytes = rqBytes();
    let i = 0;
    const t = setInterval(() => {
      if (i < bytes.length && !s.destroyed) s.write(bytes.subarray(i, ++i));
    }, 20);
    try {
      await closed(s);
    } finally {
      clearInterval(t);
    }
    assert.ok(i < bytes.length, 'cut before the request was complete');
    await until('the refusal', () => refused.length === 1);
    assert.deepEqual(codes(), ['TIMEOUT_ARTIM']);
  });

  it('a first PDU that is garbage, oversized or not an A-ASSOCIATE-RQ: its UL code', async () => {
    refused.length = 0;
    const firsts: [string, Uint8Array][] = [
      ['UL_UNRECOGNIZED_PDU', new Uint8Array([0x09, 0, 0, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef])],
      ['UL_PDU_TOO_LONG', new Uint8Array([0x01, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1])],
      [
        'UNEXPECTED_PDU',
        encodePdu({
          type: 'P-DATA-TF',
          pdvs: [{ contextId: 1, isCommand: true, isLast: true, data: new Uint8Array(4) }],
        }),
      ],
    ];
    for (const [code, bytes] of firsts) {
      const s = await open(port);
      s.write(bytes);
      await closed(s);
      await until(code, () => refused.length > 0 && refused.at(-1)?.code === code);
    }
    assert.deepEqual(
      codes(),
      firsts.map(([c]) => c),
    );
  });

  it('not a refusal: a peer that closes on its own, an A-ASSOCIATE-RJ (its own event), a normal association', async () => {
    refused.length = 0;
    rejected.length = 0;
    const quitter = await open(port);
    quitter.end();
    await closed(quitter);
    const wrongAe = await open(port);
    wrongAe.write(rqBytes('OTHER'));
    await closed(wrongAe);
    const client = await DimseClient.connect({
      host: '127.0.0.1',
      port,
      callingAeTitle: 'SCU',
      calledAeTitle: 'VEIL',
      contexts: [{ abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT] }],
    });
    assert.equal(await client.echo(), 0);
    await client.release();
    await new Promise((r) => setTimeout(r, 600)); // past ARTIM: nothing is counted late either
    assert.deepEqual(rejected, ['called-ae-title']);
    assert.deepEqual(codes(), []);
  });
});

describe('DimseServer refusals: connection limits', () => {
  const refused: Refused[] = [];
  let server: DimseServer;
  let port = 0;

  before(async () => {
    server = new DimseServer({
      aeTitle: 'VEIL',
      handlers: {},
      maxConnections: 3,
      maxConnectionsPerPeer: 2,
      timeouts: { artimMs: 5000 },
      onEvent: (e) => {
        if (e.type === 'refused') refused.push(e);
      },
    });
    ({ port } = await server.listen({ port: 0 }));
  });
  after(() => server.close({ abort: true }));

  it('over the per-peer limit: PEER_CONNECTION_LIMIT; over the total: CONNECTION_LIMIT; each closed at once', async () => {
    const held = [await open(port), await open(port)];
    const third = await open(port);
    await closed(third);
    await until('the per-peer refusal', () => refused.length === 1);
    assert.deepEqual(
      refused.map((e) => [e.reason, e.code]),
      [['peer-connections', 'PEER_CONNECTION_LIMIT']],
    );
    held.push(await open(port, '127.0.0.2'));
    const over = await open(port, '127.0.0.3').catch(() => undefined);
    if (over) await closed(over);
    await until('the total refusal', () => refused.length === 2);
    assert.deepEqual(refused[1] && [refused[1].reason, refused[1].code], ['connections', 'CONNECTION_LIMIT']);
    for (const s of held) assert.equal(s.destroyed, false, 'the connections within the limits stay open');
    for (const s of held) s.destroy();
  });
});

test('refusal codes: only what Veil ended counts; a peer leaving on its own does not', () => {
  assert.equal(
    refusalBeforeAssociation({ kind: 'aborted', by: 'local', source: 0, reason: 0, code: 'TIMEOUT_ARTIM' }),
    'TIMEOUT_ARTIM',
  );
  assert.equal(refusalBeforeAssociation({ kind: 'aborted', by: 'local', source: 0, reason: 0 }), 'LOCAL_ABORT');
  assert.equal(refusalBeforeAssociation({ kind: 'aborted', by: 'peer', source: 0, reason: 0 }), undefined);
  assert.equal(refusalBeforeAssociation({ kind: 'closed' }), undefined);
  const err = (code: string) => Object.assign(new Error('x'), { code });
  assert.equal(
    refusalOfTlsHandshake(err('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE')),
    'TLS_CLIENT_CERTIFICATE_REFUSED',
  );
  assert.equal(
    refusalOfTlsHandshake(err('ECONNRESET'), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
    'TLS_CLIENT_CERTIFICATE_REFUSED',
  );
  assert.equal(refusalOfTlsHandshake(err('ECONNRESET'), null), undefined);
  assert.equal(refusalOfTlsHandshake(err('ERR_TLS_HANDSHAKE_TIMEOUT')), 'TIMEOUT_TLS_HANDSHAKE');
  assert.equal(refusalOfTlsHandshake(err('ERR_SSL_WRONG_VERSION_NUMBER')), 'TLS_HANDSHAKE_FAILED');
});
