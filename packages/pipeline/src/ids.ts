/**
 * Job ids: 10 base-32 digits of milliseconds since the epoch then 16 random ones, lowercase, fixed length, so ids sort
 * by creation time as strings and say nothing about the instance. Safe in file names and queue keys.
 *
 * Example:
 *   newJobId(); // '01k8x3m2qz7f2c9d0e4rj5wtay6s'
 */
import { randomBytes } from 'node:crypto';

const DIGITS = '0123456789abcdefghjkmnpqrstvwxyz';

export function newJobId(now: number = Date.now()): string {
  let time = '';
  let t = Math.max(0, Math.floor(now));
  for (let i = 0; i < 10; i++) {
    time = DIGITS[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  for (const b of randomBytes(16)) rand += DIGITS[b & 31]!;
  return time + rand;
}

const JOB_ID = /^[0-9a-z]{26}$/;

export function isJobId(value: string): boolean {
  return JOB_ID.test(value);
}
