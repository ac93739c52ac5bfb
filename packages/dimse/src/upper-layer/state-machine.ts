/**
 * The DICOM upper layer state machine (PS3.8 9.2, Table 9-10): states Sta1-Sta13, events Evt1-Evt19 and the
 * action PS3.8 names for each (state, event) pair. Pure data: `Association` looks the action up and performs it.
 * A pair missing from the table is a local primitive issued in a state where it is not allowed.
 *
 * Example:
 *   transition('Sta6', 'Evt12'); // 'AR-2': A-RELEASE-RQ received while established: issue A-RELEASE indication
 */

export type State =
  /** Idle. */
  | 'Sta1'
  /** Transport connection open, awaiting A-ASSOCIATE-RQ PDU (acceptor; ARTIM running). */
  | 'Sta2'
  /** Awaiting local A-ASSOCIATE response primitive (acceptor). */
  | 'Sta3'
  /** Awaiting transport connection opening to complete (requestor). */
  | 'Sta4'
  /** Awaiting A-ASSOCIATE-AC or -RJ PDU (requestor). */
  | 'Sta5'
  /** Association established, ready for data transfer. */
  | 'Sta6'
  /** Awaiting A-RELEASE-RP PDU. */
  | 'Sta7'
  /** Awaiting local A-RELEASE response primitive. */
  | 'Sta8'
  /** Release collision, requestor side: awaiting A-RELEASE response primitive. */
  | 'Sta9'
  /** Release collision, acceptor side: awaiting A-RELEASE-RP PDU. */
  | 'Sta10'
  /** Release collision, requestor side: awaiting A-RELEASE-RP PDU. */
  | 'Sta11'
  /** Release collision, acceptor side: awaiting A-RELEASE response primitive. */
  | 'Sta12'
  /** Awaiting transport connection close indication (association no longer exists; ARTIM running). */
  | 'Sta13';

export type Event =
  | 'Evt1' // A-ASSOCIATE request (local user)
  | 'Evt2' // transport connect confirmation
  | 'Evt3' // A-ASSOCIATE-AC PDU received
  | 'Evt4' // A-ASSOCIATE-RJ PDU received
  | 'Evt5' // transport connection indication
  | 'Evt6' // A-ASSOCIATE-RQ PDU received
  | 'Evt7' // A-ASSOCIATE response primitive (accept)
  | 'Evt8' // A-ASSOCIATE response primitive (reject)
  | 'Evt9' // P-DATA request primitive
  | 'Evt10' // P-DATA-TF PDU received
  | 'Evt11' // A-RELEASE request primitive
  | 'Evt12' // A-RELEASE-RQ PDU received
  | 'Evt13' // A-RELEASE-RP PDU received
  | 'Evt14' // A-RELEASE response primitive
  | 'Evt15' // A-ABORT request primitive
  | 'Evt16' // A-ABORT PDU received
  | 'Evt17' // transport connection closed indication
  | 'Evt18' // ARTIM timer expired
  | 'Evt19'; // unrecognized or invalid PDU received

export type Action =
  | 'AE-1' // issue TRANSPORT CONNECT request -> Sta4
  | 'AE-2' // send A-ASSOCIATE-RQ PDU -> Sta5
  | 'AE-3' // issue A-ASSOCIATE confirmation (accept) -> Sta6
  | 'AE-4' // issue A-ASSOCIATE confirmation (reject), close transport -> Sta1
  | 'AE-5' // issue transport connection response, start ARTIM -> Sta2
  | 'AE-6' // stop ARTIM; acceptable: A-ASSOCIATE indication -> Sta3; else send A-ASSOCIATE-RJ, start ARTIM -> Sta13
  | 'AE-7' // send A-ASSOCIATE-AC PDU -> Sta6
  | 'AE-8' // send A-ASSOCIATE-RJ PDU, start ARTIM -> Sta13
  | 'DT-1' // send P-DATA-TF PDU -> Sta6
  | 'DT-2' // issue P-DATA indication -> Sta6
  | 'AR-1' // send A-RELEASE-RQ PDU -> Sta7
  | 'AR-2' // issue A-RELEASE indication -> Sta8
  | 'AR-3' // issue A-RELEASE confirmation, close transport -> Sta1
  | 'AR-4' // send A-RELEASE-RP PDU, start ARTIM -> Sta13
  | 'AR-5' // stop ARTIM -> Sta1
  | 'AR-6' // issue P-DATA indication -> Sta7
  | 'AR-7' // send P-DATA-TF PDU -> Sta8
  | 'AR-8' // issue A-RELEASE indication (collision): requestor -> Sta9, acceptor -> Sta10
  | 'AR-9' // send A-RELEASE-RP PDU -> Sta11
  | 'AR-10' // issue A-RELEASE confirmation -> Sta12
  | 'AA-1' // send A-ABORT PDU (service-user), (re)start ARTIM -> Sta13
  | 'AA-2' // stop ARTIM if running, close transport -> Sta1
  | 'AA-3' // issue A-ABORT / A-P-ABORT indication, close transport -> Sta1
  | 'AA-4' // issue A-P-ABORT indication -> Sta1
  | 'AA-5' // stop ARTIM -> Sta1
  | 'AA-6' // ignore PDU -> Sta13
  | 'AA-7' // send A-ABORT PDU -> Sta13
  | 'AA-8'; // send A-ABORT PDU (service-provider), issue A-P-ABORT indication, start ARTIM -> Sta13

