/**
 * Accession number pseudonyms: 'A' + 15 base-32 digits of the keyed hash of the original (16 characters, the SH
 * maximum), so every instance of one order carries the same pseudonymous accession number. Empty stays empty.
 *
 * Example:
 *   pseudoAccession('20130714E864535', key); // 'A0V7...'
 */
import { base32, hmacSha256 } from './hmac.ts';

export function pseudoAccession(accession: string, secret: Uint8Array): string {
  const a = accession.trim();
  if (a === '') return '';
  return `A${base32(hmacSha256(secret, `accession:${a}`), 15)}`;
}

/**
 * A keyed hash of any text value, for the 'hash' override and TCIA's 'h' disposition: 'H' + base-32 digits, cut to
 * maxLength (at least 8 characters are kept so that distinct values stay distinct in practice).
 */
export function hashText(value: string, secret: Uint8Array, maxLength = 16): string {
  const n = Math.max(8, Math.min(maxLength, 52)) - 1;
  return `H${base32(hmacSha256(secret, `text:${value.trim()}`), n)}`;
}
