/**
 * Caps on what one input may make the scanner do: a hostile file (a deflate bomb, a million empty elements, sequences
 * nested ten thousand deep) fails with a stable code instead of exhausting memory or the stack. Every cap has a
 * configuration key (`limits` in a `veil deid` configuration and in the gateway's `deid` section) and a default that
 * passes every real file in the test corpus with a wide margin (largest seen: 1,484 elements and items, nesting 6,
 * deflate ratio 61x, 262 KB inflated).
 *
 *   maxInflatedBytes   absolute size of an inflated Deflated Explicit VR data set     DICOM_INFLATE_LIMIT
 *   maxInflateRatio    inflated size over deflated size, beyond the first 16 MiB       DICOM_INFLATE_LIMIT
 *   maxElements        elements, items and fragments in one file, at every depth       DICOM_TOO_MANY_ELEMENTS
 *   maxDepth           sequence nesting                                                DICOM_TOO_DEEP
 *   maxDecodedBytes    total bytes of the values other than pixel data (what the       DICOM_DECODED_LIMIT
 *                      de-identification and verification stages decode)
 *   maxFreeTextChars   characters of free text one file may send to the text engine     DEID_FREE_TEXT_LIMIT
 *                      (Clean Descriptors / Structured Content with @veil/text; its
 *                      cost grows with the text: ~1-4 ms per KB); past it the file is
 *                      quarantined and the rest is cleaned by the built-in scrubber only
 *
 * A value length past the end of its container or the file is DICOM_TRUNCATED_ELEMENT whatever the limits.
 *
 * Example:
 *   scanFile(bytes, { limits: { maxElements: 10_000 } });
 *   parseScanLimits({ maxDepth: 32 }); // the defaults with maxDepth 32
 */
import { VeilError } from './errors.ts';

export interface ScanLimits {
  readonly maxInflatedBytes: number;
  readonly maxInflateRatio: number;
  readonly maxElements: number;
  readonly maxDepth: number;
  readonly maxDecodedBytes: number;
  readonly maxFreeTextChars: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_SCAN_LIMITS: ScanLimits = Object.freeze({
  maxInflatedBytes: 256 * MiB,
  maxInflateRatio: 100,
  maxElements: 500_000,
  maxDepth: 256,
  maxDecodedBytes: 256 * MiB,
  // Largest real free text per file in the corpus: a few KB (SR reports); 256 Ki characters cost ~0.3-1 s.
  maxFreeTextChars: 256 * 1024,
});

/** Inflated bytes always allowed, whatever the ratio: small blank images deflate a thousandfold. */
export const INFLATE_RATIO_FLOOR = 16 * MiB;

export const SCAN_LIMIT_KEYS: readonly (keyof ScanLimits)[] = Object.keys(DEFAULT_SCAN_LIMITS) as (keyof ScanLimits)[];

/** The defaults with the given caps applied. */
export function resolveScanLimits(limits: Partial<ScanLimits> | undefined): ScanLimits {
  if (limits === undefined || limits === DEFAULT_SCAN_LIMITS) return DEFAULT_SCAN_LIMITS;
  return { ...DEFAULT_SCAN_LIMITS, ...limits };
}

/** The most inflated bytes a deflated data set of `compressed` bytes may produce. */
export function inflateLimit(limits: ScanLimits, compressed: number): number {
  return Math.min(limits.maxInflatedBytes, Math.max(INFLATE_RATIO_FLOOR, limits.maxInflateRatio * compressed));
}

/**
 * Validates a `limits` mapping from a configuration (every key optional, positive integers) and fills the defaults.
 * Throws VeilError('CONFIG_INVALID', { path: '$.limits.maxElements' }) naming the first bad key.
 */
export function parseScanLimits(input: unknown, path = '$.limits'): ScanLimits {
  if (input === undefined || input === null) return DEFAULT_SCAN_LIMITS;
  if (typeof input !== 'object' || Array.isArray(input)) throw new VeilError('CONFIG_INVALID', { path });
  const out: Record<string, number> = { ...DEFAULT_SCAN_LIMITS };
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    if (!(SCAN_LIMIT_KEYS as readonly string[]).includes(k))
      throw new VeilError('CONFIG_INVALID', { path: `${path}.${k}` });
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new VeilError('CONFIG_INVALID', { path: `${path}.${k}` });
    }
    out[k] = v;
  }
  return out as unknown as ScanLimits;
}
