/**
 * `veil deid` against the generated hostile corpus (packages/core/test/support/hostile.ts), through the real
 * executable under `node --max-old-space-size=1024` and GNU time: every hostile file is quarantined with its stable
 * code and a sidecar, nothing of it reaches the output folder, peak RSS stays bounded, and a normal file in the same
 * run is still released. The stray-delimiter attack is shown to be real (GDCM's gdcmdump and DCMTK's dcmdump read
 * the hidden values in the input) and to release nothing those readers could show.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HIDDEN_VALUES, hostileCorpus, normalFile } from '../../../packages/core/test/support/hostile.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repoRoot, 'apps/veil/bin/veil.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'veil-hostile-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const env: NodeJS.ProcessEnv = { ...process.env };
delete env.VEIL_KEY;
delete env.NODE_TEST_CONTEXT;
delete env.NODE_OPTIONS;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

function dump(tool: string, file: string): string {
  const r = spawnSync(tool, [file], { encoding: 'latin1', maxBuffer: 64 << 20 });
  return `${r.stdout}${r.stderr}`;
}

test('veil deid quarantines every hostile file with its code, bounded, and still releases a normal file', () => {
  const cases = hostileCorpus();
  const input = join(tmp, 'in');
  mkdirSync(input);
  for (const c of cases) writeFileSync(join(input, `${c.name}.dcm`), c.bytes);
  writeFileSync(join(input, 'normal.dcm'), normalFile());
  const keyFile = join(tmp, 'key');
  const kg = spawnSync(process.execPath, [bin, 'keygen'], { encoding: 'utf8', env });
  assert.equal(kg.status, 0, kg.stderr);
  writeFileSync(keyFile, kg.stdout, { mode: 0o600 });

  const out = join(tmp, 'out');
  const quarantine = join(tmp, 'quarantine');
  const r = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      'maxrss_kb=%M',
      process.execPath,
      '--max-old-space-size=1024',
      bin,
      'deid',
      input,
      '--out',
      out,
      '--quarantine',
      quarantine,
      '--key-file',
      keyFile,
    ],
    { encoding: 'utf8', env, timeout: 300_000, maxBuffer: 64 << 20 },
  );
  const rss = Number(/maxrss_kb=(\d+)/.exec(r.stderr)?.[1] ?? Number.NaN) / 1024;
  // Exit 1: some files quarantined (not a crash: no signal, no 134 from a heap abort).
  assert.equal(r.signal, null, r.stderr.slice(-2000));
  assert.equal(r.status, 1, r.stderr.slice(-2000));
  assert.ok(rss < 900, `peak RSS ${rss.toFixed(0)} MiB`);
  console.log(`veil deid over ${cases.length} hostile files + 1 normal: peak RSS ${rss.toFixed(0)} MiB`);

  // The normal file is released; nothing else is.
  const released = filesUnder(out).filter((f) => !/veil-report\.(json|html)$|veil-report-previews\//.test(f));
  assert.deepEqual(released, ['normal.dcm']);

  // One quarantine record per hostile file, with the file's stable code.
  for (const c of cases) {
    const sidecar = join(quarantine, `${c.name}.dcm.veil.json`);
    assert.ok(existsSync(sidecar), `${c.name}: no quarantine record`);
    const record = JSON.parse(readFileSync(sidecar, 'utf8')) as { code: string };
    assert.equal(record.code, c.code, c.name);
  }

  // No hidden value in anything Veil printed or wrote besides the quarantined inputs themselves.
  const texts = [r.stdout, r.stderr];
  for (const f of filesUnder(quarantine))
    if (f.endsWith('.json')) texts.push(readFileSync(join(quarantine, f), 'utf8'));
  for (const f of filesUnder(out)) texts.push(readFileSync(join(out, f), 'latin1'));
  for (const t of texts) for (const v of HIDDEN_VALUES) assert.ok(!t.includes(v), `a hidden value leaked`);

  // The attack is real: GDCM reads on after the stray delimiter and shows the hidden values in the input (DCMTK
  // stops there); Veil released nothing for the file, so neither reader has an output to show them in.
  const strayInput = join(input, 'stray-delimiter-top.dcm');
  const gdcm = dump('gdcmdump', strayInput);
  assert.ok(
    HIDDEN_VALUES.some((v) => gdcm.includes(v)),
    'gdcmdump shows the hidden block of the input',
  );
  for (const name of ['stray-delimiter-top', 'stray-delimiter-item', 'stray-delimiter-sequence']) {
    assert.ok(!existsSync(join(out, `${name}.dcm`)), `${name}: released`);
  }
  for (const f of filesUnder(out)) {
    for (const tool of ['gdcmdump', 'dcmdump']) {
      const text = dump(tool, join(out, f));
      for (const v of HIDDEN_VALUES) assert.ok(!text.includes(v), `${tool} ${f}: a hidden value`);
    }
  }
});

test('limits from a veil deid config file reach the scanner: a normal file over maxElements is quarantined', () => {
  const dir = join(tmp, 'limits');
  mkdirSync(join(dir, 'in'), { recursive: true });
  writeFileSync(join(dir, 'in', 'normal.dcm'), normalFile());
  const kg = spawnSync(process.execPath, [bin, 'keygen'], { encoding: 'utf8', env });
  writeFileSync(join(dir, 'key'), kg.stdout, { mode: 0o600 });
  writeFileSync(join(dir, 'deid.json'), JSON.stringify({ limits: { maxElements: 5 } }));
  const args = ['deid', join(dir, 'in'), '--out', join(dir, 'out'), '--quarantine', join(dir, 'q')];
  const r = spawnSync(
    process.execPath,
    [bin, ...args, '--key-file', join(dir, 'key'), '--config', join(dir, 'deid.json')],
    {
      encoding: 'utf8',
      env,
      timeout: 120_000,
    },
  );
  assert.equal(r.status, 1, r.stderr);
  const record = JSON.parse(readFileSync(join(dir, 'q', 'normal.dcm.veil.json'), 'utf8')) as { code: string };
  assert.equal(record.code, 'DICOM_TOO_MANY_ELEMENTS');
  assert.deepEqual(
    filesUnder(join(dir, 'out')).filter((f) => !/veil-report\.(json|html)$|veil-report-previews\//.test(f)),
    [],
  );
  // A bad value is a configuration error (exit 3) naming the key, never a silent default.
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ limits: { maxElements: -1 } }));
  const bad = spawnSync(
    process.execPath,
    [bin, ...args, '--key-file', join(dir, 'key'), '--config', join(dir, 'bad.json')],
    {
      encoding: 'utf8',
      env,
    },
  );
  assert.equal(bad.status, 3, bad.stderr);
  assert.match(bad.stderr, /limits\.maxElements/);
});
