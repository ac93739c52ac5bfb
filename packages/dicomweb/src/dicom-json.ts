/**
 * Small builders and readers for the DICOM JSON attributes the DICOMweb responses carry (PS3.18 F.2).
 *
 * Example:
 *   const item = { '00081155': ui(sopInstanceUid), '00081197': us(0xc000) };
 *   firstString(item, '00081155');
 */
import type { DicomJsonAttribute, DicomJsonObject } from '@veil/core';

export const ui = (value: string): DicomJsonAttribute => ({ vr: 'UI', Value: [value] });
export const us = (value: number): DicomJsonAttribute => ({ vr: 'US', Value: [value] });
export const ur = (value: string): DicomJsonAttribute => ({ vr: 'UR', Value: [value] });
export const cs = (values: readonly string[]): DicomJsonAttribute => ({ vr: 'CS', Value: [...values] });
export const is = (value: number): DicomJsonAttribute => ({ vr: 'IS', Value: [value] });
export const sq = (items: readonly DicomJsonObject[]): DicomJsonAttribute => ({ vr: 'SQ', Value: [...items] });

/** The first value of an attribute as a string (numbers as their decimal text), or undefined. */
export function firstString(obj: DicomJsonObject | undefined, key: string): string | undefined {
  const v = obj?.[key]?.Value?.[0];
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

export function firstNumber(obj: DicomJsonObject | undefined, key: string): number | undefined {
  const v = obj?.[key]?.Value?.[0];
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** The items of a sequence attribute (an empty list when absent). */
export function items(obj: DicomJsonObject | undefined, key: string): DicomJsonObject[] {
  const v = obj?.[key]?.Value;
  if (!Array.isArray(v)) return [];
  return v.filter(
    (x): x is DicomJsonObject => typeof x === 'object' && x !== null && !('Alphabetic' in x) && !Array.isArray(x),
  );
}
