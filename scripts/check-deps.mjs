#!/usr/bin/env node
// Dependency rules for the workspace, checked on the import graph of every source file (packages/*/src, apps/*/src).
//
//   core      packages/core/src imports only files inside packages/core and its declared dependencies: no node:*
//             or bare Node builtins, no @veil/* package, and no `process.` or `Buffer` identifiers (core is pure).
//             packages/text (@veil/text) is held to the same rule.
//   packages  other packages import @veil/core and their declared dependencies (Node builtins are fine), never an
//             app (apps/*, @veil/app); protocol packages (dimse, dicomweb) never import store-* or queue-* packages.
//   layout    nothing reaches into another package by relative path (../../core/src/x.ts) or past its `exports`
//             (@veil/core/src/x.ts); use the package name.
//   tests     the layout rule also holds for each package's test/ folder, and for the repository's bench/, scripts/
//   bench     and test/ folders (TypeScript and .mjs): a package is used by its name and its exports, never by its
//   scripts   src/ path (another package's test/support fixtures may be shared). Two exceptions, both for files that are not part of any package's API: bench/ may import
//             the app's own modules (apps/veil/src: the app has no library API, and the benchmarks time its
//             internals), and scripts/codegen may import packages/core/src/dicom/vr.ts, the one hand-written table
//             the dictionary generator needs before the generated dictionary (and so @veil/core) exists.
//
// Plain Node, no dependencies: a small tokenizer skips comments, strings and regular expressions so that text which
// only looks like an import is not reported. Usage: node scripts/check-deps.mjs [repo-root]
// Prints `file:line: message` per violation and exits 1, or prints `deps ok (N files)`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx'];
const PROTOCOL_PACKAGES = new Set(['dimse', 'dicomweb']);
const BACKEND_PACKAGE = /^(store|queue)-/;
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]]));

// ---------------------------------------------------------------------------------------------------------------------
// Workspace packages

/**
 * @typedef {{ dir: string, group: 'packages' | 'apps', folder: string, name: string, deps: Set<string>,
 *             exportKeys: string[] }} Workspace
 */

/** @returns {Workspace[]} */
function readWorkspaces() {
  const out = [];
  for (const group of /** @type {const} */ (['packages', 'apps'])) {
    const groupDir = join(root, group);
    if (!existsSync(groupDir)) continue;
    for (const folder of readdirSync(groupDir).sort()) {
      const dir = join(groupDir, folder);
      const manifestPath = join(dir, 'package.json');
      if (!existsSync(manifestPath)) continue;
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
      const deps = new Set([
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
        ...Object.keys(manifest.optionalDependencies ?? {}),
      ]);
      const exportsField = manifest.exports;
      let exportKeys = ['.'];
      if (
        exportsField &&
        typeof exportsField === 'object' &&
        Object.keys(exportsField).some((k) => k.startsWith('.'))
      ) {
        exportKeys = Object.keys(exportsField);
      }
      out.push({ dir, group, folder, name: manifest.name ?? folder, deps, exportKeys });
    }
  }
  return out;
}

/** Package name of a bare specifier: `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
function packageName(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Whether `subpath` (`.` or `./x`) is listed in a package's exports, `*` patterns included. */
function isExported(ws, subpath) {
  return ws.exportKeys.some((key) => {
    if (!key.includes('*')) return key === subpath;
    const [head, tail] = key.split('*');
    return subpath.startsWith(head) && subpath.endsWith(tail) && subpath.length >= head.length + tail.length;
  });
}

function isInside(dir, file) {
  const rel = relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

// ---------------------------------------------------------------------------------------------------------------------
// Tokenizer: identifiers, punctuators, string literals (with their value) and line numbers. Comments are dropped;
// template literals become one string token when they have no substitutions, otherwise their expressions are tokenized.

const KEYWORDS_BEFORE_REGEX = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);

/** @typedef {{ type: 'id' | 'punct' | 'string' | 'number', value: string, line: number }} Token */

