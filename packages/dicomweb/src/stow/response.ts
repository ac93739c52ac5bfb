/**
 * The STOW-RS response data set (PS3.18 10.5.3, Table 10.5.3-2) in the DICOM JSON model: Retrieve URL (0008,1190),
 * Referenced SOP Sequence (0008,1199) for what was stored, Failed SOP Sequence (0008,1198) for instances that were
 * not stored, and Other Failures Sequence (0008,119A) for parts that could not be identified as instances.
 *
 * Example:
 *   const json = encodeStowResponse({ referenced: [{ sopClassUid, sopInstanceUid }], failed: [], otherFailures: [] });
 *   decodeStowResponse(json).referenced.length; // 1
 */
import type { DicomJsonObject } from '@veil/core';
import { firstNumber, firstString, items, sq, ui, ur, us } from '../dicom-json.ts';

export interface StowReferencedSop {
  readonly sopClassUid: string | undefined;
  readonly sopInstanceUid: string;
  readonly retrieveUrl?: string;
  readonly warningReason?: number;
}

export interface StowFailedSop {
  readonly sopClassUid: string | undefined;
  readonly sopInstanceUid: string;
  readonly failureReason: number;
}

export interface StowOtherFailure {
  readonly failureReason: number;
}

export interface StowResponse {
  readonly retrieveUrl?: string;
  readonly referenced: readonly StowReferencedSop[];
  readonly failed: readonly StowFailedSop[];
  readonly otherFailures: readonly StowOtherFailure[];
}

export function encodeStowResponse(r: StowResponse): DicomJsonObject {
  const out: DicomJsonObject = {};
  if (r.retrieveUrl) out['00081190'] = ur(r.retrieveUrl);
  if (r.failed.length > 0) {
    out['00081198'] = sq(
      r.failed.map((f) => ({
        ...(f.sopClassUid ? { '00081150': ui(f.sopClassUid) } : {}),
        '00081155': ui(f.sopInstanceUid),
        '00081197': us(f.failureReason),
      })),
    );
  }
  if (r.referenced.length > 0) {
    out['00081199'] = sq(
      r.referenced.map((s) => ({
        ...(s.sopClassUid ? { '00081150': ui(s.sopClassUid) } : {}),
        '00081155': ui(s.sopInstanceUid),
        ...(s.retrieveUrl ? { '00081190': ur(s.retrieveUrl) } : {}),
        ...(s.warningReason !== undefined ? { '00081196': us(s.warningReason) } : {}),
      })),
    );
  }
  if (r.otherFailures.length > 0) {
    out['0008119A'] = sq(r.otherFailures.map((f) => ({ '00081197': us(f.failureReason) })));
  }
  return out;
}

/** Reads a STOW-RS response body (a DICOM JSON object, or an array holding one, as some servers send). */
export function decodeStowResponse(json: unknown): StowResponse {
  const obj = (Array.isArray(json) ? json[0] : json) as DicomJsonObject | undefined;
  if (typeof obj !== 'object' || obj === null) return { referenced: [], failed: [], otherFailures: [] };
  const retrieveUrl = firstString(obj, '00081190');
  return {
    ...(retrieveUrl ? { retrieveUrl } : {}),
    referenced: items(obj, '00081199').map((it) => {
      const url = firstString(it, '00081190');
      const warning = firstNumber(it, '00081196');
      return {
        sopClassUid: firstString(it, '00081150'),
        sopInstanceUid: firstString(it, '00081155') ?? '',
        ...(url ? { retrieveUrl: url } : {}),
        ...(warning !== undefined ? { warningReason: warning } : {}),
      };
    }),
    failed: items(obj, '00081198').map((it) => ({
      sopClassUid: firstString(it, '00081150'),
      sopInstanceUid: firstString(it, '00081155') ?? '',
      failureReason: firstNumber(it, '00081197') ?? 0,
    })),
    otherFailures: items(obj, '0008119A').map((it) => ({ failureReason: firstNumber(it, '00081197') ?? 0 })),
  };
}
