/**
 * De-identification: the DICOM PS3.15 Basic Application Level Confidentiality Profile (Table E.1-1, 2024b) with its
 * options, keyed pseudonyms, date shifting, UID remapping, private tag policies and site overrides, as byte-range
 * edits over the original file.
 *
 * Example:
 *   const config = parseDeidConfig({ options: { retainUIDs: true } });
 *   const result = deidentify(scanFile(bytes), config, { key });
 *   const out = writeDeidentified(file, result);
 */
export * from './actions.ts';
export * from './clean-text.ts';
export * from './config.ts';
export * from './dummy-values.ts';
export * from './engine.ts';
export * from './method.ts';
export * from './options.ts';
export * from './private-tags.ts';
export * from './profile.ts';
export { PS315_EDITION, PS315_ROW_COUNT, PS315_ROWS } from './profiles/_generated/ps315-2024b.ts';
export { SAFE_PRIVATE_EDITION, SAFE_PRIVATE_ROWS } from './profiles/_generated/safe-private-2020b.ts';
export * from './selector.ts';
