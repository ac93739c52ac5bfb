/**
 * dcmtk's dcmdump as an independent parser: a file we write must be one dcmdump reads to the end. Many files go in
 * one dcmdump call (+F prints a header per file) to keep the tests fast.
 */
import { spawnSync } from 'node:child_process';

/** Files per dcmdump call: keeps the command line far below ARG_MAX. */
const BATCH = 200;

export function hasDcmdump(): boolean {
  return spawnSync('dcmdump', ['--version'], { encoding: 'utf8' }).status === 0;
}

/**
 * Dumps each file; the value is dcmdump's text for the file, or undefined where dcmdump could not parse it
 * (dcmdump prints nothing for a damaged file unless told to, and -q keeps its complaints off stderr).
 */
export function dcmdumpAll(files: readonly string[]): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (let i = 0; i < files.length; i += BATCH) {
    const batch = files.slice(i, i + BATCH);
    const r = spawnSync('dcmdump', ['-q', '+F', ...batch], { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.error) throw r.error;
    // Sections start with "# dcmdump (k/n): <file>".
    const sections = r.stdout.split(/^# dcmdump \(\d+\/\d+\): /m).slice(1);
    if (sections.length !== batch.length) {
      throw new Error(`dcmdump printed ${sections.length} sections for ${batch.length} files: ${r.stderr}`);
    }
    batch.forEach((file, k) => {
      const text = sections[k] ?? '';
      const name = text.slice(0, text.indexOf('\n'));
      if (name !== file) throw new Error(`dcmdump section ${k} is for ${name}, expected ${file}`);
      out.set(file, text.includes('# Dicom-Data-Set') ? text : undefined);
    });
  }
  return out;
}

/** The lines of the dataset part of a dump that are top-level elements ("(gggg,eeee) VR ..."), not nested ones. */
export function topLevelTags(dump: string): string[] {
  const ds = dump.slice(dump.indexOf('# Dicom-Data-Set'));
  const tags: string[] = [];
  for (const m of ds.matchAll(/^\(([0-9a-f]{4},[0-9a-f]{4})\)/gm)) tags.push(m[1]!.toUpperCase());
  return tags;
}
