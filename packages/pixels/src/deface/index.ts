/**
 * Defacing of head CT and MR series: series assembly, face detection, face removal, pictures and verification.
 * Pure: typed arrays in, typed arrays and a report out.
 */

export * from './face.ts';
export * from './grid.ts';
export * from './instance.ts';
export * from './remove.ts';
export * from './render.ts';
export * from './series.ts';
export * from './stage.ts';
export * from './verify.ts';
export * from './writeback.ts';
