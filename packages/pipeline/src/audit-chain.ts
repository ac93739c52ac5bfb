/**
 * The tamper-evident audit trail: every audit event commits to the one before it. An event's hash is SHA-256 over
 * the canonical JSON (keys sorted, no spaces) of { v, seq, at, jobId, event, actor, purpose, detail, prev }, where
 * prev is the previous event's hash (64 zeros for the first). Stores compute it inside the transaction that appends
 * the event (appends are serialised), so the chain follows seq order exactly.
 *
 * Periodic checkpoints sign { seq, hash, at } of the chain's head with an Ed25519 key that workers never hold (a
 * separate key file, read only by the process that takes the facility's ingress role, or by `veil audit checkpoint`).
 * A checkpoint catches what a chain alone cannot: events removed from the end, or a chain rewritten whole with fresh
 * hashes by someone with write access to the database.
 *
 * verifyChain() names the first problem by its position (seq): an event changed, removed, reordered, or a
 * checkpoint that no longer matches.
 *
 * Example:
 *   const hash = auditHash({ seq: 1, at, jobId: null, event: 'server.started', actor: 'system', purpose: null,
 *                            detail: {}, prev: GENESIS_HASH });
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import type { Json, JsonObject } from './model.ts';

export const GENESIS_HASH = '0'.repeat(64);
export const AUDIT_CHAIN_VERSION = 1;

/** The fields of an event the hash covers. */
export interface ChainFields {
  readonly seq: number;
  readonly at: number;
  readonly jobId: string | null;
  readonly event: string;
  readonly actor: string | null;
  readonly purpose: string | null;
  readonly detail: JsonObject;
  readonly prev: string;
}

/** An event as stored: the fields and the stored hash (null: never chained). */
export interface ChainRow extends ChainFields {
  readonly hash: string | null;
}

/** JSON with object keys sorted at every level and no insignificant space: one text per value. */
export function canonicalJson(value: Json | undefined): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('AUDIT_NON_FINITE_NUMBER');
    return JSON.stringify(value);
  }
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
}