/** @returns {Token[]} */
function tokenize(src) {
  /** @type {Token[]} */
  const tokens = [];
  let i = 0;
  let line = 1;
  /** brace depth at which each open template literal's `${` started */
  const templateStack = [];
  let braceDepth = 0;

  const regexAllowed = () => {
    const prev = tokens[tokens.length - 1];
    if (!prev) return true;
    if (prev.type === 'string' || prev.type === 'number') return false;
    if (prev.type === 'id') return KEYWORDS_BEFORE_REGEX.has(prev.value);
    return !(prev.value === ')' || prev.value === ']');
  };

  /** Reads template text from i (just after ` or }) to the closing ` or to a `${`. */
  const readTemplate = (startLine) => {
    let text = '';
    while (i < src.length) {
      const c = src[i];
      if (c === '\\') {
        text += src.slice(i, i + 2);
        if (src[i + 1] === '\n') line++;
        i += 2;
      } else if (c === '`') {
        i++;
        return { text, closed: true, line: startLine };
      } else if (c === '$' && src[i + 1] === '{') {
        i += 2;
        return { text, closed: false, line: startLine };
      } else {
        if (c === '\n') line++;
        text += c;
        i++;
      }
    }
    return { text, closed: true, line: startLine };
  };

  while (i < src.length) {
    const c = src[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v' || c === '\uFEFF') {
      i++;
    } else if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end === -1 ? src.length : end + 2;
      for (let k = i; k < stop; k++) if (src[k] === '\n') line++;
      i = stop;
    } else if (c === "'" || c === '"') {
      const startLine = line;
      let value = '';
      i++;
      while (i < src.length && src[i] !== c && src[i] !== '\n') {
        if (src[i] === '\\') {
          value += src[i + 1] ?? '';
          i += 2;
        } else {
          value += src[i];
          i++;
        }
      }
      i++;
      tokens.push({ type: 'string', value, line: startLine });
    } else if (c === '`') {
      i++;
      const t = readTemplate(line);
      if (t.closed) {
        tokens.push({ type: 'string', value: t.text, line: t.line });
      } else {
        tokens.push({ type: 'punct', value: '`', line: t.line });
        templateStack.push(braceDepth);
        braceDepth++;
      }
    } else if (c === '/' && regexAllowed()) {
      // A regular expression literal never spans lines; if no closing slash is found on this line it was division.
      let k = i + 1;
      let inClass = false;
      let closed = false;
      while (k < src.length && src[k] !== '\n') {
        const d = src[k];
        if (d === '\\') {
          k += 2;
          continue;
        }
        if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) {
          closed = true;
          break;
        }
        k++;
      }
      if (closed) {
        k++;
        while (k < src.length && /[A-Za-z]/.test(src[k])) k++;
        tokens.push({ type: 'punct', value: '/regex/', line });
        i = k;
      } else {
        tokens.push({ type: 'punct', value: '/', line });
        i++;
      }
    } else if (/[A-Za-z_$\u0080-\uFFFF]/.test(c)) {
      let k = i + 1;
      while (k < src.length && /[A-Za-z0-9_$\u0080-\uFFFF]/.test(src[k])) k++;
      tokens.push({ type: 'id', value: src.slice(i, k), line });
      i = k;
    } else if (/[0-9]/.test(c)) {
      let k = i + 1;
      while (k < src.length && /[0-9A-Za-z_.]/.test(src[k])) k++;
      tokens.push({ type: 'number', value: src.slice(i, k), line });
      i = k;
    } else if (c === '.' && src[i + 1] === '.' && src[i + 2] === '.') {
      tokens.push({ type: 'punct', value: '...', line });
      i += 3;
    } else if (c === '?' && src[i + 1] === '.' && !/[0-9]/.test(src[i + 2] ?? '')) {
      tokens.push({ type: 'punct', value: '?.', line });
      i += 2;
    } else if (c === '{') {
      braceDepth++;
      tokens.push({ type: 'punct', value: c, line });
      i++;
    } else if (c === '}') {
      braceDepth--;
      if (templateStack.length > 0 && templateStack[templateStack.length - 1] === braceDepth) {
        // end of a `${...}` substitution: continue the template text
        templateStack.pop();
        i++;
        const t = readTemplate(line);
        if (!t.closed) {
          templateStack.push(braceDepth);
          braceDepth++;
        } else {
          tokens.push({ type: 'punct', value: '`', line: t.line });
        }
      } else {
        tokens.push({ type: 'punct', value: c, line });
        i++;
      }
    } else {
      tokens.push({ type: 'punct', value: c, line });
      i++;
    }
  }
  return tokens;
}

