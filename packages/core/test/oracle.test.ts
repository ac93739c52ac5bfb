/**
 * The oracle proofs: for every file of the shared inventory, Veil's element tree agrees with DCMTK 3.6.7's.
 *
 * 1. Values: dcm2json +m (meta and dataset) against toDicomJson() of our scan: the same tags at every depth, the same
 *    VRs, the same values (text decoded to Unicode, numbers, AT, PN groups, base64 of binary values), the same item
 *    counts. Where dcm2json 3.6.7 gives up, dcm2xml's DCMTK-format XML (+Wb +Eb: binary values in base64; it also
 *    carries every length, and the fragments of encapsulated Pixel Data) stands in:
 *      - encapsulated Pixel Data ("InlineBinary encoding not supported for compressed pixel data"): dcm2xml +U8;
 *      - character sets DCMTK's iconv cannot convert (ISO 2022 IR 87 with glibc, misspelled terms, 8-bit text with
 *        no (0008,0005)): dcm2xml without +U8, which writes the bytes of text values; we compare bytes.
 * 2. Structure: every line of `dcmdump -M +Qo` (tag, VR, value length and nesting of every element, item, fragment
 *    and delimitation item, meta included) against every line of our dumpText().
 *
 * Normalisations, each a DCMTK behaviour rather than a difference in what the file holds:
 *   - group length elements (gggg,0000) are not in dcm2json's output (nor in our JSON model);
 *   - after converting text to UTF-8, DCMTK writes (0008,0005) as "ISO_IR 192" (adding it where there was none),
 *     and dcm2xml +U8 reports the UTF-8 length of converted text;
 *   - DCMTK pads odd-length binary values in memory: its length is ours + 1, its bytes have one more 00;
 *   - dcm2xml writes OW base64 in big endian word order;
 *   - dcm2xml writes multi-valued text with insignificant spaces removed from each value (PS3.5 6.2);
 *   - dcmdump's VRs "??" (no dictionary entry, implicit VR) = UN, "up" (offset pointer) = UL, "xs" (US or SS,
 *     unresolved) = US or SS; it relabels an explicit VR UN of undefined length SQ (CP-246) and encapsulated Pixel
 *     Data written as OW as OB (PS3.5 A.4); it prints made-up delimitation items "for re-encoding".
 * Anything else is a disagreement and fails the test, unless it is listed below with its reason.
 * VEIL_ORACLE_REPORT=<dir> writes every disagreement found to <dir>/oracle-json.tsv and oracle-dcmdump.tsv.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  attributeToJson,
  base64,
  type DicomElement,
  type DicomFile,
  type DicomJsonAttribute,
  dumpText,
  type ElementContainer,
  elementPath,
  formatTag,
  formatTagJson,
  isVeilError,
  readNumbers,
  readString,
  scanFile,
  UNDEFINED_LENGTH,
  valueBytes,
} from '../src/index.ts';
import { dataDir, inventory } from './support/corpus.ts';

interface Exception {
  /** Path relative to the shared data folder, as in INVENTORY.tsv. */
  readonly file: string;
  /** Tag path of the element; a trailing '*' matches every path that starts with what precedes it. */
  readonly tagPath: string;
  readonly reason: string;
}

const FO = 'dicom/fo-dicom/Test_Data';
const PYDICOM = 'dicom/pydicom-test-files/test_files';

const INVALID_VR: Exception = {
  file: `${FO}/GH179A.dcm`,
  tagPath: '(0028,0120)',
  reason:
    'the explicit VR field holds two spaces (20 20); both read a 16-bit length, then DCMTK calls the element UN ' +
    "while Veil takes the dictionary's VR (Pixel Padding Value: US or SS, read as US) and records INVALID_VR",
};

/** Where dcm2json/dcm2xml and Veil disagree for a known, explained reason. Each must still occur (no stale entries). */
const JSON_EXCEPTIONS: readonly Exception[] = [
  INVALID_VR,
  {
    file: `${FO}/GH1301.dcm`,
    tagPath: '(0010,0040)',
    reason:
      'Patient Sex (CS) holds the bytes C4 D0, outside the default repertoire that CS is limited to; dcm2json copies ' +
      'them unconverted into its UTF-8 output (invalid there, read as U+FFFD), Veil reads bytes of a VR without ' +
      'character set as ISO 8859-1 ("ÄÐ")',
  },
  {
    file: `${FO}/charset/chrSQEncoding.dcm`,
    tagPath: '(0032,1064)[0](0010,0010)',
    reason:
      'the item declares ISO 2022 IR 13\\ISO 2022 IR 87, which the glibc iconv DCMTK converts with does not support: ' +
      'dcm2json leaves the JIS bytes unconverted; Veil decodes them to ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう (PS3.5 H.3.2)',
  },
  {
    file: `${PYDICOM}/no_meta_group_length.dcm`,
    tagPath: '(0002,0013)',
    reason:
      'Implementation Version Name (SH) is padded with a NUL, which only UI allows; dcm2json keeps the NUL in the ' +
      'value, Veil drops trailing NULs and spaces as padding for every VR',
  },
  {
    file: `${FO}/GH1376.dcm`,
    tagPath: '(0002,*',
    reason:
      'two File Meta groups back to back (the second from an earlier header, UL 202 and Explicit VR Little Endian); ' +
      'DCMTK ends the meta where the first (0002,0000) says and reads the second group as dataset elements, so ' +
      'dcm2json +m writes both groups under the same keys; Veil takes every leading group 0002 element as meta ' +
      '(finding META_GROUP_LENGTH_MISMATCH) and keeps the first of each tag',
  },
];

