/**
 * The verification stage of the release path: the planned output is scanned again, from its own bytes (a view over
 * the rewrite plan, nothing materialised for a large file), and verified against its original (verifyFile). It does
 * not read the records of the stages before it: what it checks is what would be written. An output that does not
 * even scan is held back too (detector 'unreadable', VERIFY_UNREADABLE): fail closed.
 *
 * `veil verify` calls it on written outputs (bytes) against their originals; the release path calls it on the plan.
 *
 * Example:
 *   const verdict = verifyOutput({ source: src, plan }, file, config, key);
 *   if (!verdict.ok) quarantine(verdict.code, verdict.tagPath);
 */

import type { DeidConfig } from '../deid/config.ts';
import type { ByteSource } from '../dicom/byte-source.ts';
import type { DicomFile } from '../dicom/dataset.ts';
import { isVeilError } from '../dicom/errors.ts';
import type { RewritePlan } from '../dicom/rewriter.ts';
import { scanFile } from '../dicom/scanner.ts';
import { type DetectorLevel, firstError, type VerifyFinding, verifyReasonCode } from '../verify/finding.ts';
import { verifyFile } from '../verify/verify-file.ts';
import { planSource } from './plan-source.ts';

/** Levels per detector name (the configuration's verify.detectors); absent names keep their default. */
export type DetectorLevels = Readonly<Record<string, DetectorLevel>>;

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

export function verifyOutput(
  output: ReleaseOutput,
  originalFile: DicomFile,
  config: DeidConfig,
  key: Uint8Array,
  levels?: DetectorLevels,
): ReleaseVerdict {
  let file: DicomFile;
  try {
    // The output under the same caps as its input: a site that raised them for its files gets its outputs read too.
    // A small planned output goes in the thread's scratch buffer: it is scanned and checked here, and only strings
    // (findings) leave this function.
    file = scanFile(output instanceof Uint8Array ? output : planSource(output.source, output.plan, undefined, true), {
      limits: config.limits,
    });
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
