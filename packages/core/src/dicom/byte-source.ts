/**
 * Where the scanner reads bytes from. The core never touches a disk: an app hands it either a whole file in memory
 * or a ByteSource that reads ranges on demand, so that a 2 GB multi-frame is scanned by reading its header only.
 *
 * Example:
 *   const src = bytesSource(new Uint8Array(await readFile(p)));
 */
export interface ByteSource {
  /** Total length in bytes. */
  readonly length: number;
  /**
   * Bytes [start, end), clamped to the length. The result may be a view that is only valid until the next call
   * for sources that reuse buffers; an in-memory source returns a stable subarray.
   */
  read(start: number, end: number): Uint8Array;
  /** The whole content when it is in memory (fast path), else undefined. */
  readonly bytes?: Uint8Array;
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    length: bytes.length,
    bytes,
    read: (start, end) => bytes.subarray(start, Math.min(end, bytes.length)),
  };
}
