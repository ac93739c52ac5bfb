/**
 * `veil deid` runs every file on a worker thread with a V8 heap cap, `--jobs 1` included: a hostile file that gets
 * past the parser's caps (here a configuration raises maxElements, so the million-element deflate bomb of
 * packages/core/test/support/hostile.ts is parsed) and exhausts the cap ends its worker only. It is reported
 * WORKER_CRASHED, nothing of it is written, and the normal file of the same run is released. On the main thread
 * (`--inline`, or before this was the default) the same run has no cap: the bomb was parsed in ~600 MB and released.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hostileCorpus, normalFile } from '../../../packages/core/test/support/hostile.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repoRoot, 'apps/veil/bin/veil.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'veil-heap-cap-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('veil deid --jobs 1: a file that exhausts the thread heap cap is WORKER_CRASHED, the run goes on', () => {
  const bomb = hostileCorpus().find((c) => c.name === 'deflate-bomb-elements-small');
  assert.ok(bomb);
  const input = join(tmp, 'in');
  mkdirSync(input);
  writeFileSync(join(input, 'bomb.dcm'), bomb.bytes);
  writeFileSync(join(input, 'normal.dcm'), normalFile());
  const config = join(tmp, 'deid.json');
  writeFileSync(config, JSON.stringify({ limits: { maxElements: 100_000_000 } }));
  const out = join(tmp, 'out');
  const env: NodeJS.ProcessEnv = { ...process.env, VEIL_KEY: Buffer.alloc(32, 7).toString('base64') };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  const r = spawnSync(
    process.execPath,
    [bin, 'deid', input, '--out', out, '--config', config, '--jobs', '1', '--thread-heap-mb', '64', '--no-progress'],
    { encoding: 'utf8', env, timeout: 120_000 },
  );
  assert.equal(r.status, 1, `${r.stdout}${r.stderr}`);
  const report = JSON.parse(readFileSync(join(out, 'veil-report.json'), 'utf8'));
  assert.deepEqual(
    report.errorFiles.map((f: { file: string; code: string }) => [f.file, f.code]),
    [['bomb.dcm', 'WORKER_CRASHED']],
  );
  assert.equal(report.counts.written, 1);
  assert.ok(existsSync(join(out, 'normal.dcm')));
  assert.ok(!readdirSync(out, { recursive: true }).some((f) => String(f).includes('bomb')));
});
