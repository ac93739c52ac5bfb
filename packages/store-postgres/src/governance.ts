/**
 * GovernanceStore on PostgreSQL, in the job store's schema (its own pool): the chained audit trail, consent registry,
 * releases under contracts, portal invitations, accounts, vendor tokens. Also the chained append the job store uses.
 *
 * Chaining across processes: an event is appended at the end of its transaction, under a transaction-scoped advisory
 * lock, after every row lock the transaction takes (so two transactions never wait on each other in opposite orders):
 * the head read after the lock is the last committed event.
 *
 * Example:
 *   const gov = new PostgresGovernanceStore({ connectionString: 'postgres://postgres@127.0.0.1/veil', schema: 'veil' });
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
import pg from 'pg';
import { SCHEMA_NAME, schemaSql } from './schema.ts';

const { toJob, toAudit } = rowMappers((v) => v);

export function governanceSql(s: string): string {
  return `
ALTER TABLE ${s}.audit ADD COLUMN IF NOT EXISTS actor TEXT;
ALTER TABLE ${s}.audit ADD COLUMN IF NOT EXISTS purpose TEXT;
ALTER TABLE ${s}.audit ADD COLUMN IF NOT EXISTS prev_hash TEXT;
ALTER TABLE ${s}.audit ADD COLUMN IF NOT EXISTS hash TEXT;
CREATE TABLE IF NOT EXISTS ${s}.audit_checkpoints (
  seq BIGINT PRIMARY KEY,
  hash TEXT NOT NULL,
  at BIGINT NOT NULL,
  signature TEXT NOT NULL,
  key_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.consent (
  patient_key TEXT NOT NULL,
  purpose TEXT NOT NULL,
  choice TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  PRIMARY KEY (patient_key, purpose)
);
CREATE TABLE IF NOT EXISTS ${s}.releases (
  job_id TEXT NOT NULL,
  destination TEXT NOT NULL,
  vendor TEXT,
  contract TEXT,
  purpose TEXT,
  region TEXT,
  retention_days INTEGER,
  confirm_deletion BOOLEAN NOT NULL,
  released_at BIGINT NOT NULL,
  expires_at BIGINT,
  deleted_at BIGINT,
  deleted_by TEXT,
  PRIMARY KEY (job_id, destination)
);
CREATE INDEX IF NOT EXISTS releases_vendor ON ${s}.releases (vendor, released_at);
CREATE TABLE IF NOT EXISTS ${s}.portal_invites (
  code_hash TEXT PRIMARY KEY,
  patient_key TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE TABLE IF NOT EXISTS ${s}.accounts (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.vendor_tokens (
  token_hash TEXT PRIMARY KEY,
  destination TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_patient ON ${s}.jobs ((step_state->>'patientKey'));
CREATE TABLE IF NOT EXISTS ${s}.crosswalk (
  blind TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  key_id TEXT NOT NULL,
  sealed TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
`;
}

/** Adds the chain's columns (idempotent) and chains legacy rows once, when nothing was chained yet. */
export async function upgradeAuditPg(c: pg.PoolClient, schema: string): Promise<void> {
  const s = `"${schema}"`;
  await c.query(governanceSql(s));
  const [{ unchained, chained }] = (
    await c.query(
      `SELECT COUNT(*) FILTER (WHERE hash IS NULL) AS unchained, COUNT(*) FILTER (WHERE hash IS NOT NULL) AS chained
       FROM ${s}.audit`,
    )
  ).rows as [{ unchained: string; chained: string }];
  if (Number(unchained) === 0 || Number(chained) > 0) return;
  let prev = GENESIS_HASH;
  for (const r of (await c.query(`SELECT * FROM ${s}.audit ORDER BY seq`)).rows as Row[]) {
    const row = chainRow(r);
    const hash = auditHash({ ...row, actor: row.actor ?? 'system', prev });
    await c.query(`UPDATE ${s}.audit SET actor = $1, prev_hash = $2, hash = $3 WHERE seq = $4`, [
      row.actor ?? 'system',
      prev,
      hash,
      row.seq,
    ]);
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
    detail: r.detail as JsonObject,
    prev: String(r.prev_hash ?? ''),
    hash: strOrNull(r.hash),
  };
}

