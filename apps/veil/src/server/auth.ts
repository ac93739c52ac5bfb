/**
 * Who may talk to Veil's HTTP listeners (STOW-RS, the admin port, `veil dicomweb-serve`, and later the console):
 * bearer tokens stored hashed in the configuration, verified client certificates (mutual TLS), and a Host header
 * allow-list against DNS rebinding. Framework-free: each check takes a node:http IncomingMessage and answers a
 * refusal (status + stable code, never a value from the request) or undefined.
 *
 * Token hashes: `sha256:<64 hex>` for random tokens (what `veil token` makes: 256 bits, so a plain hash is enough;
 * the only kind HTTP listeners accept, as a slow hash on every request would be a lever for denial of service), or
 * `scrypt:<N>:<r>:<p>:<salt b64>:<hash b64>` for a chosen passcode (DIMSE user identity, checked once per
 * association, off the event loop). Comparison is constant-time and always runs over every configured hash.
 *
 * Example:
 *   const guard = httpGuard({ auth: { tokens: ['sha256:…'], mtls: false }, allowedHosts: ['localhost'], port });
 *   const refusal = await guard(req); // { status: 401, code: 'AUTH_REQUIRED' } | undefined
 */
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface AuthConfig {
  /** Accepted bearer tokens, hashed (`sha256:<hex>` or `scrypt:...`). */
  readonly tokens?: readonly string[] | undefined;
  /** A client certificate verified against the listener's client CA is enough on its own. */
  readonly mtls?: boolean | undefined;
}

export interface Refusal {
  readonly status: number;
  readonly code: string;
}

const SCRYPT_KEYLEN = 32;

/** A new random token (base64url, 256 bits). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The hash to put in a configuration for this token: sha256 (default) or scrypt (for passphrases). */
export function hashToken(token: string, kind: 'sha256' | 'scrypt' = 'sha256'): string {
  if (kind === 'sha256') return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
  const N = 16384;
  const r = 8;
  const p = 1;
  const salt = randomBytes(16);
  const hash = scryptSync(token, salt, SCRYPT_KEYLEN, { N, r, p });
  return `scrypt:${N}:${r}:${p}:${salt.toString('base64')}:${hash.toString('base64')}`;
}

