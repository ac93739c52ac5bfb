/**
 * The gateway's crosswalk: pseudonym -> identity for patient ID, accession number and the study, series and SOP
 * instance UIDs, written by `veil serve` into its own store (SQLite or PostgreSQL, the `crosswalk` table of the
 * GovernanceStore) and read back only by `veil reidentify --config`, for the roles allowed, every lookup on the
 * gateway's hash-chained audit trail.
 *
 * Sealed to a public key, so that the gateway cannot read back what it wrote:
 *   - the crosswalk key is an X25519 key pair of its own (never the project key). `veil serve` holds only the public
 *     key (`crosswalk.publicKey` in the configuration); the private key stays with the privacy office
 *     (`veil reidentify --crosswalk-key-file`, or the VEIL_CROSSWALK_KEY variable: PEM text);
 *   - each de-identified instance gets a fresh ephemeral X25519 key; ECDH with the crosswalk public key, HKDF-SHA-256
 *     (salt: the ephemeral public key) gives an AES-256-GCM key; each row has its own nonce, and its kind, blind
 *     index and key id as associated data (a row moved under another index does not open);
 *   - rows are found by a blind index, HMAC-SHA-256 of (kind NUL pseudonym) under a key derived from the project key
 *     (HKDF, info 'veil-gateway-crosswalk/index'): the store holds no pseudonym or identity in clear; whoever holds
 *     the project key can already compute pseudonyms, so the index gives them nothing new;
 *   - `keyId` (16 hex of the SHA-256 of the public key's SPKI) names the key a row was sealed to: a rotated key is
 *     told apart from a corrupt row.
 *
 * Example:
 *   const rows = sealIdentities([{ kind: 'patientId', original: 'PAT1', pseudonym: 'X9' }], publicPem, projectKey);
 *   await gov.putCrosswalk(rows, Date.now());
 *   await lookupCrosswalk(gov, projectKey, privateKey, 'X9'); // [{ kind: 'patientId', original: 'PAT1' }]
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AccountRole, CrosswalkRecord, GovernanceStore } from '@veil/pipeline';
import { CliError, EXIT_CONFIG } from '../deid/cli-error.ts';
import { DUMMY_HASH, verifyPassword } from './passwords.ts';

export type GatewayCrosswalkKind = 'patientId' | 'accession' | 'studyUID' | 'seriesUID' | 'sopInstanceUID';
export const GATEWAY_CROSSWALK_KINDS: readonly GatewayCrosswalkKind[] = [
  'patientId',
  'accession',
  'studyUID',
  'seriesUID',
  'sopInstanceUID',
];

/** The roles that may re-identify (the console's `operator` may not). */
export const REIDENTIFY_ROLES: readonly AccountRole[] = ['admin', 'privacy-officer'];

/** PHI: lives only in memory between the release path and sealIdentities(). */
export interface IdentityPair {
  readonly kind: GatewayCrosswalkKind;
  readonly original: string;
  readonly pseudonym: string;
}

export interface CrosswalkEntry {
  readonly kind: GatewayCrosswalkKind;
  readonly original: string;
}

const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const SEAL_INFO = 'veil-gateway-crosswalk/seal';
const VERSION = 'v1';

export function crosswalkIndexKey(projectKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', projectKey, Buffer.alloc(0), 'veil-gateway-crosswalk/index', 32));
}

export function blindIndex(indexKey: Buffer, kind: GatewayCrosswalkKind, pseudonym: string): string {
  return createHmac('sha256', indexKey).update(`${kind}\0${pseudonym}`).digest('hex');
}

function rawPublic(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32));
}

export function crosswalkKeyId(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex')
    .slice(0, 16);
}

function aad(kind: string, blind: string, keyId: string): Buffer {
  return Buffer.from(`${kind}\0${blind}\0${keyId}`);
}

/** The crosswalk public key (PEM) as configured, checked to be X25519; a CliError (exit 3) when not. */
export function loadCrosswalkPublicKey(file: string): string {
  let pem: string;
  let key: KeyObject;
  try {
    pem = readFileSync(file, 'utf8');
    key = createPublicKey(pem);
  } catch (e) {
    throw new CliError(
      EXIT_CONFIG,
      `crosswalk.publicKey: cannot read an X25519 public key (${(e as NodeJS.ErrnoException).code ?? 'bad key'})`,
    );
  }
  if (key.asymmetricKeyType !== 'x25519') throw new CliError(EXIT_CONFIG, 'crosswalk.publicKey: not an X25519 key');
  return pem;
}

