#!/usr/bin/env node
// The `veil` executable. Node 20 cannot run TypeScript itself, so register tsx's ESM loader first and then load the
// CLI from source: no build step between editing apps/veil/src and running it.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
