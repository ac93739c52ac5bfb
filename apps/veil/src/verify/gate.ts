/**
 * The release gate of `veil deid`: after the rewrite is planned and before the output is renamed into place, the
 * output is scanned and verified against its original (verifyFile in @veil/core). A file with an error-level finding
 * is not released: the caller quarantines it with reason VERIFY_<DETECTOR> (e.g. VERIFY_KNOWN_NAME) and the first
 * finding's tag path. An output that does not even scan is held back too (VERIFY_UNREADABLE): fail closed.
 *
 * Example (in the deid pipeline, before writing):
 *   const verdict = verifyBeforeRelease({ source: src, plan }, file, ctx.config, ctx.keys.key, ctx.verifyLevels);
 *   if (!verdict.ok) return quarantine(task, ctx, verdict.code, verdict.tagPath);
 */
import {
  type ByteSource,
  type DeidConfig,
  type DicomFile,
  firstError,
  isVeilError,
  type RewritePlan,
  scanFile,
  type VerifyFinding,
  verifyFile,
  verifyReasonCode,
} from '@veil/core';
import type { DetectorLevels } from './levels.ts';
import { planSource } from './plan-source.ts';

export type { DetectorLevels } from './levels.ts';

export interface ReleaseVerdict {
  readonly ok: boolean;
  /** Every finding, warnings included (masked values only). */
  readonly findings: VerifyFinding[];
  /** When not ok: the quarantine reason, 'VERIFY_' + the detector of the first error. */
  readonly code?: string;
  readonly tagPath?: string;
}

/** The output as bytes, or as the input and the rewrite plan that makes it (nothing is materialised). */
export type ReleaseOutput = Uint8Array | { readonly source: ByteSource; readonly plan: RewritePlan };

export function verifyBeforeRelease(
  output: ReleaseOutput,
  originalFile: DicomFile,
  config: DeidConfig,
  key: Uint8Array,
  levels?: DetectorLevels,
): ReleaseVerdict {
  let file: DicomFile;
  try {
    file = scanFile(output instanceof Uint8Array ? output : planSource(output.source, output.plan));
  } catch (e) {
    const code = isVeilError(e) ? e.code : 'SCAN_FAILED';
    const finding: VerifyFinding = { detector: 'unreadable', tagPath: '', level: 'error', masked: '', code };
    if (levels?.unreadable === 'off' || levels?.unreadable === 'warn') {
      return { ok: true, findings: levels.unreadable === 'warn' ? [{ ...finding, level: 'warn' }] : [] };
    }
    return { ok: false, findings: [finding], code: verifyReasonCode('unreadable') };
  }
  const findings = verifyFile(file, { original: originalFile, config, key, detectorLevels: levels });
  const first = firstError(findings);
  if (!first) return { ok: true, findings };
  return {
    ok: false,
    findings,
    code: verifyReasonCode(first.detector),
    ...(first.tagPath ? { tagPath: first.tagPath } : {}),
  };
}
