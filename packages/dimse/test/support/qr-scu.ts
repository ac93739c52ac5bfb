/**
 * The Veil side of qr-dcmtk.test.ts, run as a child process (inside the private network namespace where dcmqrscp
 * listens, when there is one): C-FIND the study on the PACS, C-MOVE it to a DimseServer of this process, C-GET it
 * on the association itself, and print what arrived as JSON (SOP instance UID -> sha256 of the data set bytes).
 *
 * Usage: node --import tsx qr-scu.ts <pacsPort> <destPort> <patientId>
 */
import { createHash } from 'node:crypto';
import {
  DimseClient,
  DimseServer,
  QueryRetrieve,
  readIdentifier,
  type StoreHandler,
  type StoreRequest,
  textOf,
} from '@veil/dimse';

const [pacsPort, destPort, patientId] = process.argv.slice(2).map(String) as [string, string, string];
const EXPLICIT = '1.2.840.10008.1.2.1';
const CT = '1.2.840.10008.5.1.4.1.1.2';

function hashingStore(into: Record<string, string>): StoreHandler {
  return {
    beginStore(rq: StoreRequest) {
      const h = createHash('sha256');
      return {
        write: (f) => {
          h.update(f);
        },
        end: () => {
          into[rq.sopInstanceUid] = `${rq.transferSyntaxUid} ${h.digest('hex')}`;
          return 0;
        },
        abort: () => {},
      };
    },
  };
}

const moved: Record<string, string> = {};
const got: Record<string, string> = {};
const dest = new DimseServer({ aeTitle: 'VEILDEST', handlers: { store: hashingStore(moved) } });
await dest.listen({ port: Number(destPort) });

const client = await DimseClient.connect({
  host: '127.0.0.1',
  port: Number(pacsPort),
  callingAeTitle: 'VEILDEST',
  calledAeTitle: 'PACS',
  contexts: [
    { abstractSyntax: QueryRetrieve.StudyRootFind, transferSyntaxes: [EXPLICIT] },
    { abstractSyntax: QueryRetrieve.StudyRootMove, transferSyntaxes: [EXPLICIT] },
    { abstractSyntax: QueryRetrieve.StudyRootGet, transferSyntaxes: [EXPLICIT] },
    { abstractSyntax: CT, transferSyntaxes: [EXPLICIT], scpRole: true },
  ],
  storeHandler: hashingStore(got),
});

const studies: string[] = [];
for await (const m of client.find(QueryRetrieve.StudyRootFind, [
  [0x00080052, 'STUDY'],
  [0x00100020, patientId],
  [0x0020000d, ''],
])) {
  studies.push(textOf(readIdentifier(m.identifier, m.transferSyntaxUid), 0x0020000d) ?? '');
}
const study = studies[0] ?? '';
const progress: number[] = [];
const move = await client.move(
  QueryRetrieve.StudyRootMove,
  'VEILDEST',
  [
    [0x00080052, 'STUDY'],
    [0x0020000d, study],
  ],
  { onProgress: (c) => progress.push(c.completed) },
);
const get = await client.get(QueryRetrieve.StudyRootGet, [
  [0x00080052, 'STUDY'],
  [0x0020000d, study],
]);
await client.release();
await dest.close();
process.stdout.write(`${JSON.stringify({ studies, move, get, moved, got, progress })}\n`);