/**
 * Module specifiers: `import x from 's'`, `import 's'`, `export ... from 's'`, `import('s')`, `require('s')`,
 * `import x = require('s')`, `import type ... from 's'`, `typeof import('s')`.
 * @returns {{ spec: string, line: number }[]}
 */
function specifiers(tokens) {
  const out = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.type !== 'id') continue;
    const prev = tokens[k - 1];
    if (prev && prev.type === 'punct' && (prev.value === '.' || prev.value === '?.')) continue;
    const next = tokens[k + 1];
    const next2 = tokens[k + 2];
    if (t.value === 'from' && next?.type === 'string') {
      out.push({ spec: next.value, line: next.line });
    } else if (t.value === 'import' && next?.type === 'string') {
      out.push({ spec: next.value, line: next.line });
    } else if (
      (t.value === 'import' || t.value === 'require') &&
      next?.type === 'punct' &&
      next.value === '(' &&
      next2?.type === 'string'
    ) {
      out.push({ spec: next2.value, line: next2.line });
    }
  }
  return out;
}

/** Uses of Node globals that core must not touch: `process.x` / `process[...]` and any `Buffer`. */
function nodeGlobals(tokens) {
  const out = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.type !== 'id' || (t.value !== 'process' && t.value !== 'Buffer')) continue;
    const prev = tokens[k - 1];
    const viaGlobalThis = prev?.value === '.' && tokens[k - 2]?.value === 'globalThis';
    if (prev && (prev.value === '.' || prev.value === '?.') && !viaGlobalThis) continue; // a property, e.g. x.process
    const next = tokens[k + 1];
    if (t.value === 'process') {
      if (next && (next.value === '.' || next.value === '?.' || next.value === '[')) out.push(t);
    } else if (!(next && next.value === ':' && prev && (prev.value === '{' || prev.value === ','))) {
      out.push(t); // `Buffer` as a value or a type; an object key `{ Buffer: 1 }` is fine
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Rules

function sourceFiles(dir) {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && SOURCE_EXTENSIONS.some((x) => e.name.endsWith(x)) && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .filter((f) => !f.split(sep).includes('node_modules'))
    .sort();
}

const workspaces = readWorkspaces();
const byName = new Map(workspaces.map((w) => [w.name, w]));
const violations = [];
let fileCount = 0;

/** Workspace whose folder contains `file`, if any. */
function workspaceOf(file) {
  return workspaces.find((w) => isInside(w.dir, file));
}

/** The pure packages: core, and text (the free-text PHI engine), held to the same rule. */
function isCore(ws) {
  return ws.group === 'packages' && (ws.folder === 'core' || ws.folder === 'text');
}

function isBackend(ws) {
  return ws.group === 'packages' && BACKEND_PACKAGE.test(ws.folder);
}

function checkSpecifier(ws, file, spec) {
  const core = isCore(ws);
  const problems = [];

  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('file:')) {
    const target = spec.startsWith('file:') ? fileURLToPath(spec) : resolve(dirname(file), spec);
    if (isInside(ws.dir, target)) return problems;
    const other = workspaceOf(target);
    if (other) {
      problems.push(
        `imports ${other.group}/${other.folder} internals by relative path; import '${other.name}' instead`,
      );
      if (other.group === 'apps') problems.push(`${ws.group} may not import apps (${other.name})`);
    } else {
      problems.push(`relative import leaves ${relative(root, ws.dir)}`);
    }
    return problems;
  }

  if (spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(packageName(spec))) {
    if (core) problems.push('core may not import Node builtins (pure core: I/O belongs in adapters)');
    return problems;
  }

  const name = packageName(spec);
  const target = byName.get(name);
  if (core && name.startsWith('@veil/')) {
    problems.push('core may not import @veil/* packages');
    return problems;
  }
  if (target) {
    const subpath = spec === name ? '.' : `.${spec.slice(name.length)}`;
    if (!isExported(target, subpath)) {
      problems.push(`'${subpath}' is not in ${name}'s exports; import a public entry point of '${name}'`);
    }
    if (ws.group === 'packages' && target.group === 'apps') {
      problems.push(`packages may not import apps (${name})`);
    }
    if (ws.group === 'packages' && PROTOCOL_PACKAGES.has(ws.folder) && isBackend(target)) {
      problems.push(`protocol package ${ws.name} may not import store/queue package ${name}; define a handler port`);
    }
    if (target !== ws && !ws.deps.has(name)) {
      problems.push(`'${name}' is not in ${relative(root, join(ws.dir, 'package.json'))} dependencies`);
    }
    return problems;
  }
  if (!ws.deps.has(name)) {
    problems.push(`'${name}' is not in ${relative(root, join(ws.dir, 'package.json'))} dependencies`);
  }
  return problems;
}

