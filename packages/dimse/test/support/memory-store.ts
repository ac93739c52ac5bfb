/**
 * Test doubles of the handler ports: an in-memory StoreHandler (what it acknowledged, what it saw aborted) and a
 * tiny C-FIND index. Test-only; the app's real handlers write files.
 */
import type { DimseResult, FindHandler, StoreHandler, StoreRequest, StoreSink } from '@veil/dimse';
import { readIdentifier, textOf } from '@veil/dimse';

export interface StoredInstance {
  readonly request: StoreRequest;
  readonly bytes: Uint8Array;
  readonly fragments: number;
}

export class MemoryStore implements StoreHandler {
  readonly stored = new Map<string, StoredInstance>();
  aborted = 0;
  begun = 0;
  /** Delay per write, to make a slow disk. */
  writeDelayMs = 0;
  refuse: DimseResult | undefined;

  beginStore(request: StoreRequest): StoreSink | DimseResult {
    this.begun++;
    if (this.refuse) return this.refuse;
    const parts: Uint8Array[] = [];
    return {
      write: async (f) => {
        parts.push(f);
        if (this.writeDelayMs > 0) await new Promise((r) => setTimeout(r, this.writeDelayMs));
      },
      end: () => {
        this.stored.set(request.sopInstanceUid, { request, bytes: Buffer.concat(parts), fragments: parts.length });
        return 0;
      },
      abort: () => {
        this.aborted++;
      },
    };
  }
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** A C-FIND SCP over a list of studies (identifier keys as text): matches on PatientID (or everything). */
export function studyIndex(
  studies: ReadonlyArray<Record<string, string>>,
  encode: (keys: Array<[number, string]>, ts: string) => Uint8Array,
): FindHandler & { queries: number } {
  const h = {
    queries: 0,
    *find(rq: { identifier: Uint8Array; transferSyntaxUid: string; signal: AbortSignal }) {
      h.queries++;
      const q = readIdentifier(rq.identifier, rq.transferSyntaxUid);
      const patientId = textOf(q, 0x00100020);
      for (const s of studies) {
        if (rq.signal.aborted) return;
        if (patientId && patientId !== '*' && s.PatientID !== patientId) continue;
        yield encode(
          [
            [0x00080052, 'STUDY'],
            [0x00100010, s.PatientName ?? ''],
            [0x00100020, s.PatientID ?? ''],
            [0x0020000d, s.StudyInstanceUID ?? ''],
            [0x00080020, s.StudyDate ?? ''],
          ],
          rq.transferSyntaxUid,
        );
      }
    },
  };
  return h;
}