const SHA256_HASH = /^sha256:[0-9a-f]{64}$/;
const SCRYPT_HASH = /^scrypt:(\d+):(\d+):(\d+):([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

/** Whether a configured string is a token hash Veil can check (config validation uses this). */
export function isTokenHash(s: string): boolean {
  return SHA256_HASH.test(s) || SCRYPT_HASH.test(s);
}

/** Compares a presented token with every hash, in constant time per hash; true when one matches. */
export function verifyToken(token: string, hashes: readonly string[]): boolean {
  let ok = false;
  const sha = createHash('sha256').update(token, 'utf8').digest();
  for (const h of hashes) {
    if (SHA256_HASH.test(h)) {
      const want = Buffer.from(h.slice(7), 'hex');
      // No early exit: every hash is compared whatever the outcome of the previous one.
      ok = timingSafeEqual(sha, want) || ok;
      continue;
    }
    const m = SCRYPT_HASH.exec(h);
    if (!m) continue;
    const want = Buffer.from(m[5]!, 'base64');
    const got = scryptSync(token, Buffer.from(m[4]!, 'base64'), want.length, {
      N: Number(m[1]),
      r: Number(m[2]),
      p: Number(m[3]),
      maxmem: 256 * Number(m[1]) * Number(m[2]) + 1024 * 1024,
    });
    ok = (got.length === want.length && timingSafeEqual(got, want)) || ok;
  }
  return ok;
}

/**
 * verifyToken off the event loop: scrypt runs in libuv's thread pool, so a peer that keeps presenting wrong passcodes
 * (DIMSE user identity) costs threads, not the loop every other connection needs.
 */
export async function verifyTokenAsync(token: string, hashes: readonly string[]): Promise<boolean> {
  let ok = verifyToken(
    token,
    hashes.filter((h) => SHA256_HASH.test(h)),
  );
  for (const h of hashes) {
    const m = SCRYPT_HASH.exec(h);
    if (!m) continue;
    const want = Buffer.from(m[5]!, 'base64');
    const N = Number(m[1]);
    const r = Number(m[2]);
    const got = await new Promise<Buffer>((resolve, reject) =>
      scrypt(
        token,
        Buffer.from(m[4]!, 'base64'),
        want.length,
        { N, r, p: Number(m[3]), maxmem: 256 * N * r + 1024 * 1024 },
        (e, key) => (e ? reject(e) : resolve(key)),
      ),
    );
    ok = (got.length === want.length && timingSafeEqual(got, want)) || ok;
  }
  return ok;
}

/** The bearer token of a request, if it sent one (Authorization: Bearer <token>). */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i.exec(h);
  return m?.[1];
}

/** True when the request came over TLS with a client certificate the listener's CA verified. */
export function hasVerifiedClientCert(req: IncomingMessage): boolean {
  const s = req.socket as Partial<TLSSocket>;
  return s.encrypted === true && s.authorized === true && typeof s.getPeerCertificate === 'function'
    ? Object.keys(s.getPeerCertificate() ?? {}).length > 0
    : false;
}

/** Whether authentication is configured at all (tokens or mTLS). */
export function authConfigured(auth: AuthConfig | undefined): boolean {
  return auth !== undefined && ((auth.tokens?.length ?? 0) > 0 || auth.mtls === true);
}

/**
 * Checks a request's credentials. `extraTokens` are plain tokens known only to this process (the admin port's
 * per-run token, which `veil jobs` / `veil quarantine` read from the spool's run file).
 */
export function checkAuth(
  req: IncomingMessage,
  auth: AuthConfig | undefined,
  extraTokens: readonly string[] = [],
): Refusal | undefined {
  if (auth?.mtls === true && hasVerifiedClientCert(req)) return undefined;
  const token = bearerToken(req);
  if (token === undefined) return { status: 401, code: 'AUTH_REQUIRED' };
  let ok = verifyToken(token, auth?.tokens ?? []);
  for (const t of extraTokens) {
    const a = createHash('sha256').update(token).digest();
    const b = createHash('sha256').update(t).digest();
    ok = timingSafeEqual(a, b) || ok;
  }
  return ok ? undefined : { status: 403, code: 'AUTH_INVALID_TOKEN' };
}

/** Host names accepted when the configuration lists none: the loopback names. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]', '::1'];

/** True for an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}

/**
 * The Host header check (DNS rebinding: a web page that resolves its own name to 127.0.0.1 must not reach Veil).
 * `allowed` lists host names (no port); absent: the loopback names, plus the bound address when it is an IP.
 */
export function checkHost(req: IncomingMessage, allowed: readonly string[]): Refusal | undefined {
  const raw = req.headers.host;
  if (typeof raw !== 'string' || raw.length === 0) return { status: 421, code: 'HOST_NOT_ALLOWED' };
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(raw.trim());
  if (!m) return { status: 421, code: 'HOST_NOT_ALLOWED' };
  const host = m[1]!.toLowerCase();
  const bare = host.replace(/^\[|\]$/g, '');
  for (const a of allowed) {
    const x = a.toLowerCase();
    if (x === host || x === bare || x.replace(/^\[|\]$/g, '') === bare) return undefined;
  }
  return { status: 421, code: 'HOST_NOT_ALLOWED' };
}

/** The Host allow-list in force: the configured one, or the loopback names and the bound address. */
export function allowedHostsFor(configured: readonly string[] | undefined, boundHost: string): readonly string[] {
  if (configured && configured.length > 0) return configured;
  return isIP(boundHost) && !['0.0.0.0', '::'].includes(boundHost) ? [...LOOPBACK_HOSTS, boundHost] : LOOPBACK_HOSTS;
}

export interface HttpGuardOptions {
  readonly auth?: AuthConfig | undefined;
  readonly allowedHosts: readonly string[];
  /** Plain tokens known to this process only (see checkAuth). */
  readonly extraTokens?: readonly string[];
}

/** Host check, then credentials when `requireAuth` says this request needs them. */
export function httpGuard(o: HttpGuardOptions): (req: IncomingMessage, requireAuth?: boolean) => Refusal | undefined {
  return (req, requireAuth = authConfigured(o.auth)) => {
    const host = checkHost(req, o.allowedHosts);
    if (host) return host;
    return requireAuth ? checkAuth(req, o.auth, o.extraTokens) : undefined;
  };
}

/** Writes a refusal: JSON `{ "error": CODE }`, no request content, `WWW-Authenticate` on 401. */
export function sendRefusal(res: import('node:http').ServerResponse, r: Refusal): void {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    connection: 'close',
  };
  if (r.status === 401) headers['www-authenticate'] = 'Bearer realm="veil"';
  res.writeHead(r.status, headers);
  res.end(`${JSON.stringify({ error: r.code })}\n`);
}

/** One line per listener that a network peer could reach without TLS or without authentication. */
export function exposureWarnings(
  listeners: readonly { name: string; host: string; tls: boolean; auth: boolean }[],
): string[] {
  const out: string[] = [];
  for (const l of listeners) {
    if (isLoopback(l.host)) continue;
    const missing = [l.tls ? undefined : 'TLS', l.auth ? undefined : 'authentication'].filter(Boolean);
    if (missing.length > 0) {
      out.push(`listener ${l.name} binds ${l.host}, reachable from the network, without ${missing.join(' and ')}`);
    }
  }
  return out;
}

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly clientCa?: string | undefined;
}

/** Reads a listener's PEM files (cert, key, client CA). Errors name the setting, not the file's content. */
export function readTlsFiles(t: TlsFiles): { cert: Buffer; key: Buffer; ca?: Buffer } {
  const read = (what: string, p: string): Buffer => {
    try {
      return readFileSync(p);
    } catch (e) {
      throw new Error(`TLS_FILE_UNREADABLE: tls.${what} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  return {
    cert: read('cert', t.cert),
    key: read('key', t.key),
    ...(t.clientCa !== undefined ? { ca: read('clientCa', t.clientCa) } : {}),
  };
}

/**
 * node:https / node:tls server options for a listener. With a client CA, certificates are requested; `requireCert`
 * makes the handshake fail without a valid one (DIMSE, or HTTP with mTLS as the only credential); otherwise an
 * unverified certificate just does not count as a credential.
 */
export function tlsServerOptions(t: TlsFiles, requireCert: boolean): import('node:tls').TlsOptions {
  const f = readTlsFiles(t);
  return {
    cert: f.cert,
    key: f.key,
    minVersion: 'TLSv1.2',
    ...(f.ca !== undefined ? { ca: f.ca, requestCert: true, rejectUnauthorized: requireCert } : {}),
  };
}