/** A defined-length UN value that is an implicit VR sequence: Veil shows its items, dcmdump (-uc) its bytes. */
function unSequence(file: string, tagPath: string, what: string): Exception {
  return {
    file,
    tagPath,
    reason:
      `${what}: a UN element of defined length whose value is an implicit VR Little Endian sequence; Veil parses ` +
      'the items (PS3.5 6.2.2, CP-246) so that de-identification reaches them, DCMTK keeps UN elements opaque',
  };
}

const PHILIPS_MR = 'dicom/dcm4che/test-data/MR-JPEGLosslessSV1.dcm';
const DEID_MR = 'dicom/pydicom-deid/examples/MR.dcm';

/** Where dcmdump and Veil's dump disagree for a known, explained reason. */
const DUMP_EXCEPTIONS: readonly Exception[] = [
  INVALID_VR,
  {
    file: 'dicom/pydicom-test-files/palettes/winter.dcm',
    tagPath: '(0008,0018)',
    reason:
      'SOP Instance UID occurs twice in a row; DCMTK keeps the first ("found twice in one data set, ignoring second ' +
      'entry"), Veil keeps both so the file rewrites byte for byte (its JSON model keeps the first, like DCMTK)',
  },
  unSequence(PHILIPS_MR, '(2001,105F)', 'Philips Stack Sequence'),
  unSequence(PHILIPS_MR, '(2005,1080)', 'Philips private sequence'),
  unSequence(PHILIPS_MR, '(2005,1083)', 'Philips private sequence'),
  unSequence(DEID_MR, '(0009,1010)', 'GE private sequence'),
  unSequence(DEID_MR, '(2001,9000)', 'Philips private sequence'),
  unSequence(DEID_MR, '(2005,1084)', 'Philips private sequence'),
  unSequence(DEID_MR, '(2005,140F)', 'Philips private sequence'),
  unSequence('dicom/pydicom-data/bad_sequence.dcm', '(0018,9346)', 'CTDI Phantom Type Code Sequence written as UN'),
  unSequence(`${PYDICOM}/priv_SQ.dcm`, '(3F03,1001)', 'an implicit VR private element with no dictionary entry'),
  unSequence(`${PYDICOM}/rtdose_rle.dcm`, '(300C,0002)', 'Referenced RT Plan Sequence written as UN'),
  unSequence(`${PYDICOM}/rtdose_rle_1frame.dcm`, '(300C,0002)', 'Referenced RT Plan Sequence written as UN'),
];

const CONCURRENCY = 3;

function hasTool(name: string): boolean {
  return spawnSync(name, ['--version'], { encoding: 'utf8' }).status === 0;
}

const HAS_DCMTK = hasTool('dcm2json') && hasTool('dcm2xml') && hasTool('dcmdump');
const SKIP = HAS_DCMTK ? false : 'dcmtk (dcm2json, dcm2xml, dcmdump) is not installed';

interface ToolResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[]): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'buffer', maxBuffer: 1 << 30 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(err);
        return;
      }
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr: stderr.toString('utf8') });
    });
  });
}

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

interface Disagreement {
  readonly file: string;
  readonly tagPath: string;
  readonly what: string;
}

