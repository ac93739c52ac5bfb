/**
 * Verification before release: the residual-PHI scan of a de-identified file (verifyFile), the original's
 * identifying values it compares with (extractKnownIdentifiers), the detectors and their levels, and masking.
 *
 * Example:
 *   const findings = verifyFile(scanFile(outBytes), { original: scanFile(inBytes), config });
 *   const blocking = firstError(findings); // quarantine as verifyReasonCode(blocking.detector)
 */
export * from './finding.ts';
export { extractKnownIdentifiers, type KnownIdentifiers, type KnownNeedle } from './known-identifiers.ts';
export { maskLength, maskName } from './mask.ts';
export { MONTH_NAMES, MONTHS } from './normalize.ts';
export { checkStructure, type StructureFinding } from './structure.ts';
export { effectiveLevels, type VerifyContext, verifyFile } from './verify-file.ts';
