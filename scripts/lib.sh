# Shared shell helpers for scripts/test.sh and scripts/quickstart.sh (sourced, not run). Expects cwd = repo root.

# `npm ci` when node_modules is missing or older than package-lock.json. npm records what it installed in
# node_modules/.package-lock.json, so that file's age is the install's age.
install_node_modules() {
  local reason=
  if [[ ! -d node_modules ]]; then
    reason="node_modules is missing"
  elif [[ ! -f node_modules/.package-lock.json ]]; then
    reason="node_modules has no install record"
  elif [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
    reason="package-lock.json is newer than node_modules"
  fi
  if [[ -z "$reason" ]]; then
    echo "node_modules is up to date with package-lock.json; skipping npm ci"
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "error: npm not found; install Node.js 20 (with npm 11) first" >&2
    return 1
  fi
  echo "$reason: npm ci"
  if ! npm ci --no-audit --no-fund; then
    # The usual cause here: optional platform packages the registry lacks are missing from the lock file.
    node scripts/lockfile-platforms.mjs --check || true
    return 1
  fi
}

# Bundles the `veil` executable (apps/veil/dist, see scripts/build.mjs). `npm ci` does it too (the root `prepare`
# script), but node_modules may be reused from an earlier install while the sources changed: build every time (~1 s).
build_bundle() {
  node scripts/build.mjs
}
