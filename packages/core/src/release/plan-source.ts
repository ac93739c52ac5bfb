/**
 * A ByteSource over a rewrite plan: the bytes the plan would write, read on demand from the plan's new bytes and
 * the input's ranges, so that the output can be scanned and verified before it is written, without holding a
 * second copy of a large file (pixel data is never read by the verifier).
 *
 * Example:
 *   const out = scanFile(planSource(src, planRewrite(file, edits)));
 */
import type { ByteSource } from '../dicom/byte-source.ts';
import type { RewritePlan } from '../dicom/rewriter.ts';

/** Outputs up to this size are materialised whole (the scanner reads 64 KB windows). */
const SMALL = 64 * 1024;

/**
 * The thread's buffer that `reuse` materialises small outputs into (see planSource): a fresh one per file was a
 * malloc'd ArrayBuffer for the garbage collector to track and sweep, file after file.
 */
let scratch: Uint8Array | undefined;

/**
 * `small`: outputs up to this many bytes are materialised whole (see the end; tests give 0 to read lazily).
 * `reuse`: materialise them into this thread's scratch buffer, which the next such call overwrites: only for a caller
 * that is done with the source, and with everything read from it as bytes, before it calls again (verifyOutput: the
 * output is scanned and checked synchronously, and only strings leave it).
 */
export function planSource(input: ByteSource, plan: RewritePlan, small = SMALL, reuse = false): ByteSource {
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
  const whole = input.bytes;
  const lazy: ByteSource = {
    length,
    read(start, end) {
      const stop = Math.min(end, length);
      // Binary search for the segment holding `start`.
      let lo = 0;
      let hi = segments.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (starts[mid]! <= start) lo = mid;
        else hi = mid - 1;
      }
      // A range inside one segment (most value reads) is that segment's bytes, not a copy: a fresh small array per
      // value read cost the release gate a fifth of its time on small files.
      const first = segments[lo];
      if (first !== undefined && start >= starts[lo]!) {
        const from = start - starts[lo]!;
        if (first instanceof Uint8Array) {
          if (stop - starts[lo]! <= first.length) return first.subarray(from, Math.max(from, stop - starts[lo]!));
        } else if (first.start + (stop - starts[lo]!) <= first.end) {
          return input.read(first.start + from, first.start + Math.max(from, stop - starts[lo]!));
        }
      }
      const out = new Uint8Array(Math.max(0, stop - start));
      let o = 0;
      for (let i = lo; i < segments.length && start + o < stop; i++) {
        const seg = segments[i]!;
        const segStart = starts[i]!;
        const from = start + o - segStart;
        const segLen = seg instanceof Uint8Array ? seg.length : seg.end - seg.start;
        const n = Math.min(segLen - from, stop - (start + o));
        if (n <= 0) continue;
        if (seg instanceof Uint8Array) copy(out, o, seg, from, n);
        else if (whole) copy(out, o, whole, seg.start + from, n);
        else out.set(input.read(seg.start + from, seg.start + from + n), o);
        o += n;
      }
      return out;
    },
  };
  // A small output (all of it within the scanner's first window anyway) is copied out once: then every value read
  // is a view, without a search through ~150 segments each.
  if (length > small) return lazy;
  let bytes: Uint8Array;
  if (reuse) {
    if (!scratch || scratch.length < length)
      scratch = new Uint8Array(Math.max(length, 2 * (scratch?.length ?? 0), 8192));
    bytes = scratch.subarray(0, length);
    let o = 0;
    for (const seg of segments) {
      if (seg instanceof Uint8Array) {
        copy(bytes, o, seg, 0, seg.length);
        o += seg.length;
      } else {
        const n = seg.end - seg.start;
        if (whole) copy(bytes, o, whole, seg.start, n);
        else bytes.set(input.read(seg.start, seg.end), o);
        o += n;
      }
    }
  } else bytes = lazy.read(0, length);
  return { length, bytes, read: (a, b) => bytes.subarray(a, Math.min(b, length)) };
}

/**
 * Copies n bytes. A plan has a segment per edit and per patched length (~150 in a small SR file), most of them a few
 * bytes long: a loop beats making a subarray for each.
 */
function copy(out: Uint8Array, o: number, src: Uint8Array, from: number, n: number): void {
  if (n > 32) out.set(src.subarray(from, from + n), o);
  else for (let i = 0; i < n; i++) out[o + i] = src[from + i]!;
}
