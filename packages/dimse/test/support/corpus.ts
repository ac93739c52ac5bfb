/**
 * Files of the shared test corpus (../shared/data beside the repository, or VEIL_SHARED_DIR) picked by transfer
 * syntax, and the bytes of a file's data set (what travels in a C-STORE). Tests read these; they never write there.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describePart10 } from '@veil/dimse';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const sharedDir = process.env.VEIL_SHARED_DIR
  ? path.resolve(process.env.VEIL_SHARED_DIR)
  : path.resolve(repoRoot, '..', 'shared');
export const dataDir = path.join(sharedDir, 'data');

export interface CorpusFile {
  readonly rel: string;
  readonly path: string;
  readonly size: number;
  readonly transferSyntax: string;
  readonly sopClass: string;
  readonly privateTags: number;
}

let cache: CorpusFile[] | undefined;

export function corpus(): CorpusFile[] {
  if (cache) return cache;
  const [header, ...rows] = readFileSync(path.join(dataDir, 'INVENTORY.tsv'), 'utf8').trimEnd().split('\n');
  const cols = (header ?? '').split('\t');
  const at = (n: string): number => cols.indexOf(n);
  cache = rows
    .map((r) => r.split('\t'))
    .filter((f) => f[at('dcmdump_ok')] === 'yes')
    .map((f) => ({
      rel: f[at('path')] ?? '',
      path: path.join(dataDir, f[at('path')] ?? ''),
      size: Number(f[at('size')]),
      transferSyntax: f[at('transfer_syntax_uid')] ?? '',
      sopClass: f[at('sop_class_uid')] ?? '',
      privateTags: Number(f[at('n_private_tags')] || 0),
    }));
  return cache;
}

/** The data set of a Part 10 file as it would travel in a C-STORE, with what the C-STORE needs. */
export function datasetOf(file: string): {
  bytes: Uint8Array;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
} {
  const bytes = new Uint8Array(readFileSync(file));
  const info = describePart10(bytes);
  return { ...info, bytes: bytes.subarray(info.datasetOffset) };
}

/** A deterministic pick of files: by transfer syntax, smallest first within a size cap, skipping DICOMDIRs. */
export function pick(transferSyntax: string, count: number, maxSize = 3_000_000): CorpusFile[] {
  return corpus()
    .filter((f) => f.transferSyntax === transferSyntax && f.size <= maxSize && f.sopClass !== '1.2.840.10008.1.3.10')
    .sort((a, b) => b.privateTags - a.privateTags || a.size - b.size || (a.rel < b.rel ? -1 : 1))
    .slice(0, count);
}