export interface PendingAudit {
  readonly jobId: string | null;
  readonly entry: AuditInput;
  readonly now: number;
}

/**
 * Appends events at the end of a transaction (call it last, just before COMMIT): takes the schema's audit lock, reads
 * the head, chains each event to it.
 */
export async function appendChainedPg(
  c: pg.PoolClient,
  schema: string,
  pending: readonly PendingAudit[],
): Promise<AuditEntry[]> {
  if (pending.length === 0) return [];
  const s = `"${schema}"`;
  await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`veil-audit:${schema}`]);
  const [last] = (await c.query(`SELECT seq, hash FROM ${s}.audit ORDER BY seq DESC LIMIT 1`)).rows as Row[];
  let seq = last ? num(last.seq) : 0;
  let prev = last ? String(last.hash ?? GENESIS_HASH) : GENESIS_HASH;
  const out: AuditEntry[] = [];
  for (const p of pending) {
    seq++;
    const detail = p.entry.detail ?? {};
    const fields = {
      seq,
      at: p.now,
      jobId: p.jobId,
      event: p.entry.event,
      actor: p.entry.actor ?? 'system',
      purpose: p.entry.purpose ?? null,
      detail,
      prev,
    };
    const hash = auditHash(fields);
    await c.query(
      `INSERT INTO ${s}.audit (seq, at, job_id, event, detail, actor, purpose, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [seq, p.now, p.jobId, p.entry.event, JSON.stringify(detail), fields.actor, fields.purpose, prev, hash],
    );
    out.push({ ...fields, prevHash: prev, hash });
    prev = hash;
  }
  // Keep the serial in step with explicit seqs (a later plain insert must not collide).
  await c.query(`SELECT setval(pg_get_serial_sequence('${s}.audit', 'seq'), $1)`, [seq]);
  return out;
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
    confirmDeletion: Boolean(r.confirm_deletion),
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

export interface PostgresGovernanceStoreOptions {
  readonly connectionString: string;
  readonly schema?: string;
  readonly max?: number;
}

export class PostgresGovernanceStore implements GovernanceStore {
  readonly schema: string;
  readonly #pool: pg.Pool;
  #closed = false;

  constructor(options: PostgresGovernanceStoreOptions) {
    this.schema = options.schema ?? 'veil';
    if (!SCHEMA_NAME.test(this.schema)) throw new Error('STORE_BAD_SCHEMA_NAME');
    this.#pool = new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 4 });
    this.#pool.on('error', () => {});
  }

  #t(table: string): string {
    return `"${this.schema}".${table}`;
  }

  /** One transaction; audit events pushed to `audit` are appended last, chained. */
  async #tx<T>(fn: (c: pg.PoolClient, audit: PendingAudit[]) => Promise<T>): Promise<T> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      const pending: PendingAudit[] = [];
      const out = await fn(c, pending);
      await appendChainedPg(c, this.schema, pending);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async #rows(sql: string, args: unknown[] = []): Promise<Row[]> {
    return (await this.#pool.query(sql, args)).rows as Row[];
  }

  #releaseSelect(): string {
    return `SELECT r.*, d.state AS delivery_state, d.delivered_at AS delivered_at FROM ${this.#t('releases')} r
      LEFT JOIN ${this.#t('deliveries')} d ON d.job_id = r.job_id AND d.destination = r.destination`;
  }

  async init(): Promise<void> {
    await this.#tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`veil-schema:${this.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await c.query(schemaSql(`"${this.schema}"`));
      await upgradeAuditPg(c, this.schema);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  async appendAudit(jobId: string | null, entry: AuditInput, now: number): Promise<AuditEntry> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      const [out] = await appendChainedPg(c, this.schema, [{ jobId, entry, now }]);
      await c.query('COMMIT');
      return out!;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async *auditPages(pageSize = 1000): AsyncIterable<ChainRow[]> {
    let after = Number.MIN_SAFE_INTEGER;
    for (;;) {
      const rows = await this.#rows(`SELECT * FROM ${this.#t('audit')} WHERE seq > $1 ORDER BY seq LIMIT $2`, [
        after,
        pageSize,
      ]);
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
      args.push(filter.afterSeq);
      where.push(`seq > $${args.length}`);
    }
    if (filter.jobId !== undefined) {
      args.push(filter.jobId);
      where.push(`job_id = $${args.length}`);
    }
    if (filter.event !== undefined) {
      args.push(filter.event);
      where.push(`event = $${args.length}`);
    }
    args.push(filter.limit ?? 1000);
    const sql = `SELECT * FROM ${this.#t('audit')} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY seq ${filter.desc ? 'DESC' : ''} LIMIT $${args.length}`;
    return (await this.#rows(sql, args)).map(toAudit);
  }

  async auditHead(): Promise<{ seq: number; hash: string } | null> {
    const [r] = await this.#rows(`SELECT seq, hash FROM ${this.#t('audit')} ORDER BY seq DESC LIMIT 1`);
    return r && r.hash ? { seq: num(r.seq), hash: String(r.hash) } : null;
  }

  async addCheckpoint(c: AuditCheckpoint): Promise<void> {
    await this.#pool.query(
      `INSERT INTO ${this.#t('audit_checkpoints')} (seq, hash, at, signature, key_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (seq) DO NOTHING`,
      [c.seq, c.hash, c.at, c.signature, c.keyId],
    );
  }

  async listCheckpoints(): Promise<AuditCheckpoint[]> {
    return (await this.#rows(`SELECT * FROM ${this.#t('audit_checkpoints')} ORDER BY seq`)).map((r) => ({
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
    await this.#tx(async (c, audit) => {
      if (choice === null) {
        await c.query(`DELETE FROM ${this.#t('consent')} WHERE patient_key = $1 AND purpose = $2`, [
          patientKey,
          purpose,
        ]);
      } else {
        await c.query(
          `INSERT INTO ${this.#t('consent')} (patient_key, purpose, choice, updated_at, actor)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (patient_key, purpose) DO UPDATE SET choice = excluded.choice,
             updated_at = excluded.updated_at, actor = excluded.actor`,
          [patientKey, purpose, choice, now, change.actor],
        );
      }
      audit.push({
        jobId: null,
        entry: {
          event: 'consent.changed',
          actor: change.actor,
          purpose,
          detail: { patientKey, choice: choice ?? 'default', via: change.via },
        },
        now,
      });
    });
  }

  async listConsent(patientKey: string): Promise<ConsentRecord[]> {
    return (
      await this.#rows(`SELECT * FROM ${this.#t('consent')} WHERE patient_key = $1 ORDER BY purpose COLLATE "C"`, [
        patientKey,
      ])
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
    for (const r of await this.#rows(
      `SELECT purpose, choice, COUNT(*) AS n FROM ${this.#t('consent')} GROUP BY purpose, choice`,
    )) {
      const o = out[String(r.purpose)] ?? { optOut: 0, optIn: 0 };
      out[String(r.purpose)] = o;
      if (r.choice === 'opt-out') o.optOut = num(r.n);
      else o.optIn = num(r.n);
    }
    return out;
  }

  async recordRelease(rel: NewRelease, now: number): Promise<ReleaseRecord> {
    return this.#tx(async (c, audit) => {
      const expires = rel.retentionDays === null ? null : now + rel.retentionDays * 86_400_000;
      const inserted = await c.query(
        `INSERT INTO ${this.#t('releases')} (job_id, destination, vendor, contract, purpose, region, retention_days,
           confirm_deletion, released_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (job_id, destination) DO NOTHING RETURNING job_id`,
        [
          rel.jobId,
          rel.destination,
          rel.vendor,
          rel.contract,
          rel.purpose,
          rel.region,
          rel.retentionDays,
          rel.confirmDeletion,
          now,
          expires,
        ],
      );
      if (inserted.rowCount === 1) {
        const detail: JsonObject = { destination: rel.destination };
        if (rel.vendor !== null) detail.vendor = rel.vendor;
        if (rel.contract !== null) detail.contract = rel.contract;
        if (rel.region !== null) detail.region = rel.region;
        if (expires !== null) detail.expiresAt = expires;
        audit.push({ jobId: rel.jobId, entry: { event: 'release.recorded', purpose: rel.purpose, detail }, now });
      }
      const [row] = (
        await c.query(`${this.#releaseSelect()} WHERE r.job_id = $1 AND r.destination = $2`, [
          rel.jobId,
          rel.destination,
        ])
      ).rows as Row[];
      return toRelease(row!);
    });
  }

  async listReleases(filter: ReleaseFilter = {}): Promise<ReleaseRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.vendor !== undefined) {
      args.push(filter.vendor);
      where.push(`r.vendor = $${args.length}`);
    }
    if (filter.destination !== undefined) {
      args.push(filter.destination);
      where.push(`r.destination = $${args.length}`);
    }
    if (filter.jobId !== undefined) {
      args.push(filter.jobId);
      where.push(`r.job_id = $${args.length}`);
    }
    if (filter.overdueAt !== undefined) {
      args.push(filter.overdueAt);
      where.push(
        `d.state = 'delivered' AND r.confirm_deletion AND r.deleted_at IS NULL AND r.expires_at IS NOT NULL
         AND r.expires_at <= $${args.length}`,
      );
    }
    args.push(filter.limit ?? 100_000);
    const sql = `${this.#releaseSelect()} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY r.released_at, r.job_id COLLATE "C", r.destination COLLATE "C" LIMIT $${args.length}`;
    return (await this.#rows(sql, args)).map(toRelease);
  }

  async confirmDeletion(
    target: { readonly destination: string; readonly jobIds?: readonly string[]; readonly releasedBefore?: number },
    actor: string,
    now: number,
  ): Promise<number> {
    if (target.jobIds && target.jobIds.length === 0) return 0;
    return this.#tx(async (c, audit) => {
      const args: unknown[] = [now, actor, target.destination];
      const where = [
        `r.destination = $3`,
        'r.deleted_at IS NULL',
        `EXISTS (SELECT 1 FROM ${this.#t('deliveries')} d WHERE d.job_id = r.job_id AND d.destination = r.destination
                 AND d.state = 'delivered')`,
      ];
      if (target.jobIds) {
        args.push([...target.jobIds]);
        where.push(`r.job_id = ANY($${args.length})`);
      }
      if (target.releasedBefore !== undefined) {
        args.push(target.releasedBefore);
        where.push(`r.released_at <= $${args.length}`);
      }
      const r = await c.query(
        `UPDATE ${this.#t('releases')} r SET deleted_at = $1, deleted_by = $2 WHERE ${where.join(' AND ')}`,
        args,
      );
      const count = r.rowCount ?? 0;
      audit.push({
        jobId: null,
        entry: { event: 'deletion.confirmed', actor, detail: { destination: target.destination, count } },
        now,
      });
      return count;
    });
  }

  async listPatientJobs(patientKey: string, limit = 1000): Promise<Job[]> {
    return (
      await this.#rows(
        `SELECT * FROM ${this.#t('jobs')} WHERE step_state->>'patientKey' = $1 ORDER BY id COLLATE "C" LIMIT $2`,
        [patientKey, limit],
      )
    ).map(toJob);
  }

  async createInvite(
    codeHash: string,
    patientKey: string,
    expiresAt: number,
    actor: string,
    now: number,
  ): Promise<void> {
    await this.#tx(async (c, audit) => {
      await c.query(
        `INSERT INTO ${this.#t('portal_invites')} (code_hash, patient_key, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
        [codeHash, patientKey, now, expiresAt],
      );
      audit.push({ jobId: null, entry: { event: 'portal.invited', actor, detail: { patientKey, expiresAt } }, now });
    });
  }

  async redeemInvite(codeHash: string, now: number): Promise<string | undefined> {
    return this.#tx(async (c, audit) => {
      const [r] = (
        await c.query(
          `UPDATE ${this.#t('portal_invites')} SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL
             AND expires_at > $1 RETURNING patient_key`,
          [now, codeHash],
        )
      ).rows as Row[];
      if (!r) return undefined;
      const patientKey = String(r.patient_key);
      audit.push({
        jobId: null,
        entry: { event: 'portal.login', actor: 'portal:patient', detail: { patientKey } },
        now,
      });
      return patientKey;
    });
  }

  async putAccount(
    account: { name: string; role: AccountRole; passwordHash: string },
    actor: string,
    now: number,
  ): Promise<void> {
    await this.#tx(async (c, audit) => {
      await c.query(
        `INSERT INTO ${this.#t('accounts')} (name, role, password_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash,
           updated_at = excluded.updated_at`,
        [account.name, account.role, account.passwordHash, now],
      );
      audit.push({
        jobId: null,
        entry: { event: 'account.set', actor, detail: { account: account.name, role: account.role } },
        now,
      });
    });
  }

  async getAccount(name: string): Promise<Account | undefined> {
    const [r] = await this.#rows(`SELECT * FROM ${this.#t('accounts')} WHERE name = $1`, [name]);
    return r ? toAccount(r) : undefined;
  }

  async listAccounts(): Promise<Account[]> {
    return (await this.#rows(`SELECT * FROM ${this.#t('accounts')} ORDER BY name COLLATE "C"`)).map(toAccount);
  }

  async putVendorToken(tokenHash: string, destination: string, actor: string, now: number): Promise<void> {
    await this.#tx(async (c, audit) => {
      await c.query(
        `INSERT INTO ${this.#t('vendor_tokens')} (token_hash, destination, created_at) VALUES ($1, $2, $3)`,
        [tokenHash, destination, now],
      );
      audit.push({ jobId: null, entry: { event: 'vendor.token', actor, detail: { destination } }, now });
    });
  }

  async vendorTokenDestination(tokenHash: string): Promise<string | undefined> {
    const [r] = await this.#rows(`SELECT destination FROM ${this.#t('vendor_tokens')} WHERE token_hash = $1`, [
      tokenHash,
    ]);
    return r ? String(r.destination) : undefined;
  }

  async putCrosswalk(rows: readonly CrosswalkRecord[], now: number): Promise<number> {
    if (rows.length === 0) return 0;
    return this.#tx(async (c) => {
      let n = 0;
      for (const r of rows) {
        const res = await c.query(
          `INSERT INTO ${this.#t('crosswalk')} (blind, kind, key_id, sealed, created_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (blind) DO NOTHING`,
          [r.blind, r.kind, r.keyId, r.sealed, now],
        );
        n += res.rowCount ?? 0;
      }
      return n;
    });
  }

  async getCrosswalk(blinds: readonly string[]): Promise<CrosswalkRecord[]> {
    if (blinds.length === 0) return [];
    const rows = await this.#rows(
      `SELECT blind, kind, key_id, sealed FROM ${this.#t('crosswalk')} WHERE blind = ANY($1::text[])`,
      [[...new Set(blinds)]],
    );
    return rows.map((r) => ({
      blind: String(r.blind),
      kind: String(r.kind),
      keyId: String(r.key_id),
      sealed: String(r.sealed),
    }));
  }

  async crosswalkCount(): Promise<number> {
    const [r] = await this.#rows(`SELECT COUNT(*) AS n FROM ${this.#t('crosswalk')}`);
    return num(r?.n ?? 0);
  }
}
