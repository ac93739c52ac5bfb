/**
 * PDU codec (PS3.8 9.3): round trips of every PDU type and item, byte layouts checked against the standard's tables,
 * strict length checks, and a property test that arbitrary and mutated bytes never throw.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AssociateAcPdu,
  type AssociateRqPdu,
  decodePdu,
  encodePdu,
  type Pdu,
  PduReader,
  type UserInformation,
} from '@veil/dimse';
import fc from 'fast-check';

const rq: AssociateRqPdu = {
  type: 'A-ASSOCIATE-RQ',
  protocolVersion: 1,
  calledAeTitle: 'PACS',
  callingAeTitle: 'VEIL',
  applicationContextName: '1.2.840.10008.3.1.1.1',
  presentationContexts: [
    { id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] },
    {
      id: 3,
      abstractSyntax: '1.2.840.10008.5.1.4.1.1.2',
      transferSyntaxes: ['1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.1'],
    },
  ],
  userInformation: {
    maxLength: 16384,
    implementationClassUid: '1.2.3.4',
    implementationVersionName: 'TEST_1',
    asyncOperationsWindow: { invoked: 2, performed: 3 },
    roleSelections: [{ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', scuRole: 0, scpRole: 1 }],
    extendedNegotiations: [{ sopClassUid: '1.2.840.10008.5.1.4.1.2.2.1', info: new Uint8Array([1, 0, 1]) }],
    userIdentityRq: {
      type: 2,
      positiveResponseRequested: true,
      primaryField: new TextEncoder().encode('user'),
      secondaryField: new TextEncoder().encode('secret'),
    },
  },
};

const ac: AssociateAcPdu = {
  type: 'A-ASSOCIATE-AC',
  protocolVersion: 1,
  calledAeTitle: 'PACS',
  callingAeTitle: 'VEIL',
  applicationContextName: '1.2.840.10008.3.1.1.1',
  presentationContexts: [
    { id: 1, result: 0, transferSyntax: '1.2.840.10008.1.2' },
    { id: 3, result: 4, transferSyntax: undefined },
  ],
  userInformation: { maxLength: 0, implementationClassUid: '1.2.3', userIdentityAc: new Uint8Array([9, 9]) },
};

function roundTrip(p: Pdu): Pdu {
  const r = decodePdu(encodePdu(p));
  assert.ok(r.ok, r.ok ? '' : r.error.code);
  return r.value;
}

describe('PDU codec', () => {
  it('round-trips A-ASSOCIATE-RQ with every user information sub-item', () => {
    assert.deepEqual(roundTrip(rq), rq);
  });

  it('round-trips A-ASSOCIATE-AC, RJ, P-DATA-TF, release and abort', () => {
    assert.deepEqual(roundTrip(ac), ac);
    const others: Pdu[] = [
      { type: 'A-ASSOCIATE-RJ', result: 1, source: 1, reason: 7 },
      {
        type: 'P-DATA-TF',
        pdvs: [
          { contextId: 1, isCommand: true, isLast: true, data: new Uint8Array([1, 2, 3]) },
          { contextId: 3, isCommand: false, isLast: false, data: new Uint8Array(0) },
        ],
      },
      { type: 'A-RELEASE-RQ' },
      { type: 'A-RELEASE-RP' },
      { type: 'A-ABORT', source: 2, reason: 6 },
    ];
    for (const p of others) assert.deepEqual(roundTrip(p), p);
  });

  it('lays out the A-ASSOCIATE-RQ header as PS3.8 Table 9-11 says', () => {
    const b = encodePdu(rq);
    assert.equal(b[0], 0x01);
    assert.equal(new DataView(b.buffer).getUint32(2, false), b.length - 6);
    assert.equal(new DataView(b.buffer).getUint16(6, false), 1); // protocol version
    assert.equal(String.fromCharCode(...b.subarray(10, 26)), 'PACS            ');
    assert.equal(String.fromCharCode(...b.subarray(26, 42)), 'VEIL            ');
    assert.deepEqual([...b.subarray(42, 74)], new Array(32).fill(0));
    assert.equal(b[74], 0x10); // application context item first
  });

  it('lays out A-ABORT and P-DATA-TF PDV headers exactly', () => {
    assert.deepEqual([...encodePdu({ type: 'A-ABORT', source: 2, reason: 1 })], [7, 0, 0, 0, 0, 4, 0, 0, 2, 1]);
    const p = encodePdu({
      type: 'P-DATA-TF',
      pdvs: [{ contextId: 5, isCommand: true, isLast: true, data: new Uint8Array([0xaa]) }],
    });
    assert.deepEqual([...p], [4, 0, 0, 0, 0, 7, 0, 0, 0, 3, 5, 3, 0xaa]);
  });

  it('rejects wrong lengths with a code and the A-ABORT reason, never an exception', () => {
    const cases: Array<[string, number[], string]> = [
      ['release with 5-byte body', [5, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0], 'UL_BAD_PDU_LENGTH'],
      ['abort declared longer than sent', [7, 0, 0, 0, 0, 9, 0, 0, 0, 0], 'UL_BAD_PDU_LENGTH'],
      ['unknown PDU type', [0x09, 0, 0, 0, 0, 4, 0, 0, 0, 0], 'UL_UNRECOGNIZED_PDU'],
      ['empty P-DATA-TF', [4, 0, 0, 0, 0, 0], 'UL_EMPTY_P_DATA'],
      ['PDV overrunning its PDU', [4, 0, 0, 0, 0, 6, 0, 0, 0, 9, 1, 3], 'UL_PDV_OVERRUN'],
      ['PDV on an even context id', [4, 0, 0, 0, 0, 7, 0, 0, 0, 3, 2, 3, 0], 'UL_BAD_PDV_CONTEXT_ID'],
      ['associate RQ shorter than its fixed part', [1, 0, 0, 0, 0, 4, 0, 1, 0, 0], 'UL_ASSOCIATE_TOO_SHORT'],
    ];
    for (const [name, bytes, code] of cases) {
      const r = decodePdu(new Uint8Array(bytes));
      assert.equal(r.ok, false, name);
      if (!r.ok) assert.equal(r.error.code, code, name);
    }
    const unknown = decodePdu(new Uint8Array([0x09, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
    assert.ok(!unknown.ok && unknown.error.abortReason === 1);
  });

  it('rejects an item that overruns the PDU, a missing abstract syntax and duplicate context ids', () => {
    const good = encodePdu(rq);
    // Make the first presentation context item claim 0xffff bytes.
    const bad = good.slice();
    const pcOffset = good.indexOf(0x20, 74);
    bad[pcOffset + 2] = 0xff;
    bad[pcOffset + 3] = 0xff;
    assert.equal(decodePdu(bad).ok, false);
    const noAbstract = decodePdu(
      encodePdu({
        ...rq,
        presentationContexts: [{ id: 1, abstractSyntax: '', transferSyntaxes: ['1.2.840.10008.1.2'] }],
      }),
    );
    assert.equal(noAbstract.ok, false);
    const dup = decodePdu(
      encodePdu({
        ...rq,
        presentationContexts: [rq.presentationContexts[0]!, { ...rq.presentationContexts[1]!, id: 1 }],
      }),
    );
    assert.ok(!dup.ok && dup.error.code === 'UL_DUPLICATE_PRESENTATION_CONTEXT_ID');
  });

  it('never throws on arbitrary bytes or on mutations of valid PDUs', () => {
    const valid = [encodePdu(rq), encodePdu(ac), encodePdu({ type: 'A-ABORT', source: 0, reason: 0 })];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        decodePdu(bytes);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        (base, edits, cut) => {
          const b = base.slice(0, Math.max(6, base.length - (cut % 16)));
          for (const [at, v] of edits) b[at % b.length] = v;
          // Keep the header length consistent half of the time so that item parsing is reached.
          if (cut % 2 === 0) new DataView(b.buffer).setUint32(2, b.length - 6, false);
          decodePdu(b);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('round-trips random user information', () => {
    const uid = fc.stringMatching(/^[12](\.[0-9]{1,8}){1,6}$/);
    const arb = fc.record(
      {
        maxLength: fc.nat(),
        implementationClassUid: uid,
        implementationVersionName: fc.stringMatching(/^[A-Z0-9_]{1,16}$/),
        asyncOperationsWindow: fc.record(
          { invoked: fc.integer({ min: 0, max: 0xffff }), performed: fc.integer({ min: 0, max: 0xffff }) },
          { noNullPrototype: true },
        ),
        roleSelections: fc.array(
          fc.record(
            { sopClassUid: uid, scuRole: fc.integer({ min: 0, max: 1 }), scpRole: fc.integer({ min: 0, max: 1 }) },
            { noNullPrototype: true },
          ),
          { minLength: 1, maxLength: 4 },
        ),
      },
      { requiredKeys: [], noNullPrototype: true },
    );
    fc.assert(
      fc.property(arb, (u) => {
        const p: AssociateRqPdu = { ...rq, userInformation: u as UserInformation };
        assert.deepEqual(roundTrip(p), p);
      }),
      { numRuns: 300 },
    );
  });
});

describe('PduReader', () => {
  it('cuts PDUs out of arbitrary chunking', () => {
    const pdus = [
      encodePdu(rq),
      encodePdu({ type: 'A-RELEASE-RQ' }),
      encodePdu({ type: 'A-ABORT', source: 0, reason: 0 }),
    ];
    const stream = new Uint8Array(pdus.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of pdus) {
      stream.set(p, o);
      o += p.length;
    }
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 40 }), (sizes) => {
        const reader = new PduReader({ maxPDataLength: 16384 });
        const got: Uint8Array[] = [];
        let at = 0;
        for (const s of [...sizes, stream.length]) {
          reader.push(stream.subarray(at, Math.min(stream.length, at + s)));
          at = Math.min(stream.length, at + s);
          for (let r = reader.next(); r; r = reader.next()) {
            assert.ok('bytes' in r);
            got.push(r.bytes);
          }
        }
        assert.deepEqual(
          got.map((g) => [...g]),
          pdus.map((p) => [...p]),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a P-DATA-TF longer than the announced maximum before buffering it', () => {
    const reader = new PduReader({ maxPDataLength: 1000 });
    reader.push(new Uint8Array([4, 0, 0, 0, 0x10, 0])); // claims 4096 bytes
    const r = reader.next();
    assert.ok(r && 'error' in r && r.error.code === 'UL_PDU_TOO_LONG');
    const huge = new PduReader({ maxPDataLength: 1000 });
    huge.push(new Uint8Array([1, 0, 0x7f, 0xff, 0xff, 0xff])); // a 2 GB A-ASSOCIATE-RQ
    const h = huge.next();
    assert.ok(h && 'error' in h);
  });
});
