/**
 * Which private elements may be in a released file: those the configuration retains, decided from the
 * configuration and the output alone (the engine's own decisions are not consulted, so a bug there shows here).
 *
 *  - privateTags 'remove': none;
 *  - 'safe-private': those of PS3.15 Table E.3.10-1 (isSafePrivate);
 *  - 'tcia': those too, and those TCIA's knowledge base keeps, hashes or offsets (tciaDisposition not 'd');
 *  - and in every mode, those a site override selects with an action other than remove.
 *
 * A private data element without a creator is never retained; a creator (gggg,00xx) is retained only with at least
 * one retained element of its block in the same item; group lengths and (gggg,0001-000F) never.
 *
 * Example:
 *   const check = privateRetention(config);
 *   check.isRetained(el, creator, steps); // false for (0029,1010) "SIEMENS CSA HEADER" under 'remove'
 */
import type { CompiledOverride, DeidConfig } from '../deid/config.ts';
import { compileOverrides } from '../deid/config.ts';
import { isSafePrivate, tciaDisposition } from '../deid/private-tags.ts';
import { type PathStep, selectorMatches, specificity } from '../deid/selector.ts';
import type { DicomElement } from '../dicom/dataset.ts';

export interface PrivateRetention {
  /** Whether a private data element (element 0x1000 and up) with this creator, at this path, may stay. */
  isRetained(el: DicomElement, creator: string, steps: readonly PathStep[]): boolean;
  /** Whether a public element at this path is selected by an override other than remove. */
  isOverridden(tag: number, steps: readonly PathStep[]): boolean;
}

function tciaSignature(steps: readonly PathStep[], tag: number, creator: string): string {
  const seg = (t: number, c: string | undefined): string => {
    const hex = (t >>> 0).toString(16).toUpperCase().padStart(8, '0');
    return c === undefined ? hex : `${hex.slice(0, 4)}"${c}"${hex.slice(6)}`;
  };
  let s = '';
  for (const step of steps) s += `${seg(step.tag, step.creator)}/`;
  return s + seg(tag, creator);
}

/** With no configuration: the default (private attributes removed, no overrides). */
export function privateRetention(config: DeidConfig | undefined): PrivateRetention {
  const policy = config?.privateTags ?? 'remove';
  // Most specific last, then list order: the last match wins, as in the engine.
  const overrides: CompiledOverride[] = (config ? compileOverrides(config.overrides) : []).sort(
    (a, b) => specificity(a.selector) - specificity(b.selector) || a.index - b.index,
  );
  const keeping = overrides.filter((o) => o.override.action !== 'remove');
  const overridden = (steps: readonly PathStep[], tag: number, creator: string | undefined): boolean => {
    if (keeping.length === 0) return false;
    const full = [...steps, { tag, creator }];
    for (let i = overrides.length - 1; i >= 0; i--) {
      const o = overrides[i]!;
      if (selectorMatches(o.selector, full)) return o.override.action !== 'remove';
    }
    return false;
  };
  return {
    isRetained(el, creator, steps) {
      if (creator === '') return false;
      if (overridden(steps, el.tag, creator)) return true;
      if (policy === 'remove') return false;
      const group = el.tag >>> 16;
      const e = el.tag & 0xff;
      if (isSafePrivate(group, e, creator, el.vr)) return true;
      return policy === 'tcia' && tciaDisposition(tciaSignature(steps, el.tag, creator), el.vr) !== 'd';
    },
    isOverridden(tag, steps) {
      return overridden(steps, tag, undefined);
    },
  };
}
