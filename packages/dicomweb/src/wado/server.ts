/**
 * The WADO-RS Retrieve transaction for instances (PS3.18 10.4) over a DicomwebStore: a study, a series or one
 * instance as multipart/related; type="application/dicom", each part the stored Part 10 file byte for byte with
 * its transfer syntax named in the part's Content-Type. Veil never transcodes: an Accept that asks for a specific
 * transfer syntax is served only when every instance is stored in it (else 406). An Accept without a
 * transfer-syntax parameter gets the instances as stored, as `transfer-syntax=*` would.
 *
 * Example:
 *   const r = await handleRetrieve({ studyInstanceUid }, request.headers.get('accept'), store, signal);
 *   r.status; // 200, with r.contentType and the r.body stream
 */
import { formatMediaType, parseAccept, rangeCovers } from '../media-type.ts';
import { newBoundary, type OutgoingPart, writeMultipart } from '../multipart/writer.ts';
import { type DicomwebStore, type InstanceScope, listInstances } from '../store.ts';
import { isUid } from '../uid.ts';

export interface RetrieveResult {
  readonly status: number;
  readonly contentType?: string;
  readonly body?: AsyncIterable<Uint8Array>;
  readonly warnings: readonly string[];
}

/** The transfer syntax asked for ('*' for as stored), or undefined when the Accept allows no multipart DICOM. */
export function negotiateRetrieve(accept: string | null | undefined): string | undefined {
  for (const range of parseAccept(accept)) {
    if (range.q <= 0) continue;
    if (range.type === '*/*') return '*';
    if (!rangeCovers(range.type, 'multipart/related')) continue;
    const type = range.params.get('type')?.toLowerCase();
    if (type !== undefined && type !== 'application/dicom') continue;
    return range.params.get('transfer-syntax') ?? '*';
  }
  return undefined;
}

export async function handleRetrieve(
  scope: InstanceScope,
  accept: string | null | undefined,
  store: DicomwebStore,
  signal: AbortSignal,
): Promise<RetrieveResult> {
  for (const uid of [scope.studyInstanceUid, scope.seriesInstanceUid, scope.sopInstanceUid]) {
    if (uid !== undefined && !isUid(uid)) return { status: 400, warnings: ['DICOMWEB_BAD_UID'] };
  }
  const syntax = negotiateRetrieve(accept);
  if (syntax === undefined) return { status: 406, warnings: ['DICOMWEB_NOT_ACCEPTABLE'] };
  const records = await listInstances(store, scope, signal);
  if (records.length === 0) return { status: 404, warnings: ['DICOMWEB_NOT_FOUND'] };
  if (syntax !== '*' && records.some((r) => r.transferSyntaxUid !== syntax)) {
    return { status: 406, warnings: ['DICOMWEB_NO_TRANSCODING'] };
  }
  const boundary = newBoundary();
  async function* parts(): AsyncGenerator<OutgoingPart> {
    for (const r of records) {
      const content = await store.open(r, signal);
      if (!content) continue; // deleted since it was listed
      yield {
        contentType: formatMediaType(
          'application/dicom',
          r.transferSyntaxUid ? { 'transfer-syntax': r.transferSyntaxUid } : {},
        ),
        ...(content.length !== undefined ? { length: content.length } : {}),
        body: content.body,
      };
    }
  }
  return {
    status: 200,
    contentType: formatMediaType('multipart/related', { type: 'application/dicom', boundary }),
    body: writeMultipart(parts(), boundary),
    warnings: [],
  };
}
