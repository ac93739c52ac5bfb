/**
 * What the output states about work done on its pixels, from the claims of the stages that ran on this file: Burned
 * In Annotation (0028,0301) NO, Recognizable Visual Features (0028,0302) NO, and the CID 7050 codes 113101 / 113102
 * added to De-identification Method Code Sequence (0012,0064). Nothing here reads the configuration's wishes: a claim
 * that no stage made is never written.
 *
 * Example:
 *   const edits = claimEdits(file, header.edits, config, { burnedInAnnotationNo: true, methodCodes: ['113101'] });
 */

import type { DeidConfig } from '../deid/config.ts';
import {
  BURNED_IN_ANNOTATION,
  DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
  encodeMethodCodeSequence,
  methodCodes,
  RECOGNIZABLE_VISUAL_FEATURES,
} from '../deid/method.ts';
import type { DicomFile } from '../dicom/dataset.ts';
import type { Edit } from '../dicom/rewriter.ts';
import { findElement } from '../dicom/value.ts';
import type { StageClaims } from './stage.ts';

/** Merges the claims of several stages: a claim holds when any stage that ran made it. */
export function mergeClaims(a: StageClaims, b: StageClaims | undefined): StageClaims {
  if (!b) return a;
  const codes = [...(a.methodCodes ?? [])];
  for (const c of b.methodCodes ?? []) if (!codes.includes(c)) codes.push(c);
  return {
    burnedInAnnotationNo: a.burnedInAnnotationNo === true || b.burnedInAnnotationNo === true,
    recognizableVisualFeaturesNo: a.recognizableVisualFeaturesNo === true || b.recognizableVisualFeaturesNo === true,
    methodCodes: codes,
  };
}

export function hasClaims(c: StageClaims): boolean {
  return c.burnedInAnnotationNo === true || c.recognizableVisualFeaturesNo === true || (c.methodCodes?.length ?? 0) > 0;
}

function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** True when `e` writes the top-level attribute `tag` of `file` (a replace, remove or insert). */
function targets(e: Edit, file: DicomFile, tag: number): boolean {
  if (e.op === 'insert') return e.container === file.dataset && e.tag === tag;
  return e.element.parent === file.dataset && e.element.tag === tag;
}

/**
 * The edits with the claimed attributes set: an edit the header engine made on the same attribute is replaced. The
 * method code sequence is re-encoded with the earned codes. `appendAllowed` false (a truncated input) keeps Veil
 * from appending attributes after the last element, as the header engine does.
 */
export function claimEdits(
  file: DicomFile,
  edits: readonly Edit[],
  config: DeidConfig,
  claims: StageClaims,
  appendAllowed = true,
): Edit[] {
  const ds = file.dataset;
  const out = [...edits];
  const last = ds.elements.at(-1)?.tag ?? 0;
  const put = (tag: number, vr: string, value: Uint8Array): void => {
    const i = out.findIndex((e) => targets(e, file, tag));
    if (i >= 0) out.splice(i, 1);
    const el = findElement(ds, tag);
    if (el) out.push({ op: 'replace', element: el, value, vr });
    else if (appendAllowed || tag < last) out.push({ op: 'insert', container: ds, tag, vr, value });
  };
  if (claims.burnedInAnnotationNo) put(BURNED_IN_ANNOTATION, 'CS', ascii('NO'));
  if (claims.recognizableVisualFeaturesNo) put(RECOGNIZABLE_VISUAL_FEATURES, 'CS', ascii('NO'));
  if ((claims.methodCodes?.length ?? 0) > 0) {
    put(
      DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
      'SQ',
      encodeMethodCodeSequence(methodCodes(config, claims.methodCodes), ds.syntax),
    );
  }
  return out;
}
