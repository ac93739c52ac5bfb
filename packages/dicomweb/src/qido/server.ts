/**
 * The QIDO-RS Search transaction (PS3.18 10.6) over a DicomwebStore: studies, series and instances, each answered
 * as a DICOM JSON array with the default return attributes of PS3.18 Table 10.6.3-3 (plus includefield ones), the
 * computed ones (Modalities in Study, Number of Study/Series Related Series/Instances) and a Retrieve URL.
 * Results keep the store's order; `limit` and `offset` page them, with a `Warning` naming how many remain.
 *
 * Example:
 *   const r = await handleQido('studies', {}, new URLSearchParams('PatientID=X'), store, { signal, retrieveBase });
 *   r.body; // [{ '0020000D': { vr: 'UI', Value: ['1.2.3'] }, ... }]
 */
import type { DicomJsonAttribute, DicomJsonObject } from '@veil/core';
import { cs, is, ur } from '../dicom-json.ts';
import { isDicomwebError } from '../errors.ts';
import { type DicomwebStore, type InstanceRecord, type InstanceScope, listInstances } from '../store.ts';
import { matchesAttribute } from './matching.ts';
import { parseQidoQuery, type QidoQuery } from './query.ts';

export type QidoLevel = 'studies' | 'series' | 'instances';

/** Default return attributes per level (PS3.18 Table 10.6.3-3..5; Timezone Offset From UTC at every level). */
export const STUDY_RETURN_TAGS = [
  '00080020',
  '00080030',
  '00080050',
  '00080090',
  '00080201',
  '00081030',
  '00100010',
  '00100020',
  '00100030',
  '00100040',
  '0020000D',
  '00200010',
] as const;
export const SERIES_RETURN_TAGS = [
  '00080060',
  '0008103E',
  '0020000E',
  '00200011',
  '00400244',
  '00400245',
  '00080201',
] as const;
export const INSTANCE_RETURN_TAGS = [
  '00080016',
  '00080018',
  '00200013',
  '00280010',
  '00280011',
  '00280100',
  '00280008',
  '00080201',
] as const;

export interface QidoOptions {
  readonly signal: AbortSignal;
  /** Base URL for Retrieve URLs; undefined to send none. */
  readonly retrieveBase: string | undefined;
  /** Most results in one response when the query sets no limit (default 1000). */
  readonly maxResults?: number;
}

export interface QidoResult {
  readonly status: number;
  readonly body: DicomJsonObject[];
  readonly warnings: readonly string[];
}

interface Group {
  readonly first: InstanceRecord;
  readonly records: InstanceRecord[];
}

function groupBy(records: readonly InstanceRecord[], key: (r: InstanceRecord) => string): Group[] {
  const map = new Map<string, Group>();
  for (const r of records) {
    const k = key(r);
    const g = map.get(k);
    if (g) g.records.push(r);
    else map.set(k, { first: r, records: [r] });
  }
  return [...map.values()];
}

function pick(attrs: DicomJsonObject, tags: Iterable<string>, into: DicomJsonObject): void {
  for (const t of tags) {
    const a = attrs[t];
    if (a) into[t] = a;
  }
}

function modalities(records: readonly InstanceRecord[]): DicomJsonAttribute | undefined {
  const set = new Set<string>();
  for (const r of records) {
    const m = r.attributes['00080060']?.Value?.[0];
    if (typeof m === 'string' && m) set.add(m);
  }
  return set.size > 0 ? cs([...set].sort()) : undefined;
}

/** The attributes a result is matched on and returned from: the record's own, the level's computed ones. */
function aggregate(level: QidoLevel, g: Group, retrieveBase: string | undefined): DicomJsonObject {
  const f = g.first;
  const out: DicomJsonObject = { ...f.attributes };
  out['0020000D'] = { vr: 'UI', Value: [f.studyInstanceUid] };
  out['00080056'] = cs(['ONLINE']);
  if (level === 'studies') {
    const mods = modalities(g.records);
    if (mods) out['00080061'] = mods;
    out['00201206'] = is(new Set(g.records.map((r) => r.seriesInstanceUid)).size);
    out['00201208'] = is(g.records.length);
    if (retrieveBase) out['00081190'] = ur(`${retrieveBase}/studies/${f.studyInstanceUid}`);
  } else {
    out['0020000E'] = { vr: 'UI', Value: [f.seriesInstanceUid] };
    if (level === 'series') {
      out['00201209'] = is(g.records.length);
      if (retrieveBase)
        out['00081190'] = ur(`${retrieveBase}/studies/${f.studyInstanceUid}/series/${f.seriesInstanceUid}`);
    } else {
      out['00080016'] = { vr: 'UI', Value: [f.sopClassUid] };
      out['00080018'] = { vr: 'UI', Value: [f.sopInstanceUid] };
      if (retrieveBase) {
        out['00081190'] = ur(
          `${retrieveBase}/studies/${f.studyInstanceUid}/series/${f.seriesInstanceUid}/instances/${f.sopInstanceUid}`,
        );
      }
    }
  }
  return out;
}

function returnTags(level: QidoLevel, scope: InstanceScope, query: QidoQuery): Set<string> {
  const tags = new Set<string>(['00080005', '00080056', '00081190', '0020000D']);
  const add = (list: readonly string[]): void => {
    for (const t of list) tags.add(t);
  };
  if (level === 'studies') {
    add(STUDY_RETURN_TAGS);
    add(['00080061', '00201206', '00201208']);
  } else if (level === 'series') {
    add(SERIES_RETURN_TAGS);
    add(['00201209']);
    if (!scope.studyInstanceUid) add(STUDY_RETURN_TAGS);
  } else {
    add(INSTANCE_RETURN_TAGS);
    add(['0020000E']);
    if (!scope.seriesInstanceUid) add(SERIES_RETURN_TAGS);
    if (!scope.studyInstanceUid) add(STUDY_RETURN_TAGS);
  }
  add(query.includeFields);
  for (const m of query.matches) tags.add(m.tag);
  return tags;
}

export async function handleQido(
  level: QidoLevel,
  scope: InstanceScope,
  params: URLSearchParams,
  store: DicomwebStore,
  options: QidoOptions,
): Promise<QidoResult> {
  let query: QidoQuery;
  try {
    query = parseQidoQuery(params);
  } catch (e) {
    if (isDicomwebError(e)) return { status: 400, body: [], warnings: [e.message] };
    throw e;
  }
  const records = await listInstances(store, scope, options.signal);
  const groups =
    level === 'studies'
      ? groupBy(records, (r) => r.studyInstanceUid)
      : level === 'series'
        ? groupBy(records, (r) => `${r.studyInstanceUid}\\${r.seriesInstanceUid}`)
        : groupBy(records, (r) => `${r.studyInstanceUid}\\${r.seriesInstanceUid}\\${r.sopInstanceUid}`);
  const tags = returnTags(level, scope, query);
  const matched: DicomJsonObject[] = [];
  for (const g of groups) {
    const agg = aggregate(level, g, options.retrieveBase);
    if (!query.matches.every((m) => matchesAttribute(agg[m.tag], m.value))) continue;
    const out: DicomJsonObject = {};
    if (query.includeAll) Object.assign(out, agg);
    else pick(agg, tags, out);
    matched.push(out);
  }
  const limit = query.limit ?? options.maxResults ?? 1000;
  const page = matched.slice(query.offset, query.offset + limit);
  const remaining = matched.length - query.offset - page.length;
  const warnings = remaining > 0 ? [`There are ${remaining} additional results that can be requested`] : [];
  return { status: 200, body: page, warnings };
}