/** The crosswalk private key from --crosswalk-key-file, else VEIL_CROSSWALK_KEY (PEM text). */
export function loadCrosswalkPrivateKey(o: { file?: string | undefined; env?: NodeJS.ProcessEnv }): KeyObject {
  const env = o.env ?? process.env;
  let text: string | undefined;
  let where: string;
  if (o.file !== undefined) {
    where = '--crosswalk-key-file';
    try {
      text = readFileSync(o.file, 'utf8');
    } catch (e) {
      throw new CliError(EXIT_CONFIG, `${where}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else {
    where = 'VEIL_CROSSWALK_KEY';
    text = env.VEIL_CROSSWALK_KEY;
    if (text === undefined || text.trim() === '') {
      throw new CliError(
        EXIT_CONFIG,
        'no crosswalk key: pass --crosswalk-key-file or set VEIL_CROSSWALK_KEY (the X25519 private key, PEM)',
      );
    }
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (e) {
    throw new CliError(EXIT_CONFIG, `${where}: not a private key (${(e as { code?: string }).code ?? 'bad key'})`);
  }
  if (key.asymmetricKeyType !== 'x25519') throw new CliError(EXIT_CONFIG, `${where}: not an X25519 key`);
  return key;
}

/** A new crosswalk key pair as PEM (for tests and `openssl genpkey -algorithm X25519` users alike). */
export function newCrosswalkKeyPair(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return {
    publicKey: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

/** Seals one instance's identities (pairs whose pseudonym equals the original are left out: nothing to undo). */
export function sealIdentities(
  pairs: readonly IdentityPair[],
  publicKeyPem: string,
  projectKey: Uint8Array,
): CrosswalkRecord[] {
  const todo = pairs.filter((p) => p.original !== '' && p.pseudonym !== '' && p.original !== p.pseudonym);
  if (todo.length === 0) return [];
  const publicKey = createPublicKey(publicKeyPem);
  const keyId = crosswalkKeyId(publicKey);
  const indexKey = crosswalkIndexKey(projectKey);
  const eph = generateKeyPairSync('x25519');
  const epk = rawPublic(eph.publicKey);
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey });
  const aesKey = Buffer.from(hkdfSync('sha256', shared, epk, SEAL_INFO, 32));
  const seen = new Set<string>();
  const out: CrosswalkRecord[] = [];
  for (const p of todo) {
    const blind = blindIndex(indexKey, p.kind, p.pseudonym);
    if (seen.has(blind)) continue;
    seen.add(blind);
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', aesKey, nonce);
    cipher.setAAD(aad(p.kind, blind, keyId));
    const ct = Buffer.concat([
      cipher.update(JSON.stringify({ o: p.original, p: p.pseudonym }), 'utf8'),
      cipher.final(),
    ]);
    const sealed = `${VERSION}.${Buffer.concat([epk, nonce, cipher.getAuthTag(), ct]).toString('base64')}`;
    out.push({ blind, kind: p.kind, keyId, sealed });
  }
  return out;
}

export class CrosswalkKeyMismatch extends Error {
  readonly code = 'CROSSWALK_KEY_MISMATCH';
}

/** Opens one row; throws CrosswalkKeyMismatch for a row sealed to another key, an Error for a corrupt row. */
export function openRecord(r: CrosswalkRecord, privateKey: KeyObject): { original: string; pseudonym: string } {
  const publicKey = createPublicKey(privateKey);
  if (r.keyId !== crosswalkKeyId(publicKey)) throw new CrosswalkKeyMismatch('CROSSWALK_KEY_MISMATCH');
  const [version, body] = r.sealed.split('.', 2);
  if (version !== VERSION || body === undefined)
    throw Object.assign(new Error('bad row'), { code: 'CROSSWALK_CORRUPT' });
  const buf = Buffer.from(body, 'base64');
  const epk = buf.subarray(0, 32);
  const nonce = buf.subarray(32, 44);
  const tag = buf.subarray(44, 60);
  const ct = buf.subarray(60);
  const ephPublic = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, epk]), format: 'der', type: 'spki' });
  const shared = diffieHellman({ privateKey, publicKey: ephPublic });
  const aesKey = Buffer.from(hkdfSync('sha256', shared, epk, SEAL_INFO, 32));
  const decipher = createDecipheriv('aes-256-gcm', aesKey, nonce);
  decipher.setAAD(aad(r.kind, r.blind, r.keyId));
  decipher.setAuthTag(tag);
  const plain = JSON.parse(Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8')) as {
    o: string;
    p: string;
  };
  return { original: plain.o, pseudonym: plain.p };
}

/** The identities behind a pseudonym in the gateway store (not audited: see reidentifyInGateway). */
export async function lookupCrosswalk(
  gov: GovernanceStore,
  projectKey: Uint8Array,
  privateKey: KeyObject,
  pseudonym: string,
  kinds: readonly GatewayCrosswalkKind[] = GATEWAY_CROSSWALK_KINDS,
): Promise<CrosswalkEntry[]> {
  const indexKey = crosswalkIndexKey(projectKey);
  const byBlind = new Map(kinds.map((k) => [blindIndex(indexKey, k, pseudonym), k] as const));
  const rows = await gov.getCrosswalk([...byBlind.keys()]);
  const out: CrosswalkEntry[] = [];
  for (const kind of kinds) {
    const r = rows.find((x) => byBlind.get(x.blind) === kind && x.kind === kind);
    if (!r) continue;
    const plain = openRecord(r, privateKey);
    if (plain.pseudonym === pseudonym) out.push({ kind, original: plain.original });
  }
  return out;
}

export type ReidentifyOutcome =
  | { readonly kind: 'found'; readonly entries: readonly CrosswalkEntry[] }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'refused'; readonly reason: 'bad-credentials' | 'role' }
  | { readonly kind: 'failed'; readonly code: 'CROSSWALK_KEY_MISMATCH' | 'CROSSWALK_CORRUPT' };

/**
 * One re-identification through the gateway: the account's password checked, its role among REIDENTIFY_ROLES, the
 * lookup, and one `reidentify` event on the audit chain in every case (refused ones too), with the operator as actor
 * and, never the pseudonym or the identity, only its SHA-256, the kinds asked for, the outcome and the count.
 */
export async function reidentifyInGateway(o: {
  gov: GovernanceStore;
  projectKey: () => Uint8Array;
  privateKey: () => KeyObject;
  account: string;
  password: string;
  pseudonym: string;
  kinds?: readonly GatewayCrosswalkKind[] | undefined;
  /** Who ran it, e.g. cli:<login>: recorded beside the account. */
  via: string;
  now?: () => number;
}): Promise<ReidentifyOutcome> {
  const now = o.now ?? Date.now;
  const acct = await o.gov.getAccount(o.account);
  // The same scrypt work whether or not the account exists.
  const passwordOk = (await verifyPassword(o.password, acct?.passwordHash ?? DUMMY_HASH)) && acct !== undefined;
  const actor = `account:${o.account.replace(/[^A-Za-z0-9_.@-]/g, '_').slice(0, 64)}`;
  const detail = {
    via: o.via,
    role: acct?.role ?? null,
    kinds: [...(o.kinds ?? GATEWAY_CROSSWALK_KINDS)],
    pseudonymSha256: createHash('sha256').update(o.pseudonym, 'utf8').digest('hex'),
  };
  const audit = (outcome: string, extra: Record<string, string | number> = {}) =>
    o.gov.appendAudit(null, { event: 'reidentify', actor, detail: { ...detail, outcome, ...extra } }, now());
  if (!acct || !passwordOk) {
    await audit('refused', { reason: 'bad-credentials' });
    return { kind: 'refused', reason: 'bad-credentials' };
  }
  if (!REIDENTIFY_ROLES.includes(acct.role)) {
    await audit('refused', { reason: 'role' });
    return { kind: 'refused', reason: 'role' };
  }
  let keys: [Uint8Array, KeyObject];
  try {
    keys = [o.projectKey(), o.privateKey()];
  } catch (e) {
    await audit('failed', { code: 'CROSSWALK_KEY_UNAVAILABLE' });
    throw e;
  }
  let entries: CrosswalkEntry[];
  try {
    entries = await lookupCrosswalk(o.gov, keys[0], keys[1], o.pseudonym, o.kinds);
  } catch (e) {
    const code = e instanceof CrosswalkKeyMismatch ? 'CROSSWALK_KEY_MISMATCH' : 'CROSSWALK_CORRUPT';
    await audit('failed', { code });
    return { kind: 'failed', code };
  }
  await audit(entries.length ? 'found' : 'not-found', { count: entries.length });
  return entries.length ? { kind: 'found', entries } : { kind: 'not-found' };
}
