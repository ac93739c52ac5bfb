/**
 * The one release path (release.ts) and its stage interface (stage.ts): bytes and a configuration in, a planned
 * output or a quarantine record with every finding out. Pixel stages plug in as ReleaseStages.
 *
 * Example:
 *   const outcome = await releaseFile(bytes, { config: parseDeidConfig({}), keys: { key }, stages: [] });
 */
export * from './claims.ts';
export * from './plan-source.ts';
export * from './release.ts';
export * from './stage.ts';
export * from './verify-output.ts';
