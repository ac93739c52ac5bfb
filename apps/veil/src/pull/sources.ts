/**
 * Where `veil pull` takes studies from: a DICOM node (`AE@host:port`: C-FIND at study level, then C-MOVE to an SCP
 * of this process or C-GET on the same association) or a DICOMweb server (`http(s)://host/root`: QIDO-RS, then
 * WADO-RS). Each retrieved instance is written to the row's folder as a Part 10 file named by a sequence number
 * (never by a value of the data set); the data set bytes are those the peer sent, untouched.
 *
 * Example:
 *   const source = await openDimseSource({ ae: 'PACS', host, port, callingAe: 'VEIL', moveAe: 'VEIL', movePort: 11113 });
 *   const studies = await source.find(row);            // Study Instance UIDs
 *   const n = await source.retrieve(studies[0], dir);  // instances written
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DicomwebClient, firstString } from '@veil/dicomweb';
import {
  DimseClient,
  DimseServer,
  encodeFileMeta,
  QueryRetrieve,
  readIdentifier,
  type StoreHandler,
  textOf,
} from '@veil/dimse';
import { writeFileDurable } from '../release/durable.ts';
import type { StudyRow } from './list.ts';

export interface PullSource {
  /** Study Instance UIDs matching the row (none: not found). */
  find(row: StudyRow): Promise<string[]>;
  /** Retrieves one study into `dir` (emptied by the caller); resolves with the number of instances written. */
  retrieve(studyInstanceUid: string, dir: string): Promise<{ written: number; failed: number }>;
  close(): Promise<void>;
}

const EXPLICIT = '1.2.840.10008.1.2.1';
const IMPLICIT = '1.2.840.10008.1.2';
const TAG = {
  QueryRetrieveLevel: 0x00080052,
  StudyDate: 0x00080020,
  AccessionNumber: 0x00080050,
  PatientID: 0x00100020,
  StudyInstanceUID: 0x0020000d,
  SOPClassUID: 0x00080016,
} as const;

/** Writes instances of the current retrieval into its folder, each file fsynced and renamed into place. */
class RetrievalSink {
  dir: string | undefined;
  written = 0;

  handler(sourceAe: () => string): StoreHandler {
    return {
      beginStore: (rq) => {
        const dir = this.dir;
        if (dir === undefined) return { status: 0xa700 }; // nothing is being retrieved: refuse
        const n = ++this.written;
        const final = join(dir, `${String(n).padStart(6, '0')}.dcm`);
        const tmp = `${final}.part`;
        const fd = openSync(tmp, 'w');
        writeSync(
          fd,
          encodeFileMeta({
            sopClassUid: rq.sopClassUid,
            sopInstanceUid: rq.sopInstanceUid,
            transferSyntaxUid: rq.transferSyntaxUid,
            sourceAeTitle: sourceAe() || rq.association.callingAeTitle,
          }),
        );
        let open = true;
        const close = (): void => {
          if (open) closeSync(fd);
          open = false;
        };
        return {
          write: (f) => {
            writeSync(fd, f);
          },
          end: () => {
            fsyncSync(fd);
            close();
            renameSync(tmp, final);
            return 0;
          },
          abort: () => {
            close();
            this.written--;
          },
        };
      },
    };
  }
}

function studyKeys(row: StudyRow): [number, string][] {
  return [
    [TAG.QueryRetrieveLevel, 'STUDY'],
    [TAG.StudyInstanceUID, row.studyInstanceUid ?? ''],
    [TAG.AccessionNumber, row.accessionNumber ?? ''],
    [TAG.PatientID, row.patientId ?? ''],
    [TAG.StudyDate, row.studyDate ?? ''],
  ];
}

export interface DimseSourceOptions {
  readonly ae: string;
  readonly host: string;
  readonly port: number;
  readonly callingAe: string;
  /** C-MOVE destination: this AE title, served by an SCP of this process on movePort (the PACS must know it). */
  readonly moveAe?: string | undefined;
  readonly movePort?: number | undefined;
  readonly moveHost?: string | undefined;
  /** C-GET on the query association instead of C-MOVE. */
  readonly get: boolean;
  readonly timeoutMs: number;
}

/** Transfer syntaxes proposed for the instances of a C-GET: the peer picks the one each is stored in. */
const GET_SYNTAXES = [
  EXPLICIT,
  IMPLICIT,
  '1.2.840.10008.1.2.4.70', // JPEG Lossless SV1
  '1.2.840.10008.1.2.4.50', // JPEG Baseline
  '1.2.840.10008.1.2.4.51', // JPEG Extended
  '1.2.840.10008.1.2.4.80', // JPEG-LS Lossless
  '1.2.840.10008.1.2.4.90', // JPEG 2000 Lossless
  '1.2.840.10008.1.2.4.91', // JPEG 2000
  '1.2.840.10008.1.2.5', // RLE Lossless
];

