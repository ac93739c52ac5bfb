/**
 * The DICOM data dictionary: PS3.6 2024b public data elements plus DCMTK's private tag dictionary.
 *
 * Both tables come from `_generated/` (written by scripts/codegen/ps36.ts, never by hand) as one string each and are
 * indexed on first use: the first lookupTag() splits the PS3.6 table and builds a Map<tag, row>; DictionaryEntry
 * objects are created the first time their row is asked for and then reused. tagForKeyword() builds a keyword index
 * on its first call; lookupPrivate() indexes the private table by creator on its first call and parses a creator's
 * rows the first time that creator is asked for. Nothing here allocates per lookup once an entry exists.
 */
import { DCMTK_PRIVATE_TABLE } from './_generated/private-dcmtk.ts';
import { PS36_TABLE } from './_generated/ps36-2024b.ts';

export interface DictionaryEntry {
  /**
   * (group << 16 | element) >>> 0 of the entry. For repeating entries (60xx, 50xx, 7Fxx, (0020,31xx), (1000,xxx0),
   * ...) and synthetic ones this is the first concrete tag the entry covers whose element is not 0000, not
   * necessarily the tag that was looked up: (60XX,3000) -> 0x60003000, (1000,XXX0) -> 0x10000010,
   * GenericGroupLength -> 0x00000000, PrivateCreator -> 0x00010010, a private ee entry -> block 10 (gggg,10ee).
   */
  readonly tag: number;
  readonly keyword: string;
  readonly name: string;
  /** As in PS3.6: may be 'US or SS', 'OB or OW', 'US or OW', 'US or SS or OW', 'See Note 2' (items) or '' (a few retired rows). */
  readonly vr: string;
  readonly vm: string;
  readonly retired: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Synthetic entries

const GROUP_LENGTH: DictionaryEntry = Object.freeze({
  tag: 0x00000000,
  keyword: 'GenericGroupLength',
  name: 'Generic Group Length',
  vr: 'UL',
  vm: '1',
  retired: false,
});

const PRIVATE_CREATOR: DictionaryEntry = Object.freeze({
  tag: 0x00010010,
  keyword: 'PrivateCreator',
  name: 'Private Creator',
  vr: 'LO',
  vm: '1',
  retired: false,
});

// ---------------------------------------------------------------------------------------------------------------
// PS3.6 table

/**
 * The keyword PS3.6 would derive from a name in most cases: keep letters and digits, upper-case the first one of each
 * word (words are separated by anything else), drop "'s" at the end of a word, read "(s)" as "s" ("Physician(s) of
 * Record" -> PhysiciansOfRecord). The generated table omits every keyword this reproduces (5058 of 5129 rows).
 * MUST stay identical to keywordFromName() in scripts/codegen/ps36.ts (the dictionary test checks every row).
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

interface Ps36Index {
  readonly lines: readonly string[];
  readonly entries: (DictionaryEntry | undefined)[];
  /** Exact tag -> row. */
  readonly exact: Map<number, number>;
  /** Masks of the repeating rows (1 bits = fixed hex digits), most specific first, and per mask (tag & mask) -> row. */
  readonly repeatingMasks: readonly number[];
  readonly repeating: readonly Map<number, number>[];
  /** 1 for every group some repeating row can match: 0020, 0028, 1000, 1010 and the even 50xx, 60xx, 7Fxx. */
  readonly repeatingGroups: Uint8Array;
}

let ps36: Ps36Index | undefined;
let keywordIndex: Map<string, number> | undefined;

function popcount(n: number): number {
  let c = 0;
  for (let v = n >>> 0; v !== 0; v >>>= 1) c += v & 1;
  return c;
}

function buildPs36(): Ps36Index {
  const lines = PS36_TABLE.split('\n');
  const exact = new Map<number, number>();
  const byMask = new Map<number, Map<number, number>>();
  const repeatingGroups = new Uint8Array(0x10000);
  for (let row = 0; row < lines.length; row++) {
    const hex = lines[row]!.slice(0, 8);
    if (!hex.includes('X')) {
      exact.set(Number.parseInt(hex, 16) >>> 0, row);
      continue;
    }
    const mask = Number.parseInt(hex.replace(/[0-9A-F]/g, 'F').replace(/X/g, '0'), 16) >>> 0;
    const value = Number.parseInt(hex.replace(/X/g, '0'), 16) >>> 0;
    let rows = byMask.get(mask);
    if (rows === undefined) {
      rows = new Map();
      byMask.set(mask, rows);
    }
    rows.set(value, row);
    // Repeating groups (50xx, 60xx, 7Fxx) cover even groups only: odd groups are private (PS3.5 7.8.1), and DCMTK's
    // dicom.dic ranges (6000-60FF etc.) are even-only as well.
    const groupMask = mask >>> 16;
    const groupValue = value >>> 16;
    const free = ~groupMask & 0xffff;
    for (let sub = free; ; sub = (sub - 1) & free) {
      if (((groupValue | sub) & 1) === 0) repeatingGroups[groupValue | sub] = 1;
      if (sub === 0) break;
    }
  }
  const repeatingMasks = [...byMask.keys()].sort((a, b) => popcount(b) - popcount(a) || b - a);
  const repeating = repeatingMasks.map((m) => byMask.get(m)!);
  const entries = new Array<DictionaryEntry | undefined>(lines.length).fill(undefined);
  return { lines, entries, exact, repeatingMasks, repeating, repeatingGroups };
}

