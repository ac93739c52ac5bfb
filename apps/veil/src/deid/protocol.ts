/**
 * Messages between the run (main thread) and its worker threads. Everything here is structured-clone data. Identities
 * (patient id, accession, study UID and their pseudonyms) travel only in memory, for the crosswalk; they are never
 * logged or written to a report.
 */
import type { DefacePlan } from '../deface/prepass.ts';
import type { ActionCounts } from './action-tally.ts';
import type { Layout } from './config.ts';

export interface WorkerInit {
  /** The core configuration as read from the file (parsed again in each worker). */
  readonly deidInput: Record<string, unknown>;
  readonly layout: Layout;
  readonly key: Uint8Array;
  readonly outDir: string | undefined;
  readonly quarantineDir: string | undefined;
  readonly dryRun: boolean;
  /** Collect identities for the crosswalk. */
  readonly identities: boolean;
  /** Detector levels for the release gate (the config's verify section). */
  readonly verifyLevels?: Readonly<Record<string, 'error' | 'warn' | 'off'>> | undefined;
  /** The series pass's decisions when the configuration asks for pixels.cleanRecognizableVisualFeatures. */
  readonly defacePlan?: DefacePlan | undefined;
  /** Thumbnails of redacted outputs for the report (deid/previews.ts): the report folder and this thread's share. */
  readonly previews?: { readonly reportDir: string; readonly perThread: number } | undefined;
}

export interface Task {
  readonly id: number;
  readonly path: string;
  readonly rel: string;
}

export type Outcome = 'written' | 'skipped' | 'quarantined' | 'error';

export interface Identity {
  readonly patientId?: string;
  readonly pseudoPatientId?: string;
  readonly accession?: string;
  readonly pseudoAccession?: string;
  readonly studyUID?: string;
  readonly pseudoStudyUID?: string;
}

export interface TaskResult {
  readonly id: number;
  readonly outcome: Outcome;
  /** Why a file was skipped, quarantined or failed: a stable code, never a value. */
  readonly code?: string;
  readonly tagPath?: string;
  /** Output path relative to the output folder (written, or would be in a dry run). */
  readonly out?: string;
  /** [keyword, action, count] for the report. */
  readonly actions?: [string, string, number][];
  readonly identity?: Identity;
  /** Dry run: one line per change, values masked. */
  readonly changes?: string[];
  /** A written image: what the burned-in text stage did (absent when it did not run on this file). */
  readonly pixels?: PixelOutcome;
}

/** What the pixel text stage did to one written file: counts only, never a value or a pixel. */
export interface PixelOutcome {
  /** Every frame scanned (false: an image the configuration passed unscanned, pixels.text.pass). */
  readonly scanned: boolean;
  /** Boxes filled (0: no text found). */
  readonly boxes: number;
  /** The output states Burned In Annotation NO and CID 7050 113101 (only when the stage scanned it). */
  readonly claimed: boolean;
  /** A thumbnail of the output with the boxes outlined, relative to the report folder (deid/previews.ts). */
  readonly preview?: string;
}

/**
 * Tasks go out and results come back in batches: on a virtual machine every message between threads wakes the other
 * one (an interrupt between virtual CPUs), which cost as much as de-identifying a small file.
 */
export type ToWorker = { readonly type: 'tasks'; readonly tasks: readonly Task[] } | { readonly type: 'stop' };
export type FromWorker =
  | { readonly type: 'ready' }
  | {
      readonly type: 'results';
      readonly results: readonly TaskResult[];
      /** The actions of this batch's written files, added up (the results then carry none of their own). */
      readonly actions?: ActionCounts;
    }
  | { readonly type: 'fatal'; readonly code: string };
