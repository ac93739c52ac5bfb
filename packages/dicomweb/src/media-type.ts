/**
 * Media types (RFC 9110 8.3.1) as DICOMweb uses them: `multipart/related; type="application/dicom"; boundary=x`,
 * `application/dicom; transfer-syntax=1.2.840.10008.1.2.1`, and Accept lists of them with q values.
 *
 * Example:
 *   parseMediaType('multipart/related; type="application/dicom"; boundary=b1').params.get('boundary'); // 'b1'
 */

export interface MediaType {
  /** type/subtype, lower case. */
  readonly type: string;
  /** Parameters by lower-case name; values unquoted, case kept. */
  readonly params: ReadonlyMap<string, string>;
}

export interface MediaRange extends MediaType {
  /** The q value, 0..1 (1 when absent). */
  readonly q: number;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Splits on `sep` outside quoted strings. */
function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      cur += c;
      if (c === '\\' && i + 1 < text.length) cur += text[++i]!;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
      cur += c;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, '$1');
  return v;
}

/** Parses one media type; undefined when it has no type/subtype. Unparseable parameters are skipped. */
export function parseMediaType(text: string | null | undefined): MediaType | undefined {
  if (!text) return undefined;
  const [head = '', ...rest] = splitOutsideQuotes(text, ';');
  const type = head.trim().toLowerCase();
  if (!/^[^/\s]+\/[^/\s]+$/.test(type)) return undefined;
  const params = new Map<string, string>();
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const name = p.slice(0, eq).trim().toLowerCase();
    if (!name || params.has(name)) continue;
    params.set(name, unquote(p.slice(eq + 1)));
  }
  return { type, params };
}

/** Parses an Accept header into media ranges, best first (stable for equal q). Absent or empty: `*\/*`. */
export function parseAccept(text: string | null | undefined): MediaRange[] {
  if (!text?.trim()) return [{ type: '*/*', params: new Map(), q: 1 }];
  const out: MediaRange[] = [];
  for (const item of splitOutsideQuotes(text, ',')) {
    const mt = parseMediaType(item);
    if (!mt) continue;
    const params = new Map(mt.params);
    const qText = params.get('q');
    params.delete('q');
    const q = qText === undefined ? 1 : Number(qText);
    out.push({ type: mt.type, params, q: Number.isFinite(q) ? Math.min(Math.max(q, 0), 1) : 0 });
  }
  return out
    .map((r, i) => ({ r, i }))
    .sort((a, b) => b.r.q - a.r.q || a.i - b.i)
    .map((x) => x.r);
}

/** Whether a media range (possibly `*\/*` or `type/*`) covers a concrete type. */
export function rangeCovers(range: string, type: string): boolean {
  if (range === '*/*' || range === type) return true;
  return range.endsWith('/*') && type.startsWith(range.slice(0, -1));
}

/** Formats a media type, quoting parameter values that are not tokens. */
export function formatMediaType(type: string, params: Readonly<Record<string, string>> = {}): string {
  let out = type;
  for (const [k, v] of Object.entries(params)) {
    out += `; ${k}=${TOKEN.test(v) ? v : `"${v.replace(/(["\\])/g, '\\$1')}"`}`;
  }
  return out;
}
