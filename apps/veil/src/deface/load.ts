/**
 * Reading the instances of head series from disk for defacing: every file scanned, its geometry read, grouped by
 * series and frame of reference. Pixels are read when a series is assembled, so that only one series is in memory.
 */
import { readFileSync } from 'node:fs';
import { type DicomFile, isVeilError, scanFile } from '@veil/core';
import { type InstanceInfo, readInstance } from '@veil/pixels/deface';

export interface LoadedInstance {
  /** Path relative to its input root. */
  readonly rel: string;
  readonly path: string;
  readonly info: InstanceInfo;
}

export interface NotLoaded {
  readonly rel: string;
  readonly path: string;
  /** DICOM_NOT_DICOM (skipped), or the scanner's or reader's code. */
  readonly code: string;
  readonly tagPath?: string;
}

export function scanPath(path: string): DicomFile {
  return scanFile(new Uint8Array(readFileSync(path)));
}

/** Reads each file's geometry; files that are not images, or not DICOM, come back with a code. */
export function loadInstances(files: readonly { path: string; rel: string }[]): {
  readonly instances: LoadedInstance[];
  readonly rejected: NotLoaded[];
} {
  const instances: LoadedInstance[] = [];
  const rejected: NotLoaded[] = [];
  for (const f of files) {
    try {
      const info = readInstance(scanPath(f.path));
      instances.push({ ...f, info });
    } catch (e) {
      if (!isVeilError(e)) throw e;
      rejected.push({ ...f, code: e.code, ...(e.path ? { tagPath: e.path } : {}) });
    }
  }
  return { instances, rejected };
}
