/**
 * QIDO-RS query parameters (PS3.18 8.3.4): attribute matches by keyword or tag (`PatientID=X`, `00100020=X`),
 * `includefield`, `limit`, `offset` and `fuzzymatching`. Sequence paths (`00081111.00081150`) are not supported
 * and answered 400, as is any parameter that names no attribute.
 *
 * Example:
 *   parseQidoQuery(new URLSearchParams('StudyDate=20240101-&limit=10')).matches; // [{ tag: '00080020', ... }]
 */
import { tagForKeyword } from '@veil/core';
import { DicomwebError } from '../errors.ts';

export interface QidoMatch {
  /** GGGGEEEE, upper case. */
  readonly tag: string;
  readonly value: string;
}

export interface QidoQuery {
  readonly matches: readonly QidoMatch[];
  /** Tags asked for with includefield (GGGGEEEE). */
  readonly includeFields: readonly string[];
  readonly includeAll: boolean;
  readonly limit: number | undefined;
  readonly offset: number;
  readonly fuzzyMatching: boolean;
}

/** A keyword or an 8-digit hex tag as GGGGEEEE; undefined when it is neither. */
export function attributeKey(name: string): string | undefined {
  if (/^[0-9A-Fa-f]{8}$/.test(name)) return name.toUpperCase();
  const tag = tagForKeyword(name);
  return tag === undefined ? undefined : tag.toString(16).toUpperCase().padStart(8, '0');
}

function nonNegativeInt(text: string, name: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new DicomwebError('DICOMWEB_BAD_QUERY', { path: name });
  return Number(text);
}

export function parseQidoQuery(params: URLSearchParams): QidoQuery {
  const matches: QidoMatch[] = [];
  const includeFields: string[] = [];
  let includeAll = false;
  let limit: number | undefined;
  let offset = 0;
  let fuzzyMatching = false;
  for (const [name, value] of params) {
    switch (name.toLowerCase()) {
      case 'includefield':
        for (const f of value.split(',')) {
          const field = f.trim();
          if (field === '') continue;
          if (field.toLowerCase() === 'all') {
            includeAll = true;
            continue;
          }
          const key = attributeKey(field);
          if (!key) throw new DicomwebError('DICOMWEB_BAD_QUERY', { path: 'includefield' });
          includeFields.push(key);
        }
        continue;
      case 'limit':
        limit = nonNegativeInt(value, 'limit');
        continue;
      case 'offset':
        offset = nonNegativeInt(value, 'offset');
        continue;
      case 'fuzzymatching':
        fuzzyMatching = value.toLowerCase() === 'true';
        continue;
      default: {
        const key = attributeKey(name);
        // The parameter name goes into the error: it is a keyword or tag, never a value.
        if (!key)
          throw new DicomwebError('DICOMWEB_BAD_QUERY', { path: /^[A-Za-z0-9.]{1,64}$/.test(name) ? name : '?' });
        matches.push({ tag: key, value });
      }
    }
  }
  return { matches, includeFields, includeAll, limit, offset, fuzzyMatching };
}