/** Fails with every unexplained disagreement, and with every exception that no longer occurs. */
function settle(found: Disagreement[], exceptions: readonly Exception[], name: string): { explained: number } {
  // VEIL_ORACLE_REPORT=dir writes every disagreement (explained or not) as TSV, for working through them.
  const reportDir = process.env.VEIL_ORACLE_REPORT;
  if (reportDir) {
    const rows = found.map((d) => `${d.file}\t${d.tagPath}\t${d.what}`).sort();
    writeFileSync(path.join(reportDir, `oracle-${name}.tsv`), `${rows.join('\n')}\n`);
  }
  const key = (d: { file: string; tagPath: string }): string => `${d.file}\t${d.tagPath}`;
  const matches = (e: Exception, d: Disagreement): boolean =>
    e.file === d.file &&
    (e.tagPath.endsWith('*') ? d.tagPath.startsWith(e.tagPath.slice(0, -1)) : e.tagPath === d.tagPath);
  const seen = new Set<string>();
  const unexplained: string[] = [];
  for (const d of found) {
    const e = exceptions.find((x) => matches(x, d));
    if (e) seen.add(key(e));
    else unexplained.push(`${d.file} ${d.tagPath}: ${d.what}`);
  }
  const stale = exceptions.filter((e) => !seen.has(key(e))).map((e) => `${e.file} ${e.tagPath}`);
  assert.deepEqual(unexplained, [], `${unexplained.length} unexplained disagreements with dcmtk`);
  assert.deepEqual(stale, [], 'exceptions that no longer occur');
  return { explained: seen.size };
}

function scan(abs: string): DicomFile {
  const b = readFileSync(abs);
  return scanFile(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
}

// ---------------------------------------------------------------------------------------------------------------
// The oracle: dcm2json's DICOM JSON, or dcm2xml's DCMTK-format XML where dcm2json gives up.

type OracleAttr = { vr: string; Value?: unknown[]; InlineBinary?: string; BulkDataURI?: string };
type OracleObject = Record<string, OracleAttr>;

type Oracle =
  | { readonly mode: 'dcm2json'; readonly json: OracleObject }
  /** dcm2xml: text converted to UTF-8; dcm2xml-raw: text as its bytes. */
  | { readonly mode: 'dcm2xml' | 'dcm2xml-raw'; readonly xml: XmlNode };

const CHARSET_FAILURE = /SpecificCharacterSet|extended characters|character set|character encoding/;

/**
 * The oracle for each file of a batch, from one shell process: dcm2json; where it fails, dcm2xml +U8; where that
 * fails, dcm2xml without +U8. One process per batch rather than per file: spawning from a big Node process costs far
 * more than running the tools. Outputs go to `dir`.
 */
async function oracleBatch(files: readonly string[], dir: string): Promise<Oracle[]> {
  // +m: the meta header too; -fc: compact. dcm2xml +Wb +Eb: binary values as base64; +M: load them all. Without
  // +U8, dcm2xml writes the bytes of text values (ISO-8859-1 XML, non-ASCII as &#nnn;) and needs no iconv; +Ca
  // lets it through 8-bit text that no (0008,0005) declares.
  const script = `
    out=$1; shift; i=0
    for f in "$@"; do
      o="$out/$i"; i=$((i + 1))
      if dcm2json +m -fc "$f" >"$o.out" 2>"$o.err"; then echo dcm2json >"$o.mode"
      elif dcm2xml -dtk +Wb +Eb +M +U8 "$f" >"$o.out" 2>>"$o.err"; then echo dcm2xml >"$o.mode"
      elif dcm2xml -dtk +Wb +Eb +M +Ca "ISO_IR 100" "$f" >"$o.out" 2>>"$o.err"; then echo dcm2xml-raw >"$o.mode"
      else echo failed >"$o.mode"; fi
    done`;
  const r = await run('sh', ['-c', script, 'sh', dir, ...files]);
  if (r.code !== 0) throw new Error(`oracle batch failed: ${r.stderr}`);
  return files.map((abs, i) => {
    const o = path.join(dir, String(i));
    const mode = readFileSync(`${o}.mode`, 'utf8').trim();
    const stderr = readFileSync(`${o}.err`, 'utf8');
    const out = readFileSync(`${o}.out`);
    rmSync(`${o}.out`);
    if (mode === 'dcm2json') return { mode, json: JSON.parse(out.toString('utf8')) as OracleObject };
    // Fall back only for the two known reasons, never for a file dcm2json could not parse.
    if (!/compressed pixel data/.test(stderr) && !CHARSET_FAILURE.test(stderr)) {
      throw new Error(`dcm2json failed on ${abs}: ${stderr}`);
    }
    if (mode === 'dcm2xml') return { mode, xml: parseXml(out.toString('utf8')) };
    if (mode === 'dcm2xml-raw' && CHARSET_FAILURE.test(stderr)) return { mode, xml: parseXml(out.toString('latin1')) };
    throw new Error(`dcm2xml failed on ${abs}: ${stderr}`);
  });
}

interface XmlNode {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: XmlNode[];
  text: string;
}

function xmlUnescape(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[e] ?? '';
  });
}

