/**
 * Small HTTP helpers of the console, portal and fact sheet (node:http, no framework): bounded body reading, JSON and
 * HTML responses with strict security headers (no external resources can load: the CSP allows only this origin and
 * inline styles), cookies, the same-origin check for state-changing requests, in-memory sessions with CSRF tokens,
 * and a failure rate limiter.
 *
 * Example:
 *   const body = await readBody(req, 16 * 1024); // Buffer, or throws WebError('BODY_TOO_LARGE', 413)
 *   sendJson(res, 200, { ok: true });
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export class WebError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
  ) {
    super(code);
    this.name = 'WebError';
  }
}

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" on form posts.
  'referrer-policy': 'same-origin',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

export function sendHtml(
  res: ServerResponse,
  status: number,
  html: string,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', ...headers });
  res.end(html);
}

export function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(303, { ...SECURITY_HEADERS, location, ...headers });
  res.end();
}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) {
      req.resume();
      throw new WebError('BODY_TOO_LARGE', 413);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage, limit = 16 * 1024): Promise<Record<string, unknown>> {
  const type = String(req.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) throw new WebError('JSON_REQUIRED', 415);
  let v: unknown;
  try {
    v = JSON.parse((await readBody(req, limit)).toString('utf8'));
  } catch (e) {
    if (e instanceof WebError) throw e;
    throw new WebError('BAD_JSON', 400);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new WebError('BAD_JSON', 400);
  return v as Record<string, unknown>;
}

export async function readForm(req: IncomingMessage, limit = 16 * 1024): Promise<URLSearchParams> {
  const type = String(req.headers['content-type'] ?? '');
  if (!type.startsWith('application/x-www-form-urlencoded')) throw new WebError('FORM_REQUIRED', 415);
  return new URLSearchParams((await readBody(req, limit)).toString('utf8'));
}

export function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

export function setCookie(name: string, value: string, o: { path: string; secure: boolean; maxAgeS?: number }): string {
  const parts = [`${name}=${value}`, `Path=${o.path}`, 'HttpOnly', 'SameSite=Strict'];
  if (o.secure) parts.push('Secure');
  if (o.maxAgeS !== undefined) parts.push(`Max-Age=${o.maxAgeS}`);
  return parts.join('; ');
}

/**
 * Same-origin check for a state-changing request: the Origin header (or, without one, the Referer's origin) must name
 * this server as the client reached it (its Host header, which the listener's Host check has already vetted).
 */
export function sameOrigin(req: IncomingMessage, secure: boolean): boolean {
  const host = req.headers.host;
  if (!host) return false;
  const expected = `${secure ? 'https' : 'http'}://${host}`;
  const origin = req.headers.origin;
  if (typeof origin === 'string') return origin === expected;
  const referer = req.headers.referer;
  if (typeof referer === 'string') {
    try {
      return new URL(referer).origin === expected;
    } catch {
      return false;
    }
  }
  return false;
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface Session<T> {
  readonly id: string;
  readonly csrf: string;
  readonly data: T;
  expiresAt: number;
}

/** Sessions in memory (a restart logs everyone out). A login always makes a new id (no fixation). */
export class SessionStore<T> {
  readonly #sessions = new Map<string, Session<T>>();
  constructor(
    readonly idleMs: number,
    readonly max = 10_000,
    readonly clock: () => number = Date.now,
  ) {}

  create(data: T): Session<T> {
    const now = this.clock();
    if (this.#sessions.size >= this.max) {
      for (const [k, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(k);
      if (this.#sessions.size >= this.max) this.#sessions.delete(this.#sessions.keys().next().value as string);
    }
    const s: Session<T> = {
      id: randomBytes(32).toString('base64url'),
      csrf: randomBytes(32).toString('base64url'),
      data,
      expiresAt: now + this.idleMs,
    };
    this.#sessions.set(s.id, s);
    return s;
  }

  get(id: string | undefined): Session<T> | undefined {
    if (!id) return undefined;
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    const now = this.clock();
    if (s.expiresAt <= now) {
      this.#sessions.delete(id);
      return undefined;
    }
    s.expiresAt = now + this.idleMs;
    return s;
  }

  delete(id: string | undefined): void {
    if (id) this.#sessions.delete(id);
  }
}

/**
 * Failed attempts per key (client address) and in total, in a sliding window: over either limit, refuse until the
 * window has moved on. Guessing a 60-bit code at 10 tries per 15 minutes is hopeless.
 */
export class FailureLimiter {
  readonly #byKey = new Map<string, number[]>();
  #all: number[] = [];
  constructor(
    readonly perKey: number,
    readonly total: number,
    readonly windowMs: number,
    readonly clock: () => number = Date.now,
  ) {}

  #prune(list: number[], now: number): number[] {
    return list.filter((t) => t > now - this.windowMs);
  }

  blocked(key: string): boolean {
    const now = this.clock();
    this.#all = this.#prune(this.#all, now);
    const mine = this.#prune(this.#byKey.get(key) ?? [], now);
    this.#byKey.set(key, mine);
    return mine.length >= this.perKey || this.#all.length >= this.total;
  }

  fail(key: string): void {
    const now = this.clock();
    this.#all.push(now);
    const mine = this.#byKey.get(key) ?? [];
    mine.push(now);
    this.#byKey.set(key, mine);
    if (this.#byKey.size > 10_000) this.#byKey.clear();
  }
}

export function clientKey(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}
