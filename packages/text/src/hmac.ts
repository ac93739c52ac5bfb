/** HMAC-SHA-256 over text (UTF-8), via @noble/hashes: pure JS, no Node crypto, so the package runs anywhere. */
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';

const encoder = new TextEncoder();

export function hmacBytes(key: Uint8Array, message: string): Uint8Array {
  return hmac(sha256, key, encoder.encode(message));
}

/** A deterministic stream of small integers from HMAC(key, message): index i gives a value in [0, n). */
export function hmacPicker(key: Uint8Array, message: string): (n: number) => number {
  let block = hmacBytes(key, message);
  let counter = 0;
  let pos = 0;
  return (n: number) => {
    if (pos + 4 > block.length) {
      counter++;
      block = hmacBytes(key, `${message}#${counter}`);
      pos = 0;
    }
    const u = ((block[pos]! << 24) | (block[pos + 1]! << 16) | (block[pos + 2]! << 8) | block[pos + 3]!) >>> 0;
    pos += 4;
    return u % n;
  };
}
