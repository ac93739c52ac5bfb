import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../scripts/check-deps.mjs', import.meta.url));
const temps: string[] = [];

after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** Writes a throwaway workspace: `files` maps repo-relative paths to contents (objects are written as JSON). */
function tree(files: Record<string, string | object>): string {
  const dir = mkdtempSync(join(tmpdir(), 'veil-check-deps-'));
  temps.push(dir);
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

function check(dir: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const core = { name: '@veil/core', exports: { '.': './src/index.ts' }, dependencies: { fflate: '^0.8.2' } };

describe('check-deps', () => {
  test('passes a clean tree and counts its files', () => {
    const dir = tree({
      'packages/core/package.json': core,
      'packages/core/src/index.ts': [
        "import { unzipSync } from 'fflate';",
        "export { tag } from './dicom/tag.ts';",
        '// import fs from "node:fs" is only a comment',
        'const s = "import net from \'net\'";',
        'const o = { process: 1 };',
        'export const n = Array.from(s).length + o.process;',
      ].join('\n'),
      'packages/core/src/dicom/tag.ts': 'export const tag = 1;\n',
      'apps/veil/package.json': { name: '@veil/app', dependencies: { '@veil/core': '0.1.0' } },
      'apps/veil/src/cli.ts': "import { readFile } from 'node:fs/promises';\nimport { tag } from '@veil/core';\n",
    });
    const r = check(dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /deps ok \(3 files\)/);
  });

  test('fails on a core file that imports a Node builtin, with file:line', () => {
    const dir = tree({
      'packages/core/package.json': core,
      'packages/core/src/index.ts': "export const x = 1;\nimport { readFileSync } from 'node:fs';\n",
    });
    const r = check(dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /packages\/core\/src\/index\.ts:2: core may not import Node builtins/);
  });

  test('reports every core rule', () => {
    const dir = tree({
      'packages/core/package.json': core,
      'packages/dimse/package.json': { name: '@veil/dimse', dependencies: { '@veil/core': '0.1.0' } },
      'packages/core/src/index.ts': [
        "import path from 'path';",
        "import { x } from '@veil/dimse';",
        "import iconv from 'iconv-lite';",
        "const w = await import('worker_threads');",
        'const home = process.env.HOME;',
        'let b: Buffer;',
        "export * from '../../dimse/src/x.ts';",
      ].join('\n'),
    });
    const r = check(dir);
    assert.equal(r.status, 1);
    const lines = r.stderr.split('\n');
    const at = (n: number) => lines.filter((l) => l.startsWith(`packages/core/src/index.ts:${n}:`)).join('\n');
    assert.match(at(1), /Node builtins/);
    assert.match(at(2), /@veil\/\* packages/);
    assert.match(at(3), /'iconv-lite' is not in packages\/core\/package.json dependencies/);
    assert.match(at(4), /Node builtins/);
    assert.match(at(5), /Node global 'process'/);
    assert.match(at(6), /Node global 'Buffer'/);
    assert.match(at(7), /internals by relative path; import '@veil\/dimse' instead/);
  });

  test('keeps packages away from apps, and protocol packages away from storage', () => {
    const dir = tree({
      'packages/core/package.json': core,
      'packages/store-sqlite/package.json': { name: '@veil/store-sqlite', dependencies: { '@veil/core': '0.1.0' } },
      'packages/dimse/package.json': {
        name: '@veil/dimse',
        dependencies: { '@veil/core': '0.1.0', '@veil/store-sqlite': '0.1.0' },
      },
      'apps/veil/package.json': { name: '@veil/app' },
      'packages/dimse/src/index.ts': [
        "import net from 'node:net';",
        "import { Tag } from '@veil/core';",
        "import { open } from '@veil/store-sqlite';",
        "import { main } from '@veil/app';",
        "import { cli } from '../../../apps/veil/src/cli.ts';",
        "import { tag } from '@veil/core/src/dicom/tag.ts';",
      ].join('\n'),
    });
    const r = check(dir);
    assert.equal(r.status, 1);
    assert.doesNotMatch(r.stderr, /index\.ts:[12]:/);
    assert.match(r.stderr, /index\.ts:3: protocol package @veil\/dimse may not import store\/queue package/);
    assert.match(r.stderr, /index\.ts:4: packages may not import apps/);
    assert.match(r.stderr, /index\.ts:5: imports apps\/veil internals by relative path/);
    assert.match(r.stderr, /index\.ts:6: '.\/src\/dicom\/tag.ts' is not in @veil\/core's exports/);
  });

  test('tests, bench and scripts: no reach into another package src; bench may use the app, codegen its bootstrap', () => {
    const dir = tree({
      'packages/core/package.json': core,
      'packages/core/src/index.ts': 'export const x = 1;\n',
      'packages/core/src/dicom/vr.ts': 'export const KNOWN_VRS = [];\n',
      'packages/core/test/support/fixtures.ts': 'export const f = 1;\n',
      'packages/dimse/package.json': { name: '@veil/dimse', dependencies: { '@veil/core': '0.1.0' } },
      'packages/dimse/src/index.ts': 'export const y = 2;\n',
      'packages/dimse/test/a.test.ts': [
        "import { y } from '../src/index.ts';",
        "import { f } from '../../core/test/support/fixtures.ts';",
        "import { x } from '../../core/src/index.ts';",
        "import { z } from '@veil/core/src/index.ts';",
      ].join('\n'),
      'apps/veil/package.json': { name: '@veil/app', dependencies: { '@veil/core': '0.1.0' } },
      'apps/veil/src/io.ts': 'export const w = 3;\n',
      'bench/b.bench.ts': [
        "import { w } from '../apps/veil/src/io.ts';",
        "import { x } from '../packages/core/src/index.ts';",
      ].join('\n'),
      'scripts/codegen/gen.ts': [
        "import { KNOWN_VRS } from '../../packages/core/src/dicom/vr.ts';",
        "import { x } from '../../packages/core/src/index.ts';",
      ].join('\n'),
      'scripts/tool.mjs': "import { x } from '@veil/core';\n",
    });
    const r = check(dir);
    assert.equal(r.status, 1);
    const lines = r.stderr.split('\n').filter((l) => l.includes(': '));
    assert.deepEqual(lines.filter((l) => !l.startsWith('deps:')).sort(), [
      "bench/b.bench.ts:2: reaches into packages/core by relative path; import '@veil/core' instead ('../packages/core/src/index.ts')",
      "packages/dimse/test/a.test.ts:3: reaches into packages/core by relative path; import '@veil/core' instead ('../../core/src/index.ts')",
      "packages/dimse/test/a.test.ts:4: './src/index.ts' is not in @veil/core's exports; import a public entry point of '@veil/core' ('@veil/core/src/index.ts')",
      "scripts/codegen/gen.ts:2: reaches into packages/core by relative path; import '@veil/core' instead ('../../packages/core/src/index.ts')",
    ]);
  });
});
