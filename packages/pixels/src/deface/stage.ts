/**
 * The defacing stage of the one release path (ReleaseStage in @veil/core): per file, it applies the decision a
 * series-level pass made before the release path ran (defacing needs the whole series; the release path sees one
 * file at a time). The decision is looked up by SOP Instance UID:
 *
 * - defaced: Pixel Data (7FE0,0010) is replaced by the defaced value (laid over an earlier stage's new Pixel Data
 *   byte by byte where the defacing changed it, so burned-in text redaction and defacing compose), and the stage
 *   claims Recognizable Visual Features NO with code 113102. A compressed input goes out in its own transfer syntax
 *   (writeback.ts: lossless re-encode of the defaced frames, JPEG baseline/extended in the DCT domain), or decoded
 *   as Explicit VR Little Endian where that cannot be done (lossy JPEG 2000, an earlier stage that wrote it decoded).
 * - no face in the field of view (a head from vertex to skull base): nothing changes; the stage claims Recognizable
 *   Visual Features NO (the detector ran and found no face) but not code 113102 (nothing was cleaned).
 * - quarantine (DEFACE_UNCERTAIN, DEFACE_COMPRESSED, DEFACE_VERIFY_FAILED...), or no decision for this file
 *   (DEFACE_NOT_PLANNED): the file is held back.
 *
 * Example:
 *   const stage = createDefaceStage({ decision: (sop) => plan.get(sop) });
 *   const outcome = await releaseFile(bytes, { config, keys, stages: [stage] });
 */
import {
  type DicomFile,
  type Edit,
  EXPLICIT_VR_LITTLE_ENDIAN,
  findElement,
  isVeilError,
  PIXEL_DATA,
  type ReleaseStage,
  readString,
  type StageOutput,
  TRANSFER_SYNTAX_UID,
} from '@veil/core';

import { loadDcmjsCodecs } from '../codecs/dcmjs.ts';
import { openPixels, type PixelAccess } from '../decode.ts';
import { plannedDecodedValue, plannedPixelValue } from '../write-back.ts';
import type { FacePlane } from './face.ts';
import { type InstanceInfo, readInstance, type StoredPixels, storedFromBytes } from './instance.ts';
import { assembleVolume } from './series.ts';
import { countResidual } from './verify.ts';
import { defacedValueEdits } from './writeback.ts';

const SOP_INSTANCE_UID = 0x00080018;
const EXTENDED_OFFSET_TABLE = 0x7fe00001;
const EXTENDED_OFFSET_TABLE_LENGTHS = 0x7fe00002;

/** A UID value, padded with NUL to even length. */
function uid(text: string): Uint8Array {
  const t = text.length % 2 ? `${text}\0` : text;
  return Uint8Array.from(t, (c) => c.charCodeAt(0));
}

export type DefaceDecision =
  | {
      readonly outcome: 'defaced';
      /** The series (a hash, never the UID), for the report. */
      readonly series: string;
      /** The whole defaced Pixel Data value (same length and encoding as the original's, or its frames decoded). */
      readonly pixelData: () => Uint8Array;
      /** 1 for each byte of that value the defacing changed. */
      readonly changed: () => Uint8Array;
      /** Set when the input was compressed: the value is its frames decoded, written as Explicit VR Little Endian. */
      readonly decodedVr?: 'OB' | 'OW';
      /** The series' face region and head threshold, for the check of the planned output (createDefaceCheckStage). */
      readonly plane?: FacePlane | undefined;
      readonly threshold?: number | undefined;
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
    async run({ file, edits }): Promise<StageOutput> {
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
      const changed = d.changed();
      const compressed = file.transferSyntax.encapsulated;
      if (compressed !== (d.decodedVr !== undefined) || (!compressed && defaced.length !== el.length)) {
        return { quarantine: { code: 'DEFACE_PIXELS_MISMATCH', tagPath: '(7FE0,0010)' } };
      }
      // An earlier stage (burned-in text) may have replaced Pixel Data: keep its bytes and lay the defacing's
      // changes over them.
      const earlier = edits.find((e) => e.op === 'replace' && e.element === el);
      // The text stage writes its frames as patches of the value (write-back.ts): the planned value holds them.
      const patched = edits.some((e) => e.op === 'patch' && e.element === el);
      if (compressed && !(earlier?.op === 'replace' && !earlier.encapsulated)) {
        // Written back in the input's own transfer syntax (writeback.ts), over an earlier stage's frames if any.
        try {
          const codec = await loadDcmjsCodecs();
          const px = openPixels(file, codec);
          if (!px) return { quarantine: { code: 'DEFACE_PIXELS_MISMATCH', tagPath: '(7FE0,0010)' } };
          let value = defaced;
          if (earlier?.op === 'replace' || patched) {
            const base = plannedDecodedValue(file, edits, codec);
            if (!base || base.length !== defaced.length) {
              return { quarantine: { code: 'DEFACE_PIXELS_MISMATCH', tagPath: '(7FE0,0010)' } };
            }
            value = base.slice();
            for (let i = 0; i < value.length; i++) if (changed[i]) value[i] = defaced[i]!;
          }
          return {
            edits: defacedValueEdits(file, px, value, { codec }),
            claims: { recognizableVisualFeaturesNo: true, methodCodes: ['113102'] },
            report: { series: d.series, outcome: d.outcome },
          };
        } catch (e) {
          const code = isVeilError(e) ? e.code : 'DEFACE_PIXELS_MISMATCH';
          return { quarantine: { code, tagPath: '(7FE0,0010)' } };
        }
      }
      let value = defaced;
      const base = earlier?.op === 'replace' ? earlier.value : patched ? plannedPixelValue(file, edits) : undefined;
      if (base) {
        if (base.length !== defaced.length) {
          return { quarantine: { code: 'DEFACE_PIXELS_MISMATCH', tagPath: '(7FE0,0010)' } };
        }
        value = base.slice();
        for (let i = 0; i < value.length; i++) if (changed[i]) value[i] = defaced[i]!;
      }
      const out: Edit[] = [
        d.decodedVr ? { op: 'replace', element: el, value, vr: d.decodedVr } : { op: 'replace', element: el, value },
      ];
      if (compressed) {
        // The frames go out decoded: the transfer syntax says so, and offset tables of the fragments go.
        const ts = file.meta ? findElement(file.meta, TRANSFER_SYNTAX_UID) : undefined;
        if (!ts) return { quarantine: { code: 'DEFACE_PIXELS_MISMATCH', tagPath: '(0002,0010)' } };
        out.push({ op: 'replace', element: ts, value: uid(EXPLICIT_VR_LITTLE_ENDIAN) });
        for (const tag of [EXTENDED_OFFSET_TABLE, EXTENDED_OFFSET_TABLE_LENGTHS]) {
          const e = findElement(file.dataset, tag);
          if (e) out.push({ op: 'remove', element: e });
        }
      }
      return {
        edits: out,
        claims: { recognizableVisualFeaturesNo: true, methodCodes: ['113102'] },
        report: { series: d.series, outcome: d.outcome },
      };
    },
  };
}

