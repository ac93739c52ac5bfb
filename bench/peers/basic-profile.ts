/**
 * The PS3.15 Basic Profile tag list (Table E.1-1, 2024b, from shared/data/standard) as the peers of the
 * de-identification benchmark apply it: one action per row, compound codes resolved the way Veil resolves them
 * (the rightmost code: X/Z -> Z, X/D, Z/D and X/Z/D -> D, X/Z/U* -> U; see packages/core/src/deid/README.md), so
 * that every peer does the same work as Veil's default profile as far as its tool allows.
 *
 * Written to a JSON file for the Python and dcmjs peers (writeProfileJson), and turned into dcmodify arguments
 * (dcmodifyArgs). Repeating groups (50xx,xxxx), (60xx,3000) and (60xx,4000) are masks; "(GGGG,EEEE) where GGGG is
 * odd" is the private-tag rule, applied by each peer's own "remove all private" call.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lookupTag } from '@veil/core';

export type PeerAction = 'X' | 'Z' | 'D' | 'U' | 'K' | 'C';

export interface ProfileList {
  readonly edition: string;
  /** 'GGGGEEEE' (upper-case hex) -> action. */
  readonly exact: Record<string, PeerAction>;
  /** (tag & mask) === value -> action: the repeating-group rows. */
  readonly masks: readonly { readonly mask: number; readonly value: number; readonly action: PeerAction }[];
  /** Dummy values per VR for D (as Veil's dummy-values.ts). */
  readonly dummies: Record<string, string>;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const PROFILE_TSV = resolve(
  HERE,
  '../../../shared/data/standard/ps3.15_table_E.1-1_confidentiality_profile_attributes.2024b.tsv',
);

/** The rightmost code of a compound (Veil's rule). */
function resolveCompound(code: string): PeerAction | undefined {
  const parts = code
    .split('/')
    .map((c) => c.replace('*', '').trim())
    .filter((c) => c !== '');
  const last = parts.at(-1);
  return last === 'X' || last === 'Z' || last === 'D' || last === 'U' || last === 'K' || last === 'C'
    ? last
    : undefined;
}

export function loadProfileList(path = PROFILE_TSV): ProfileList {
  const exact: Record<string, PeerAction> = {};
  const masks: { mask: number; value: number; action: PeerAction }[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    // Row shape: name \t (gggg,eeee) \t in_std_comp_iod \t basic_profile \t ... (a few names span two lines).
    const m = /\t\(([0-9A-Fa-fXx]{4}),([0-9A-Fa-fXx]{4})\)\t[^\t]*\t([^\t]+)/.exec(line);
    if (!m) continue;
    const action = resolveCompound(m[3]!);
    if (!action) continue;
    const group = m[1]!.toUpperCase();
    const element = m[2]!.toUpperCase();
    if (!group.includes('X') && !element.includes('X')) {
      exact[`${group}${element}`] = action;
      continue;
    }
    // (50XX,XXXX), (60XX,3000), (60XX,4000): X positions are wildcards.
    const hex = `${group}${element}`;
    let mask = 0;
    let value = 0;
    for (const ch of hex) {
      mask = mask * 16 + (ch === 'X' ? 0 : 15);
      value = value * 16 + (ch === 'X' ? 0 : Number.parseInt(ch, 16));
    }
    masks.push({ mask: mask >>> 0, value: value >>> 0, action });
  }
  const dummies: Record<string, string> = {
    AE: 'ANONYMIZED',
    AS: '000D',
    CS: 'ANONYMIZED',
    DA: '19000101',
    DS: '0',
    DT: '19000101000000',
    IS: '0',
    LO: 'ANONYMIZED',
    LT: 'ANONYMIZED',
    PN: 'ANONYMIZED',
    SH: 'ANONYMIZED',
    ST: 'ANONYMIZED',
    TM: '000000',
    UC: 'ANONYMIZED',
    UR: 'urn:x-veil:anonymized',
    UT: 'ANONYMIZED',
  };
  return { edition: '2024b', exact, masks, dummies };
}

export function writeProfileJson(dir: string, list: ProfileList = loadProfileList()): string {
  const path = join(dir, 'basic-profile.json');
  writeFileSync(path, `${JSON.stringify(list)}\n`);
  return path;
}

/**
 * dcmodify options for the list: -ea (erase at any depth) for X, -ma "tag=" (empty) for Z, -ma "tag=dummy" for D
 * (dummy by the tag's PS3.6 VR; D on a sequence or a binary VR erases), -ep for the private tags. dcmodify has no
 * way to remap UIDs consistently across files (-gst/-gse/-gin draw new random UIDs per file and only for the three
 * top-level UIDs), so U rows are left alone: dcmodify does less work than the others there. Repeating groups are
 * expanded to the 16 even groups of 60xx for (60xx,3000)/(60xx,4000); (50xx,xxxx) has no element to name and is
 * skipped. K and C rows: nothing.
 */
export function dcmodifyArgs(list: ProfileList = loadProfileList()): string[] {
  const args: string[] = ['-nb', '-q', '-imt', '-ie', '-ep'];
  const one = (hex: string, action: PeerAction): void => {
    const tag = `(${hex.slice(0, 4)},${hex.slice(4)})`;
    if (hex.startsWith('0000') || hex.startsWith('0002')) return; // command set and file meta: dcmodify refuses
    const vr = lookupTag(Number.parseInt(hex, 16))?.vr ?? '';
    const dummy = list.dummies[vr];
    if (action === 'X') args.push('-ea', tag);
    else if (action === 'Z') {
      if (vr === 'SQ') args.push('-ea', tag);
      else args.push('-ma', `${tag}=`);
    } else if (action === 'D') {
      if (dummy === undefined) args.push('-ea', tag);
      else args.push('-ma', `${tag}=${dummy}`);
    }
  };
  for (const [hex, action] of Object.entries(list.exact)) one(hex, action);
  for (const m of list.masks) {
    if ((m.mask & 0xffff) !== 0xffff) continue; // (50xx,xxxx)
    for (let g = 0; g < 32; g += 2) {
      const tag = ((m.value | (g << 16)) >>> 0).toString(16).toUpperCase().padStart(8, '0');
      one(tag, m.action);
    }
  }
  return args;
}