export function auditHash(f: ChainFields): string {
  const body: JsonObject = {
    v: AUDIT_CHAIN_VERSION,
    seq: f.seq,
    at: f.at,
    jobId: f.jobId,
    event: f.event,
    actor: f.actor,
    purpose: f.purpose,
    detail: f.detail,
    prev: f.prev,
  };
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export interface AuditCheckpoint {
  readonly seq: number;
  readonly hash: string;
  readonly at: number;
  /** base64 Ed25519 signature over checkpointMessage(). */
  readonly signature: string;
  /** First 16 hex digits of SHA-256 over the public key (SPKI DER). */
  readonly keyId: string;
}

export function checkpointMessage(c: { seq: number; hash: string; at: number }): string {
  return canonicalJson({ v: AUDIT_CHAIN_VERSION, kind: 'veil-audit-checkpoint', seq: c.seq, hash: c.hash, at: c.at });
}

export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** Signs the head { seq, hash, at } with an Ed25519 private key (PEM text or KeyObject). */
export function signCheckpoint(
  head: { seq: number; hash: string; at: number },
  privateKey: KeyObject | string,
): AuditCheckpoint {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('AUDIT_KEY_NOT_ED25519');
  const signature = sign(null, Buffer.from(checkpointMessage(head)), key).toString('base64');
  return { ...head, signature, keyId: keyIdOf(createPublicKey(key)) };
}

export function checkpointSignatureValid(c: AuditCheckpoint, publicKey: KeyObject | string): boolean {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  try {
    return verify(null, Buffer.from(checkpointMessage(c)), key, Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}

export type ChainProblemCode =
  | 'AUDIT_EVENT_CHANGED'
  | 'AUDIT_EVENT_REMOVED'
  | 'AUDIT_EVENT_REORDERED'
  | 'AUDIT_EVENT_UNCHAINED'
  | 'AUDIT_TRUNCATED'
  | 'AUDIT_CHECKPOINT_MISMATCH'
  | 'AUDIT_CHECKPOINT_SIGNATURE'
  | 'AUDIT_CHECKPOINT_UNVERIFIED';

export interface ChainProblem {
  readonly code: ChainProblemCode;
  /** The seq (position) of the event concerned. */
  readonly seq: number;
  readonly message: string;
}

export interface ChainReport {
  readonly ok: boolean;
  readonly events: number;
  readonly head: { readonly seq: number; readonly hash: string } | null;
  readonly checkpoints: number;
  readonly lastCheckpoint: { readonly seq: number; readonly at: number } | null;
  /** Problems, the first one first; empty when intact. */
  readonly problems: readonly ChainProblem[];
}

/**
 * Verifies events in seq order (an iterable of pages, so a long chain is not held twice) against their hashes and
 * links, then the checkpoints against the chain and, when publicKey is given, their signatures. Without a public key,
 * checkpoints are compared with the chain but their signatures are reported unverified (a problem: fail closed).
 */
export async function verifyChain(
  pages: AsyncIterable<readonly ChainRow[]>,
  checkpoints: readonly AuditCheckpoint[],
  publicKey?: KeyObject | string,
): Promise<ChainReport> {
  const problems: ChainProblem[] = [];
  // Hash -> seq of every event seen: to tell a reordering (a link to an event elsewhere) from a change.
  const seen = new Map<string, number>();
  const bySeq = new Map<number, string>();
  let prev: { seq: number; hash: string } | null = null;
  let events = 0;
  const stored: ChainRow[] = [];
  for await (const page of pages) for (const r of page) stored.push(r);
  for (const r of stored) if (r.hash) seen.set(r.hash, r.seq);
  for (const r of stored) {
    events++;
    const expectedSeq = prev ? prev.seq + 1 : r.seq;
    const expectedPrev = prev ? prev.hash : GENESIS_HASH;
    if (r.hash === null) {
      problems.push({ code: 'AUDIT_EVENT_UNCHAINED', seq: r.seq, message: `event ${r.seq} has no hash` });
    } else if (r.seq > expectedSeq) {
      const missing = r.seq - 1 === expectedSeq ? `${expectedSeq}` : `${expectedSeq} to ${r.seq - 1}`;
      problems.push({
        code: 'AUDIT_EVENT_REMOVED',
        seq: expectedSeq,
        message: `event ${missing} removed (event ${r.seq} follows event ${prev?.seq ?? 'none'})`,
      });
    } else if (prev === null && r.seq !== 1) {
      problems.push({ code: 'AUDIT_EVENT_REMOVED', seq: 1, message: `events 1 to ${r.seq - 1} removed` });
    } else {
      const linkedTo = seen.get(r.prev);
      const recomputed = auditHash(r);
      if (recomputed !== r.hash || r.prev !== expectedPrev) {
        if (r.prev !== expectedPrev && linkedTo !== undefined && linkedTo !== expectedSeq - 1) {
          problems.push({
            code: 'AUDIT_EVENT_REORDERED',
            seq: r.seq,
            message: `event ${r.seq} is out of order (it follows event ${linkedTo + 1} of the original chain)`,
          });
        } else if (recomputed !== r.hash) {
          problems.push({ code: 'AUDIT_EVENT_CHANGED', seq: r.seq, message: `event ${r.seq} was changed` });
        } else {
          problems.push({
            code: 'AUDIT_EVENT_CHANGED',
            seq: expectedSeq - 1,
            message: `event ${expectedSeq - 1} was changed (event ${r.seq} does not link to it)`,
          });
        }
      }
    }
    if (r.hash !== null) bySeq.set(r.seq, r.hash);
    prev = { seq: r.seq, hash: r.hash ?? '' };
  }
  const sorted = [...checkpoints].sort((a, b) => a.seq - b.seq);
  for (const c of sorted) {
    if (publicKey === undefined) {
      problems.push({
        code: 'AUDIT_CHECKPOINT_UNVERIFIED',
        seq: c.seq,
        message: `checkpoint at event ${c.seq}: no public key configured (audit.publicKey) to check its signature`,
      });
    } else if (!checkpointSignatureValid(c, publicKey)) {
      problems.push({
        code: 'AUDIT_CHECKPOINT_SIGNATURE',
        seq: c.seq,
        message: `checkpoint at event ${c.seq}: signature invalid`,
      });
      continue;
    }
    if (prev === null || c.seq > prev.seq) {
      problems.push({
        code: 'AUDIT_TRUNCATED',
        seq: (prev?.seq ?? 0) + 1,
        message: `events ${(prev?.seq ?? 0) + 1} to ${c.seq} removed (a signed checkpoint covers event ${c.seq})`,
      });
    } else if (bySeq.get(c.seq) !== c.hash) {
      problems.push({
        code: 'AUDIT_CHECKPOINT_MISMATCH',
        seq: c.seq,
        message: `event ${c.seq} differs from the signed checkpoint (the chain up to it was rewritten)`,
      });
    }
  }
  const last = sorted[sorted.length - 1];
  return {
    ok: problems.length === 0,
    events,
    head: prev,
    checkpoints: sorted.length,
    lastCheckpoint: last ? { seq: last.seq, at: last.at } : null,
    problems,
  };
}
