/**
 * Keyed hashing for pseudonyms: HMAC-SHA-256 (RFC 2104) with a per-project secret, via @noble/hashes (pure JS, so the
 * core runs anywhere). Without the key nobody can recompute a pseudonym from a guessed identity, unlike plain hashes.
 *
 * Example:
 *   const mac = hmacSha256(key, 'uid:1.2.3'); // 32 bytes
 *   base32(mac, 12); // 'Q3M9T0ZK2C7A'
 */
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';

/** Shortest key accepted: 256 bits, the HMAC-SHA-256 block security level. */
export const MIN_KEY_BYTES = 32;

type Mac = ReturnType<typeof hmac.create>;

/**
 * Keyed states, one per key object: the inner and outer pads are hashed once per key instead of once per call.
 * The cache never changes a result (a state is cloned for every message), so this is not shared state in any
 * observable sense; keys are held weakly.
 */
const keyed = new WeakMap<Uint8Array, Mac>();
const encoder = new TextEncoder();

/**
 * MACs of text messages already computed, per key object: a series asks for the same patient, accession, date
 * shift and study / series / frame of reference UIDs in every file. A pure cache (a copy is returned, so no caller can change what another gets), bounded.
 */
const macs = new WeakMap<Uint8Array, Map<string, Uint8Array>>();
const MAC_CACHE = 4096;

export function hmacSha256(key: Uint8Array, message: string | Uint8Array): Uint8Array {
  if (typeof message !== 'string') return computeMac(key, message);
  let known = macs.get(key);
  if (known === undefined) {
    known = new Map();
    macs.set(key, known);
  }
  let mac = known.get(message);
  if (mac === undefined) {
    mac = computeMac(key, message);
    if (known.size >= MAC_CACHE) known.clear();
    known.set(message, mac);
  }
  return mac.slice();
}

function computeMac(key: Uint8Array, message: string | Uint8Array): Uint8Array {
  let base = keyed.get(key);
  if (base === undefined) {
    base = hmac.create(sha256, key);
    keyed.set(key, base);
  }
  const mac = base.clone();
  mac.update(typeof message === 'string' ? encoder.encode(message) : message);
  return mac.digest();
}

/** Crockford's base 32 alphabet: digits and upper-case letters without I, L, O, U (valid in every DICOM text VR). */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The first `chars` base-32 digits (5 bits each) of bytes, most significant bit first. */
export function base32(bytes: Uint8Array, chars: number): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length && out.length < chars; i++) {
    acc = ((acc << 8) | bytes[i]!) & 0xffff;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      bits -= 5;
      out += ALPHABET[(acc >>> bits) & 31]!;
    }
  }
  return out;
}

/** An unsigned 32-bit integer from the first 4 bytes of the MAC. */
export function hmacUint32(key: Uint8Array, message: string): number {
  const mac = hmacSha256(key, message);
  return ((mac[0]! << 24) | (mac[1]! << 16) | (mac[2]! << 8) | mac[3]!) >>> 0;
}
