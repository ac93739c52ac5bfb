/**
 * HMAC-SHA-256 on node:crypto for @veil/core's HMAC port (DeidKeys.hmac): the core's own HMAC is pure JS (it imports
 * no node:crypto), this one is OpenSSL's. The key is imported once per key (a KeyObject); each MAC is one native call.
 * The core checks it against its own on a probe message before using it, and the bytes are the same (RFC 2104).
 *
 * Example:
 *   releaseFile(src, { config, keys: { key, hmac: nodeHmacSha256 } });
 */
import { createHmac, createSecretKey } from 'node:crypto';
import type { HmacSha256Factory } from '@veil/core';

export const nodeHmacSha256: HmacSha256Factory = (key) => {
  const secret = createSecretKey(key);
  // A copy into a plain Uint8Array: a Buffer's slice() is a view, and the core copies MACs with slice().
  return (message) => new Uint8Array(createHmac('sha256', secret).update(message).digest());
};
