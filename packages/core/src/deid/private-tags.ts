/**
 * Which private attributes may stay: PS3.15 2020b Table E.3.10-1 Safe Private Attributes (Retain Safe Private
 * Option), and TCIA's Private Tag Knowledge Base (keep / hash / offset / delete per element signature).
 *
 * A private data element (gggg,xxee) is identified by its group, its private creator (the value of (gggg,00xx)) and
 * its low byte ee; the block xx is whatever the file's creator element reserved. Creators are compared after
 * dropping trailing spaces. Anything not listed is removed.
 *
 * Example:
 *   isSafePrivate(0x7053, 0x00, 'Philips PET Private Group', 'DS'); // true (SUV factor)
 *   tciaDisposition('0019"GEMS_ACQU_01"23', 'DS');                  // 'k'
 */
import { SAFE_PRIVATE_ROWS } from './profiles/_generated/safe-private-2020b.ts';
import { TCIA_PRIVATE_KB } from './profiles/_generated/tcia-private-kb.ts';

/** k keep, h hash (remap a UID / keyed hash of text), o offset (modify as a date), d delete. */
export type PrivateDisposition = 'k' | 'h' | 'o' | 'd';

let safeIndex: Map<string, string> | undefined;

function safeKey(group: number, element: number, creator: string): string {
  return `${group.toString(16).toUpperCase().padStart(4, '0')}"${creator}"${element
    .toString(16)
    .toUpperCase()
    .padStart(2, '0')}`;
}

/** Private creator values are LO: trailing spaces (and careless NULs) are padding. */
export function normalizeCreator(creator: string): string {
  return creator.replace(/[ \0]+$/, '').replace(/^ +/, '');
}

/**
 * Whether (group, xx`element`) reserved by creator is in Table E.3.10-1. The VR must agree when both are known
 * (an implicit VR file reads unknown private elements as UN, which is accepted).
 */
export function isSafePrivate(group: number, element: number, creator: string, vr: string): boolean {
  if (safeIndex === undefined) {
    safeIndex = new Map();
    for (const [g, e, c, v] of SAFE_PRIVATE_ROWS) safeIndex.set(safeKey(g, e, c), v);
  }
  const tableVR = safeIndex.get(safeKey(group, element, normalizeCreator(creator)));
  if (tableVR === undefined) return false;
  return tableVR === '' || vr === 'UN' || vr === tableVR;
}

interface TciaEntry {
  readonly disposition: PrivateDisposition;
  readonly vrs: readonly string[] | undefined;
}

let tciaIndex: Map<string, TciaEntry[]> | undefined;

function buildTcia(): Map<string, TciaEntry[]> {
  const map = new Map<string, TciaEntry[]>();
  let creator = '';
  for (const line of TCIA_PRIVATE_KB.split('\n')) {
    if (line.startsWith('"')) {
      creator = line.slice(1);
      continue;
    }
    const f = line.split('\t');
    let key: string;
    let rest: string[];
    if (line.startsWith('@')) {
      key = f[0]!.slice(1);
      rest = f.slice(1);
    } else {
      key = `${f[0]}"${creator}"${f[1]}`;
      rest = f.slice(2);
    }
    const entry: TciaEntry = {
      disposition: rest[0] as PrivateDisposition,
      vrs: rest[1] === undefined ? undefined : rest[1].split(','),
    };
    const list = map.get(key);
    if (list) list.push(entry);
    else map.set(key, [entry]);
  }
  return map;
}

/**
 * TCIA's disposition for a private element, given its signature: the path of sequence elements from the top-level
 * dataset to it, each segment `GGGGEEEE` (public) or `GGGG"creator"EE` (private, EE the low byte), joined by '/'.
 */
export function tciaDisposition(signature: string, vr: string): PrivateDisposition {
  tciaIndex ??= buildTcia();
  const entries = tciaIndex.get(signature);
  if (entries === undefined) return 'd';
  for (const e of entries) if (e.vrs === undefined || e.vrs.includes(vr)) return e.disposition;
  return 'd';
}