function index(): Ps36Index {
  if (ps36 === undefined) ps36 = buildPs36();
  return ps36;
}

/**
 * First concrete tag of a repeating row: the lowest tag matching the X positions that is an even group, not a group
 * length (element 0000) and not shadowed by an exact entry. (0028,04X0) -> (0028,0410) since (0028,0400) is
 * TransformLabel; (1000,XXX0) -> (1000,0010); (1010,XXXX) -> (1010,0001); (60XX,3000) -> (6000,3000).
 */
function firstConcreteTag(idx: Ps36Index, hex: string): number {
  const free = Number.parseInt(hex.replace(/[0-9A-F]/g, '0').replace(/X/g, 'F'), 16) >>> 0;
  const value = Number.parseInt(hex.replace(/X/g, '0'), 16) >>> 0;
  // Ascending enumeration of the subsets of `free`.
  for (let sub = 0; ; sub = ((sub - free) & free) >>> 0) {
    const t = (value | sub) >>> 0;
    if ((t & 0xffff) !== 0 && ((t >>> 16) & 1) === 0 && !idx.exact.has(t)) return t;
    if (sub === free) return value; // unreachable for the PS3.6 table
  }
}

function entryAt(idx: Ps36Index, row: number): DictionaryEntry {
  const cached = idx.entries[row];
  if (cached !== undefined) return cached;
  const f = idx.lines[row]!.split('\t');
  const hex = f[0]!;
  const name = f[4] ?? '';
  const kw = f[5];
  const entry: DictionaryEntry = Object.freeze({
    tag: hex.includes('X') ? firstConcreteTag(idx, hex) : Number.parseInt(hex, 16) >>> 0,
    keyword: kw === undefined ? keywordFromName(name) : kw === '-' ? '' : kw,
    name,
    vr: f[1] ?? '',
    vm: f[2] ?? '',
    retired: f[3] === 'R',
  });
  idx.entries[row] = entry;
  return entry;
}

/**
 * The dictionary entry for a tag:
 *  1. an exact PS3.6 entry;
 *  2. (gggg,0000) of any group: a synthetic GenericGroupLength (UL, 1);
 *  3. odd group, element 0010-00FF: a synthetic PrivateCreator (LO, 1); any other odd-group tag: undefined (private
 *     data elements need their creator, see lookupPrivate());
 *  4. a PS3.6 repeating entry whose X positions match, most specific mask first: (60xx,3000) OverlayData for even
 *     groups 6000-60FE, likewise 50xx and 7Fxx; (0020,31xx); (0028,04x0)...; (1000,xxx0)...; (1010,xxxx).
 */
export function lookupTag(tag: number): DictionaryEntry | undefined {
  const idx = ps36 ?? index();
  const t = tag >>> 0;
  const row = idx.exact.get(t);
  if (row !== undefined) return idx.entries[row] ?? entryAt(idx, row);
  const element = t & 0xffff;
  if (element === 0) return GROUP_LENGTH;
  const group = t >>> 16;
  if ((group & 1) === 1) return element >= 0x0010 && element <= 0x00ff ? PRIVATE_CREATOR : undefined;
  if (idx.repeatingGroups[group] !== 1) return undefined;
  const masks = idx.repeatingMasks;
  for (let i = 0; i < masks.length; i++) {
    const r = idx.repeating[i]!.get((t & masks[i]!) >>> 0);
    if (r !== undefined) return idx.entries[r] ?? entryAt(idx, r);
  }
  return undefined;
}

/** The tag of a PS3.6 keyword (case-sensitive); for repeating entries the first concrete tag (OverlayData -> 0x60003000). */
export function tagForKeyword(keyword: string): number | undefined {
  const idx = index();
  if (keywordIndex === undefined) {
    const map = new Map<string, number>();
    for (let row = 0; row < idx.lines.length; row++) {
      const f = idx.lines[row]!.split('\t', 6);
      const kw = f[5] ?? keywordFromName(f[4] ?? '');
      if (kw !== '' && kw !== '-') map.set(kw, row);
    }
    keywordIndex = map;
  }
  const row = keywordIndex.get(keyword);
  return row === undefined ? undefined : entryAt(idx, row).tag;
}

