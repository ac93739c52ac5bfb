/**
 * The project secret: read from `--key-file FILE` or the `VEIL_KEY` environment variable, as base64 or hex. There is no
 * default key and no key in the repository: without one, commands that pseudonymise stop with exit code 3.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, EXIT_CONFIG } from './cli-error.ts';
import { isInsideOrEqual, realPathOf } from './inputs.ts';

/**
 * The Veil checkout this code runs from (the folder holding apps/veil), or else the folder of the installed bundle:
 * key files inside it are refused. Found by walking up, since this module runs from apps/veil/src/deid or, bundled,
 * from apps/veil/dist.
 */
export const VEIL_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'apps/veil/package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '..');
  }
}

/** Bytes of a key made by `veil keygen`; shorter keys are refused. */
export const KEY_BYTES = 32;

export function generateKey(): Uint8Array {
  return new Uint8Array(randomBytes(KEY_BYTES));
}

/**
 * Decodes a key written as hex (64+ hex digits) or base64 (standard or URL-safe, padding optional); an explicit
 * `hex:` or `base64:` prefix settles ambiguity. Returns undefined when the text is neither or the key is too short.
 */
export function parseKeyText(text: string): Uint8Array | undefined {
  let t = text.trim();
  let format: 'hex' | 'base64' | undefined;
  const prefix = /^(hex|base64):/i.exec(t);
  if (prefix) {
    format = prefix[1]!.toLowerCase() as 'hex' | 'base64';
    t = t.slice(prefix[0].length).trim();
  }
  let bytes: Uint8Array | undefined;
  if ((format ?? (/^[0-9a-f]+$/i.test(t) && t.length % 2 === 0 ? 'hex' : 'base64')) === 'hex') {
    if (/^[0-9a-f]+$/i.test(t) && t.length % 2 === 0) bytes = new Uint8Array(Buffer.from(t, 'hex'));
  } else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t) && t.replace(/=+$/, '').length % 4 !== 1) {
    bytes = new Uint8Array(Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
  }
  return bytes && bytes.length >= KEY_BYTES ? bytes : undefined;
}

export interface KeySourceOptions {
  readonly keyFile?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Told when a key file can be read by other users. */
  readonly warn?: (message: string) => void;
}

/** Loads the key, or throws a CliError (exit 3) whose message names where the key was looked for, never its bytes. */
export function loadKey(options: KeySourceOptions): Uint8Array {
  const env = options.env ?? process.env;
  let text: string;
  let origin: string;
  if (options.keyFile !== undefined) {
    origin = `key file ${options.keyFile}`;
    if (isInsideOrEqual(realPathOf(VEIL_ROOT), realPathOf(options.keyFile))) {
      throw new CliError(
        EXIT_CONFIG,
        `${origin} is inside the Veil repository: keep keys outside it (and out of version control and the data)`,
      );
    }
    try {
      text = readFileSync(options.keyFile, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new CliError(EXIT_CONFIG, `cannot read ${origin} (${code})`);
    }
    try {
      const mode = statSync(options.keyFile).mode;
      if ((mode & 0o077) !== 0 && options.warn) {
        options.warn(`warning: ${origin} can be read by other users; chmod 600 it`);
      }
    } catch {
      // Permissions are advice only.
    }
  } else if (env.VEIL_KEY !== undefined && env.VEIL_KEY.trim() !== '') {
    origin = 'VEIL_KEY';
    text = env.VEIL_KEY;
  } else {
    throw new CliError(
      EXIT_CONFIG,
      'no key: pass --key-file FILE or set VEIL_KEY (base64 or hex, 32 bytes; make one with `veil keygen`)',
    );
  }
  const key = parseKeyText(text);
  if (!key) throw new CliError(EXIT_CONFIG, `${origin} does not hold a key of ${KEY_BYTES}+ bytes in base64 or hex`);
  return key;
}

/** A short public fingerprint of a key, for reports: tells runs with different keys apart, reveals nothing. */
export function keyId(key: Uint8Array): string {
  return createHmac('sha256', key).update('veil-key-id').digest('hex').slice(0, 16);
}
