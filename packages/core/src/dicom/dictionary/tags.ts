/**
 * Tag constants by PS3.6 keyword (2024b), generated from the data dictionary (scripts/codegen/ps36.ts): one plain
 * number per single-tag keyword, so `Tag.PatientName === 0x00100010` and a bundler or the JIT inlines it as it would
 * the literal. Repeating-group rows ((60xx,3000) Overlay Data...) have no constant: build their tags from the group.
 * Retired keywords are marked @deprecated.
 *
 * Example:
 *   import * as Tag from '../dicom/dictionary/tags.ts';
 *   findElement(ds, Tag.PhotometricInterpretation);
 */
export * from './_generated/tags-2024b.ts';
