#!/usr/bin/env node
// The `veil` executable. It runs the bundle in ../dist (scripts/build.mjs: starts in ~0.1 s) while the bundle is
// fresh, that is while no source file that went into it has changed since the build; otherwise (an edit, a checkout,
// no build yet, or VEIL_FROM_SOURCE=1) it registers tsx's loader and runs the TypeScript sources, which costs ~0.6 s
// more per process and per worker thread but never runs stale code.
import { bundleIsFresh } from './bundle-fresh.mjs';

const dist = new URL('../dist/', import.meta.url);
if (process.env.VEIL_FROM_SOURCE !== '1' && bundleIsFresh(dist, new URL('../../../', import.meta.url))) {
  await import(new URL('cli.mjs', dist).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