/** The state each action leads to; AE-6 and AR-8 depend on a condition and name both outcomes. */
export const NEXT_STATE: Record<Action, State | readonly [State, State]> = {
  'AE-1': 'Sta4',
  'AE-2': 'Sta5',
  'AE-3': 'Sta6',
  'AE-4': 'Sta1',
  'AE-5': 'Sta2',
  'AE-6': ['Sta3', 'Sta13'],
  'AE-7': 'Sta6',
  'AE-8': 'Sta13',
  'DT-1': 'Sta6',
  'DT-2': 'Sta6',
  'AR-1': 'Sta7',
  'AR-2': 'Sta8',
  'AR-3': 'Sta1',
  'AR-4': 'Sta13',
  'AR-5': 'Sta1',
  'AR-6': 'Sta7',
  'AR-7': 'Sta8',
  'AR-8': ['Sta9', 'Sta10'],
  'AR-9': 'Sta11',
  'AR-10': 'Sta12',
  'AA-1': 'Sta13',
  'AA-2': 'Sta1',
  'AA-3': 'Sta1',
  'AA-4': 'Sta1',
  'AA-5': 'Sta1',
  'AA-6': 'Sta13',
  'AA-7': 'Sta13',
  'AA-8': 'Sta13',
};

const ESTABLISHED_OR_RELEASING: readonly State[] = ['Sta6', 'Sta7', 'Sta8', 'Sta9', 'Sta10', 'Sta11', 'Sta12'];

type Row = Partial<Record<State, Action>>;

function row(entries: Row, established?: Action): Row {
  const r: Row = {};
  if (established) for (const s of ESTABLISHED_OR_RELEASING) r[s] = established;
  return { ...r, ...entries };
}

/** PS3.8 Table 9-10, by event then state. */
const TABLE: Record<Event, Row> = {
  Evt1: { Sta1: 'AE-1' },
  Evt2: { Sta4: 'AE-2' },
  Evt3: row({ Sta2: 'AA-1', Sta3: 'AA-8', Sta5: 'AE-3', Sta13: 'AA-6' }, 'AA-8'),
  Evt4: row({ Sta2: 'AA-1', Sta3: 'AA-8', Sta5: 'AE-4', Sta13: 'AA-6' }, 'AA-8'),
  Evt5: { Sta1: 'AE-5' },
  Evt6: row({ Sta2: 'AE-6', Sta3: 'AA-8', Sta5: 'AA-8', Sta13: 'AA-7' }, 'AA-8'),
  Evt7: { Sta3: 'AE-7' },
  Evt8: { Sta3: 'AE-8' },
  Evt9: { Sta6: 'DT-1', Sta8: 'AR-7' },
  Evt10: row({ Sta2: 'AA-1', Sta3: 'AA-8', Sta5: 'AA-8', Sta6: 'DT-2', Sta7: 'AR-6', Sta13: 'AA-6' }, 'AA-8'),
  Evt11: { Sta6: 'AR-1' },
  Evt12: row({ Sta2: 'AA-1', Sta3: 'AA-8', Sta5: 'AA-8', Sta6: 'AR-2', Sta7: 'AR-8', Sta13: 'AA-6' }, 'AA-8'),
  Evt13: row(
    { Sta2: 'AA-1', Sta3: 'AA-8', Sta5: 'AA-8', Sta7: 'AR-3', Sta10: 'AR-10', Sta11: 'AR-3', Sta13: 'AA-6' },
    'AA-8',
  ),
  Evt14: { Sta8: 'AR-4', Sta9: 'AR-9', Sta12: 'AR-4' },
  Evt15: row({ Sta3: 'AA-1', Sta4: 'AA-2', Sta5: 'AA-1' }, 'AA-1'),
  Evt16: row({ Sta2: 'AA-2', Sta3: 'AA-3', Sta5: 'AA-3', Sta13: 'AA-2' }, 'AA-3'),
  Evt17: row({ Sta2: 'AA-5', Sta3: 'AA-4', Sta4: 'AA-4', Sta5: 'AA-4', Sta13: 'AR-5' }, 'AA-4'),
  Evt18: { Sta2: 'AA-2', Sta13: 'AA-2' },
  Evt19: row({ Sta2: 'AA-1', Sta3: 'AA-8', Sta5: 'AA-8', Sta13: 'AA-7' }, 'AA-8'),
};

/** The action PS3.8 prescribes for an event in a state, or undefined where the table has no entry. */
export function transition(state: State, event: Event): Action | undefined {
  return TABLE[event][state];
}

/** The event a received PDU type raises (Evt19 for a type PS3.8 does not define). */
export function eventForPdu(pduType: number): Event {
  switch (pduType) {
    case 0x01:
      return 'Evt6';
    case 0x02:
      return 'Evt3';
    case 0x03:
      return 'Evt4';
    case 0x04:
      return 'Evt10';
    case 0x05:
      return 'Evt12';
    case 0x06:
      return 'Evt13';
    case 0x07:
      return 'Evt16';
    default:
      return 'Evt19';
  }
}
