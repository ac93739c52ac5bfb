/**
 * Console account passwords: scrypt (N=2^15, r=8, p=1, 16-byte salt, 32-byte hash), stored as
 * `scrypt$N$r$p$<salt b64>$<hash b64>`; verification is constant-time and costs the same for an unknown account.
 *
 * Example:
 *   const stored = await hashPassword('correct horse');
 *   await verifyPassword('correct horse', stored); // true
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const N = 1 << 15;
const R = 8;
const P = 1;
const LEN = 32;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, LEN, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (e, key) =>
      e ? reject(e) : resolve(key),
    );
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** A hash no password matches: compared against when the account does not exist (same time either way). */
export const DUMMY_HASH = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(LEN).toString('base64')}`;

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (n > 1 << 20 || r > 32 || p > 16) return false;
  const expected = Buffer.from(m[5]!, 'base64');
  const got = await derive(password, Buffer.from(m[4]!, 'base64'), n, r, p);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** A random password for a new account: 20 characters, about 120 bits. */
export function newPassword(): string {
  return randomBytes(15).toString('base64url');
}