/**
 * The check of the one release path for defaced files, independent of the stage that defaced them: it reads the
 * Pixel Data the plan will write (the last edit of Pixel Data, whichever stage made it), decodes it with the file's
 * own geometry, and holds the file back (DEFACE_VERIFY_FAILED) when any voxel inside the series' face region is
 * above the head threshold: skin, bone or tissue of the face left in the output. Register it after every stage that
 * changes pixels.
 */
/** Every frame of a file decoded, concatenated. */
function explicitValue(px: PixelAccess): Uint8Array {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < px.frames; i++) frames.push(px.decodeFrame(i).data);
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}

export function createDefaceCheckStage(lookup: DefaceLookup): ReleaseStage {
  return {
    name: 'pixels:deface-check',
    kind: 'other',
    appliesTo: (file, config) => config.pixels?.cleanRecognizableVisualFeatures === true && hasPixels(file),
    async run({ file, edits }): Promise<StageOutput> {
      const sopEl = findElement(file.dataset, SOP_INSTANCE_UID);
      const d = sopEl ? lookup.decision(readString(sopEl)) : undefined;
      if (d?.outcome !== 'defaced') return {};
      const fail = (code: string): StageOutput => ({
        findings: [
          { stage: 'pixels:deface-check', detector: 'face-region', tagPath: '(7FE0,0010)', code, level: 'error' },
        ],
      });
      const el = findElement(file.dataset, PIXEL_DATA)!;
      let planned: Uint8Array | undefined;
      let encapsulated = false;
      for (const e of edits) {
        if (e.op === 'replace' && e.element === el) {
          planned = e.value;
          encapsulated = e.encapsulated === true;
        }
        if (e.op === 'patch' && e.element === el) {
          // Patches keep the transfer syntax: the value as the plan writes it (frames decoded below when encapsulated).
          encapsulated = file.transferSyntax.encapsulated;
          planned = undefined;
        }
      }
      if (!encapsulated && !planned && edits.some((e) => e.op === 'patch' && e.element === el)) {
        try {
          planned = plannedPixelValue(file, edits);
        } catch {
          return fail('DEFACE_VERIFY_FAILED');
        }
      }
      if (encapsulated || (!planned && file.transferSyntax.encapsulated)) {
        // Written in the input's transfer syntax (its frames decoded as the input's are), or a compressed slice the
        // defacing left as it was (no Pixel Data edit): its own frames decoded.
        try {
          const px = openPixels(file, await loadDcmjsCodecs());
          if (px && encapsulated) planned = plannedDecodedValue(file, edits, await loadDcmjsCodecs());
          else if (px) planned = explicitValue(px);
        } catch {
          return fail('DEFACE_VERIFY_FAILED');
        }
      }
      let info: InstanceInfo;
      try {
        info = readInstance(file);
      } catch {
        return fail('DEFACE_VERIFY_FAILED');
      }
      if (!planned) return fail('DEFACE_VERIFY_FAILED');
      const frameBytes = info.rows * info.columns * (info.bitsAllocated / 8);
      if (planned.length < frameBytes * info.frames.length) return fail('DEFACE_VERIFY_FAILED');
      const pixels: StoredPixels[] = [];
      for (let f = 0; f < info.frames.length; f++) {
        pixels.push(storedFromBytes(planned.slice(f * frameBytes, (f + 1) * frameBytes), info));
      }
      // A series defaced by an earlier run (no plane of its own) was checked by the detector in the series pass.
      const residual = countResidual(assembleVolume([{ key: 0, info, pixels }]), {
        plane: d.plane,
        threshold: d.threshold ?? Number.POSITIVE_INFINITY,
      });
      if (residual > 0) return { ...fail('DEFACE_VERIFY_FAILED'), report: { residualVoxels: residual } };
      return { report: { residualVoxels: 0 } };
    },
  };
}