for (const ws of workspaces) {
  for (const file of sourceFiles(join(ws.dir, 'src'))) {
    fileCount++;
    const tokens = tokenize(readFileSync(file, 'utf8'));
    const found = [];
    for (const { spec, line } of specifiers(tokens)) {
      for (const problem of checkSpecifier(ws, file, spec)) found.push({ line, text: `${problem} ('${spec}')` });
    }
    if (isCore(ws)) {
      for (const t of nodeGlobals(tokens)) {
        found.push({ line: t.line, text: `core may not use the Node global '${t.value}' (take it as an argument)` });
      }
    }
    found.sort((a, b) => a.line - b.line);
    for (const f of found) violations.push(`${relative(root, file)}:${f.line}: ${f.text}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Tests, benchmarks and scripts: the layout rule only (they may use Node builtins and dev dependencies).

const LAYOUT_EXTENSIONS = [...SOURCE_EXTENSIONS, '.mjs'];

function layoutFiles(dir) {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && LAYOUT_EXTENSIONS.some((x) => e.name.endsWith(x)) && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .filter((f) => !f.split(sep).some((part) => part === 'node_modules' || part === 'out' || part === 'dist'))
    .sort();
}

const CODEGEN_BOOTSTRAP = new Set(['packages/core/src/dicom/vr.ts']);

/** `owner`: the workspace whose test/ holds the file, or undefined for the repository's bench/, scripts/, test/. */
function checkLayout(file, owner, spec) {
  const fromRel = relative(root, file).split(sep).join('/');
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('file:')) {
    const target = spec.startsWith('file:') ? fileURLToPath(spec) : resolve(dirname(file), spec);
    const other = workspaceOf(target);
    if (!other || other === owner) return [];
    const targetRel = relative(root, target).split(sep).join('/');
    // Shared test support (another package's test/support) is fixtures, not API: only src/ is off limits.
    if (!relative(other.dir, target).split(sep).join('/').startsWith('src/')) return [];
    if (fromRel.startsWith('bench/') && other.group === 'apps') return [];
    if (fromRel.startsWith('scripts/codegen/') && CODEGEN_BOOTSTRAP.has(targetRel)) return [];
    return [`reaches into ${other.group}/${other.folder} by relative path; import '${other.name}' instead`];
  }
  if (spec.startsWith('node:') || BUILTINS.has(spec)) return [];
  const name = packageName(spec);
  const target = byName.get(name);
  if (!target) return [];
  const subpath = spec === name ? '.' : `.${spec.slice(name.length)}`;
  if (!isExported(target, subpath)) {
    return [`'${subpath}' is not in ${name}'s exports; import a public entry point of '${name}'`];
  }
  return [];
}

const layoutSets = [
  ...workspaces.map((ws) => ({ owner: ws, files: layoutFiles(join(ws.dir, 'test')) })),
  ...['bench', 'scripts', 'test'].map((d) => ({ owner: undefined, files: layoutFiles(join(root, d)) })),
];
for (const { owner, files } of layoutSets) {
  for (const file of files) {
    fileCount++;
    const found = [];
    for (const { spec, line } of specifiers(tokenize(readFileSync(file, 'utf8')))) {
      for (const problem of checkLayout(file, owner, spec)) found.push({ line, text: `${problem} ('${spec}')` });
    }
    found.sort((a, b) => a.line - b.line);
    for (const f of found) violations.push(`${relative(root, file)}:${f.line}: ${f.text}`);
  }
}

if (violations.length > 0) {
  for (const v of violations) console.error(v);
  console.error(`deps: ${violations.length} violation(s) in ${fileCount} files`);
  process.exit(1);
}
console.log(`deps ok (${fileCount} files)`);
