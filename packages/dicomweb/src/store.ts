/**
 * The port the QIDO-RS and WADO-RS servers read through: the application lists the instances it holds (with the
 * attributes QIDO-RS answers with) and streams an instance's Part 10 bytes exactly as stored. Matching, paging and
 * the study/series aggregates are the DICOMweb layer's job, so a store only needs to narrow by UID.
 *
 * Example:
 *   const store: DicomwebStore = {
 *     instances: (scope) => records.filter((r) => !scope.studyInstanceUid || r.studyInstanceUid === scope.studyInstanceUid),
 *     open: (r) => ({ length: sizes.get(r.sopInstanceUid), body: createReadStream(paths.get(r.sopInstanceUid)!) }),
 *   };
 */
import type { DicomJsonObject } from '@veil/core';

export interface InstanceRecord {
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly sopInstanceUid: string;
  readonly sopClassUid: string;
  readonly transferSyntaxUid: string | undefined;
  /**
   * The instance's top-level attributes in the DICOM JSON model (text decoded; no bulk data needed): study, series
   * and instance level alike. QIDO-RS matches on them and returns the requested ones.
   */
  readonly attributes: DicomJsonObject;
}

/** Narrows a listing; an absent UID means any. */
export interface InstanceScope {
  readonly studyInstanceUid?: string;
  readonly seriesInstanceUid?: string;
  readonly sopInstanceUid?: string;
}

export interface InstanceContent {
  /** Byte length, when known. */
  readonly length?: number;
  /** The Part 10 file as stored. */
  readonly body: AsyncIterable<Uint8Array>;
}

export interface DicomwebStore {
  /** Instances in scope, in a stable order. May return more than the scope (the server filters again), never fewer. */
  instances(
    scope: InstanceScope,
    signal: AbortSignal,
  ): AsyncIterable<InstanceRecord> | Iterable<InstanceRecord> | Promise<Iterable<InstanceRecord>>;
  /** The stored bytes of an instance; undefined when it is gone. */
  open(record: InstanceRecord, signal: AbortSignal): Promise<InstanceContent | undefined> | InstanceContent | undefined;
}

/** Collects a store listing, keeping only what is really in scope. */
export async function listInstances(
  store: DicomwebStore,
  scope: InstanceScope,
  signal: AbortSignal,
): Promise<InstanceRecord[]> {
  const out: InstanceRecord[] = [];
  const listed = await store.instances(scope, signal);
  for await (const r of listed as AsyncIterable<InstanceRecord> | Iterable<InstanceRecord>) {
    if (scope.studyInstanceUid !== undefined && r.studyInstanceUid !== scope.studyInstanceUid) continue;
    if (scope.seriesInstanceUid !== undefined && r.seriesInstanceUid !== scope.seriesInstanceUid) continue;
    if (scope.sopInstanceUid !== undefined && r.sopInstanceUid !== scope.sopInstanceUid) continue;
    out.push(r);
  }
  return out;
}
