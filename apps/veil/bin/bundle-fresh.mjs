// Whether the bundle in a dist folder (scripts/build.mjs) may run: it exists, and no source file that went into it
// has changed since the build started. Plain JavaScript: it runs before any TypeScript loader is registered.
import { readFileSync, statSync } from 'node:fs';

/**
 * @param {URL} dist the bundle folder (ends with '/'), holding build-info.json
 * @param {URL} root the folder the build-info inputs are relative to (ends with '/')
 * @returns {boolean}
 */
export function bundleIsFresh(dist, root) {
  try {
    const info = JSON.parse(readFileSync(new URL('build-info.json', dist), 'utf8'));
    if (!Array.isArray(info.inputs) || info.inputs.length === 0 || typeof info.builtAt !== 'number') return false;
    for (const input of info.inputs) if (statSync(new URL(input, root)).mtimeMs > info.builtAt) return false;
    return true;
  } catch {
    // No bundle, a bad build-info, or a source file gone: run from source.
    return false;
  }
}
