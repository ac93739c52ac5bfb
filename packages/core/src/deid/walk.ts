/**
 * Walking the dataset: every element of the top-level dataset and, through sequences kept, of their items, in
 * stream order; each is decided (policy.ts) and carried out (apply.ts). Private blocks are tracked per container:
 * creators (gggg,0010-00FF) stay only when an element of their block stays; elements without a creator are removed.
 * Overlay groups (60xx) follow their Overlay Data. Group lengths are left to the rewriter. The attributes Veil adds
 * (method.ts) are skipped: they are replaced afterwards.
 *
 * Example:
 *   walkDataset(run); // run.edits and run.actions now hold the dataset's edits and what was done
 */

import type { DicomElement, ElementContainer } from '../dicom/dataset.ts';
import { readString } from '../dicom/value.ts';
import { apply } from './apply.ts';
import {
  DEIDENTIFICATION_METHOD,
  DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
  LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
  PATIENT_IDENTITY_REMOVED,
} from './method.ts';
import { type Decision, decide, decideOverlayData, type Mode, overrideFor, privateDecision } from './policy.ts';
import { normalizeCreator } from './private-tags.ts';
import { isSequence, type Run } from './run.ts';

export function walkDataset(run: Run): void {
  const skip = new Set([PATIENT_IDENTITY_REMOVED, DEIDENTIFICATION_METHOD, DEIDENTIFICATION_METHOD_CODE_SEQUENCE]);
  skip.add(LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED);
  walk(run, run.file.dataset, 'normal', skip);
}

function walk(run: Run, container: ElementContainer, mode: Mode, skip?: ReadonlySet<number>): void {
  let creators: Map<number, DicomElement> | undefined;
  let keptBlocks: Set<number> | undefined;
  let overlays: Map<number, Decision> | undefined;
  for (const el of container.elements) {
    const tag = el.tag;
    const group = tag >>> 16;
    if (skip?.has(tag)) continue;
    if ((group & 1) === 1) {
      const e = tag & 0xffff;
      if (e >= 0x10 && e <= 0xff) {
        creators ??= new Map();
        creators.set(tag, el);
        continue;
      }
      keptBlocks ??= new Set();
      if (privateElement(run, el, creators, mode)) keptBlocks.add(((group << 8) | (e >>> 8)) >>> 0);
      continue;
    }
    if ((group & 0xff00) === 0x6000) {
      overlays ??= new Map();
      let od = overlays.get(group);
      if (od === undefined) {
        od = decideOverlayData(run, group);
        overlays.set(group, od);
      }
      if (od.action === 'X' && !overrideFor(run, el)) {
        run.remove(el, od.rule);
        continue;
      }
    }
    if ((tag & 0xffff) === 0) continue; // group length: the rewriter keeps it right
    apply(run, el, decide(run, el, mode), mode);
  }
  if (creators) {
    for (const [tag, el] of creators) {
      const block = (((tag >>> 16) << 8) | (tag & 0xff)) >>> 0;
      if (keptBlocks?.has(block)) continue;
      run.remove(el, run.config.privateTags === 'remove' ? 'basic' : 'option:retainSafePrivate');
    }
  }
}

/** Walks the items of a sequence that stays, one path step deeper. */
export function recurse(run: Run, el: DicomElement, mode: Mode, creator?: string): void {
  if (!el.items || el.items.length === 0) return;
  run.path.push({ tag: el.tag, creator });
  for (const item of el.items) walk(run, item, mode);
  run.path.pop();
}

/** Finds the creator of a private data element, decides and applies; returns whether it stays (its creator must too). */
function privateElement(
  run: Run,
  el: DicomElement,
  creators: ReadonlyMap<number, DicomElement> | undefined,
  mode: Mode,
): boolean {
  const tag = el.tag;
  const e = tag & 0xffff;
  const basicRule = run.config.privateTags === 'remove' ? 'basic' : 'option:retainSafePrivate';
  if (e < 0x1000) {
    run.remove(el, basicRule); // group length, or elements no creator can reserve
    return false;
  }
  // Creators (gggg,0010-00FF) precede the data elements of their group, so the walk has seen them already.
  const creatorEl = creators?.get((((tag >>> 16) << 16) | (e >>> 8)) >>> 0);
  const creator = creatorEl && !isSequence(creatorEl) ? normalizeCreator(readString(creatorEl)) : '';
  if (creator === '') {
    run.remove(el, basicRule);
    return false;
  }
  return apply(run, el, privateDecision(run, el, creator), mode, creator);
}
