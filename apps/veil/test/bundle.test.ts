/**
 * The bundled `veil` (scripts/build.mjs) against the sources: bin/veil.mjs runs the bundle only while it is fresh
 * (bundle-fresh.mjs), and a bundle built here de-identifies real files from ../shared/data/dicom into exactly the
 * bytes that the TypeScript sources (VEIL_FROM_SOURCE=1, through tsx) write, with worker threads on both sides
 * (the bundled worker and the tsx worker entry are different files). Writes only to its own temp folder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
// @ts-expect-error: plain JavaScript module without type declarations (it runs before any TypeScript loader)
import { bundleIsFresh } from '../bin/bundle-fresh.mjs';
import { hashTree } from './server-support.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const sharedDicom = join(process.env.VEIL_SHARED_DIR ?? resolve(repoRoot, '..', 'shared'), 'data', 'dicom');
const tmpRoot = mkdtempSync(join(tmpdir(), 'veil-bundle-'));
after(() => rmSync(tmpRoot, { recursive: true, force: true }));

const isFresh = bundleIsFresh as (dist: URL, root: URL) => boolean;
const dirUrl = (p: string): URL => pathToFileURL(`${p}/`);

const env: NodeJS.ProcessEnv = { ...process.env };
delete env.NODE_TEST_CONTEXT;
delete env.NODE_OPTIONS;
delete env.VEIL_KEY;

/** The run reports differ (times, paths); every other output must not. */
/** The run report and its pictures of redacted images (veil-report-previews/*.png; hashTree matches names). */
const REPORTS = /^veil-report\.(json|html)$|\.png$/;

describe('bundleIsFresh', () => {
  const root = join(tmpRoot, 'fresh');
  const dist = join(root, 'dist');
  mkdirSync(join(root, 'src'), { recursive: true });
  mkdirSync(dist, { recursive: true });
  const a = join(root, 'src/a.ts');
  const b = join(root, 'src/b.ts');
  writeFileSync(a, 'export {};\n');
  writeFileSync(b, 'export {};\n');
  const builtAt = Date.now();
  const old = new Date(builtAt - 60_000);
  const writeInfo = (inputs: string[]): void =>
    writeFileSync(join(dist, 'build-info.json'), JSON.stringify({ builtAt, inputs }));

  test('fresh while every input is older than the build', () => {
    utimesSync(a, old, old);
    utimesSync(b, old, old);
    writeInfo(['src/a.ts', 'src/b.ts']);
    assert.equal(isFresh(dirUrl(dist), dirUrl(root)), true);
  });

  test('stale once an input changes after the build', () => {
    const later = new Date(builtAt + 5_000);
    utimesSync(b, later, later);
    assert.equal(isFresh(dirUrl(dist), dirUrl(root)), false);
    utimesSync(b, old, old);
  });

  test('stale when an input is gone, the info is missing or empty', () => {
    writeInfo(['src/a.ts', 'src/gone.ts']);
    assert.equal(isFresh(dirUrl(dist), dirUrl(root)), false);
    writeInfo([]);
    assert.equal(isFresh(dirUrl(dist), dirUrl(root)), false);
    rmSync(join(dist, 'build-info.json'));
    assert.equal(isFresh(dirUrl(dist), dirUrl(root)), false);
  });
});

