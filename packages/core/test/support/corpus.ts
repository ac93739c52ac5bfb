/**
 * Where the test corpus lives: the shared data folder beside the repository (VEIL_SHARED_DIR overrides) with its
 * INVENTORY.tsv, and Debian python3-pydicom's edge-case files. Tests read these; they never write there.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

export const sharedDir = process.env.VEIL_SHARED_DIR
  ? path.resolve(process.env.VEIL_SHARED_DIR)
  : path.resolve(repoRoot, '..', 'shared');

export const dataDir = path.join(sharedDir, 'data');

/** Debian's python3-pydicom ships pydicom's own edge-case files (truncated, no meta, bad VR, big endian...). */
export const PYDICOM_TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

export interface InventoryFile {
  /** Path relative to the shared data folder, as in INVENTORY.tsv. */
  readonly rel: string;
  readonly path: string;
  readonly size: number;
  readonly transferSyntax: string;
  readonly dcmdumpOk: boolean;
}

/** Every file of ../shared/data/INVENTORY.tsv, in inventory order. */
export function inventory(): InventoryFile[] {
  const tsv = path.join(dataDir, 'INVENTORY.tsv');
  if (!existsSync(tsv)) {
    throw new Error(
      `corpus inventory not found at ${tsv}: put the shared folder beside the repository or set VEIL_SHARED_DIR`,
    );
  }
  const [header, ...rows] = readFileSync(tsv, 'utf8').trimEnd().split('\n');
  const cols = (header ?? '').split('\t');
  const col = (name: string): number => {
    const i = cols.indexOf(name);
    if (i < 0) throw new Error(`INVENTORY.tsv has no column ${name}`);
    return i;
  };
  const [iPath, iSize, iTs, iDump] = [col('path'), col('size'), col('transfer_syntax_uid'), col('dcmdump_ok')];
  return rows.map((row) => {
    const f = row.split('\t');
    const rel = f[iPath] ?? '';
    return {
      rel,
      path: path.join(dataDir, rel),
      size: Number(f[iSize]),
      transferSyntax: f[iTs] ?? '',
      dcmdumpOk: f[iDump] === 'yes',
    };
  });
}

/** Every file under the pydicom test_files folder (recursive), relative to it, sorted. */
export function pydicomFiles(): string[] {
  if (!existsSync(PYDICOM_TEST_FILES)) {
    throw new Error(
      `${PYDICOM_TEST_FILES} is missing: install Debian's python3-pydicom (scripts/test.sh does) to run the corpus tests`,
    );
  }
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(path.relative(PYDICOM_TEST_FILES, p));
    }
  };
  walk(PYDICOM_TEST_FILES);
  return out.sort();
}

export function readBytes(file: string): Uint8Array {
  const b = readFileSync(file);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
