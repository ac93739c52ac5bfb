/**
 * The GovernanceStore port: what the gateway keeps about purposes of use, patients' choices and vendors' contracts,
 * in the same database as the JobStore (its own tables beside the job tables, joined with them where needed):
 *
 *   - the hash-chained audit trail (audit-chain.ts): appends with actor and purpose, signed checkpoints;
 *   - the consent registry: per patient key (HMAC of issuer + Patient ID with the project key, never the ID) and
 *     purpose, an opt-out or an opt-in;
 *   - releases: one per (job, destination) sent under a contract, written before the bytes leave, with the expiry the
 *     contract's retention gives and the vendor's deletion confirmation;
 *   - portal invitations (hashes of one-time codes), local console accounts (scrypt hashes), vendor API tokens
 *     (hashes).
 *
 * Every change appends its audit event in the same transaction. Implementations: SqliteGovernanceStore
 * (@veil/store-sqlite), PostgresGovernanceStore (@veil/store-postgres); both pass runGovernanceSuite.
 *
 * Example:
 *   await gov.setConsent(patientKey, 'research', 'opt-out', { actor: 'portal:patient', via: 'portal' }, Date.now());
 *   const choices = await gov.listConsent(patientKey); // [{ purpose: 'research', choice: 'opt-out', ... }]
 */
import type { AuditCheckpoint, ChainRow } from './audit-chain.ts';
import type { AuditEntry, AuditInput, DeliveryState, Job } from './model.ts';

export type ConsentChoice = 'opt-out' | 'opt-in';

export interface ConsentRecord {
  readonly patientKey: string;
  readonly purpose: string;
  readonly choice: ConsentChoice;
  readonly updatedAt: number;
  readonly actor: string;
}

export interface ConsentChange {
  readonly actor: string;
  /** cli, import, console, portal, api. */
  readonly via: string;
}

export interface NewRelease {
  readonly jobId: string;
  readonly destination: string;
  readonly vendor: string | null;
  readonly contract: string | null;
  readonly purpose: string | null;
  readonly region: string | null;
  readonly retentionDays: number | null;
  readonly confirmDeletion: boolean;
}

export interface ReleaseRecord extends NewRelease {
  readonly releasedAt: number;
  /** releasedAt + retentionDays; null without a retention. */
  readonly expiresAt: number | null;
  readonly deletedAt: number | null;
  readonly deletedBy: string | null;
  /** The delivery's state in the job store (delivered, or still being sent, or dead). */
  readonly deliveryState: DeliveryState | null;
  readonly deliveredAt: number | null;
}

export interface ReleaseFilter {
  readonly vendor?: string;
  readonly destination?: string;
  readonly jobId?: string;
  /** Delivered, deletion to be confirmed, expired at or before this time and not confirmed. */
  readonly overdueAt?: number;
  readonly limit?: number;
}

export type AccountRole = 'admin' | 'privacy-officer' | 'operator';
export const ACCOUNT_ROLES: readonly AccountRole[] = ['admin', 'privacy-officer', 'operator'];

export interface Account {
  readonly name: string;
  readonly role: AccountRole;
  /** scrypt$N$r$p$salt$hash (base64). */
  readonly passwordHash: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/**
 * One sealed crosswalk row (the gateway's crosswalk, apps/veil/src/governance/crosswalk.ts): the store keeps it
 * opaque. `blind` is a keyed hash of (kind, pseudonym), the only way to find the row; `sealed` is the identity
 * encrypted to the crosswalk's public key, which only the holder of its private key opens; `keyId` names that key.
 */
export interface CrosswalkRecord {
  readonly blind: string;
  readonly kind: string;
  readonly keyId: string;
  readonly sealed: string;
}

export interface GovernanceStore {
  /** Creates its tables (and chains audit rows written before the chain existed). Idempotent. */
  init(): Promise<void>;
  close(): Promise<void>;

  /** Appends one chained event (actor default `system`). */
  appendAudit(jobId: string | null, entry: AuditInput, now: number): Promise<AuditEntry>;
  /** Every event in seq order, in pages (for verification). */
  auditPages(pageSize?: number): AsyncIterable<ChainRow[]>;
  listAudit(filter?: {
    readonly afterSeq?: number;
    readonly jobId?: string;
    readonly event?: string;
    readonly limit?: number;
    /** Newest first. */
    readonly desc?: boolean;
  }): Promise<AuditEntry[]>;
  auditHead(): Promise<{ readonly seq: number; readonly hash: string } | null>;
  addCheckpoint(checkpoint: AuditCheckpoint): Promise<void>;
  listCheckpoints(): Promise<AuditCheckpoint[]>;

  /** Records a choice (null: back to the purpose's default) and audits `consent.changed`. */
  setConsent(
    patientKey: string,
    purpose: string,
    choice: ConsentChoice | null,
    change: ConsentChange,
    now: number,
  ): Promise<void>;
  listConsent(patientKey: string): Promise<ConsentRecord[]>;
  /** Counts of choices per purpose (fact sheet, metrics). */
  consentCounts(): Promise<Record<string, { optOut: number; optIn: number }>>;

  /** Records a release before its bytes leave; a second call for the same (job, destination) keeps the first. */
  recordRelease(release: NewRelease, now: number): Promise<ReleaseRecord>;
  listReleases(filter?: ReleaseFilter): Promise<ReleaseRecord[]>;
  /**
   * Records the vendor's confirmation that its copies are deleted: the given jobs, or every delivered release of the
   * destination released at or before `releasedBefore`. Audits `deletion.confirmed` with the count. Returns the count.
   */
  confirmDeletion(
    target: { readonly destination: string; readonly jobIds?: readonly string[]; readonly releasedBefore?: number },
    actor: string,
    now: number,
  ): Promise<number>;

  /** The jobs whose gate step recorded this patient key (stepState.patientKey), oldest first. */
  listPatientJobs(patientKey: string, limit?: number): Promise<Job[]>;

  /** Stores a one-time portal code's hash; audits `portal.invited`. */
  createInvite(codeHash: string, patientKey: string, expiresAt: number, actor: string, now: number): Promise<void>;
  /** Uses a code once: its patient key when it exists, is unused and unexpired. */
  redeemInvite(codeHash: string, now: number): Promise<string | undefined>;

  putAccount(
    account: { name: string; role: AccountRole; passwordHash: string },
    actor: string,
    now: number,
  ): Promise<void>;
  getAccount(name: string): Promise<Account | undefined>;
  listAccounts(): Promise<Account[]>;

  /** A vendor's API token (its hash) for one destination; audits `vendor.token`. */
  putVendorToken(tokenHash: string, destination: string, actor: string, now: number): Promise<void>;
  vendorTokenDestination(tokenHash: string): Promise<string | undefined>;

  /** Stores sealed crosswalk rows; a row whose blind index is already stored keeps the first. Returns how many were new. */
  putCrosswalk(rows: readonly CrosswalkRecord[], now: number): Promise<number>;
  /** The rows with these blind indexes (any order; absent ones are left out). */
  getCrosswalk(blinds: readonly string[]): Promise<CrosswalkRecord[]>;
  crosswalkCount(): Promise<number>;
}
