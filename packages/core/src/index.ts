/**
 * @veil/core: the pure DICOM core. Bytes in, bytes and reports out; no file system, network, clock or environment.
 *
 * Example:
 *   import { scanFile, findElement, readString, rewrite } from '@veil/core';
 *   const file = scanFile(bytes);
 *   const el = findElement(file.dataset, 0x00100010);
 *   const out = rewrite(file, el ? [{ op: 'remove', element: el }] : []);
 */

export * from './deid/index.ts';
export * from './dicom/byte-source.ts';
export * from './dicom/charset/specific-character-set.ts';
export * from './dicom/dataset.ts';
export * from './dicom/dictionary/index.ts';
export * from './dicom/dump.ts';
export * from './dicom/encapsulated.ts';
export * from './dicom/errors.ts';
export * from './dicom/json-model.ts';
export * from './dicom/limits.ts';
export * from './dicom/part10.ts';
export * from './dicom/rewriter.ts';
export * from './dicom/scanner.ts';
export * from './dicom/tag.ts';
export * from './dicom/tag-path.ts';
export * from './dicom/transfer-syntax.ts';
export * from './dicom/value.ts';
export * from './dicom/vr.ts';
export * from './pseudonym/index.ts';
export * from './release/index.ts';
export * from './verify/index.ts';
