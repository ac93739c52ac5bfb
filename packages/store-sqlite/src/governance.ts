/**
 * GovernanceStore on the SQLite file of the job store (its own connection; WAL lets both work together): the chained
 * audit trail, consent registry, releases under contracts, portal invitations, accounts, vendor tokens. Also the
 * chained audit append the job store itself uses, so that every event of the file is on one chain.
 *
 * Example:
 *   const gov = new SqliteGovernanceStore('/var/lib/veil/veil.db');
 *   await gov.init();
 */
import {
  type Account,
  type AccountRole,
  type AuditCheckpoint,
  type AuditEntry,
  type AuditInput,
  auditHash,
  type ChainRow,
  type ConsentChange,
  type ConsentChoice,
  type ConsentRecord,
  type CrosswalkRecord,
  GENESIS_HASH,
  type GovernanceStore,
  type Job,
  type JsonObject,
  type NewRelease,
  num,
  numOrNull,
  type ReleaseFilter,
  type ReleaseRecord,
  type Row,
  rowMappers,
  strOrNull,
} from '@veil/pipeline';
import Database from 'better-sqlite3';
import { SCHEMA } from './schema.ts';

const { toJob, toAudit } = rowMappers((v) => JSON.parse(String(v)));

export const GOVERNANCE_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_checkpoints (
  seq INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,
  at INTEGER NOT NULL,
  signature TEXT NOT NULL,
  key_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS consent (
  patient_key TEXT NOT NULL,
  purpose TEXT NOT NULL,
  choice TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  PRIMARY KEY (patient_key, purpose)
);
CREATE TABLE IF NOT EXISTS releases (
  job_id TEXT NOT NULL,
  destination TEXT NOT NULL,
  vendor TEXT,
  contract TEXT,
  purpose TEXT,
  region TEXT,
  retention_days INTEGER,
  confirm_deletion INTEGER NOT NULL,
  released_at INTEGER NOT NULL,
  expires_at INTEGER,
  deleted_at INTEGER,
  deleted_by TEXT,
  PRIMARY KEY (job_id, destination)
);
CREATE INDEX IF NOT EXISTS releases_vendor ON releases (vendor, released_at);
CREATE TABLE IF NOT EXISTS portal_invites (
  code_hash TEXT PRIMARY KEY,
  patient_key TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE TABLE IF NOT EXISTS accounts (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS vendor_tokens (
  token_hash TEXT PRIMARY KEY,
  destination TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_patient ON jobs (json_extract(step_state, '$.patientKey'));
CREATE TABLE IF NOT EXISTS crosswalk (
  blind TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  key_id TEXT NOT NULL,
  sealed TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

const AUDIT_COLUMNS = ['actor', 'purpose', 'prev_hash', 'hash'];

/**
 * Adds the chain's columns to the audit table when missing and chains rows written before (in seq order). Run inside
 * the caller's transaction.
 */
export function upgradeAudit(db: Database.Database): void {
  const have = new Set((db.prepare('PRAGMA table_info(audit)').all() as Row[]).map((r) => String(r.name)));
  for (const c of AUDIT_COLUMNS) if (!have.has(c)) db.exec(`ALTER TABLE audit ADD COLUMN ${c} TEXT`);
  const unchained = db.prepare('SELECT COUNT(*) AS n FROM audit WHERE hash IS NULL').get() as Row;
  if (num(unchained.n) === 0) return;
  // Only when nothing was ever chained: legacy rows get their hashes once, at the upgrade.
  const chained = db.prepare('SELECT COUNT(*) AS n FROM audit WHERE hash IS NOT NULL').get() as Row;
  if (num(chained.n) > 0) return;
  let prev = GENESIS_HASH;
  const update = db.prepare('UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?');
  for (const r of db.prepare('SELECT * FROM audit ORDER BY seq').all() as Row[]) {
    const row = chainRow(r);
    const hash = auditHash({ ...row, actor: row.actor ?? 'system', prev });
    update.run(row.actor ?? 'system', prev, hash, row.seq);
    prev = hash;
  }
}

function chainRow(r: Row): ChainRow {
  return {
    seq: num(r.seq),
    at: num(r.at),
    jobId: strOrNull(r.job_id),
    event: String(r.event),
    actor: strOrNull(r.actor),
    purpose: strOrNull(r.purpose),
    detail: JSON.parse(String(r.detail)) as JsonObject,
    prev: String(r.prev_hash ?? ''),
    hash: strOrNull(r.hash),
  };
}

/** Appends one chained event; the caller's transaction (IMMEDIATE: writers are serialised) makes it atomic. */
export function appendChained(db: Database.Database, jobId: string | null, entry: AuditInput, now: number): AuditEntry {
  const last = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as Row | undefined;
  const seq = last ? num(last.seq) + 1 : 1;
  const prev = last ? String(last.hash ?? GENESIS_HASH) : GENESIS_HASH;
  const detail = entry.detail ?? {};
  const fields = {
    seq,
    at: now,
    jobId,
    event: entry.event,
    actor: entry.actor ?? 'system',
    purpose: entry.purpose ?? null,
    detail,
    prev,
  };
  const hash = auditHash(fields);
  db.prepare(
    `INSERT INTO audit (seq, at, job_id, event, detail, actor, purpose, prev_hash, hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(seq, now, jobId, entry.event, JSON.stringify(detail), fields.actor, fields.purpose, prev, hash);
  return {
    seq,
    at: now,
    jobId,
    event: entry.event,
    detail,
    actor: fields.actor,
    purpose: fields.purpose,
    prevHash: prev,
    hash,
  };
}

function toRelease(r: Row): ReleaseRecord {
  return {
    jobId: String(r.job_id),
    destination: String(r.destination),
    vendor: strOrNull(r.vendor),
    contract: strOrNull(r.contract),
    purpose: strOrNull(r.purpose),
    region: strOrNull(r.region),
    retentionDays: numOrNull(r.retention_days),
    confirmDeletion: Boolean(num(r.confirm_deletion)),
    releasedAt: num(r.released_at),
    expiresAt: numOrNull(r.expires_at),
    deletedAt: numOrNull(r.deleted_at),
    deletedBy: strOrNull(r.deleted_by),
    deliveryState: (strOrNull(r.delivery_state) as ReleaseRecord['deliveryState']) ?? null,
    deliveredAt: numOrNull(r.delivered_at),
  };
}

function toAccount(r: Row): Account {
  return {
    name: String(r.name),
    role: String(r.role) as AccountRole,
    passwordHash: String(r.password_hash),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

const RELEASE_SELECT = `SELECT r.*, d.state AS delivery_state, d.delivered_at AS delivered_at FROM releases r
  LEFT JOIN deliveries d ON d.job_id = r.job_id AND d.destination = r.destination`;

export class SqliteGovernanceStore implements GovernanceStore {
  readonly path: string;
  #db: Database.Database | undefined;

  constructor(path: string) {
    this.path = path;
  }

  get #conn(): Database.Database {
    if (!this.#db) throw new Error('STORE_NOT_OPEN');
    return this.#db;
  }

  #tx<T>(fn: (db: Database.Database) => T): T {
    const db = this.#conn;
    return db.transaction(() => fn(db)).immediate();
  }

  async init(): Promise<void> {
    if (!this.#db) {
      const db = new Database(this.path);
      db.pragma('busy_timeout = 10000');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      this.#db = db;
    }
    this.#tx((db) => {
      db.exec(SCHEMA);
      upgradeAudit(db);
      db.exec(GOVERNANCE_SCHEMA);
    });
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
  }

  async appendAudit(jobId: string | null, entry: AuditInput, now: number): Promise<AuditEntry> {
    return this.#tx((db) => appendChained(db, jobId, entry, now));
  }

  async *auditPages(pageSize = 1000): AsyncIterable<ChainRow[]> {
    let after = Number.MIN_SAFE_INTEGER;
    for (;;) {
      const rows = this.#conn
        .prepare('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?')
        .all(after, pageSize) as Row[];
      if (rows.length === 0) return;
      const page = rows.map(chainRow);
      yield page;
      after = page[page.length - 1]!.seq;
      if (rows.length < pageSize) return;
    }
  }

  async listAudit(
    filter: {
      readonly afterSeq?: number;
      readonly jobId?: string;
      readonly event?: string;
      readonly limit?: number;
      readonly desc?: boolean;
    } = {},
  ): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.afterSeq !== undefined) {
      where.push('seq > ?');
      args.push(filter.afterSeq);
    }
    if (filter.jobId !== undefined) {
      where.push('job_id = ?');
      args.push(filter.jobId);
    }
    if (filter.event !== undefined) {
      where.push('event = ?');
      args.push(filter.event);
    }
    args.push(filter.limit ?? 1000);
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY seq ${filter.desc ? 'DESC' : ''} LIMIT ?`;
    return (this.#conn.prepare(sql).all(...args) as Row[]).map(toAudit);
  }

  async auditHead(): Promise<{ seq: number; hash: string } | null> {
    const r = this.#conn.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as Row | undefined;
    return r && r.hash ? { seq: num(r.seq), hash: String(r.hash) } : null;
  }

  async addCheckpoint(c: AuditCheckpoint): Promise<void> {
    this.#tx((db) => {
      db.prepare(
        `INSERT INTO audit_checkpoints (seq, hash, at, signature, key_id) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (seq) DO NOTHING`,
      ).run(c.seq, c.hash, c.at, c.signature, c.keyId);
    });
  }

  async listCheckpoints(): Promise<AuditCheckpoint[]> {
    return (this.#conn.prepare('SELECT * FROM audit_checkpoints ORDER BY seq').all() as Row[]).map((r) => ({
      seq: num(r.seq),
      hash: String(r.hash),
      at: num(r.at),
      signature: String(r.signature),
      keyId: String(r.key_id),
    }));
  }

  async setConsent(
    patientKey: string,
    purpose: string,
    choice: ConsentChoice | null,
    change: ConsentChange,
    now: number,
  ): Promise<void> {
    this.#tx((db) => {
      if (choice === null)
        db.prepare('DELETE FROM consent WHERE patient_key = ? AND purpose = ?').run(patientKey, purpose);
      else {
        db.prepare(
          `INSERT INTO consent (patient_key, purpose, choice, updated_at, actor) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (patient_key, purpose) DO UPDATE SET choice = excluded.choice, updated_at = excluded.updated_at,
             actor = excluded.actor`,
        ).run(patientKey, purpose, choice, now, change.actor);
      }
      appendChained(
        db,
        null,
        {
          event: 'consent.changed',
          actor: change.actor,
          purpose,
          detail: { patientKey, choice: choice ?? 'default', via: change.via },
        },
        now,
      );
    });
  }

  async listConsent(patientKey: string): Promise<ConsentRecord[]> {
    return (
      this.#conn.prepare('SELECT * FROM consent WHERE patient_key = ? ORDER BY purpose').all(patientKey) as Row[]
    ).map((r) => ({
      patientKey: String(r.patient_key),
      purpose: String(r.purpose),
      choice: String(r.choice) as ConsentChoice,
      updatedAt: num(r.updated_at),
      actor: String(r.actor),
    }));
  }

  async consentCounts(): Promise<Record<string, { optOut: number; optIn: number }>> {
    const out: Record<string, { optOut: number; optIn: number }> = {};
    for (const r of this.#conn
      .prepare('SELECT purpose, choice, COUNT(*) AS n FROM consent GROUP BY purpose, choice')
      .all() as Row[]) {
      const o = out[String(r.purpose)] ?? { optOut: 0, optIn: 0 };
      out[String(r.purpose)] = o;
      if (r.choice === 'opt-out') o.optOut = num(r.n);
      else o.optIn = num(r.n);
    }
    return out;
  }

  async recordRelease(rel: NewRelease, now: number): Promise<ReleaseRecord> {
    return this.#tx((db) => {
      const expires = rel.retentionDays === null ? null : now + rel.retentionDays * 86_400_000;
      const info = db
        .prepare(
          `INSERT INTO releases (job_id, destination, vendor, contract, purpose, region, retention_days,
             confirm_deletion, released_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (job_id, destination) DO NOTHING`,
        )
        .run(
          rel.jobId,
          rel.destination,
          rel.vendor,
          rel.contract,
          rel.purpose,
          rel.region,
          rel.retentionDays,
          rel.confirmDeletion ? 1 : 0,
          now,
          expires,
        );
      if (info.changes === 1) {
        const detail: JsonObject = { destination: rel.destination };
        if (rel.vendor !== null) detail.vendor = rel.vendor;
        if (rel.contract !== null) detail.contract = rel.contract;
        if (rel.region !== null) detail.region = rel.region;
        if (expires !== null) detail.expiresAt = expires;
        appendChained(db, rel.jobId, { event: 'release.recorded', purpose: rel.purpose, detail }, now);
      }
      return toRelease(
        db.prepare(`${RELEASE_SELECT} WHERE r.job_id = ? AND r.destination = ?`).get(rel.jobId, rel.destination) as Row,
      );
    });
  }

  async listReleases(filter: ReleaseFilter = {}): Promise<ReleaseRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.vendor !== undefined) {
      where.push('r.vendor = ?');
      args.push(filter.vendor);
    }
    if (filter.destination !== undefined) {
      where.push('r.destination = ?');
      args.push(filter.destination);
    }
    if (filter.jobId !== undefined) {
      where.push('r.job_id = ?');
      args.push(filter.jobId);
    }
    if (filter.overdueAt !== undefined) {
      where.push(
        "d.state = 'delivered' AND r.confirm_deletion = 1 AND r.deleted_at IS NULL AND r.expires_at IS NOT NULL AND r.expires_at <= ?",
      );
      args.push(filter.overdueAt);
    }
    args.push(filter.limit ?? 100_000);
    const sql = `${RELEASE_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY r.released_at, r.job_id, r.destination LIMIT ?`;
    return (this.#conn.prepare(sql).all(...args) as Row[]).map(toRelease);
  }

  async confirmDeletion(
    target: { readonly destination: string; readonly jobIds?: readonly string[]; readonly releasedBefore?: number },
    actor: string,
    now: number,
  ): Promise<number> {
    return this.#tx((db) => {
      const where = ['r.destination = ?', 'r.deleted_at IS NULL', "d.state = 'delivered'"];
      const args: unknown[] = [target.destination];
      if (target.jobIds) {
        if (target.jobIds.length === 0) return 0;
        where.push(`r.job_id IN (${target.jobIds.map(() => '?').join(',')})`);
        args.push(...target.jobIds);
      }
      if (target.releasedBefore !== undefined) {
        where.push('r.released_at <= ?');
        args.push(target.releasedBefore);
      }
      const ids = (
        db
          .prepare(
            `SELECT r.job_id FROM releases r JOIN deliveries d ON d.job_id = r.job_id AND d.destination = r.destination
             WHERE ${where.join(' AND ')}`,
          )
          .all(...args) as Row[]
      ).map((r) => String(r.job_id));
      const update = db.prepare(
        'UPDATE releases SET deleted_at = ?, deleted_by = ? WHERE job_id = ? AND destination = ?',
      );
      for (const id of ids) update.run(now, actor, id, target.destination);
      appendChained(
        db,
        null,
        { event: 'deletion.confirmed', actor, detail: { destination: target.destination, count: ids.length } },
        now,
      );
      return ids.length;
    });
  }

  async listPatientJobs(patientKey: string, limit = 1000): Promise<Job[]> {
    return (
      this.#conn
        .prepare("SELECT * FROM jobs WHERE json_extract(step_state, '$.patientKey') = ? ORDER BY id LIMIT ?")
        .all(patientKey, limit) as Row[]
    ).map(toJob);
  }

  async createInvite(
    codeHash: string,
    patientKey: string,
    expiresAt: number,
    actor: string,
    now: number,
  ): Promise<void> {
    this.#tx((db) => {
      db.prepare('INSERT INTO portal_invites (code_hash, patient_key, created_at, expires_at) VALUES (?, ?, ?, ?)').run(
        codeHash,
        patientKey,
        now,
        expiresAt,
      );
      appendChained(db, null, { event: 'portal.invited', actor, detail: { patientKey, expiresAt } }, now);
    });
  }

  async redeemInvite(codeHash: string, now: number): Promise<string | undefined> {
    return this.#tx((db) => {
      const r = db
        .prepare(
          `UPDATE portal_invites SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?
           RETURNING patient_key`,
        )
        .get(now, codeHash, now) as Row | undefined;
      if (!r) return undefined;
      const patientKey = String(r.patient_key);
      appendChained(db, null, { event: 'portal.login', actor: 'portal:patient', detail: { patientKey } }, now);
      return patientKey;
    });
  }

  async putAccount(
    account: { name: string; role: AccountRole; passwordHash: string },
    actor: string,
    now: number,
  ): Promise<void> {
    this.#tx((db) => {
      db.prepare(
        `INSERT INTO accounts (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash,
           updated_at = excluded.updated_at`,
      ).run(account.name, account.role, account.passwordHash, now, now);
      appendChained(
        db,
        null,
        { event: 'account.set', actor, detail: { account: account.name, role: account.role } },
        now,
      );
    });
  }

  async getAccount(name: string): Promise<Account | undefined> {
    const r = this.#conn.prepare('SELECT * FROM accounts WHERE name = ?').get(name) as Row | undefined;
    return r ? toAccount(r) : undefined;
  }

  async listAccounts(): Promise<Account[]> {
    return (this.#conn.prepare('SELECT * FROM accounts ORDER BY name').all() as Row[]).map(toAccount);
  }

  async putVendorToken(tokenHash: string, destination: string, actor: string, now: number): Promise<void> {
    this.#tx((db) => {
      db.prepare('INSERT INTO vendor_tokens (token_hash, destination, created_at) VALUES (?, ?, ?)').run(
        tokenHash,
        destination,
        now,
      );
      appendChained(db, null, { event: 'vendor.token', actor, detail: { destination } }, now);
    });
  }

  async vendorTokenDestination(tokenHash: string): Promise<string | undefined> {
    const r = this.#conn.prepare('SELECT destination FROM vendor_tokens WHERE token_hash = ?').get(tokenHash) as
      | Row
      | undefined;
    return r ? String(r.destination) : undefined;
  }

  async putCrosswalk(rows: readonly CrosswalkRecord[], now: number): Promise<number> {
    if (rows.length === 0) return 0;
    return this.#tx((db) => {
      const insert = db.prepare(
        'INSERT INTO crosswalk (blind, kind, key_id, sealed, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (blind) DO NOTHING',
      );
      let n = 0;
      for (const r of rows) n += insert.run(r.blind, r.kind, r.keyId, r.sealed, now).changes;
      return n;
    });
  }

  async getCrosswalk(blinds: readonly string[]): Promise<CrosswalkRecord[]> {
    const select = this.#conn.prepare('SELECT blind, kind, key_id, sealed FROM crosswalk WHERE blind = ?');
    const out: CrosswalkRecord[] = [];
    for (const b of new Set(blinds)) {
      const r = select.get(b) as Row | undefined;
      if (r)
        out.push({ blind: String(r.blind), kind: String(r.kind), keyId: String(r.key_id), sealed: String(r.sealed) });
    }
    return out;
  }

  async crosswalkCount(): Promise<number> {
    return num((this.#conn.prepare('SELECT COUNT(*) AS n FROM crosswalk').get() as Row).n);
  }
}
