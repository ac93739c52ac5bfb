import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreSuite } from '@veil/pipeline/testing';
import { SqliteJobStore } from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'veil-store-sqlite-'));
let n = 0;

runStoreSuite({
  name: 'SqliteJobStore',
  create: async () => new SqliteJobStore(join(dir, `store-${n++}.db`)),
  reopen: async (closed) => new SqliteJobStore((closed as SqliteJobStore).path),
  cleanup: async () => rmSync(dir, { recursive: true, force: true }),
});
