#!/usr/bin/env node
// Keeps package-lock.json usable by `npm ci` when the registry lacks some optional platform packages.
//
// The registry this project installs from does not serve every platform binary of every release (e.g. Biome 2.6.x has
// only @biomejs/cli-linux-x64 and cli-linux-arm64; no android/darwin/win32/musl builds). `npm install` then leaves
// those optional dependencies out of package-lock.json, and `npm ci` rejects the lock file: "Missing:
// @biomejs/cli-darwin-arm64@ from lock file". This script adds a lock entry (version, os, cpu, libc: no tarball,
// no integrity) for each optional dependency that is missing, inferring the platform from the package name. npm never
// fetches a package for another platform, so the entries only satisfy npm ci's check; on the public registry npm
// resolves them normally. Plain `npm install` keeps the entries; re-run this after regenerating the lock file or
// upgrading a package with platform binaries (Biome, esbuild, TypeScript 7).
//
// Usage: node scripts/lockfile-platforms.mjs [--check] [path/to/package-lock.json]
//   --check  change nothing; exit 1 if entries are missing
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const check = args.includes('--check');
const file = resolve(
  args.find((a) => !a.startsWith('--')) ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'package-lock.json'),
);

const OS = ['aix', 'android', 'darwin', 'freebsd', 'linux', 'netbsd', 'openbsd', 'openharmony', 'sunos', 'win32'];
const CPU = ['arm64', 'arm', 'ia32', 'loong64', 'mips64el', 'ppc64', 'riscv64', 's390x', 'x64'];
const PLATFORM = new RegExp(`(?:^|[-/])(${OS.join('|')})-(${CPU.join('|')})(?:-(musl|gnu|glibc|msvc))?$`);

/** `@biomejs/cli-linux-x64-musl` -> { os: ['linux'], cpu: ['x64'], libc: ['musl'] } */
function platformOf(name) {
  const m = PLATFORM.exec(name);
  if (!m) return undefined;
  const [, os, cpu, abi] = m;
  const libc = os === 'linux' ? [abi === 'musl' ? 'musl' : 'glibc'] : undefined;
  return { os: [os], cpu: [cpu], libc };
}

const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages ?? {};
const missing = [];
const unknown = [];

for (const [key, entry] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${key ? `${key}/` : ''}node_modules/${dep}`;
    const hoisted = `node_modules/${dep}`;
    if (packages[nested] || packages[hoisted]) continue;
    const platform = platformOf(dep);
    if (!platform) {
      unknown.push(`${dep}@${version} (optional dependency of ${entry.name ?? key})`);
      continue;
    }
    const stub = { version, cpu: platform.cpu };
    if (entry.dev) stub.dev = true;
    if (entry.devOptional) stub.devOptional = true;
    if (platform.libc) stub.libc = platform.libc;
    if (entry.license) stub.license = entry.license;
    stub.optional = true;
    stub.os = platform.os;
    if (entry.engines) stub.engines = entry.engines;
    missing.push({ key: hoisted, stub });
  }
}

for (const u of unknown) console.error(`lockfile-platforms: cannot tell the platform of ${u}; add its entry by hand`);
if (check) {
  for (const { key } of missing) console.error(`lockfile-platforms: missing ${key}`);
  if (missing.length > 0) console.error('lockfile-platforms: run `node scripts/lockfile-platforms.mjs` to add them');
  process.exit(missing.length > 0 || unknown.length > 0 ? 1 : 0);
}
if (missing.length > 0) {
  for (const { key, stub } of missing) packages[key] = stub;
  // npm's own order: the root package first, then keys by localeCompare
  lock.packages = Object.fromEntries(
    Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b, 'en'))),
  );
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
}
console.log(`lockfile-platforms: added ${missing.length} entr${missing.length === 1 ? 'y' : 'ies'} to ${file}`);
process.exit(unknown.length > 0 ? 1 : 0);