/** Just enough XML for dcm2xml's output: elements, attributes, text; no CDATA or comments. */
function parseXml(xml: string): XmlNode {
  const root: XmlNode = { name: '#root', attrs: {}, children: [], text: '' };
  const stack: XmlNode[] = [root];
  for (const m of xml.matchAll(/<\?[^>]*\?>|<(\/?)([A-Za-z][\w:-]*)([^>]*?)(\/?)>|([^<]+)/g)) {
    const top = stack[stack.length - 1]!;
    if (m[5] !== undefined) {
      top.text += xmlUnescape(m[5]);
    } else if (m[2] !== undefined) {
      if (m[1]) {
        stack.pop();
        continue;
      }
      const attrs: Record<string, string> = {};
      for (const a of (m[3] ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]!] = xmlUnescape(a[2]!);
      const node: XmlNode = { name: m[2], attrs, children: [], text: '' };
      top.children.push(node);
      if (!m[4]) stack.push(node);
    }
  }
  return root;
}

// ---------------------------------------------------------------------------------------------------------------
// Comparing the oracle's view with ours, walking our element tree alongside.

interface Ctx {
  readonly file: string;
  readonly mode: Oracle['mode'];
  readonly out: Disagreement[];
}

function diffAt(ctx: Ctx, tagPath: string, what: string): void {
  ctx.out.push({ file: ctx.file, tagPath, what });
}

function report(ctx: Ctx, el: DicomElement, what: string | undefined): void {
  if (what !== undefined) diffAt(ctx, elementPath(el), what);
}

