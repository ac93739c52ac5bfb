/**
 * The Basic Application Level Confidentiality Profile (PS3.15 2024b Table E.1-1) compiled for a set of options:
 * one rule per table row, with the option columns already applied, indexed by tag for O(1) lookup at any depth.
 *
 * Attributes the table does not list:
 *  - private attributes (odd groups) fall under the table's own pseudo-row "(GGGG,EEEE) where GGGG is odd": X, or C
 *    with Retain Safe Private (kept when known to be safe; see private-tags.ts);
 *  - standard attributes are kept. PS3.15 E.1.1 calls the table "the minimum actions required for conformance",
 *    and E.3.9 warns against touching structural attributes (SOP Class UID, Transfer Syntax...). As the note on
 *    extensibility suggests, Veil adds a defense by VR for attributes the table may not list yet: any PN, DA, DT or
 *    TM attribute is treated as if listed "X/Z/D" with the temporal option cells K/C for dates (see engine.ts);
 *  - tags not in the PS3.6 2024b dictionary (even groups) are removed: nothing is known about them.
 *
 * Example:
 *   const p = compileProfile(NO_OPTIONS);
 *   ruleFor(p, 0x00100010); // { name: "Patient's Name", tableAction: 'Z', action: 'Z', rule: 'basic', ... }
 */
import { type BasicAction, isProfileAction, type ProfileAction, resolveAction } from './actions.ts';
import { type DeidOptions, type OptionKey, optionCell } from './options.ts';
import { PS315_ROWS } from './profiles/_generated/ps315-2024b.ts';

export interface ProfileRule {
  /** The attribute name as in the table. */
  readonly name: string;
  /** The table's code in the column that decided (the Basic Profile or an option). */
  readonly tableAction: ProfileAction;
  /** What Veil does. */
  readonly action: BasicAction;
  /** 'basic', or 'option:<key>' when an option column decided. */
  readonly rule: string;
  readonly option: OptionKey | undefined;
  readonly value: number;
  readonly mask: number;
  /** { action, rule }: what the de-identifier decides for an attribute this rule covers (made once, shared). */
  readonly decision: { readonly action: BasicAction; readonly rule: string };
}

export interface CompiledProfile {
  readonly options: Readonly<DeidOptions>;
  readonly exact: ReadonlyMap<number, ProfileRule>;
  /** Rows with repeating groups (50xx, 60xx), most specific first. */
  readonly masked: readonly ProfileRule[];
  /** The private pseudo-row. */
  readonly privateRule: ProfileRule;
}

function compileRow(row: (typeof PS315_ROWS)[number], options: DeidOptions): ProfileRule {
  const [value, mask, basic, cells, , name] = row;
  if (!isProfileAction(basic)) throw new Error(`ps315: bad action ${basic}`);
  const opt = optionCell(cells, options);
  const tableAction: ProfileAction = opt ? opt.action : basic;
  const action = resolveAction(tableAction);
  const rule = opt ? `option:${opt.option}` : 'basic';
  return { name, tableAction, action, rule, option: opt?.option, value, mask, decision: { action, rule } };
}

export function compileProfile(options: DeidOptions): CompiledProfile {
  const exact = new Map<number, ProfileRule>();
  const masked: ProfileRule[] = [];
  let privateRule: ProfileRule | undefined;
  for (const row of PS315_ROWS) {
    const rule = compileRow(row, options);
    if (rule.mask === 0xffffffff) exact.set(rule.value, rule);
    else if (rule.mask === 0x00010000) privateRule = rule;
    else masked.push(rule);
  }
  if (privateRule === undefined) throw new Error('ps315: no private attributes row');
  masked.sort((a, b) => popcount(b.mask) - popcount(a.mask));
  return { options: Object.freeze({ ...options }), exact, masked, privateRule };
}

function popcount(n: number): number {
  let c = 0;
  for (let v = n >>> 0; v !== 0; v >>>= 1) c += v & 1;
  return c;
}

/** The table rule for a standard (even group) tag at any depth; undefined when the table does not list it. */
export function ruleFor(profile: CompiledProfile, tag: number): ProfileRule | undefined {
  const hit = profile.exact.get(tag);
  if (hit !== undefined) return hit;
  const group = tag >>> 16;
  if ((group & 0xff00) !== 0x5000 && (group & 0xff00) !== 0x6000) return undefined;
  for (const r of profile.masked) if ((tag & r.mask) >>> 0 === r.value) return r;
  return undefined;
}
