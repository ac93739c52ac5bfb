#!/usr/bin/env node
// Runs the unit tests with `node --import tsx --test`. Node 20's test runner does not expand globs (Node 22 does) and
// npm runs scripts with /bin/sh, whose `**` is not recursive, so this script finds the files itself and fails when the
// patterns match nothing instead of letting node fall back to its own default discovery.
//
// Usage: node scripts/test-unit.mjs [path...] [-- node test flags...]
//   paths (files or folders) narrow the run to test files under them; anything starting with `-` goes to node.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Test roots, as in the README: packages/<name>/test, apps/<name>/test and the top-level test folder. */
function testRoots() {
  const roots = [];
  for (const group of ['packages', 'apps']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const t = join(dir, name, 'test');
      if (existsSync(t) && statSync(t).isDirectory()) roots.push(t);
    }
  }
  const top = join(root, 'test');
  if (existsSync(top) && statSync(top).isDirectory()) roots.push(top);
  return roots;
}

function testFilesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .filter((f) => !f.split(sep).includes('node_modules'));
}

const paths = [];
const nodeFlags = [];
for (const arg of process.argv.slice(2)) {
  if (arg === '--') continue;
  if (arg.startsWith('-')) nodeFlags.push(arg);
  else paths.push(resolve(arg));
}

let files = testRoots().flatMap(testFilesUnder).sort();
if (paths.length > 0) {
  files = files.filter((f) => paths.some((p) => f === p || f.startsWith(p + sep)));
}
if (files.length === 0) {
  console.error(
    `test-unit: no *.test.ts files found under packages/*/test, apps/*/test or test/${paths.length ? ` within ${paths.map((p) => relative(root, p) || '.').join(', ')}` : ''}`,
  );
  process.exit(1);
}

console.log(`test-unit: ${files.length} test file(s)`);
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...nodeFlags, ...files.map((f) => relative(root, f))],
  { cwd: root, stdio: 'inherit' },
);
if (result.error) throw result.error;
process.exit(result.status ?? 1);
