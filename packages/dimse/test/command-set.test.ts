/**
 * DIMSE command sets (PS3.7 E.1) and the upper layer state table (PS3.8 Table 9-10).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CommandField,
  type CommandSet,
  decodeCommand,
  encodeCommand,
  encodeIdentifier,
  readIdentifier,
  retrieveFinalStatus,
  Status,
  statusClass,
  textOf,
  transition,
  VERIFICATION_SOP_CLASS,
} from '@veil/dimse';
import fc from 'fast-check';

describe('command set', () => {
  it('encodes a C-ECHO-RQ as PS3.7 E.1 lays it out (implicit VR LE, group length first)', () => {
    const b = encodeCommand({
      commandField: CommandField.CEchoRq,
      messageId: 7,
      affectedSopClassUid: VERIFICATION_SOP_CLASS,
      hasDataset: false,
    });
    const dv = new DataView(b.buffer);
    assert.deepEqual([dv.getUint16(0, true), dv.getUint16(2, true), dv.getUint32(4, true)], [0, 0, 4]);
    assert.equal(dv.getUint32(8, true), b.length - 12);
    // (0000,0002) UI "1.2.840.10008.1.1" padded with NUL to 18 bytes
    assert.deepEqual([dv.getUint16(12, true), dv.getUint16(14, true), dv.getUint32(16, true)], [0, 2, 18]);
    assert.equal(b[20 + 17], 0);
    const d = decodeCommand(b);
    assert.ok(d.ok);
    assert.deepEqual(d.value, {
      commandField: 0x30,
      messageId: 7,
      affectedSopClassUid: VERIFICATION_SOP_CLASS,
      hasDataset: false,
    });
  });

  it('round-trips every field of C-STORE, C-FIND, C-MOVE and C-GET requests and responses', () => {
    const cmds: CommandSet[] = [
      {
        commandField: CommandField.CStoreRq,
        messageId: 1,
        affectedSopClassUid: '1.2.840.10008.5.1.4.1.1.2',
        affectedSopInstanceUid: '1.2.3.4.5',
        priority: 0,
        hasDataset: true,
        moveOriginatorAeTitle: 'MOVER',
        moveOriginatorMessageId: 9,
      },
      {
        commandField: CommandField.CStoreRsp,
        messageIdBeingRespondedTo: 1,
        affectedSopClassUid: '1.2.840.10008.5.1.4.1.1.2',
        affectedSopInstanceUid: '1.2.3.4.5',
        status: 0xa700,
        errorComment: 'disk full',
        offendingElements: [0x00100010, 0x7fe00010],
        hasDataset: false,
      },
      {
        commandField: CommandField.CMoveRq,
        messageId: 2,
        affectedSopClassUid: '1.2.840.10008.5.1.4.1.2.2.2',
        priority: 1,
        moveDestination: 'DEST',
        hasDataset: true,
      },
      {
        commandField: CommandField.CGetRsp,
        messageIdBeingRespondedTo: 3,
        affectedSopClassUid: '1.2.840.10008.5.1.4.1.2.2.3',
        status: 0xff00,
        remainingSuboperations: 5,
        completedSuboperations: 2,
        failedSuboperations: 1,
        warningSuboperations: 0,
        hasDataset: false,
      },
      { commandField: CommandField.CCancelRq, messageIdBeingRespondedTo: 4, hasDataset: false },
    ];
    for (const c of cmds) {
      const d = decodeCommand(encodeCommand(c));
      assert.ok(d.ok);
      assert.deepEqual(d.value, c);
    }
  });

  it('decodes truncated or foreign command sets to error codes, never throws', () => {
    const good = encodeCommand({
      commandField: CommandField.CEchoRq,
      messageId: 1,
      affectedSopClassUid: VERIFICATION_SOP_CLASS,
      hasDataset: false,
    });
    assert.equal(decodeCommand(good.subarray(0, good.length - 3)).ok, false);
    const wrongGroup = good.slice();
    wrongGroup[0] = 8;
    assert.equal(decodeCommand(wrongGroup).ok, false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        decodeCommand(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('classifies statuses and derives C-MOVE/C-GET final statuses', () => {
    assert.equal(statusClass(0xff01), 'pending');
    assert.equal(statusClass(0xb007), 'warning');
    assert.equal(statusClass(0xa700), 'failure');
    assert.equal(statusClass(0xfe00), 'cancel');
    assert.equal(retrieveFinalStatus({ completed: 3, failed: 0, warning: 0 }, false), Status.Success);
    assert.equal(retrieveFinalStatus({ completed: 3, failed: 1, warning: 0 }, false), 0xb000);
    assert.equal(retrieveFinalStatus({ completed: 0, failed: 2, warning: 0 }, false), 0xa702);
    assert.equal(retrieveFinalStatus({ completed: 0, failed: 0, warning: 0 }, true), Status.Cancel);
  });

  it('encodes identifiers in the context transfer syntax, in tag order, VRs from the dictionary', () => {
    for (const ts of ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2']) {
      const b = encodeIdentifier(
        [
          [0x0020000d, ''],
          [0x00080052, 'STUDY'],
          [0x00100010, 'DOE^J'],
        ],
        ts,
      );
      const ds = readIdentifier(b, ts);
      assert.deepEqual(
        ds.elements.map((e) => e.tag),
        [0x00080052, 0x00100010, 0x0020000d],
      );
      assert.equal(textOf(ds, 0x00080052), 'STUDY');
      if (ts !== '1.2.840.10008.1.2') assert.equal(ds.elements[1]!.vr, 'PN');
    }
  });
});

describe('upper layer state table (PS3.8 Table 9-10)', () => {
  it('has the actions the standard names', () => {
    const expect: Array<[string, string, string | undefined]> = [
      ['Sta1', 'Evt1', 'AE-1'],
      ['Sta1', 'Evt5', 'AE-5'],
      ['Sta2', 'Evt6', 'AE-6'],
      ['Sta2', 'Evt3', 'AA-1'],
      ['Sta2', 'Evt18', 'AA-2'],
      ['Sta2', 'Evt17', 'AA-5'],
      ['Sta3', 'Evt7', 'AE-7'],
      ['Sta3', 'Evt8', 'AE-8'],
      ['Sta5', 'Evt3', 'AE-3'],
      ['Sta5', 'Evt4', 'AE-4'],
      ['Sta6', 'Evt9', 'DT-1'],
      ['Sta6', 'Evt10', 'DT-2'],
      ['Sta6', 'Evt11', 'AR-1'],
      ['Sta6', 'Evt12', 'AR-2'],
      ['Sta6', 'Evt13', 'AA-8'],
      ['Sta6', 'Evt19', 'AA-8'],
      ['Sta7', 'Evt10', 'AR-6'],
      ['Sta7', 'Evt12', 'AR-8'],
      ['Sta7', 'Evt13', 'AR-3'],
      ['Sta8', 'Evt9', 'AR-7'],
      ['Sta8', 'Evt14', 'AR-4'],
      ['Sta9', 'Evt14', 'AR-9'],
      ['Sta10', 'Evt13', 'AR-10'],
      ['Sta11', 'Evt13', 'AR-3'],
      ['Sta12', 'Evt14', 'AR-4'],
      ['Sta13', 'Evt6', 'AA-7'],
      ['Sta13', 'Evt10', 'AA-6'],
      ['Sta13', 'Evt16', 'AA-2'],
      ['Sta13', 'Evt17', 'AR-5'],
      ['Sta13', 'Evt18', 'AA-2'],
      ['Sta4', 'Evt15', 'AA-2'],
      ['Sta6', 'Evt16', 'AA-3'],
      ['Sta6', 'Evt17', 'AA-4'],
      ['Sta1', 'Evt9', undefined],
      ['Sta2', 'Evt9', undefined],
    ];
    for (const [state, event, action] of expect) {
      assert.equal(transition(state as never, event as never), action, `${state} ${event}`);
    }
  });

  it('answers every PDU event in every state where a PDU can arrive', () => {
    const states = ['Sta2', 'Sta3', 'Sta5', 'Sta6', 'Sta7', 'Sta8', 'Sta9', 'Sta10', 'Sta11', 'Sta12', 'Sta13'];
    for (const s of states) {
      for (const e of ['Evt3', 'Evt4', 'Evt6', 'Evt10', 'Evt12', 'Evt13', 'Evt16', 'Evt17', 'Evt19']) {
        assert.notEqual(transition(s as never, e as never), undefined, `${s} ${e}`);
      }
    }
  });
});