describe('the bundle writes what the sources write', { skip: !existsSync(sharedDicom) && 'no shared data' }, () => {
  test('veil deid --jobs 2 on real files: bundle and tsx outputs are byte-identical', () => {
    // The bundle leaves npm packages external: a node_modules beside it resolves them.
    const home = join(tmpRoot, 'build');
    mkdirSync(home, { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules'), join(home, 'node_modules'), 'dir');
    const dist = join(home, 'dist');
    const built = spawnSync(process.execPath, [join(repoRoot, 'scripts/build.mjs'), '--quiet', '--out', dist], {
      encoding: 'utf8',
      env,
    });
    assert.equal(built.status, 0, built.stderr);
    const info = JSON.parse(readFileSync(join(dist, 'build-info.json'), 'utf8')) as { inputs: string[] };
    assert.ok(info.inputs.includes('apps/veil/src/deid/worker.ts'));
    assert.ok(info.inputs.some((i) => i.startsWith('packages/core/src/deid/')));
    assert.ok(!info.inputs.some((i) => i.includes('node_modules')), 'npm packages stay external');

    // 24 files of varied kinds: the first of each extension-less family in the corpus, in name order.
    const input = join(tmpRoot, 'in');
    mkdirSync(input);
    const names = readdirSync(sharedDicom, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .sort()
      .filter((_, i) => i % 23 === 0)
      .slice(0, 24);
    names.forEach((f, i) => {
      copyFileSync(f, join(input, `f${String(i).padStart(2, '0')}.dcm`));
    });
    const key = join(tmpRoot, 'k');
    writeFileSync(key, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });

    // The corpus runs with the pixel text stage off (explicitly: the header path, byte for byte); the two samples
    // below with the default (on): the bundled detector and codecs redact exactly as the sources do.
    const pixelsOff = join(tmpRoot, 'pixels-off.json');
    writeFileSync(pixelsOff, JSON.stringify({ pixels: { text: { enabled: false } } }));
    const run = (args: string[], extra: NodeJS.ProcessEnv, out: string, from = input, more: string[] = []): string => {
      const r = spawnSync(
        process.execPath,
        [...args, 'deid', from, '--out', out, '--key-file', key, '--jobs', '2', '--no-progress', ...more],
        { cwd: tmpRoot, encoding: 'utf8', env: { ...env, ...extra }, timeout: 120_000 },
      );
      assert.ok(r.status === 0 || r.status === 1, `exit ${r.status}: ${r.stderr}`);
      return r.stderr
        .replace(/ in [\d.]+ s \([\d.]+ files\/s\)/, '')
        .replace(/report .*/, '')
        .replaceAll(out, 'OUT');
    };
    const fromBundle = run([join(dist, 'cli.mjs')], {}, join(tmpRoot, 'out-bundle'), input, ['-c', pixelsOff]);
    const fromSource = run(
      [join(repoRoot, 'apps/veil/bin/veil.mjs')],
      { VEIL_FROM_SOURCE: '1' },
      join(tmpRoot, 'out-source'),
      input,
      ['-c', pixelsOff],
    );
    assert.equal(fromBundle, fromSource);
    const a = hashTree(join(tmpRoot, 'out-bundle'), REPORTS);
    const b = hashTree(join(tmpRoot, 'out-source'), REPORTS);
    assert.ok(a.size >= 15, `only ${a.size} outputs`);
    assert.deepEqual(a, b);
    for (const q of ['out-bundle.quarantine', 'out-source.quarantine']) assert.ok(existsSync(join(tmpRoot, q)), q);
    assert.deepEqual(
      hashTree(join(tmpRoot, 'out-bundle.quarantine'), REPORTS),
      hashTree(join(tmpRoot, 'out-source.quarantine'), REPORTS),
    );

    // The pixel text stage, on by default: an ultrasound with text in its header bar, a CT without.
    const px = join(tmpRoot, 'in-pixels');
    mkdirSync(px);
    for (const f of ['OBXXXX1A_rle.dcm', 'CT_small.dcm']) copyFileSync(join(repoRoot, 'samples', f), join(px, f));
    const pxBundle = run([join(dist, 'cli.mjs')], {}, join(tmpRoot, 'px-bundle'), px);
    const pxSource = run(
      [join(repoRoot, 'apps/veil/bin/veil.mjs')],
      { VEIL_FROM_SOURCE: '1' },
      join(tmpRoot, 'px-source'),
      px,
    );
    assert.equal(pxBundle, pxSource);
    assert.match(pxBundle, /pixels: 2 image\(s\) scanned for burned-in text, 1 redacted/);
    const pa = hashTree(join(tmpRoot, 'px-bundle'), REPORTS);
    assert.equal(pa.size, 2);
    assert.deepEqual(pa, hashTree(join(tmpRoot, 'px-source'), REPORTS));
  });
});
