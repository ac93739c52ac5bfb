/**
 * The release gate, as `veil verify` and older callers name it: the verification stage of the one release path
 * (verifyOutput in @veil/core, packages/core/src/release/verify-output.ts). The release path itself
 * (releaseFile) runs it on every planned output; this module only keeps the app's names for it.
 *
 * Example:
 *   const verdict = verifyBeforeRelease(outputBytes, originalFile, config, key, levels);
 *   if (!verdict.ok) console.log(verdict.code); // VERIFY_KNOWN_NAME...
 */
export {
  type DetectorLevels,
  type ReleaseOutput,
  type ReleaseVerdict,
  verifyOutput as verifyBeforeRelease,
} from '@veil/core';
