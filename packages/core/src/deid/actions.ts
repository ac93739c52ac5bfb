/**
 * The action codes of PS3.15 Table E.1-1 and how Veil resolves the compound ones.
 *
 *   D  replace with a non-zero length dummy value consistent with the VR
 *   Z  replace with a zero length value (or a dummy)
 *   X  remove
 *   K  keep (for a sequence: keep it and apply the rules to its items)
 *   C  clean: replace with values of similar meaning known not to contain identifying information
 *   U  replace with a non-zero length UID, consistent across instances (see pseudonym/uid.ts)
 *
 * The compound codes depend on the attribute's Type in the IOD (Z/D: "Z unless D is required"...). Veil works on any
 * IOD without PS3.3 module tables, so it cannot know the Type; it takes the code that is valid whatever the Type is,
 * the rightmost one: an attribute so resolved is never missing nor empty where the IOD needs it, and its value is a
 * dummy or a remapped UID, never the original. See README.md.
 *
 *   Z/D -> D    X/Z -> Z    X/D -> D    X/Z/D -> D    X/Z/U* -> U (sequence kept, the instance UIDs inside remapped)
 *
 * Example:
 *   resolveAction('X/Z/D'); // 'D'
 */

export type ProfileAction = 'D' | 'Z' | 'X' | 'K' | 'C' | 'U' | 'Z/D' | 'X/Z' | 'X/D' | 'X/Z/D' | 'X/Z/U*';
export type BasicAction = 'D' | 'Z' | 'X' | 'K' | 'C' | 'U';

const COMPOUND: Readonly<Record<ProfileAction, BasicAction>> = {
  D: 'D',
  Z: 'Z',
  X: 'X',
  K: 'K',
  C: 'C',
  U: 'U',
  'Z/D': 'D',
  'X/Z': 'Z',
  'X/D': 'D',
  'X/Z/D': 'D',
  'X/Z/U*': 'U',
};

export function isProfileAction(code: string): code is ProfileAction {
  return Object.hasOwn(COMPOUND, code);
}

/** The single action Veil performs for a table action code. */
export function resolveAction(code: ProfileAction): BasicAction {
  return COMPOUND[code];
}
