/**
 * The crosswalk: an SQLite file that maps pseudonyms back to identities (patient id, accession number, study UID),
 * kept only for authorised re-identification.
 *
 * - Every row is encrypted with AES-256-GCM; the key is derived with HKDF-SHA-256 (a random salt stored in the file),
 *   64 bytes: 32 for encryption, 32 for the blind index. From a separate crosswalk key (`--crosswalk-key-file`, info
 *   'veil-crosswalk/separate-key'), so that the machines that de-identify (and hold the pseudonym key) cannot read
 *   it back; or, for crosswalks made before that option, from the project key (info 'veil-crosswalk'). The file
 *   records which: opening it with the other kind of key says so.
 * - Written with synchronous=FULL: a mapping whose flush returned survives a power cut.
 * - Rows are found by a blind index, HMAC-SHA-256(index key, kind NUL pseudonym): the file holds no pseudonym or
 *   identity in clear, and nobody without the secret can test a guess against it.
 * - A check value (an HMAC of a constant) tells a wrong key from a missing row without trying to decrypt anything.
 * - Every re-identification attempt, right key or wrong, appends an audit row (time, SHA-256 of the pseudonym,
 *   outcome) to the same file.
 *
 * Example:
 *   const cw = Crosswalk.open('cw.sqlite', key, { create: true });
 *   cw.put('patientId', 'PAT123', 'PSEUDO1'); cw.flush();
 *   cw.lookup('PSEUDO1'); // [{ kind: 'patientId', original: 'PAT123' }]
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { chmodSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { CliError, EXIT_CONFIG } from './cli-error.ts';

export type CrosswalkKind = 'patientId' | 'accession' | 'studyUID';
export const CROSSWALK_KINDS: readonly CrosswalkKind[] = ['patientId', 'accession', 'studyUID'];

const FORMAT = 'veil-crosswalk/1';

/** Which key a crosswalk is encrypted with: its own (separate) key, or (older crosswalks) the project key. */
export type CrosswalkKeyKind = 'crosswalk' | 'project';
const CHECK_INPUT = 'veil-crosswalk-key-check';

export interface CrosswalkEntry {
  readonly kind: CrosswalkKind;
  readonly original: string;
}

type DB = InstanceType<typeof Database>;

export class Crosswalk {
  private pending: [CrosswalkKind, string, string][] = [];
  private readonly seen = new Set<string>();

  private constructor(
    private readonly db: DB,
    private readonly encKey: Buffer,
    private readonly indexKey: Buffer,
  ) {}

  /**
   * Opens (or with create, creates) a crosswalk. Throws CliError exit 3 when the file cannot be opened, is not a
   * crosswalk, or was made with another key; with `auditFailure`, a wrong key is recorded in the audit table first.
   */
  static open(
    path: string,
    secret: Uint8Array,
    options: { create: boolean; auditFailure?: { pseudonym: string }; keyKind?: CrosswalkKeyKind },
  ): Crosswalk {
    const keyKind = options.keyKind ?? 'project';
    let db: DB;
    const isNew = options.create && !existsSync(path);
    try {
      db = new Database(path, { fileMustExist: !options.create });
      // Encrypted, but still nobody else's business; SQLite gives its -wal and -shm files the same mode.
      if (isNew) chmodSync(path, 0o600);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    } catch (e) {
      throw new CliError(EXIT_CONFIG, `cannot open crosswalk ${path} (${(e as { code?: string }).code ?? 'error'})`);
    }
    try {
      if (options.create) {
        db.exec(`
        CREATE TABLE IF NOT EXISTS veil_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS crosswalk (
          blind BLOB PRIMARY KEY, kind TEXT NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL, tag BLOB NOT NULL,
          created_at TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS audit (
          id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, action TEXT NOT NULL, pseudonym_sha256 TEXT NOT NULL,
          outcome TEXT NOT NULL);
      `);
      }
      const meta = new Map(
        (db.prepare('SELECT name, value FROM veil_meta').all() as { name: string; value: string }[]).map((r) => [
          r.name,
          r.value,
        ]),
      );
      if (meta.size === 0 && options.create) {
        const salt = randomBytes(16);
        const { indexKey } = deriveKeys(secret, salt, keyKind);
        const insert = db.prepare('INSERT INTO veil_meta (name, value) VALUES (?, ?)');
        db.transaction(() => {
          insert.run('format', FORMAT);
          insert.run('key', keyKind);
          insert.run('salt', salt.toString('base64'));
          insert.run('check', checkValue(indexKey));
          insert.run('created_at', new Date().toISOString());
        })();
        meta.set('format', FORMAT).set('salt', salt.toString('base64')).set('check', checkValue(indexKey));
        meta.set('key', keyKind);
      }
      if (meta.get('format') !== FORMAT || !meta.get('salt') || !meta.get('check')) {
        throw new CliError(EXIT_CONFIG, `${path} is not a Veil crosswalk (or another version of one)`);
      }
      const madeWith: CrosswalkKeyKind = meta.get('key') === 'crosswalk' ? 'crosswalk' : 'project';
      if (madeWith !== keyKind) {
        if (options.auditFailure) appendAudit(db, options.auditFailure.pseudonym, 'fail-wrong-key');
        throw new CliError(
          EXIT_CONFIG,
          madeWith === 'crosswalk'
            ? `crosswalk ${path} is encrypted with a separate crosswalk key: pass --crosswalk-key-file`
            : `crosswalk ${path} is encrypted with the project key (made without --crosswalk-key-file): pass --key-file`,
        );
      }
      const { encKey, indexKey } = deriveKeys(secret, Buffer.from(meta.get('salt')!, 'base64'), keyKind);
      const want = Buffer.from(meta.get('check')!, 'hex');
      const got = Buffer.from(checkValue(indexKey), 'hex');
      if (want.length !== got.length || !timingSafeEqual(want, got)) {
        if (options.auditFailure) appendAudit(db, options.auditFailure.pseudonym, 'fail-wrong-key');
        throw new CliError(EXIT_CONFIG, `the key does not open crosswalk ${path} (it was made with another key)`);
      }
      return new Crosswalk(db, encKey, indexKey);
    } catch (e) {
      db.close();
      if (e instanceof CliError) throw e;
      throw new CliError(
        EXIT_CONFIG,
        `${path} is not a usable crosswalk (${(e as { code?: string }).code ?? 'error'})`,
      );
    }
  }

