/**
 * The defacing stage of the one release path (ReleaseStage in @veil/core): per file, it applies the decision a
 * series-level pass made before the release path ran (defacing needs the whole series; the release path sees one
 * file at a time). The decision is looked up by SOP Instance UID:
 *
 * - defaced: Pixel Data (7FE0,0010) is replaced by the defaced value (merged into an earlier stage's new Pixel Data
 *   byte by byte where the defacing changed it, so burned-in text redaction and defacing compose), and the stage
 *   claims Recognizable Visual Features NO with code 113102.
 * - no face in the field of view (a head from vertex to skull base): nothing changes; the stage claims Recognizable
 *   Visual Features NO (the detector ran and found no face) but not code 113102 (nothing was cleaned).
 * - quarantine (DEFACE_UNCERTAIN, DEFACE_COMPRESSED, DEFACE_VERIFY_FAILED...), or no decision for this file
 *   (DEFACE_NOT_PLANNED): the file is held back.
 *
 * Example:
 *   const stage = createDefaceStage({ decision: (sop) => plan.get(sop) });
 *   const outcome = await releaseFile(bytes, { config, keys, stages: [stage] });
 */
import { type DicomFile, findElement, PIXEL_DATA, type ReleaseStage, readString, type StageOutput } from '@veil/core';

const SOP_INSTANCE_UID = 0x00080018;

export type DefaceDecision =
  | {
      readonly outcome: 'defaced';
      /** The series (a hash, never the UID), for the report. */
      readonly series: string;
      /** The whole defaced Pixel Data value (same length and encoding as the original's). */
      readonly pixelData: () => Uint8Array;
    }
  | { readonly outcome: 'no-face'; readonly series: string; readonly reason: string }
  | {
      readonly outcome: 'quarantine';
      readonly series: string;
      readonly code: string;
      readonly tagPath?: string | undefined;
      readonly reason?: string | undefined;
    };

export interface DefaceLookup {
  /** The decision for an instance, by its SOP Instance UID; undefined when the series pass did not see it. */
  decision(sopInstanceUid: string): DefaceDecision | undefined;
}

function hasPixels(file: DicomFile): boolean {
  return findElement(file.dataset, PIXEL_DATA) !== undefined;
}

export function createDefaceStage(lookup: DefaceLookup): ReleaseStage {
  return {
    name: 'pixels:deface',
    kind: 'pixels',
    appliesTo: (file, config) => config.pixels?.cleanRecognizableVisualFeatures === true && hasPixels(file),
    run({ file, edits }): StageOutput {
      const sopEl = findElement(file.dataset, SOP_INSTANCE_UID);
      const d = sopEl ? lookup.decision(readString(sopEl)) : undefined;
      if (!d) return { quarantine: { code: 'DEFACE_NOT_PLANNED', tagPath: '(7FE0,0010)' } };
      if (d.outcome === 'quarantine') {
        return {
          quarantine: { code: d.code, ...(d.tagPath ? { tagPath: d.tagPath } : {}) },
          report: { series: d.series, outcome: d.outcome, ...(d.reason ? { reason: d.reason } : {}) },
        };
      }
      if (d.outcome === 'no-face') {
        return {
          claims: { recognizableVisualFeaturesNo: true },
          report: { series: d.series, outcome: d.outcome, reason: d.reason },
        };
      }
      const el = findElement(file.dataset, PIXEL_DATA)!;
      const defaced = d.pixelData();
      if (defaced.length !== el.length)
        return { quarantine: { code: 'DEFACE_PIXELS_MISMATCH', tagPath: '(7FE0,0010)' } };
      // An earlier stage (burned-in text) may have replaced Pixel Data: keep its bytes and lay the defacing's
      // changes over them.
      const earlier = edits.find((e) => e.op === 'replace' && e.element === el);
      let value = defaced;
      if (earlier && earlier.op === 'replace' && earlier.value.length === defaced.length) {
        const original = el.parent.source.read(el.valueOffset, el.valueOffset + el.length);
        value = earlier.value.slice();
        for (let i = 0; i < value.length; i++) if (defaced[i] !== original[i]) value[i] = defaced[i]!;
      } else if (earlier) {
        return { quarantine: { code: 'DEFACE_PIXELS_MISMATCH', tagPath: '(7FE0,0010)' } };
      }
      return {
        edits: [{ op: 'replace', element: el, value }],
        claims: { recognizableVisualFeaturesNo: true, methodCodes: ['113102'] },
        report: { series: d.series, outcome: d.outcome },
      };
    },
  };
}
