/**
 * What the codegen scripts share: where the standard's tables are, how a failure names its row, and the command line
 * (`tsx scripts/codegen/X.ts [--out-dir DIR]`) that writes the generated files.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** ../shared/data beside the repository; VEIL_SHARED_DIR names another shared folder. */
export function sharedDataDir(): string {
  const shared = process.env.VEIL_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared');
  return path.join(path.resolve(shared), 'data');
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function fail(file: string, line: number, why: string, text: string): never {
  throw new Error(`${file}:${line}: ${why}: ${JSON.stringify(text)}`);
}

/** Escape for a template literal body; rows never contain these today, but the output must stay valid TS. */
export function escapeTemplate(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${');
}

/**
 * Runs a codegen script when it is the main module: reads `--out-dir DIR` (default `defaultOutDir`), builds the
 * files from the shared data folder and writes them, one line per file.
 */
export function runCodegen(
  moduleUrl: string,
  label: string,
  defaultOutDir: string,
  build: (dataDir: string) => [name: string, content: string][],
): void {
  if (process.argv[1] === undefined || path.resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  const argv = process.argv.slice(2);
  let outDir = defaultOutDir;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out-dir' && argv[i + 1] !== undefined) outDir = path.resolve(argv[++i]!);
    else throw new Error(`usage: tsx ${path.relative(repoRoot, fileURLToPath(moduleUrl))} [--out-dir DIR]`);
  }
  const outputs = build(sharedDataDir());
  mkdirSync(outDir, { recursive: true });
  const rel = (p: string) => path.relative(process.cwd(), p) || '.';
  for (const [name, content] of outputs) {
    writeFileSync(path.join(outDir, name), content);
    console.log(`codegen ${label}: wrote ${rel(path.join(outDir, name))} (${Buffer.byteLength(content)} bytes)`);
  }
}
