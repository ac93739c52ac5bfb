/**
 * FHIR R4 JSON (a DiagnosticReport, an Observation, a Bundle of them with their Patient...): de-identified value by
 * value, structure kept (same keys, same arrays, same JSON types).
 *
 *  - Narrative: `text.div` (XHTML; the engine runs on the text between tags, markup and entities kept), and every
 *    other string that is not a code (conclusion, valueString, note.text, display, description, comment...) goes
 *    through the free-text engine, with the resource's structured PHI as known values.
 *  - Attachments (`presentedForm`, `content.attachment`...): `data` of a text/* content type is decoded (base64,
 *    UTF-8), cleaned, encoded again, and its `size` and `hash` updated or dropped. Data of any other type (a PDF,
 *    an image) cannot be read here: the call fails (TEXT_FHIR_ATTACHMENT_UNREADABLE), fail closed.
 *  - Identifying structure: HumanName parts (family, given, text), telecom values, Address lines, city, district,
 *    postal code and text (state and country stay), every `identifier.value`, the id part of references
 *    ("Patient/123") and resource ids are replaced by their type, whatever they read as.
 *  - Dates (`birthDate`, `effectiveDateTime`, `issued`, `period.start`...): year only (instants get
 *    YYYY-01-01T00:00:00Z, to stay valid), or shifted by the patient's keyed shift in surrogate mode.
 *  - Codes stay: `system`, `code`, `version`, `url`, `status`, `resourceType`, `contentType`, `language`, `use`,
 *    `unit`, `gender` and the like.
 */
import type { DeidentifyOptions } from '../deidentify.ts';
import type { KnownValue, PhiType } from '../types.ts';
import { FieldCleaner, type ReportResult } from './common.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** Keys whose string values are codes or technical values, never free text. */
const CODE_KEYS = new Set([
  'resourceType',
  'system',
  'code',
  'version',
  'url',
  'status',
  'contentType',
  'language',
  'use',
  'unit',
  'gender',
  'type',
  'fullUrl',
  'profile',
  'mode',
  'method',
  'comparator',
  'intent',
  'priority',
  'category',
  'valueCode',
  'valueBoolean',
  'valueUri',
  'valueCanonical',
  'lastUpdated',
  'versionId',
  'source',
  'div_status',
]);

const INSTANT_KEYS = new Set(['issued', 'lastUpdated', 'recorded', 'instant', 'valueInstant', 'timestamp']);
const DATE_KEY =
  /(?:Date|DateTime|Instant)$|^(?:birthDate|deceasedDateTime|date|issued|start|end|recorded|authoredOn|occurrenceDateTime|effectiveDateTime|onsetDateTime|abatementDateTime|valueDate|valueDateTime|timestamp|instant|time)$/;
const HUMAN_NAME_PARTS = new Set(['family', 'given', 'text', 'prefix_', 'suffix_']);
const ADDRESS_PARTS = new Set(['line', 'city', 'district', 'postalCode', 'text']);

const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Is this text FHIR JSON (an object with a resourceType)? */
export function looksLikeFhir(text: string): boolean {
  const t = text.trimStart();
  return t.startsWith('{') && /"resourceType"\s*:/.test(t.slice(0, 4096));
}