// ---------------------------------------------------------------------------------------------------------------
// DCMTK private dictionary

interface PrivateRangeRule {
  readonly groupLo: number;
  readonly groupHi: number;
  /** Low byte (fixed === false) or full element (fixed === true). */
  readonly element: number;
  readonly fixed: boolean;
  readonly entry: DictionaryEntry;
}

interface CreatorTable {
  /** (group << 16 | element) for entries written with a 4-digit element: this exact element only. */
  readonly fixed: Map<number, DictionaryEntry>;
  /** (group << 8 | ee) for entries written with a 2-digit element: low byte ee in any block. */
  readonly lowByte: Map<number, DictionaryEntry>;
  readonly ranges: PrivateRangeRule[];
}

/** The private table's lines, and per creator the lines where its blocks start; built on the first lookupPrivate(). */
interface PrivateIndex {
  readonly lines: readonly string[];
  readonly blocks: Map<string, number[]>;
  /** Creator tables, parsed the first time their creator is asked for. */
  readonly tables: Map<string, CreatorTable>;
}

let privateIndex: PrivateIndex | undefined;

/** 'ox' (DCMTK: OB or OW) and 'px' (DCMTK: pixel data) are shown in the PS3.6 spelling. */
function privateVR(vr: string): string {
  return vr === 'ox' || vr === 'px' ? 'OB or OW' : vr === 'xs' ? 'US or SS' : vr === 'lt' ? 'US or SS or OW' : vr;
}

function buildPrivate(): PrivateIndex {
  const lines = DCMTK_PRIVATE_TABLE.split('\n');
  const blocks = new Map<string, number[]>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.charCodeAt(0) !== 0x22 /* " */) continue;
    const creator = line.slice(1);
    const starts = blocks.get(creator);
    if (starts === undefined) blocks.set(creator, [i + 1]);
    else starts.push(i + 1);
  }
  return { lines, blocks, tables: new Map() };
}

function creatorTable(idx: PrivateIndex, creator: string): CreatorTable | undefined {
  const cached = idx.tables.get(creator);
  if (cached !== undefined) return cached;
  const starts = idx.blocks.get(creator);
  if (starts === undefined) return undefined;
  const table: CreatorTable = { fixed: new Map(), lowByte: new Map(), ranges: [] };
  // Blocks in file order, so that a later row overrides an earlier one with the same key (DCMTK semantics).
  for (const start of starts) {
    for (let i = start; i < idx.lines.length; i++) {
      const line = idx.lines[i]!;
      if (line.charCodeAt(0) === 0x22) break;
      const [groupField, elemField, vr, vm, name] = line.split('\t') as [string, string, string, string, string];
      const dash = groupField.indexOf('-');
      const groupLo = Number.parseInt(dash < 0 ? groupField : groupField.slice(0, dash), 16);
      const groupHi = dash < 0 ? groupLo : Number.parseInt(groupField.slice(dash + 1), 16);
      const elem = Number.parseInt(elemField, 16);
      const fixed = elemField.length === 4;
      const entry: DictionaryEntry = Object.freeze({
        tag: ((groupLo << 16) | (fixed ? elem : 0x1000 | elem)) >>> 0,
        keyword: name,
        name,
        vr: privateVR(vr),
        vm,
        retired: false,
      });
      if (dash >= 0) {
        const rule: PrivateRangeRule = { groupLo, groupHi, element: elem, fixed, entry };
        const j = table.ranges.findIndex(
          (r) => r.groupLo === groupLo && r.groupHi === groupHi && r.element === elem && r.fixed === fixed,
        );
        if (j >= 0) table.ranges[j] = rule;
        else table.ranges.push(rule);
      } else if (fixed) {
        table.fixed.set(((groupLo << 16) | elem) >>> 0, entry);
      } else {
        table.lowByte.set((groupLo << 8) | elem, entry);
      }
    }
  }
  idx.tables.set(creator, table);
  return table;
}

/** Private creator values are LO: trailing spaces are padding (trailing NULs from careless writers are dropped too). */
function normalizeCreator(creator: string): string {
  let end = creator.length;
  while (end > 0) {
    const c = creator.charCodeAt(end - 1);
    if (c !== 0x20 && c !== 0x00) break;
    end--;
  }
  return end === creator.length ? creator : creator.slice(0, end);
}

/**
 * A private data element (gggg,xxee) reserved by `creator` (the value of (gggg,00xx)), from DCMTK's private.dic.
 * Matches as DCMTK does: an entry written with a 4-digit element (e.g. (0019,"PHILIPS MR/PART",1005)) only at that
 * exact element; an entry written with 2 digits (ee) at element xxee of any block xx = 10..FF; odd-group ranges
 * (6001-o-60FF) likewise. Creator compared exactly after dropping trailing spaces. undefined for creator elements
 * themselves, even groups and unknown creators/elements.
 */
