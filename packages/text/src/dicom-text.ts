/**
 * The bridge to the DICOM header engine's free-text path (Clean Descriptors / Clean Structured Content): the values
 * a file itself holds (core's `collectIdentifyingValues` result, taken structurally so this package needs no
 * @veil/core import) become known values for the engine, and `textCleaner` returns the function the header
 * engine calls on each free-text value.
 *
 * Example (in the app, which may import both packages):
 *   const known = knownValuesFrom(collectIdentifyingValues(file.dataset, options));
 *   const clean = textCleaner({ known, mode: 'placeholder' });
 *   clean('CT for Douglas Davidson, seen by Dr. Ana Ortiz'); // 'CT for [NAME], seen by Dr. [NAME]'
 */
import { type DeidentifyOptions, deidentify } from './deidentify.ts';
import type { KnownValue } from './types.ts';

/** The shape of @veil/core's IdentifyingValues. */
export interface IdentifyingValuesLike {
  readonly names: readonly string[];
  readonly ids: readonly string[];
  readonly dates: readonly string[];
  readonly addresses: readonly string[];
  readonly phones: readonly string[];
  readonly others: readonly string[];
}

export function knownValuesFrom(v: IdentifyingValuesLike): KnownValue[] {
  const out: KnownValue[] = [];
  for (const n of v.names) out.push({ type: 'NAME', value: n });
  for (const id of v.ids) if (id.trim().length >= 3) out.push({ type: 'ID', value: id });
  for (const a of v.addresses) out.push({ type: 'ADDRESS', value: a });
  for (const p of v.phones) out.push({ type: 'PHONE', value: p });
  for (const o of v.others) if (o.trim().length >= 3) out.push({ type: 'HOSPITAL', value: o });
  // Dates (YYYYMMDD) are found by the date rules in every written form; the bare value is matched too.
  for (const d of v.dates) if (/^\d{8}$/.test(d)) out.push({ type: 'DATE', value: d });
  return out;
}

/** A free-text cleaner for header values: the text with every finding replaced per `options.mode`. */
export function textCleaner(options: DeidentifyOptions): (text: string) => string {
  return (text: string) => (text.trim() === '' ? text : deidentify(text, options).text);
}