/** De-identifies one FHIR JSON resource (or Bundle); the output is JSON with the input's indentation (2 spaces if any). */
export function deidentifyFhir(json: string, options: DeidentifyOptions = {}): ReportResult {
  let root: Json;
  try {
    root = JSON.parse(json) as Json;
  } catch {
    throw new Error('TEXT_FHIR_INVALID: not JSON');
  }
  if (!isObj(root) || typeof root.resourceType !== 'string') throw new Error('TEXT_FHIR_INVALID: no resourceType');
  const known: KnownValue[] = [];
  collectKnown(root, known);
  const cleaner = new FieldCleaner(options, known);
  const out = walk(root, undefined, cleaner);
  const indented = /^\{\s*\n(\s+)/.exec(json);
  const text = JSON.stringify(out, null, indented ? indented[1]!.length : undefined);
  return { text: json.endsWith('\n') ? `${text}\n` : text, counts: cleaner.counts };
}

/** Names, telecoms, addresses and identifiers anywhere in the tree, as known values for the free text. */
function collectKnown(v: Json, out: KnownValue[]): void {
  if (Array.isArray(v)) {
    for (const x of v) collectKnown(x, out);
    return;
  }
  if (!isObj(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'name' && Array.isArray(x)) {
      for (const n of x) {
        if (!isObj(n)) continue;
        const parts = [
          ...(Array.isArray(n.given) ? n.given : []),
          ...(typeof n.family === 'string' ? [n.family] : []),
        ].filter((p): p is string => typeof p === 'string');
        if (parts.length > 0) out.push({ type: 'NAME', value: parts.join('^') });
      }
    } else if (k === 'telecom' && Array.isArray(x)) {
      for (const t of x)
        if (isObj(t) && typeof t.value === 'string')
          out.push({ type: t.system === 'email' ? 'EMAIL' : 'PHONE', value: t.value });
    } else if (k === 'identifier') {
      for (const i of Array.isArray(x) ? x : [x])
        if (isObj(i) && typeof i.value === 'string' && i.value.trim().length >= 3)
          out.push({ type: 'ID', value: i.value });
    } else if (k === 'address' && Array.isArray(x)) {
      for (const a of x) {
        if (!isObj(a)) continue;
        for (const l of Array.isArray(a.line) ? a.line : [])
          if (typeof l === 'string') out.push({ type: 'ADDRESS', value: l });
        if (typeof a.city === 'string') out.push({ type: 'CITY', value: a.city });
        if (typeof a.postalCode === 'string') out.push({ type: 'ZIP', value: a.postalCode });
      }
    }
    collectKnown(x, out);
  }
}

function walk(v: Json, key: string | undefined, c: FieldCleaner): Json {
  if (Array.isArray(v)) return v.map((x) => walk(x, key, c));
  if (isObj(v)) return walkObject(v, key, c);
  if (typeof v !== 'string' || key === undefined) return v;
  if (CODE_KEYS.has(key)) return v;
  if (DATE_KEY.test(key)) return c.date(v, INSTANT_KEYS.has(key) ? (y) => `${y}-01-01T00:00:00Z` : undefined);
  if (key === 'reference') return reference(v, c);
  return c.free(v);
}

function reference(v: string, c: FieldCleaner): string {
  // Contained (#id) and absolute references: the id part only.
  const m = /^(.*?\b[A-Z][A-Za-z]+\/)([^/]+)(\/_history\/.*)?$/.exec(v);
  if (m) return m[1] + c.typed('ID', m[2]!) + (m[3] ?? '');
  if (v.startsWith('#') || v.startsWith('urn:uuid:')) return v;
  return c.typed('ID', v);
}

function walkObject(o: Obj, key: string | undefined, c: FieldCleaner): Obj {
  const out: Obj = {};
  const humanName = key === 'name' && ('family' in o || 'given' in o);
  const address = key === 'address';
  const telecom = key === 'telecom';
  for (const [k, x] of Object.entries(o)) {
    if (k === 'div' && typeof x === 'string') out[k] = xhtml(x, c);
    else if (k === 'id' && typeof x === 'string') out[k] = isResource(o) ? c.typed('ID', x) : x;
    else if (k === 'value' && typeof x === 'string' && (key === 'identifier' || telecom))
      out[k] = c.typed(telecom ? (o.system === 'email' ? 'EMAIL' : o.system === 'fax' ? 'FAX' : 'PHONE') : 'ID', x);
    else if (humanName && HUMAN_NAME_PARTS.has(k)) out[k] = mapStrings(x, (s) => c.typed('NAME', s));
    else if (address && ADDRESS_PARTS.has(k)) {
      const type: PhiType = k === 'city' ? 'CITY' : k === 'postalCode' ? 'ZIP' : 'ADDRESS';
      out[k] = mapStrings(x, (s) => c.typed(type, s));
    } else if (k === 'data' && typeof x === 'string' && 'contentType' in o) out[k] = attachment(o, x, c);
    else if ((k === 'hash' || k === 'size') && 'data' in o && 'contentType' in o)
      continue; // set below
    else out[k] = walk(x, k, c);
  }
  if ('data' in o && typeof o.data === 'string' && 'contentType' in o && 'size' in o) {
    out.size = utf8Length(decodeBase64Text(out.data as string));
  }
  return out;
}

const isResource = (o: Obj) => typeof o.resourceType === 'string';

function mapStrings(v: Json, f: (s: string) => string): Json {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, f));
  return v;
}

function attachment(o: Obj, data: string, c: FieldCleaner): string {
  const type = typeof o.contentType === 'string' ? o.contentType.toLowerCase() : '';
  if (!type.startsWith('text/')) throw new Error('TEXT_FHIR_ATTACHMENT_UNREADABLE: attachment data not text/*');
  const text = decodeBase64Text(data);
  const clean = type.startsWith('text/html') || type.startsWith('text/xml') ? xhtml(text, c) : c.free(text);
  return encodeBase64Text(clean);
}

/** The engine on the text between tags; tags, comments and entities kept as they are. */
function xhtml(s: string, c: FieldCleaner): string {
  let out = '';
  let pos = 0;
  for (const m of s.matchAll(/<[^>]*>|&[#A-Za-z0-9]+;/g)) {
    out += c.free(s.slice(pos, m.index)) + m[0];
    pos = m.index + m[0].length;
  }
  return out + c.free(s.slice(pos));
}

function decodeBase64Text(b64: string): string {
  let bin: string;
  try {
    bin = atob(b64.replace(/\s+/g, ''));
  } catch {
    throw new Error('TEXT_FHIR_ATTACHMENT_UNREADABLE: attachment data not base64');
  }
  const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error('TEXT_FHIR_ATTACHMENT_UNREADABLE: attachment text not UTF-8');
  }
}

function encodeBase64Text(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;
