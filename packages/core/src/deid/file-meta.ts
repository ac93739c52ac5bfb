/**
 * The file meta information (PS3.10 7.1) of a de-identified file: its own rules, not Table E.1-1's. Kept as they
 * are: group length, version, Media Storage SOP Class UID, Transfer Syntax UID. Media Storage SOP Instance UID follows
 * the dataset's (new) SOP Instance UID; Implementation Class UID and Version Name become Veil's; every other element
 * (source AE titles, private information...) is removed. Media Storage SOP Class / Instance UID are added from the
 * dataset when the writer left them out (PS3.10 requires both).
 *
 * Example:
 *   walkMeta(run); // after walkDataset(run), which sets run.newSopInstanceUID
 */

import type { ElementContainer } from '../dicom/dataset.ts';
import { lookupTag } from '../dicom/dictionary/index.ts';
import * as Tag from '../dicom/dictionary/tags.ts';
import { findElement, readString } from '../dicom/value.ts';
import { isSequence, latin1, type Run } from './run.ts';

/** Veil's Implementation Class UID (a UUID-derived UID, PS3.5 B.2) and version name for the replaced file meta. */
export const VEIL_IMPLEMENTATION_CLASS_UID = '2.25.207889143209717914049383426425385498317';
export const VEIL_IMPLEMENTATION_VERSION_NAME = 'VEIL_0_1';

/** File meta elements kept as they are; (0002,0003), (0002,0012), (0002,0013) are replaced, all others removed. */
const META_KEPT = new Set([
  Tag.FileMetaInformationGroupLength,
  Tag.FileMetaInformationVersion,
  Tag.MediaStorageSOPClassUID,
  Tag.TransferSyntaxUID,
]);

export function walkMeta(run: Run): void {
  const meta = run.file.meta;
  if (!meta) return;
  for (const el of meta.elements) {
    const tag = el.tag;
    if (META_KEPT.has(tag)) continue;
    if (tag === Tag.MediaStorageSOPInstanceUID) {
      const value = readString(el);
      const out = run.newSopInstanceUID ?? (run.config.options.retainUIDs ? value : run.remapAll(value));
      if (out !== value) {
        run.writeBytes(el, latin1(out), 'UI');
        run.record(el, 'U', 'meta');
      }
    } else if (tag === Tag.ImplementationClassUID) {
      run.writeBytes(el, latin1(VEIL_IMPLEMENTATION_CLASS_UID), 'UI');
      run.record(el, 'D', 'meta');
    } else if (tag === Tag.ImplementationVersionName) {
      run.writeBytes(el, latin1(VEIL_IMPLEMENTATION_VERSION_NAME), 'SH');
      run.record(el, 'D', 'meta');
    } else {
      run.remove(el, 'meta');
    }
  }
  // PS3.10 requires both; a writer that left them out gets them from the dataset.
  const sopClass = findElement(run.file.dataset, Tag.SOPClassUID);
  if (!findElement(meta, Tag.MediaStorageSOPClassUID) && sopClass && !isSequence(sopClass)) {
    const value = readString(sopClass);
    if (value !== '') insertMeta(run, meta, Tag.MediaStorageSOPClassUID, value);
  }
  if (!findElement(meta, Tag.MediaStorageSOPInstanceUID) && run.newSopInstanceUID) {
    insertMeta(run, meta, Tag.MediaStorageSOPInstanceUID, run.newSopInstanceUID);
  }
}

function insertMeta(run: Run, meta: ElementContainer, tag: number, uid: string): void {
  run.edits.push({ op: 'insert', container: meta, tag, vr: 'UI', value: latin1(uid) });
  run.actions.push({
    tagPath: tag === Tag.MediaStorageSOPClassUID ? '(0002,0002)' : '(0002,0003)',
    keyword: lookupTag(tag)?.keyword ?? '',
    action: 'add',
    rule: 'meta',
  });
}
