/**
 * `veil_refused_total{listener,code}` counts the DIMSE listener's refusals before an A-ASSOCIATE-RQ, read from the
 * running server's metrics: a peer silent until ARTIM, a peer trickling its request past ARTIM, a garbage or
 * oversized first PDU, connections over the per-peer and the total limit, and (with openssl) TLS handshakes without
 * the client certificate the listener requires, with a rogue CA's, not TLS at all, or silent. A legitimate echo still succeeds afterwards.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import type { ServerHandle } from '../src/server/server.ts';
import { associateRq, echo, hasOpenssl, makeCerts } from './security-support.ts';
import { metric, startServerIn, waitFor } from './server-support.ts';

async function open(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1', localAddress });
  s.on('error', () => {});
  s.resume();
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('close', () => reject(new Error('closed before connecting')));
  });
  return s;
}

const closed = (s: { destroyed: boolean; once(e: 'close', f: () => void): unknown }): Promise<void> =>
  s.destroyed ? Promise.resolve() : new Promise((resolve) => s.once('close', () => resolve()));

describe('veil serve: DIMSE refusals before an association are counted', () => {
  const root = mkdtempSync(join(tmpdir(), 'veil-dimse-refusals-'));
  let server: ServerHandle;
  let port = 0;

  const count = async (listener: string, code: string): Promise<number> =>
    metric(await server.obs.metrics.render(), `veil_refused_total{listener="${listener}",code="${code}"}`) ?? 0;
  const counted = (listener: string, code: string, atLeast = 1): Promise<number> =>
    waitFor(
      `${listener} ${code} >= ${atLeast}`,
      async () => {
        const n = await count(listener, code);
        return n >= atLeast ? n : undefined;
      },
      10_000,
    );

  before(async () => {
    if (hasOpenssl) makeCerts(root);
    const tlsListener = hasOpenssl
      ? [
          {
            name: 'secure',
            kind: 'dimse',
            aeTitle: 'VEIL',
            port: 0,
            tls: { cert: './server.crt', key: './server.key', clientCa: './ca.crt' },
            limits: { associateSeconds: 0.5 },
          },
        ]
      : [];
    server = await startServerIn(root, {
      ingress: [
        {
          name: 'modalities',
          kind: 'dimse',
          aeTitle: 'VEIL',
          port: 0,
          limits: { maxConnections: 4, maxConnectionsPerPeer: 2, associateSeconds: 0.5 },
        },
        ...tlsListener,
      ],
      log: { level: 'silent' },
    });
    port = server.ingressPorts.modalities!;
  });
  after(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('a peer that sends nothing, and one trickling its A-ASSOCIATE-RQ, until ARTIM: TIMEOUT_ARTIM', async () => {
    const silent = await open(port);
    await closed(silent);
    assert.equal(await counted('modalities', 'TIMEOUT_ARTIM'), 1);
    const trickler = await open(port);
    const rq = associateRq('TRICKLE');
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < rq.length && !trickler.destroyed) trickler.write(rq.subarray(sent, ++sent));
    }, 25);
    try {
      await closed(trickler);
    } finally {
      clearInterval(timer);
    }
    assert.ok(sent < rq.length, 'cut before its request was complete');
    assert.equal(await counted('modalities', 'TIMEOUT_ARTIM', 2), 2);
  });

  test('a garbage first PDU and an oversized one: UL_UNRECOGNIZED_PDU, UL_PDU_TOO_LONG', async () => {
    for (const [code, bytes] of [
      ['UL_UNRECOGNIZED_PDU', new Uint8Array([0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50])], // "GET / HTTP"
      ['UL_PDU_TOO_LONG', new Uint8Array([0x01, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1])],
    ] as const) {
      const s = await open(port);
      s.write(bytes);
      await closed(s);
      assert.equal(await counted('modalities', code), 1, code);
    }
  });

  test('connections over the per-peer and the total limit: PEER_CONNECTION_LIMIT, CONNECTION_LIMIT', async () => {
    const held = [await open(port), await open(port)];
    try {
      const third = await open(port).catch(() => undefined);
      if (third) await closed(third);
      assert.equal(await counted('modalities', 'PEER_CONNECTION_LIMIT'), 1);
      held.push(await open(port, '127.0.0.2'), await open(port, '127.0.0.2'));
      const fifth = await open(port, '127.0.0.3').catch(() => undefined);
      if (fifth) await closed(fifth);
      assert.equal(await counted('modalities', 'CONNECTION_LIMIT'), 1);
    } finally {
      for (const s of held) s.destroy();
    }
    // The held connections gone, a legitimate association is served.
    await waitFor('room again', async () => {
      try {
        return (await echo(port, { calling: 'GOOD' })) === 0;
      } catch {
        return false;
      }
    });
  });

  test('TLS: no or a rogue client certificate, plain DICOM, silence: TLS_CLIENT_CERTIFICATE_REFUSED, TLS_HANDSHAKE_FAILED, TIMEOUT_TLS_HANDSHAKE', {
    skip: !hasOpenssl && 'openssl is not installed',
  }, async () => {
    const port = server.ingressPorts.secure!;
    const pem = (name: string): string => readFileSync(join(root, name), 'utf8');
    const handshakes = [
      { port, host: '127.0.0.1', rejectUnauthorized: false },
      { port, host: '127.0.0.1', rejectUnauthorized: false, cert: pem('intruder.crt'), key: pem('intruder.key') },
    ];
    for (const [i, options] of handshakes.entries()) {
      const s = tlsConnect(options);
      s.on('error', () => {});
      s.resume();
      await closed(s);
      assert.equal(await counted('secure', 'TLS_CLIENT_CERTIFICATE_REFUSED', i + 1), i + 1);
    }
    const plain = await open(port);
    plain.write(new Uint8Array([0x01, 0, 0, 0, 0, 0x44]));
    await closed(plain);
    assert.equal(await counted('secure', 'TLS_HANDSHAKE_FAILED'), 1, 'plain DICOM on the TLS port');
    const silent = await open(port);
    await closed(silent);
    assert.equal(await counted('secure', 'TIMEOUT_TLS_HANDSHAKE'), 1);
  });
});