  private blind(kind: CrosswalkKind, pseudonym: string): Buffer {
    return createHmac('sha256', this.indexKey).update(`${kind}\0${pseudonym}`).digest();
  }

  /** Queues a mapping; written by flush() (in one transaction). */
  put(kind: CrosswalkKind, original: string, pseudonym: string): void {
    const k = `${kind}\0${pseudonym}`;
    if (this.seen.has(k)) return;
    this.seen.add(k);
    this.pending.push([kind, original, pseudonym]);
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    const insert = this.db.prepare(
      'INSERT OR IGNORE INTO crosswalk (blind, kind, nonce, ciphertext, tag, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const [kind, original, pseudonym] of rows) {
        const blind = this.blind(kind, pseudonym);
        const nonce = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', this.encKey, nonce);
        cipher.setAAD(Buffer.concat([Buffer.from(kind), blind]));
        const ct = Buffer.concat([
          cipher.update(JSON.stringify({ o: original, p: pseudonym }), 'utf8'),
          cipher.final(),
        ]);
        insert.run(blind, kind, nonce, ct, cipher.getAuthTag(), now);
      }
    })();
  }

  /** The identities behind a pseudonym (usually one), without auditing: see reidentify(). */
  lookup(pseudonym: string, kinds: readonly CrosswalkKind[] = CROSSWALK_KINDS): CrosswalkEntry[] {
    const select = this.db.prepare('SELECT nonce, ciphertext, tag FROM crosswalk WHERE blind = ?');
    const out: CrosswalkEntry[] = [];
    for (const kind of kinds) {
      const blind = this.blind(kind, pseudonym);
      const row = select.get(blind) as { nonce: Buffer; ciphertext: Buffer; tag: Buffer } | undefined;
      if (!row) continue;
      const decipher = createDecipheriv('aes-256-gcm', this.encKey, row.nonce);
      decipher.setAAD(Buffer.concat([Buffer.from(kind), blind]));
      decipher.setAuthTag(row.tag);
      const plain = JSON.parse(Buffer.concat([decipher.update(row.ciphertext), decipher.final()]).toString('utf8')) as {
        o: string;
        p: string;
      };
      if (plain.p === pseudonym) out.push({ kind, original: plain.o });
    }
    return out;
  }

  /** Looks a pseudonym up and appends an audit row (ok / not-found / fail). */
  reidentify(pseudonym: string, kinds?: readonly CrosswalkKind[]): CrosswalkEntry[] {
    let found: CrosswalkEntry[];
    try {
      found = this.lookup(pseudonym, kinds);
    } catch (e) {
      appendAudit(this.db, pseudonym, 'fail-corrupt');
      throw new CliError(
        EXIT_CONFIG,
        `a crosswalk row could not be decrypted (${(e as { code?: string }).code ?? 'error'})`,
      );
    }
    appendAudit(this.db, pseudonym, found.length ? 'ok' : 'not-found');
    return found;
  }

  /** Audit rows, oldest first (for tests and `veil` tooling). */
  auditRows(): { at: string; action: string; pseudonym_sha256: string; outcome: string }[] {
    return this.db.prepare('SELECT at, action, pseudonym_sha256, outcome FROM audit ORDER BY id').all() as {
      at: string;
      action: string;
      pseudonym_sha256: string;
      outcome: string;
    }[];
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM crosswalk').get() as { n: number }).n;
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}

function deriveKeys(
  secret: Uint8Array,
  salt: Uint8Array,
  kind: CrosswalkKeyKind,
): { encKey: Buffer; indexKey: Buffer } {
  const info = kind === 'crosswalk' ? 'veil-crosswalk/separate-key' : 'veil-crosswalk';
  const okm = Buffer.from(hkdfSync('sha256', secret, salt, info, 64));
  return { encKey: okm.subarray(0, 32), indexKey: okm.subarray(32, 64) };
}

function checkValue(indexKey: Buffer): string {
  return createHmac('sha256', indexKey).update(CHECK_INPUT).digest('hex');
}

function appendAudit(db: DB, pseudonym: string, outcome: string): void {
  db.prepare('INSERT INTO audit (at, action, pseudonym_sha256, outcome) VALUES (?, ?, ?, ?)').run(
    new Date().toISOString(),
    'reidentify',
    createHash('sha256').update(pseudonym, 'utf8').digest('hex'),
    outcome,
  );
}
