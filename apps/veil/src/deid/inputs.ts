/**
 * Inputs of a run: files and folders (walked recursively, symlinked folders not followed), each file with the
 * relative path it keeps in the output (mirror layout), in the quarantine and in the report. And the guard that
 * no output folder lies inside an input, nor an input inside an output: a run never writes into its input.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { CliError, EXIT_USAGE } from './cli-error.ts';

export interface InputFile {
  /** Absolute path. */
  readonly path: string;
  /** Relative path as given (POSIX separators): the input folder's name is added when several inputs are given. */
  readonly rel: string;
}

function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

function walk(dir: string, out: string[]): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
    else if (e.isSymbolicLink()) {
      try {
        if (statSync(p).isFile()) out.push(p);
      } catch {
        // A dangling link is not an input.
      }
    }
  }
}

/** Lists the files of the inputs, in a stable order. Throws a usage error for an input that does not exist. */
export function listInputs(inputs: readonly string[]): InputFile[] {
  const files: InputFile[] = [];
  const seenRel = new Set<string>();
  const seenPath = new Set<string>();
  const prefixes = new Set<string>();
  for (const input of inputs) {
    const abs = resolve(input);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(abs);
    } catch {
      throw new CliError(EXIT_USAGE, `input not found: ${input}`);
    }
    if (st.isDirectory()) {
      let prefix = '';
      if (inputs.length > 1) {
        const name = basename(abs) || 'input';
        prefix = name;
        for (let i = 2; prefixes.has(prefix); i++) prefix = `${name}-${i}`;
        prefixes.add(prefix);
        prefix += '/';
      }
      const found: string[] = [];
      walk(abs, found);
      for (const p of found) add(p, prefix + toPosix(relative(abs, p)));
    } else {
      add(abs, basename(abs));
    }
  }
  return files;

  function add(path: string, rel: string): void {
    // The same file reached twice (an input given twice, or a file inside a folder also given) is done once.
    if (seenPath.has(path)) return;
    seenPath.add(path);
    let r = rel;
    for (let i = 2; seenRel.has(r); i++) r = `${rel}~${i}`;
    seenRel.add(r);
    files.push({ path, rel: r });
  }
}

/** The real path of p, for a path that may not exist yet (the nearest existing ancestor is resolved). */
export function realPathOf(p: string): string {
  let cur = resolve(p);
  const rest: string[] = [];
  while (!existsSync(cur)) {
    const parent = dirname(cur);
    if (parent === cur) break;
    rest.unshift(basename(cur));
    cur = parent;
  }
  let real = cur;
  try {
    real = realpathSync(cur);
  } catch {
    // Keep the resolved path.
  }
  return rest.length ? join(real, ...rest) : real;
}

export function isInsideOrEqual(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..' && !/^[a-zA-Z]:/.test(rel));
}

/** Refuses an output folder inside an input (or an input inside it): the input must stay untouched. */
export function assertOutsideInputs(
  inputs: readonly string[],
  outputs: readonly { flag: string; path: string }[],
): void {
  const realInputs = inputs.map(realPathOf);
  for (const out of outputs) {
    const realOut = realPathOf(out.path);
    for (let k = 0; k < realInputs.length; k++) {
      const input = realInputs[k]!;
      if (isInsideOrEqual(input, realOut) || isInsideOrEqual(realOut, input)) {
        throw new CliError(
          EXIT_USAGE,
          `${out.flag} ${out.path} overlaps input ${inputs[k]}: choose a folder outside the inputs (inputs are never written to)`,
        );
      }
    }
  }
}