const CHARSET_TEXT = new Set(['SH', 'LO', 'ST', 'LT', 'PN', 'UC', 'UT']);
const NUMBER_VRS = new Set(['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'SV', 'UV']);
/** Binary VRs dcm2xml writes as numbers (+Wb covers OB and OW only). */
const BINARY_NUMBER_VRS = new Set(['OF', 'OD', 'OL', 'OV']);

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function isSequence(el: DicomElement): boolean {
  return el.items !== undefined && (el.vr === 'SQ' || el.length === UNDEFINED_LENGTH);
}

/** PN groups compare without trailing empty components ("^^^^" is an empty name). */
function normPN(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(v as Record<string, string>)) {
    const t = s.replace(/\^+$/, '');
    if (t !== '') out[k] = t;
  }
  return Object.keys(out).length === 0 ? null : out;
}

function sameNumber(a: number, b: number, vr: string): boolean {
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return true;
  if ((vr === 'FL' || vr === 'OF') && Math.fround(a) === Math.fround(b)) return true;
  // dcm2xml prints FD with 17 significant digits at most; allow the last one.
  return vr === 'FD' && Math.abs(a - b) <= Math.abs(b) * 1e-15;
}

function sameValue(o: unknown, u: unknown, vr: string): boolean {
  if (o === '' || o === undefined) o = null;
  if (u === '' || u === undefined) u = null;
  if (vr === 'PN') return JSON.stringify(normPN(o)) === JSON.stringify(normPN(u));
  if (o === u) return true;
  if (typeof u === 'number' || typeof o === 'number') return sameNumber(Number(o), Number(u), vr);
  return false;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** DCMTK pads an odd-length binary value in memory: its bytes are ours and one 00. */
function paddedOdd(o: string, u: string | undefined, length: number): boolean {
  if (length % 2 === 0) return false;
  const ob = Buffer.from(o, 'base64');
  const ub = Buffer.from(u ?? '', 'base64');
  return ob.length === ub.length + 1 && ob[ub.length] === 0 && ob.subarray(0, ub.length).equals(ub);
}

function sameBinary(o: string, u: string | undefined, length: number): boolean {
  return o === (u ?? '') || paddedOdd(o, u, length);
}

/** Our elements by key, the first of each tag (a repeated tag is a malformed file; DCMTK keeps the first too). */
function byKey(
  elements: readonly DicomElement[],
  key: (el: DicomElement) => string | undefined,
): Map<string, DicomElement> {
  const out = new Map<string, DicomElement>();
  for (const el of elements) {
    const k = key(el);
    if (k !== undefined && !out.has(k)) out.set(k, el);
  }
  return out;
}

// dcm2json ------------------------------------------------------------------------------------------------------

function compareJsonElements(o: OracleObject, elements: readonly DicomElement[], prefix: string, ctx: Ctx): void {
  const ours = byKey(elements, (el) => ((el.tag & 0xffff) === 0 ? undefined : formatTagJson(el.tag)));
  for (const key of Object.keys(o)) {
    if (ours.has(key)) continue;
    // DCMTK adds (0008,0005) "ISO_IR 192" when it converts a dataset that had none to UTF-8.
    if (key === '00080005' && o[key]?.Value?.[0] === 'ISO_IR 192') continue;
    diffAt(ctx, `${prefix}(${key.slice(0, 4)},${key.slice(4)})`, 'only dcmtk has it');
  }
  for (const [key, el] of ours) {
    const oa = o[key];
    if (!oa) diffAt(ctx, elementPath(el), 'only Veil has it');
    else report(ctx, el, jsonAttributeDiff(oa, el, ctx));
  }
}

/** The disagreement on this element, if any (those inside its items go to ctx directly). */
function jsonAttributeDiff(o: OracleAttr, el: DicomElement, ctx: Ctx): string | undefined {
  const tagPath = elementPath(el);
  if (isSequence(el)) {
    const items = el.items!;
    if (o.vr !== 'SQ') return `VR: dcmtk ${o.vr}, Veil a sequence of ${items.length} items`;
    const theirs = o.Value ?? [];
    if (theirs.length !== items.length) return `items: dcmtk ${theirs.length}, Veil ${items.length}`;
    items.forEach((item, i) => {
      compareJsonElements(theirs[i] as OracleObject, item.elements, `${tagPath}[${i}]`, ctx);
    });
    return;
  }
  const u: DicomJsonAttribute = attributeToJson(el);
  if (o.vr !== u.vr) return `VR: dcmtk ${o.vr}, Veil ${u.vr}`;
  if (o.InlineBinary !== undefined || u.InlineBinary !== undefined) {
    if (sameBinary(o.InlineBinary ?? '', u.InlineBinary, el.length)) return;
    return `binary: dcmtk ${Buffer.from(o.InlineBinary ?? '', 'base64').length} bytes, Veil ${el.length}`;
  }
  const ov = o.Value ?? [];
  const uv = u.Value ?? [];
  // DCMTK converted the text to UTF-8 and says so.
  if (el.tag === 0x00080005 && ov.length === 1 && ov[0] === 'ISO_IR 192') return;
  if (ov.length !== uv.length) return `VM: dcmtk ${show(ov)}, Veil ${show(uv)}`;
  for (let i = 0; i < ov.length; i++) {
    if (!sameValue(ov[i], uv[i], u.vr)) return `value ${i}: dcmtk ${show(ov[i])}, Veil ${show(uv[i])}`;
  }
}

// dcm2xml (DCMTK format) ----------------------------------------------------------------------------------------

function tagKey(tag: number): string {
  return formatTag(tag).toLowerCase().slice(1, -1);
}

function compareXmlElements(
  nodes: readonly XmlNode[],
  elements: readonly DicomElement[],
  prefix: string,
  ctx: Ctx,
): void {
  const theirs = new Map<string, XmlNode>();
  for (const n of nodes) {
    const t = n.attrs.tag;
    if ((n.name === 'element' || n.name === 'sequence') && t !== undefined && !theirs.has(t)) theirs.set(t, n);
  }
  const ours = byKey(elements, (el) => tagKey(el.tag));
  for (const [key, n] of theirs) {
    if (ours.has(key)) continue;
    // DCMTK adds (0008,0005) "ISO_IR 192" when it converts a dataset that had none to UTF-8.
    if (key === '0008,0005' && ctx.mode === 'dcm2xml' && n.text === 'ISO_IR 192') continue;
    diffAt(ctx, `${prefix}(${key.toUpperCase()})`, 'only dcmtk has it');
  }
  for (const [key, el] of ours) {
    const n = theirs.get(key);
    if (!n) diffAt(ctx, elementPath(el), 'only Veil has it');
    else report(ctx, el, xmlNodeDiff(n, el, ctx));
  }
}

/** Our text of a value as dcm2xml writes it: decoded (or its bytes, in raw mode), padding removed. */
function ourText(el: DicomElement, raw: boolean): string {
  if (raw && CHARSET_TEXT.has(el.vr)) {
    const s = latin1(valueBytes(el)).replace(/[\0 ]+$/, '');
    return el.vr === 'LT' || el.vr === 'ST' || el.vr === 'UT' ? s : s.replace(/^ +/, '');
  }
  return readString(el);
}

/** The disagreement on this element, if any (those inside its items go to ctx directly). */
function xmlNodeDiff(n: XmlNode, el: DicomElement, ctx: Ctx): string | undefined {
  const tagPath = elementPath(el);
  const vr = DCMTK_VR[n.attrs.vr ?? ''] ?? n.attrs.vr ?? '';
  if (n.name === 'sequence') {
    if (el.fragments) {
      // Encapsulated Pixel Data is OB (PS3.5 A.4): DCMTK relabels a non-conformant OW.
      if (vr !== el.vr && !(vr === 'OB' && el.vr === 'OW')) return `VR: dcmtk ${vr}, Veil ${el.vr}`;
      const items = n.children.filter((c) => c.name === 'pixel-item');
      if (items.length !== el.fragments.length) {
        return `fragments: dcmtk ${items.length}, Veil ${el.fragments.length}`;
      }
      el.fragments.forEach((f, i) => {
        const item = items[i]!;
        const bytes = el.parent.source.read(f.valueOffset, f.valueOffset + f.length);
        if (Number(item.attrs.len) !== f.length)
          diffAt(ctx, `${tagPath}[${i}]`, `fragment length: dcmtk ${item.attrs.len}, Veil ${f.length}`);
        else if (item.attrs.binary === 'base64' && unwrap(item.text) !== base64(bytes)) {
          diffAt(ctx, `${tagPath}[${i}]`, 'fragment bytes differ');
        }
      });
      return;
    }
    if (!isSequence(el)) return `dcmtk: a sequence (${vr}), Veil: ${el.vr} of ${el.length} bytes`;
    const items = n.children.filter((c) => c.name === 'item');
    if (vr !== 'SQ') return `VR: dcmtk ${vr}, Veil a sequence`;
    if (items.length !== el.items!.length) return `items: dcmtk ${items.length}, Veil ${el.items!.length}`;
    el.items!.forEach((item, i) => {
      compareXmlElements(items[i]!.children, item.elements, `${tagPath}[${i}]`, ctx);
    });
    return;
  }
  if (isSequence(el) || el.fragments) return `dcmtk: ${vr} of ${n.attrs.len} bytes, Veil: a sequence`;
  if (vr !== el.vr) return `VR: dcmtk ${vr}, Veil ${el.vr}`;
  // DCMTK converted the text to UTF-8 and says so in (0008,0005).
  if (el.tag === 0x00080005 && ctx.mode === 'dcm2xml' && n.text === 'ISO_IR 192') return;
  const len = Number(n.attrs.len);
  // After +U8 the length is that of the UTF-8 text; the dcmdump test compares the lengths in the file.
  const converted = ctx.mode === 'dcm2xml' && CHARSET_TEXT.has(el.vr);
  if (len !== el.length && !(el.length % 2 === 1 && len === el.length + 1) && !converted) {
    return `length: dcmtk ${len}, Veil ${el.length}`;
  }
  if (n.attrs.binary === 'hidden') return;
  if (n.attrs.binary === 'base64') {
    const u = attributeToJson(el).InlineBinary;
    // dcm2xml writes OW words big endian (its base64 encoder's order); the JSON models are little endian.
    const theirs = el.vr === 'OW' ? swap16(unwrap(n.text)) : unwrap(n.text);
    return sameBinary(theirs, u, el.length) ? undefined : 'binary value differs';
  }
  if (NUMBER_VRS.has(el.vr) || BINARY_NUMBER_VRS.has(el.vr)) {
    const theirs = n.text === '' ? [] : n.text.split('\\').map(Number);
    const ours = readNumbers(el);
    if (theirs.length === ours.length && theirs.every((t, i) => sameNumber(t, ours[i]!, el.vr))) return;
    return `values: dcmtk ${show(n.text)}, Veil ${show(ours.join('\\'))}`;
  }
  if (el.vr === 'AT') {
    const ours = readNumbers(el)
      .map((t) => formatTag(t).toLowerCase())
      .join('\\');
    return n.text === ours ? undefined : `values: dcmtk ${show(n.text)}, Veil ${show(ours)}`;
  }
  // Multi-valued text compares value by value, each without its insignificant spaces (PS3.5 6.2).
  const single = el.vr === 'LT' || el.vr === 'ST' || el.vr === 'UT' || el.vr === 'UR';
  const split = (text: string): string[] =>
    single ? [text.replace(/[\0 ]+$/, '')] : text.split('\\').map((v) => v.trim());
  const theirs = split(n.text);
  const ours = split(ourText(el, ctx.mode === 'dcm2xml-raw'));
  if (theirs.join('\\') === ours.join('\\')) return;
  return `value: dcmtk ${show(theirs.join('\\'))}, Veil ${show(ours.join('\\'))}`;
}

function swap16(b64: string): string {
  const b = Buffer.from(b64, 'base64');
  for (let i = 0; i + 1 < b.length; i += 2) {
    const x = b[i]!;
    b[i] = b[i + 1]!;
    b[i + 1] = x;
  }
  return b.toString('base64');
}

/** RFC 2045 base64 as dcm2xml writes it, without its line breaks. */
function unwrap(b64: string): string {
  return b64.replace(/\s+/g, '');
}

function compareFile(file: DicomFile, oracle: Oracle, rel: string): Disagreement[] {
  const ctx: Ctx = { file: rel, mode: oracle.mode, out: [] };
  if (oracle.mode === 'dcm2json') {
    compareJsonElements(oracle.json, [...(file.meta?.elements ?? []), ...file.dataset.elements], '', ctx);
    return ctx.out;
  }
  const top = oracle.xml.children.find((c) => c.name === 'file-format');
  const meta = top?.children.find((c) => c.name === 'meta-header');
  const ds = top?.children.find((c) => c.name === 'data-set');
  if (!ds) throw new Error(`no data-set in dcm2xml output for ${rel}`);
  compareXmlElements(meta?.children ?? [], file.meta?.elements ?? [], '', ctx);
  compareXmlElements(ds.children, file.dataset.elements, '', ctx);
  return ctx.out;
}

// ---------------------------------------------------------------------------------------------------------------
// dcmdump lines against dumpText lines.

interface DumpLine {
  readonly depth: number;
  readonly tag: string;
  readonly vr: string;
  readonly length: string;
  /** "(Sequence with ...)" or "(PixelSequence ...)": the lines that follow at a deeper level are its items. */
  readonly kind: 'sequence' | 'pixels' | 'value';
  /** Tag path of the element, for reports. */
  readonly path: string;
}

/** DCMTK's internal VRs as dcmdump prints them: unknown (implicit VR, no dictionary entry), offset pointer. */
const DCMTK_VR: Record<string, string> = { '??': 'UN', up: 'UL' };

const LINE = /^( *)\(([0-9a-f]{4}),([0-9a-f]{4})\) (\S\S) (.*) # *(u\/l|\d+), *\d+ .*$/;

/** The element, item and delimiter lines of a dump (meta and dataset), with tag paths. */
function parseDump(text: string): DumpLine[] {
  const out: DumpLine[] = [];
  // Path bookkeeping: the last element or item at each depth, and item counters.
  const at: string[] = [];
  const itemIndex: number[] = [];
  for (const raw of text.split('\n')) {
    const m = LINE.exec(raw);
    if (!m) continue;
    const value = m[5]!;
    if (value.includes('for re-encod')) continue;
    const depth = m[1]!.length / 2;
    const tag = `(${m[2]!.toUpperCase()},${m[3]!.toUpperCase()})`;
    const vr = DCMTK_VR[m[4]!] ?? m[4]!;
    let pathText: string;
    if (tag === '(FFFE,E000)') {
      const i = (itemIndex[depth] ?? -1) + 1;
      itemIndex[depth] = i;
      pathText = `${at[depth - 1] ?? ''}[${i}]`;
      at[depth] = pathText;
    } else if (tag === '(FFFE,E00D)' || tag === '(FFFE,E0DD)') {
      pathText = `${at[depth - 1] ?? ''}${tag}`;
    } else {
      pathText = (depth === 0 ? '' : (at[depth - 1] ?? '')) + tag;
      at[depth] = pathText;
      itemIndex[depth + 1] = -1;
    }
    const kind = value.startsWith('(Sequence with')
      ? 'sequence'
      : value.startsWith('(PixelSequence')
        ? 'pixels'
        : 'value';
    out.push({ depth, tag, vr, length: m[6]!, kind, path: pathText });
  }
  return out;
}

/**
 * Whether dcmdump's VR is DCMTK's view of ours:
 *  - 'xs' is DCMTK's "US or SS" it could not resolve (implicit VR, no Pixel Representation): Veil reads US;
 *  - an explicit VR UN of undefined length is a sequence (CP-246): DCMTK relabels it SQ, Veil's dump keeps UN;
 *  - encapsulated Pixel Data is OB (PS3.5 A.4): DCMTK relabels a non-conformant OW.
 */
function sameDumpVR(t: DumpLine, u: DumpLine): boolean {
  if (t.vr === u.vr) return true;
  if (t.vr === 'xs') return u.vr === 'US' || u.vr === 'SS';
  if (t.vr === 'SQ' && u.vr === 'UN') return t.kind === 'sequence' && u.kind === 'sequence' && u.length === 'u/l';
  return t.vr === 'OB' && u.vr === 'OW' && t.kind === 'pixels' && u.kind === 'pixels';
}

function compareDumps(theirs: DumpLine[], ours: DumpLine[], rel: string, file: DicomFile): Disagreement[] {
  const out: Disagreement[] = [];
  const diff = (tagPath: string, what: string): void => {
    out.push({ file: rel, tagPath, what });
  };
  const odd = oddLengthPaths(file);
  let i = 0;
  let j = 0;
  while (i < theirs.length || j < ours.length) {
    const t = theirs[i];
    const u = ours[j];
    if (!t || !u) {
      diff((t ?? u)!.path, `${t ? 'only dcmtk' : 'only Veil'} has this line and the rest`);
      break;
    }
    if (t.depth !== u.depth || t.tag !== u.tag) {
      const prev = ours[j - 1];
      if (prev && prev.depth === u.depth && prev.tag === u.tag) {
        // A tag repeated in one container: DCMTK keeps the first only; Veil keeps both.
        diff(u.path, 'repeated tag: only Veil shows the second');
        j++;
        continue;
      }
      diff(u.path, `line ${j}: dcmtk ${t.path} at depth ${t.depth}, Veil ${u.path} at depth ${u.depth}`);
      break;
    }
    const lengthOk = t.length === u.length || (odd.has(u.path) && Number(t.length) === Number(u.length) + 1);
    if (!sameDumpVR(t, u) || !lengthOk) diff(u.path, `dcmtk ${t.vr} ${t.length}, Veil ${u.vr} ${u.length}`);
    i++;
    j++;
    if (u.kind === 'sequence' && t.kind === 'value') {
      // Veil parsed the value as an implicit VR sequence, DCMTK kept bytes: skip Veil's items.
      diff(u.path, `Veil shows items where dcmtk shows a ${t.vr} value`);
      while (j < ours.length && ours[j]!.depth > u.depth) j++;
    }
  }
  return out;
}

/** Paths of binary elements with odd lengths: DCMTK reports them one byte longer (it pads them in memory). */
function oddLengthPaths(file: DicomFile): Set<string> {
  const out = new Set<string>();
  const walk = (c: ElementContainer): void => {
    for (const el of c.elements) {
      if (el.length !== UNDEFINED_LENGTH && el.length % 2 === 1) out.add(elementPath(el));
      if (el.items) for (const item of el.items) walk(item);
    }
  };
  if (file.meta) walk(file.meta);
  walk(file.dataset);
  return out;
}

/** dcmdump of many files per process; the value is the dump text of each file. */
async function dcmdumpBatch(files: readonly string[]): Promise<Map<string, string>> {
  const r = await run('dcmdump', ['-q', '-Un', '-M', '+Qo', '+F', ...files]);
  const text = r.stdout.toString('latin1');
  const sections = text.split(/^# dcmdump \(\d+\/\d+\): /m).slice(1);
  const out = new Map<string, string>();
  for (const s of sections) out.set(s.slice(0, s.indexOf('\n')), s);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

const FILES = HAS_DCMTK ? inventory() : [];

test('every inventory file agrees with dcm2json / dcm2xml', { skip: SKIP, timeout: 180_000 }, async () => {
  const found: Disagreement[] = [];
  const modes = { dcm2json: 0, dcm2xml: 0, 'dcm2xml-raw': 0 };
  const tmp = mkdtempSync(path.join(tmpdir(), 'veil-oracle-'));
  try {
    await pool(batches(FILES, 20), CONCURRENCY, async (batch) => {
      const dir = mkdtempSync(path.join(tmp, 'batch-'));
      const oracles = await oracleBatch(
        batch.map((f) => f.path),
        dir,
      );
      batch.forEach((f, i) => {
        const oracle = oracles[i]!;
        modes[oracle.mode]++;
        let file: DicomFile;
        try {
          file = scan(f.path);
        } catch (e) {
          found.push({ file: f.rel, tagPath: isVeilError(e) ? (e.path ?? '') : '', what: `scan failed: ${String(e)}` });
          return;
        }
        found.push(...compareFile(file, oracle, f.rel));
      });
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const { explained } = settle(found, JSON_EXCEPTIONS, 'json');
  console.log(`oracle json: ${FILES.length} files (${JSON.stringify(modes)}), ${explained} explained disagreements`);
});

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

test('every inventory file dumps like dcmdump (tags, VRs, lengths, items at every depth)', {
  skip: SKIP,
  timeout: 180_000,
}, async () => {
  const found: Disagreement[] = [];
  await pool(batches(FILES, 40), CONCURRENCY, async (batch) => {
    const dumps = await dcmdumpBatch(batch.map((f) => f.path));
    for (const f of batch) {
      const theirs = dumps.get(f.path);
      if (theirs === undefined) {
        found.push({ file: f.rel, tagPath: '', what: 'dcmdump printed nothing' });
        continue;
      }
      const file = scan(f.path);
      found.push(...compareDumps(parseDump(theirs), parseDump(dumpText(file)), f.rel, file));
    }
  });
  const { explained } = settle(found, DUMP_EXCEPTIONS, 'dcmdump');
  console.log(`oracle dcmdump: ${FILES.length} files, ${explained} explained disagreements`);
});

// Keep the data folder in the output of a failing run: the paths above are relative to it.
test('oracle corpus location', { skip: SKIP }, () => {
  assert.ok(FILES.length > 0, `no files in ${path.join(dataDir, 'INVENTORY.tsv')}`);
});
