/**
 * Veil SCU against Veil SCP on 127.0.0.1 (free ports): C-ECHO, C-STORE byte-faithful across transfer syntaxes with
 * small PDUs (fragmentation and reassembly), no-conversion refusal, C-FIND with cancel, C-GET with role selection,
 * C-MOVE to a second SCP, user identity negotiation and TLS.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DimseClient,
  type DimseError,
  DimseServer,
  encodeIdentifier,
  type GetInstance,
  type MoveRequest,
  QueryRetrieve,
  readIdentifier,
  Status,
  type SuboperationCounts,
  textOf,
  VERIFICATION_SOP_CLASS,
} from '@veil/dimse';
import { datasetOf, pick } from './support/corpus.ts';
import { MemoryStore, studyIndex } from './support/memory-store.ts';

const IMPLICIT = '1.2.840.10008.1.2';
const EXPLICIT = '1.2.840.10008.1.2.1';

const files = [
  ...pick(EXPLICIT, 6),
  ...pick(IMPLICIT, 2),
  ...pick('1.2.840.10008.1.2.2', 1),
  ...pick('1.2.840.10008.1.2.1.99', 2),
  ...pick('1.2.840.10008.1.2.4.70', 1),
  ...pick('1.2.840.10008.1.2.5', 1),
]
  .map((f) => ({ rel: f.rel, ...datasetOf(f.path) }))
  // The corpus holds a few copies of one instance in other transfer syntaxes: keep one per SOP instance UID.
  .filter((f, i, all) => all.findIndex((g) => g.sopInstanceUid === f.sopInstanceUid) === i);

function contextsFor(list: typeof files, scpRole = false) {
  const seen = new Map<string, { abstractSyntax: string; transferSyntaxes: string[]; scpRole?: boolean }>();
  for (const f of list) {
    seen.set(`${f.sopClassUid} ${f.transferSyntaxUid}`, {
      abstractSyntax: f.sopClassUid,
      transferSyntaxes: [f.transferSyntaxUid],
      ...(scpRole ? { scpRole: true } : {}),
    });
  }
  return [...seen.values()];
}

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let o = 0; o < bytes.length; o += size) yield bytes.subarray(o, o + size);
}

describe('Veil SCU <-> Veil SCP on loopback', () => {
  const store = new MemoryStore();
  const studies = [
    { PatientName: 'ALPHA^A', PatientID: 'P1', StudyInstanceUID: '1.2.3.1', StudyDate: '20200101' },
    { PatientName: 'BETA^B', PatientID: 'P2', StudyInstanceUID: '1.2.3.2', StudyDate: '20210101' },
    { PatientName: 'GAMMA^C', PatientID: 'P2', StudyInstanceUID: '1.2.3.3', StudyDate: '20220101' },
  ];
  const index = studyIndex(studies, encodeIdentifier);
  let server: DimseServer;
  let port = 0;

  before(async () => {
    server = new DimseServer({
      aeTitle: 'VEIL',
      maxPduLength: 4096, // small: every instance is fragmented into many PDVs
      handlers: {
        store,
        find: index,
        get: {
          get: () => ({
            count: files.length,
            instances: files.map((f): GetInstance => ({ ...f, dataset: f.bytes })),
          }),
        },
      },
      policies: { FINDONLY: { services: ['echo', 'find'] } },
      authorize: (rq) => {
        const id = rq.userIdentity;
        if (rq.callingAeTitle !== 'IDENTIFIED') return {};
        if (id?.type === 2 && new TextDecoder().decode(id.secondaryField) === 'right') {
          return { userIdentityResponse: new Uint8Array(0) };
        }
        return { reject: 'no-reason' };
      },
    });
    ({ port } = await server.listen({ port: 0 }));
  });

  after(async () => {
    await server.close({ abort: true });
  });

  const connect = (
    contexts: Parameters<typeof DimseClient.connect>[0]['contexts'],
    extra: Partial<Parameters<typeof DimseClient.connect>[0]> = {},
  ) =>
    DimseClient.connect({ host: '127.0.0.1', port, callingAeTitle: 'SCU', calledAeTitle: 'VEIL', contexts, ...extra });

  it('answers C-ECHO', async () => {
    const c = await connect([{ abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT] }]);
    assert.equal(await c.echo(), Status.Success);
    await c.release();
  });

  it('stores data sets byte for byte in every transfer syntax, from bytes and from odd-sized streams', async () => {
    assert.ok(files.length >= 8, `corpus files found: ${files.length}`);
    const c = await connect(contextsFor(files), { maxPduLength: 8192 });
    for (const [i, f] of files.entries()) {
      const dataset = i % 2 === 0 ? f.bytes : chunked(f.bytes, 777);
      const r = await c.store({ ...f, dataset });
      assert.equal(r.status, Status.Success, f.rel);
    }
    await c.release();
    for (const f of files) {
      const got = store.stored.get(f.sopInstanceUid);
      assert.ok(got, f.rel);
      assert.equal(got.request.transferSyntaxUid, f.transferSyntaxUid, f.rel);
      assert.equal(got.request.association.callingAeTitle, 'SCU');
      assert.ok(Buffer.from(got.bytes).equals(Buffer.from(f.bytes)), `${f.rel}: received data set differs`);
      if (f.bytes.length > 8192) assert.ok(got.fragments > 1, `${f.rel} was fragmented`);
    }
  });

  it('refuses to send a data set whose transfer syntax was not accepted: DIMSE_NO_ACCEPTABLE_CONTEXT', async () => {
    const restricted = new DimseServer({ aeTitle: 'STRICT', transferSyntaxes: [EXPLICIT], handlers: { store } });
    const { port: p } = await restricted.listen({ port: 0 });
    try {
      const implicitFile = files.find((f) => f.transferSyntaxUid === IMPLICIT)!;
      const c = await DimseClient.connect({
        host: '127.0.0.1',
        port: p,
        callingAeTitle: 'SCU',
        calledAeTitle: 'STRICT',
        contexts: [{ abstractSyntax: implicitFile.sopClassUid, transferSyntaxes: [IMPLICIT] }],
      });
      assert.equal(c.acceptedContexts.length, 0);
      const before = store.begun;
      await assert.rejects(
        c.store({ ...implicitFile, dataset: implicitFile.bytes }),
        (e: DimseError) => e.code === 'DIMSE_NO_ACCEPTABLE_CONTEXT',
      );
      assert.equal(store.begun, before, 'nothing was sent');
      await c.release();
    } finally {
      await restricted.close({ abort: true });
    }
  });

  it('answers C-FIND from the handler and honours C-CANCEL', async () => {
    for (const ts of [IMPLICIT, EXPLICIT]) {
      const c = await connect([{ abstractSyntax: QueryRetrieve.StudyRootFind, transferSyntaxes: [ts] }]);
      const names: string[] = [];
      for await (const m of c.find(QueryRetrieve.StudyRootFind, [
        [0x00080052, 'STUDY'],
        [0x00100020, 'P2'],
        [0x00100010, ''],
      ])) {
        names.push(textOf(readIdentifier(m.identifier, m.transferSyntaxUid), 0x00100010) ?? '');
      }
      assert.deepEqual(names, ['BETA^B', 'GAMMA^C']);
      // Cancel after the first match: the final response is Cancel.
      const ac = new AbortController();
      const gen = c.find(QueryRetrieve.StudyRootFind, [[0x00080052, 'STUDY']], { signal: ac.signal });
      let seen = 0;
      let final: number | undefined;
      for (;;) {
        const r = await gen.next();
        if (r.done) {
          final = r.value;
          break;
        }
        seen++;
        ac.abort();
      }
      assert.ok(seen >= 1 && seen <= 3);
      assert.ok(final === Status.Cancel || final === Status.Success);
      await c.release();
    }
  });

  it('enforces per-calling-AE policy: a find-only AE gets no storage context', async () => {
    const c = await DimseClient.connect({
      host: '127.0.0.1',
      port,
      callingAeTitle: 'FINDONLY',
      calledAeTitle: 'VEIL',
      contexts: [
        ...contextsFor(files.slice(0, 1)),
        { abstractSyntax: QueryRetrieve.StudyRootFind, transferSyntaxes: [EXPLICIT] },
      ],
    });
    assert.deepEqual(
      c.acceptedContexts.map((x) => x.abstractSyntax),
      [QueryRetrieve.StudyRootFind],
    );
    await c.release();
  });

  it('serves C-GET on the requestor association, with SCP role selection', async () => {
    const received = new MemoryStore();
    const c = await connect(
      [{ abstractSyntax: QueryRetrieve.StudyRootGet, transferSyntaxes: [EXPLICIT] }, ...contextsFor(files, true)],
      {
        storeHandler: received,
      },
    );
    const progress: SuboperationCounts[] = [];
    const r = await c.get(
      QueryRetrieve.StudyRootGet,
      [
        [0x00080052, 'STUDY'],
        [0x0020000d, '1.2.3.1'],
      ],
      { onProgress: (p) => progress.push(p) },
    );
    assert.equal(r.status, Status.Success);
    assert.equal(r.completed, files.length);
    assert.equal(progress.length, files.length);
    for (const f of files) {
      assert.ok(Buffer.from(received.stored.get(f.sopInstanceUid)!.bytes).equals(Buffer.from(f.bytes)), f.rel);
    }
    await c.release();
    // Without the SCP role, every sub-operation fails (Veil never sends on a context it may not use).
    const c2 = await connect([
      { abstractSyntax: QueryRetrieve.StudyRootGet, transferSyntaxes: [EXPLICIT] },
      ...contextsFor(files),
    ]);
    const r2 = await c2.get(QueryRetrieve.StudyRootGet, [[0x00080052, 'STUDY']]);
    assert.equal(r2.status, Status.RefusedOutOfResourcesSuboperations);
    assert.equal(r2.failed, files.length);
    await c2.release();
  });

  it('negotiates user identity: wrong passcode rejected, right one accepted', async () => {
    const identity = (secret: string) => ({
      type: 2,
      positiveResponseRequested: true,
      primaryField: new TextEncoder().encode('user'),
      secondaryField: new TextEncoder().encode(secret),
    });
    const ctx = [{ abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT] }];
    await assert.rejects(
      connect(ctx, { callingAeTitle: 'IDENTIFIED', userIdentity: identity('wrong') }),
      (e: DimseError) => e.code === 'DIMSE_ASSOCIATION_REJECTED' && e.result === 1 && e.source === 1 && e.reason === 1,
    );
    const c = await connect(ctx, { callingAeTitle: 'IDENTIFIED', userIdentity: identity('right') });
    assert.deepEqual(c.association.ac?.userInformation.userIdentityAc, new Uint8Array(0));
    assert.equal(await c.echo(), 0);
    await c.release();
  });
});

describe('C-MOVE through a MoveHandler to a second SCP', () => {
  it('moves instances to the destination AE and reports sub-operation counts', async () => {
    const destStore = new MemoryStore();
    const dest = new DimseServer({ aeTitle: 'DEST', handlers: { store: destStore } });
    const { port: destPort } = await dest.listen({ port: 0 });
    const known: Record<string, number> = { DEST: destPort };
    const source = new DimseServer({
      aeTitle: 'QR',
      handlers: {
        move: {
          async *move(rq: MoveRequest) {
            const p = known[rq.destination];
            if (p === undefined)
              throw Object.assign(new Error('unknown destination'), { status: Status.RefusedMoveDestinationUnknown });
            const out = await DimseClient.connect({
              host: '127.0.0.1',
              port: p,
              callingAeTitle: 'QR',
              calledAeTitle: rq.destination,
              contexts: contextsFor(files),
            });
            let completed = 0;
            for (const [i, f] of files.entries()) {
              const r = await out.store({
                ...f,
                dataset: f.bytes,
                moveOriginator: { aeTitle: rq.association.callingAeTitle, messageId: rq.messageId },
              });
              if (r.status === 0) completed++;
              yield { remaining: files.length - i - 1, completed, failed: 0, warning: 0 };
            }
            await out.release();
          },
        },
      },
    });
    const { port: srcPort } = await source.listen({ port: 0 });
    try {
      const c = await DimseClient.connect({
        host: '127.0.0.1',
        port: srcPort,
        callingAeTitle: 'MOVER',
        calledAeTitle: 'QR',
        contexts: [{ abstractSyntax: QueryRetrieve.StudyRootMove, transferSyntaxes: [IMPLICIT] }],
      });
      const r = await c.move(QueryRetrieve.StudyRootMove, 'DEST', [
        [0x00080052, 'STUDY'],
        [0x0020000d, '1.2.3'],
      ]);
      assert.equal(r.status, Status.Success);
      assert.equal(r.completed, files.length);
      const bad = await c.move(QueryRetrieve.StudyRootMove, 'NOWHERE', [[0x00080052, 'STUDY']]);
      assert.equal(bad.status, Status.RefusedMoveDestinationUnknown);
      await c.release();
      for (const f of files) {
        const got = destStore.stored.get(f.sopInstanceUid)!;
        assert.ok(Buffer.from(got.bytes).equals(Buffer.from(f.bytes)), f.rel);
        assert.equal(got.request.moveOriginator?.aeTitle, 'MOVER');
      }
    } finally {
      await source.close({ abort: true });
      await dest.close({ abort: true });
    }
  });
});

describe('DICOM over TLS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-tls-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('echoes and stores over TLS with a verified server certificate; refuses an unknown one', async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
        '-days',
        '1',
        '-subj',
        '/CN=veil-test',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    const key = readFileSync(path.join(dir, 'key.pem'), 'utf8');
    const cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    const store = new MemoryStore();
    const server = new DimseServer({ aeTitle: 'VEIL', handlers: { store }, tls: { key, cert } });
    const { port } = await server.listen({ port: 0 });
    try {
      const f = files[0]!;
      const c = await DimseClient.connect({
        host: '127.0.0.1',
        port,
        callingAeTitle: 'SCU',
        calledAeTitle: 'VEIL',
        contexts: [{ abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT] }, ...contextsFor([f])],
        tls: { ca: cert },
      });
      assert.equal(await c.echo(), 0);
      assert.equal((await c.store({ ...f, dataset: f.bytes })).status, 0);
      await c.release();
      assert.ok(Buffer.from(store.stored.get(f.sopInstanceUid)!.bytes).equals(Buffer.from(f.bytes)));
      await assert.rejects(
        DimseClient.connect({
          host: '127.0.0.1',
          port,
          callingAeTitle: 'SCU',
          calledAeTitle: 'VEIL',
          contexts: [{ abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT] }],
          tls: {},
        }),
        (e: DimseError) => e.code === 'DIMSE_CONNECT_FAILED',
      );
    } finally {
      await server.close({ abort: true });
    }
  });
});
