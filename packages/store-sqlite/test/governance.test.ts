// The GovernanceStore suite on SQLite: chained audit (tampered with directly in the file), consent, releases, portal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGovernanceSuite } from '@veil/pipeline/testing';
import Database from 'better-sqlite3';
import { SqliteGovernanceStore, SqliteJobStore } from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'veil-gov-sqlite-'));
let n = 0;

runGovernanceSuite({
  name: 'SqliteGovernanceStore',
  create: async () => {
    const path = join(dir, `gov-${n++}.db`);
    return {
      store: new SqliteJobStore(path),
      gov: new SqliteGovernanceStore(path),
      exec: async (sql: string) => {
        const db = new Database(path);
        try {
          db.pragma('busy_timeout = 5000');
          db.exec(sql.replaceAll('{audit}', 'audit'));
        } finally {
          db.close();
        }
      },
    };
  },
  cleanup: async () => rmSync(dir, { recursive: true, force: true }),
});
