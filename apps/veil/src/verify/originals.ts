/**
 * Finding the original of a de-identified file: in a mirror layout it sits at the same relative path under the
 * originals folder; otherwise (hierarchy layout, renamed files), with the project key, it is the original whose
 * SOP Instance UID remaps to the output's (remapUID(original) = output), or whose SOP Instance UID is the output's
 * own when UIDs were retained. With a key, a file found by path must agree on the SOP Instance UID too, so that a
 * different file that happens to have the same name is not taken for the original.
 *
 * The UID index is built on first need by scanning every file under the originals folder once.
 *
 * Example:
 *   const originals = new Originals('/data/in', key);
 *   const match = originals.find('a/b.dcm', outputSopUid); // { path, how: 'path' | 'uid' } or undefined
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { findElement, isVeilError, readString, remapUID, scanFile } from '@veil/core';
import { listInputs } from '../deid/inputs.ts';
import { openFileSource } from '../io/file-source.ts';

const SOP_INSTANCE_UID = 0x00080018;

export interface OriginalMatch {
  readonly path: string;
  readonly how: 'path' | 'uid';
}

/** The SOP Instance UID of a file, or undefined when it does not scan or has none. */
export function sopInstanceUidOf(path: string): string | undefined {
  let src: ReturnType<typeof openFileSource> | undefined;
  try {
    src = openFileSource(path);
    const file = scanFile(src);
    const el = findElement(file.dataset, SOP_INSTANCE_UID);
    const uid = el ? readString(el).replace(/\0+$/, '').trim() : '';
    return uid === '' ? undefined : uid;
  } catch (e) {
    if (isVeilError(e) || (e as NodeJS.ErrnoException).code !== undefined) return undefined;
    throw e;
  } finally {
    src?.close();
  }
}

export class Originals {
  private index: Map<string, string> | undefined;
  private readonly root: string;

  constructor(
    root: string,
    private readonly key: Uint8Array | undefined,
  ) {
    this.root = resolve(root);
  }

  /** The original of the output at relative path `rel` whose SOP Instance UID is `outputSop` (when known). */
  find(rel: string, outputSop: string | undefined): OriginalMatch | undefined {
    const byPath = join(this.root, ...rel.split('/'));
    const inside = byPath.startsWith(this.root + sep);
    if (inside && existsSync(byPath) && statSync(byPath).isFile()) {
      if (this.key === undefined || outputSop === undefined) return { path: byPath, how: 'path' };
      const sop = sopInstanceUidOf(byPath);
      if (sop !== undefined && (sop === outputSop || remapUID(sop, this.key) === outputSop)) {
        return { path: byPath, how: 'path' };
      }
    }
    if (this.key === undefined || outputSop === undefined) return undefined;
    const hit = this.uidIndex().get(outputSop);
    return hit === undefined ? undefined : { path: hit, how: 'uid' };
  }

  private uidIndex(): Map<string, string> {
    if (this.index) return this.index;
    const key = this.key!;
    const index = new Map<string, string>();
    for (const f of listInputs([this.root])) {
      const sop = sopInstanceUidOf(f.path);
      if (sop === undefined) continue;
      // Remapped (the usual case) and as is (Retain UIDs); the first file wins for duplicate instances.
      for (const k of [remapUID(sop, key), sop]) if (!index.has(k)) index.set(k, f.path);
    }
    this.index = index;
    return index;
  }
}