export async function openDimseSource(o: DimseSourceOptions): Promise<PullSource> {
  const sink = new RetrievalSink();
  let server: DimseServer | undefined;
  if (!o.get) {
    if (o.moveAe === undefined || o.movePort === undefined) throw new Error('PULL_MOVE_AE_REQUIRED');
    server = new DimseServer({
      aeTitle: o.moveAe,
      handlers: { store: sink.handler(() => o.ae) },
    });
    await server.listen({ port: o.movePort, host: o.moveHost ?? '127.0.0.1' });
  }
  const timeouts = { acseMs: o.timeoutMs, idleMs: o.timeoutMs, sendMs: o.timeoutMs, artimMs: o.timeoutMs };
  const connect = (extra: { abstractSyntax: string; transferSyntaxes: string[]; scpRole?: boolean }[] = []) =>
    DimseClient.connect({
      host: o.host,
      port: o.port,
      callingAeTitle: o.callingAe,
      calledAeTitle: o.ae,
      contexts: [
        { abstractSyntax: QueryRetrieve.StudyRootFind, transferSyntaxes: [EXPLICIT, IMPLICIT] },
        {
          abstractSyntax: o.get ? QueryRetrieve.StudyRootGet : QueryRetrieve.StudyRootMove,
          transferSyntaxes: [EXPLICIT, IMPLICIT],
        },
        ...extra,
      ],
      timeouts,
      ...(o.get ? { storeHandler: sink.handler(() => o.ae) } : {}),
    });

  const findAll = async (client: DimseClient, keys: [number, string][], pick: number): Promise<string[]> => {
    const out: string[] = [];
    for await (const m of client.find(QueryRetrieve.StudyRootFind, keys)) {
      const v = textOf(readIdentifier(m.identifier, m.transferSyntaxUid), pick)?.trim();
      if (v && !out.includes(v)) out.push(v);
    }
    return out;
  };

  return {
    async find(row) {
      const client = await connect();
      try {
        return await findAll(client, studyKeys(row), TAG.StudyInstanceUID);
      } finally {
        await client.release().catch(() => client.abort());
      }
    },
    async retrieve(studyInstanceUid, dir) {
      mkdirSync(dir, { recursive: true });
      sink.dir = dir;
      sink.written = 0;
      let client: DimseClient | undefined;
      try {
        const keys: [number, string][] = [
          [TAG.QueryRetrieveLevel, 'STUDY'],
          [TAG.StudyInstanceUID, studyInstanceUid],
        ];
        if (o.get) {
          // The SOP classes of the study (an image-level query), each proposed in the usual transfer syntaxes with
          // the SCP role, one context per pair so that the peer can send every instance as it is stored.
          const probe = await connect();
          let classes: string[];
          try {
            classes = await findAll(
              probe,
              [
                [TAG.QueryRetrieveLevel, 'IMAGE'],
                [TAG.StudyInstanceUID, studyInstanceUid],
                [TAG.SOPClassUID, ''],
              ],
              TAG.SOPClassUID,
            );
          } finally {
            await probe.release().catch(() => probe.abort());
          }
          const extra = classes
            .flatMap((c) => GET_SYNTAXES.map((ts) => ({ abstractSyntax: c, transferSyntaxes: [ts], scpRole: true })))
            .slice(0, 126);
          client = await connect(extra);
          const r = await client.get(QueryRetrieve.StudyRootGet, keys);
          return { written: sink.written, failed: r.failed };
        }
        client = await connect();
        const r = await client.move(QueryRetrieve.StudyRootMove, o.moveAe!, keys);
        return { written: sink.written, failed: r.failed };
      } finally {
        sink.dir = undefined;
        if (client) await client.release().catch(() => client?.abort());
      }
    },
    async close() {
      await server?.close();
    },
  };
}

export interface DicomwebSourceOptions {
  readonly url: string;
  readonly token?: string | undefined;
  readonly timeoutMs: number;
}

export function openDicomwebSource(o: DicomwebSourceOptions): PullSource {
  const client = new DicomwebClient({
    baseUrl: o.url,
    timeoutMs: o.timeoutMs,
    ...(o.token ? { headers: { authorization: `Bearer ${o.token}` } } : {}),
  });
  return {
    async find(row) {
      const params: Record<string, string> = {};
      if (row.studyInstanceUid) params.StudyInstanceUID = row.studyInstanceUid;
      if (row.accessionNumber) params.AccessionNumber = row.accessionNumber;
      if (row.patientId) params.PatientID = row.patientId;
      if (row.studyDate) params.StudyDate = row.studyDate;
      params.includefield = '0020000D';
      const found = await client.searchStudies(params);
      const out: string[] = [];
      for (const s of found) {
        const uid = firstString(s, '0020000D');
        if (uid && !out.includes(uid)) out.push(uid);
      }
      return out;
    },
    async retrieve(studyInstanceUid, dir) {
      mkdirSync(dir, { recursive: true });
      let written = 0;
      for await (const part of client.retrieve({ studyInstanceUid })) {
        const chunks: Uint8Array[] = [];
        for await (const c of part.body) chunks.push(c);
        const final = join(dir, `${String(++written).padStart(6, '0')}.dcm`);
        // Durable before the gateway moves it into its spool and accepts the job (nothing acknowledged unwritten).
        writeFileDurable(final, Buffer.concat(chunks));
      }
      return { written, failed: 0 };
    },
    async close() {},
  };
}