export function lookupPrivate(creator: string, tag: number): DictionaryEntry | undefined {
  const t = tag >>> 0;
  const group = t >>> 16;
  const element = t & 0xffff;
  if ((group & 1) === 0 || element < 0x1000) return undefined;
  if (privateIndex === undefined) privateIndex = buildPrivate();
  const table = creatorTable(privateIndex, normalizeCreator(creator));
  if (table === undefined) return undefined;
  const ee = element & 0xff;
  const found = table.fixed.get(t) ?? table.lowByte.get((group << 8) | ee);
  if (found !== undefined) return found;
  for (const r of table.ranges) {
    if (group < r.groupLo || group > r.groupHi) continue;
    if (r.fixed ? r.element === element : r.element === ee) return r.entry;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Implicit VR

/**
 * The one VR to assume for a dictionary VR cell when reading Implicit VR Little Endian, without looking at the rest
 * of the data set:
 *   'US or SS'        -> 'US'  DCMTK's 'xs' (DcmVR::getValidEVR). DCMTK refines it to SS while reading when the
 *                              enclosing data set has Pixel Representation (0028,0103) = 1; a reader that wants the
 *                              signed view must do the same with its own context.
 *   'OB or OW'        -> 'OW'  PS3.5 A.1: Pixel Data, Overlay Data and Waveform Data are OW in implicit VR, and
 *                              DCMTK reads Pixel Data and Overlay Data as OW (DcmItem::checkAndUpdateVR). The other
 *                              'OB or OW' elements (channel min/max, padding value, ...) stay 'ox' in DCMTK; the
 *                              bytes are the same either way in little endian, OW keeps them swappable.
 *                              Exception, as in DCMTK: Curve Data (50xx,3000), retired, -> 'OB' (PS3.5-2004 A.1).
 *   'US or OW'        -> 'OW'  LUT Data: DCMTK's 'lt', getValidEVR -> OW. Same bytes as US in little endian, and OW
 *   'US or SS or OW'  -> 'OW'  keeps 32-bit lengths when re-encoded as explicit VR (a 64K-entry LUT does not fit US).
 *   'See Note 2'      -> ''    items and delimiters (FFFE,E000/E00D/E0DD) have no VR.
 *   ''                -> 'UN'  the few retired rows without a VR in PS3.6.
 * DCMTK pseudo-VRs in private.dic: 'ox' and 'px' -> 'OW', 'xs' -> 'US', 'lt' -> 'OW' (as above).
 */
function implicitFromCell(vr: string): string {
  switch (vr) {
    case 'US or SS':
      return 'US';
    case 'OB or OW':
    case 'US or OW':
    case 'US or SS or OW':
      return 'OW';
    case 'See Note 2':
      return '';
    case '':
      return 'UN';
    default:
      return vr;
  }
}

const ITEM_GROUP = 0xfffe;
/** (50xx,3000) with the xx bits masked out. */
const CURVE_DATA = 0x50003000;

/**
 * The single VR a reader of Implicit VR Little Endian should assume for `tag`:
 *  - (gggg,0000) of any group: 'UL'
 *  - item, item delimitation, sequence delimitation (FFFE,E000/E00D/E0DD): '' (no VR); other (FFFE,xxxx): 'UN'
 *  - odd group: creator element (gggg,0010-00FF) -> 'LO'; data element with a `creator` known to lookupPrivate()
 *    -> its VR (multi-VR cells resolved as below); anything else -> 'UN'
 *  - public: the PS3.6 VR (exact or repeating entry), multi-VR cells resolved as documented at implicitFromCell()
 *    ('US or SS' -> 'US', 'OB or OW' -> 'OW' but Curve Data (50xx,3000) -> 'OB', 'US or OW' / 'US or SS or OW' ->
 *    'OW'); not in PS3.6 -> 'UN'.
 */
export function implicitVR(tag: number, creator?: string): string {
  const t = tag >>> 0;
  const group = t >>> 16;
  const element = t & 0xffff;
  if (element === 0) return 'UL';
  if (group === ITEM_GROUP) {
    return element === 0xe000 || element === 0xe00d || element === 0xe0dd ? '' : 'UN';
  }
  if ((group & 1) === 1) {
    if (element >= 0x0010 && element <= 0x00ff) return 'LO';
    if (creator === undefined) return 'UN';
    const p = lookupPrivate(creator, t);
    return p === undefined ? 'UN' : implicitFromCell(p.vr);
  }
  const e = lookupTag(t);
  if (e === undefined) return 'UN';
  if ((t & 0xff00ffff) >>> 0 === CURVE_DATA) return 'OB';
  return implicitFromCell(e.vr);
}
