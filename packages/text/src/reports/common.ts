/**
 * What the structured report formats (HL7 v2, FHIR JSON) share: one `FieldCleaner` per message, which
 *  - replaces a value the structure says is PHI (a PID name, a Patient.birthDate) by its type, whatever it reads as;
 *  - runs the free-text engine on narrative values (OBX text, conclusion, narrative div), with the known values the
 *    message's own structure holds (the patient's names, IDs, phones...) plus the caller's (a DICOM header);
 *  - rewrites structured dates so the field stays a valid date: year only in placeholder and mask modes (the year
 *    is not a HIPAA identifier), shifted by the patient's keyed shift in surrogate mode (the same derivation as the
 *    free text and the DICOM header, so intervals are kept).
 * One Surrogates generator serves the whole message, so a name is replaced the same way in every field.
 */
import { civilFromDays, daysFromCivil, validYmd } from '../calendar.ts';
import { type DeidentifyOptions, deidentify } from '../deidentify.ts';
import { Surrogates } from '../surrogates.ts';
import type { KnownValue, PhiType } from '../types.ts';

export interface ReportResult {
  /** The de-identified message, same structure. */
  text: string;
  /** Findings replaced, per type (structured fields and free text together). */
  counts: Partial<Record<PhiType, number>>;
}

export class FieldCleaner {
  readonly counts: Partial<Record<PhiType, number>> = {};
  private readonly gen: Surrogates | undefined;
  private readonly mode: NonNullable<DeidentifyOptions['mode']>;
  private known: KnownValue[];

  constructor(
    private readonly options: DeidentifyOptions,
    structural: readonly KnownValue[],
  ) {
    this.mode = options.mode ?? 'placeholder';
    if (this.mode === 'surrogate') {
      if (!options.key) throw new Error('TEXT_KEY_REQUIRED: surrogate mode needs a key');
      this.gen =
        options.surrogates ??
        new Surrogates({
          key: options.key,
          ...(options.patientKey !== undefined ? { patientKey: options.patientKey } : {}),
          ...(options.maxShiftDays !== undefined ? { maxShiftDays: options.maxShiftDays } : {}),
          ...(options.dateOrder !== undefined ? { dateOrder: options.dateOrder } : {}),
        });
    }
    this.known = [...(options.known ?? []), ...structural.filter((k) => k.value.trim().length >= 2)];
  }

  private count(type: PhiType): void {
    this.counts[type] = (this.counts[type] ?? 0) + 1;
  }

  /** A value the structure says is PHI of this type. Empty stays empty. */
  typed(type: PhiType, value: string): string {
    if (!/[\p{L}\p{N}]/u.test(value)) return value;
    this.count(type);
    if (this.mode === 'placeholder') return `[${type}]`;
    if (this.mode === 'mask') return value.replace(/[\p{L}\p{N}]/gu, '*');
    return this.gen!.for(type, value);
  }

  /** Narrative text: the engine, with the message's known values. */
  free(text: string): string {
    if (!/[\p{L}\p{N}]/u.test(text)) return text;
    const r = deidentify(text, {
      ...this.options,
      known: this.known,
      ...(this.gen ? { surrogates: this.gen } : {}),
    });
    for (const [t, n] of Object.entries(r.counts)) this.counts[t as PhiType] = (this.counts[t as PhiType] ?? 0) + n;
    return r.text;
  }

  /**
   * A structured date: `YYYY[-]MM[-]DD` followed by anything (a time, a zone). Placeholder and mask: the year
   * alone (`keepYearAs` formats it, e.g. FHIR instants need a full value). Surrogate: the date part shifted, the
   * rest kept. A value that is not a date goes through `typed`.
   */
  date(value: string, keepYearAs: (year: string) => string = (y) => y): string {
    const m = /^(\d{4})(-?)(\d{2})?\2?(\d{2})?(.*)$/s.exec(value.trim());
    if (!m) return this.typed('DATE', value);
    const [, y, dash, mo, d, rest] = m;
    if (mo === undefined) return value; // a year alone is not an identifier
    this.count('DATE');
    if (this.mode !== 'surrogate') return keepYearAs(y!);
    const day = d === undefined ? 15 : Number(d);
    if (!validYmd(Number(y), Number(mo), day)) return keepYearAs(y!);
    const r = civilFromDays(daysFromCivil(Number(y), Number(mo), day) + this.gen!.shiftDays);
    const p2 = (n: number) => String(n).padStart(2, '0');
    return `${String(r.y).padStart(4, '0')}${dash}${p2(r.m)}${d === undefined ? '' : `${dash}${p2(r.d)}`}${rest}`;
  }
}
