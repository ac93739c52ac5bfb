#!/usr/bin/env node
/**
 * Bundles the `veil` executable into apps/veil/dist/ with esbuild: the CLI (cli.mjs) and the de-identification worker
 * (deid-worker.mjs), with Veil's own workspace packages compiled in and every npm dependency left in node_modules.
 *
 * Why: Node 20 cannot run TypeScript, and loading the CLI through tsx costs ~0.6 s per process and again per worker
 * thread (the compiler starts, every module is transformed). A run of `veil deid` on a series paid that three times.
 * The bundle starts in ~0.1 s.
 *
 * bin/veil.mjs runs the bundle only while it is fresh: dist/build-info.json lists every source file that went into it
 * and when the build started; a source file changed since then (an edit, a checkout) sends `veil` back to tsx and
 * the sources, so a stale bundle never runs. `npm ci` builds it (the root `prepare` script), so do the quick start
 * and the test command; `npm run build` rebuilds it by hand.
 *
 * Usage: node scripts/build.mjs [--quiet] [--out DIR] [--if-available]
 *   --out DIR        somewhere else than apps/veil/dist (tests)
 *   --if-available   without esbuild (an install without dev dependencies), say so and exit 0: `veil` then runs
 *                    from source (the `prepare` script, so that `npm ci --omit=dev` still installs)
 */
import { existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const APP = join(ROOT, 'apps/veil');
const outArg = process.argv.indexOf('--out');
const OUT = outArg > 0 ? resolve(process.argv[outArg + 1] ?? '') : join(APP, 'dist');
const quiet = process.argv.includes('--quiet');

/** npm packages stay external (resolved from node_modules at run time); Veil's workspace packages are bundled. */
const externalDependencies = {
  name: 'external-dependencies',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@veil/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

let build;
try {
  ({ build } = await import('esbuild'));
} catch {
  if (!process.argv.includes('--if-available'))
    throw new Error('esbuild is not installed: run npm ci (with dev dependencies)');
  console.log('esbuild is not installed (no dev dependencies): veil will run from its TypeScript sources through tsx');
  process.exit(0);
}

/** The folder `name` resolves to from `dir` by Node's node_modules walk, or undefined. */
function packageDir(name, dir) {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name);
    if (existsSync(candidate)) return realpathSync(candidate);
    if (dirname(d) === d) return undefined;
  }
}

/**
 * npm packages stay external, so the bundle resolves them from its own folder: each must be the copy the importing
 * source file gets. A workspace that npm gave its own nested version (packages/x/node_modules/y) would otherwise run
 * against the hoisted one.
 */
function checkExternals(metafile) {
  const problems = new Set();
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    for (const imp of imports) {
      if (!imp.external || imp.path.startsWith('node:')) continue;
      const parts = imp.path.split('/');
      const name = imp.path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
      if (builtinModules.includes(name)) continue;
      const fromSource = packageDir(name, dirname(resolve(ROOT, input)));
      const fromBundle = packageDir(name, OUT);
      if (fromSource !== fromBundle)
        problems.add(`${name}: ${input} gets ${fromSource}, the bundle would get ${fromBundle}`);
    }
  }
  if (problems.size > 0) throw new Error(`cannot bundle:\n  ${[...problems].join('\n  ')}`);
}

const startedAt = Date.now();
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
try {
  await bundle();
} catch (e) {
  // No build-info.json is left: `veil` runs from source. Under `prepare` (--if-available) that is a warning, so that
  // an install still completes; the test command builds without the flag and fails.
  rmSync(OUT, { recursive: true, force: true });
  if (!process.argv.includes('--if-available')) throw e;
  console.warn(`veil bundle not built (veil will run from its TypeScript sources): ${e.message}`);
}

async function bundle() {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: {
      cli: join(APP, 'src/cli.ts'),
      'deid-worker': join(APP, 'src/deid/worker.ts'),
      'release-worker': join(APP, 'src/server/release-worker.ts'),
      'deface-worker': join(APP, 'src/server/deface-worker.ts'),
      'llm-scrub-worker': join(APP, 'src/llm/scrub-worker.ts'),
    },
    outdir: OUT,
    // Chunks beside the entries: code that locates a sibling file by import.meta.url (the worker) finds it.
    chunkNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
    plugins: [externalDependencies],
  });
  checkExternals(result.metafile);
  const inputs = Object.keys(result.metafile.inputs)
    .map((p) => relative(ROOT, resolve(ROOT, p)))
    .sort();
  const info = { builtAt: startedAt, inputs };
  writeFileSync(join(OUT, 'build-info.json'), `${JSON.stringify(info, null, 1)}\n`);
  if (!quiet) {
    const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
    console.log(
      `built ${relative(ROOT, OUT)}/ from ${inputs.length} source files: ${(bytes / 1024).toFixed(0)} KiB (with source maps) in ${Date.now() - startedAt} ms`,
    );
  }
}
