// The PullStore suite on SQLite: a second connection on the job store's file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPullStoreSuite } from '@veil/pipeline/testing';
import { SqliteJobStore, SqlitePullStore } from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'veil-pulls-sqlite-'));
let n = 0;

runPullStoreSuite({
  name: 'SqlitePullStore',
  create: async () => {
    const path = join(dir, `pulls-${n++}.db`);
    return {
      store: new SqliteJobStore(path),
      pulls: new SqlitePullStore(path),
      reopen: () => new SqlitePullStore(path),
    };
  },
  cleanup: async () => rmSync(dir, { recursive: true, force: true }),
});
