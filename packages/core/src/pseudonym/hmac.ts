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
const keyed = new WeakMap<Uint8Array, Keyed>();
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

/** Per key: the keyed state, and one scratch state each MAC is computed in (reset from the keyed state first). */
interface Keyed {
  readonly base: Mac;
  readonly scratch: Mac;
}

function computeMac(key: Uint8Array, message: string | Uint8Array): Uint8Array {
  let k = keyed.get(key);
  if (k === undefined) {
    const base = hmac.create(sha256, key);
    k = { base, scratch: base.clone() };
    keyed.set(key, k);
  }
  // _cloneInto with a target copies the keyed state into the scratch's own buffers: clone() would allocate two
  // hash objects and their buffers per MAC (a third of the MAC's cost on short messages). Synchronous, so no two
  // calls share the scratch at once.
  const mac = k.base._cloneInto(k.scratch);
  mac.update(typeof message === 'string' ? utf8(message) : message);
  return mac.digest();
}

/** Reused for ASCII messages (UIDs, IDs: nearly all of them); update() copies what it is given. */
const asciiBytes = new Uint8Array(256);

/** The UTF-8 bytes of a message: ASCII copied into asciiBytes (no native call, no allocation), else TextEncoder. */
function utf8(message: string): Uint8Array {
  const n = message.length;
  if (n > asciiBytes.length) return encoder.encode(message);
  for (let i = 0; i < n; i++) {
    const c = message.charCodeAt(i);
    if (c > 0x7f) return encoder.encode(message);
    asciiBytes[i] = c;
  }
  return asciiBytes.subarray(0, n);
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
