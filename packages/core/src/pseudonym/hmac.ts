/**
 * Keyed hashing for pseudonyms: HMAC-SHA-256 (RFC 2104) with a per-project secret, via @noble/hashes (pure JS, so the
 * core runs anywhere) unless the app hands in its platform's implementation for a key (useHmacSha256; @veil/core
 * imports no node:crypto). Without the key nobody can recompute a pseudonym from a guessed identity, unlike plain
 * hashes.
 *
 * Example:
 *   const mac = hmacSha256(key, 'uid:1.2.3'); // 32 bytes
 *   base32(mac, 12); // 'Q3M9T0ZK2C7A'
 *   useHmacSha256(key, (k) => (m) => nodeHmac(k, m)); // same bytes, computed by node:crypto from now on
 */
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';
import { VeilError } from '../dicom/errors.ts';

/** Shortest key accepted: 256 bits, the HMAC-SHA-256 block security level. */
export const MIN_KEY_BYTES = 32;

/** HMAC-SHA-256 under one key: the 32-byte MAC of a message, in a Uint8Array the caller may keep (not a view). */
export type KeyedHmacSha256 = (message: Uint8Array) => Uint8Array;

/**
 * Makes the keyed HMAC-SHA-256 of a key, once per key (a platform implementation imports the key there): the port
 * through which an app gives the core a native HMAC. It must give the bytes the built-in one gives.
 */
export type HmacSha256Factory = (key: Uint8Array) => KeyedHmacSha256;

/**
 * The keyed MAC function of each key object: the built-in one (inner and outer pads hashed once per key instead of
 * once per call) or an injected one. Never changes a result, so this is not shared state in any observable sense;
 * keys are held weakly.
 */
const keyed = new WeakMap<
  Uint8Array,
  { readonly factory: HmacSha256Factory | undefined; readonly mac: KeyedHmacSha256 }
>();

/** Checked against the built-in HMAC when an implementation is injected: a wrong one would change every pseudonym. */
const PROBE = new TextEncoder().encode('veil-hmac-probe:1.2.840.10008.5.1.4.1.1.2\u00e9');

/**
 * Computes every later MAC under this key object with the factory's implementation instead of the built-in one
 * (deidentify() calls it with DeidKeys.hmac). Idempotent per (key, factory). Throws DEID_HMAC_MISMATCH, and keeps
 * the built-in one, when the implementation's MAC of a probe message differs from the built-in's.
 */
export function useHmacSha256(key: Uint8Array, factory: HmacSha256Factory): void {
  if (keyed.get(key)?.factory === factory) return;
  const mac = factory(key);
  const probe = mac(PROBE);
  const expected = builtinMac(key)(PROBE);
  if (!(probe instanceof Uint8Array) || probe.length !== 32 || probe.some((b, i) => b !== expected[i])) {
    throw new VeilError('DEID_HMAC_MISMATCH');
  }
  keyed.set(key, { factory, mac });
}

/** The built-in keyed MAC: each MAC computed in one scratch state that the keyed state is copied into. */
function builtinMac(key: Uint8Array): KeyedHmacSha256 {
  const base = hmac.create(sha256, key);
  const scratch = base.clone();
  // _cloneInto with a target copies the keyed state into the scratch's own buffers: clone() would allocate two
  // hash objects and their buffers per MAC (a third of the MAC's cost on short messages). Synchronous, so no two
  // calls share the scratch at once.
  return (message) => base._cloneInto(scratch).update(message).digest();
}

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
  let k = keyed.get(key);
  if (k === undefined) {
    k = { factory: undefined, mac: builtinMac(key) };
    keyed.set(key, k);
  }
  return k.mac(typeof message === 'string' ? utf8(message) : message);
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
