/**
 * A ByteSource over a rewrite plan: the bytes the plan would write, read on demand from the plan's new bytes and
 * the input's ranges, so that the output can be scanned and verified before it is written, without holding a
 * second copy of a large file (pixel data is never read by the verifier).
 *
 * Example:
 *   const out = scanFile(planSource(src, planRewrite(file, edits)));
 */
import type { ByteSource, RewritePlan } from '@veil/core';

export function planSource(input: ByteSource, plan: RewritePlan): ByteSource {
  const segments = plan.segments;
  // Start offset of each segment in the output.
  const starts: number[] = [];
  let pos = 0;
  for (const s of segments) {
    starts.push(pos);
    pos += s instanceof Uint8Array ? s.length : s.end - s.start;
  }
  const length = pos;
  const only = segments.length === 1 ? segments[0] : undefined;
  if (only !== undefined && !(only instanceof Uint8Array) && input.bytes) {
    const bytes = input.bytes.subarray(only.start, only.end);
    return { length: bytes.length, bytes, read: (a, b) => bytes.subarray(a, Math.min(b, bytes.length)) };
  }
  return {
    length,
    read(start, end) {
      const stop = Math.min(end, length);
      const out = new Uint8Array(Math.max(0, stop - start));
      // Binary search for the segment holding `start`.
      let lo = 0;
      let hi = segments.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (starts[mid]! <= start) lo = mid;
        else hi = mid - 1;
      }
      let o = 0;
      for (let i = lo; i < segments.length && start + o < stop; i++) {
        const seg = segments[i]!;
        const segStart = starts[i]!;
        const from = start + o - segStart;
        const segLen = seg instanceof Uint8Array ? seg.length : seg.end - seg.start;
        const n = Math.min(segLen - from, stop - (start + o));
        if (n <= 0) continue;
        const part =
          seg instanceof Uint8Array ? seg.subarray(from, from + n) : input.read(seg.start + from, seg.start + from + n);
        out.set(part, o);
        o += n;
      }
      return out;
    },
  };
}
