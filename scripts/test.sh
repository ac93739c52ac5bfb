#!/usr/bin/env bash
# THE test command: `bash scripts/test.sh` (README quick start), `npm test` and .ci/run all end up here.
# On a fresh Debian 12 machine it installs what is missing (system peers via apt, node_modules via npm ci), then runs
# every check. Install steps stop at the first failure; check steps all run and the script fails at the end if any
# failed, so one run reports everything. Works from any cwd.
#
# Environment:
#   VEIL_FUZZ_ITERATIONS      iterations for the scanner fuzz target (default 100000)
#   VEIL_SKIP_SYSTEM_PEERS=1  do not check/install apt packages (e.g. a dev machine without root)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SHARED_DATA="$ROOT/../shared/data"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# ---------------------------------------------------------------------------------------------------------------------
# Step bookkeeping: a header per step, elapsed seconds per step in a summary printed however the script exits.

STEP_NAMES=()
STEP_TIMES=()
STEP_RESULTS=()
FAILED=()
SCRIPT_START=$(date +%s%N)

elapsed_since() { # nanosecond timestamp -> seconds with one decimal
  local ns=$(($(date +%s%N) - $1))
  printf '%d.%d' $((ns / 1000000000)) $((ns % 1000000000 / 100000000))
}

summary() {
  local rc=$?
  echo
  echo "==> Summary"
  local i
  for i in "${!STEP_NAMES[@]}"; do
    printf '  %-8s %7ss  %s\n' "${STEP_RESULTS[$i]}" "${STEP_TIMES[$i]}" "${STEP_NAMES[$i]}"
  done
  if [[ -n "${CURRENT_STEP:-}" ]]; then
    printf '  %-8s %7ss  %s\n' "ABORTED" "$(elapsed_since "$CURRENT_START")" "$CURRENT_STEP"
  fi
  printf '  total    %7ss\n' "$(elapsed_since "$SCRIPT_START")"
  if ((rc != 0)); then echo "FAILED (exit $rc)${FAILED[*]:+: ${FAILED[*]}}"; else echo "OK"; fi
}
trap summary EXIT

# run_step NAME CMD...  — must succeed; stops the script otherwise (the EXIT trap still prints the summary).
run_step() {
  local name=$1
  shift
  printf '\n==> %s\n' "$name"
  CURRENT_STEP=$name
  CURRENT_START=$(date +%s%N)
  "$@"
  STEP_NAMES+=("$name")
  STEP_TIMES+=("$(elapsed_since "$CURRENT_START")")
  STEP_RESULTS+=("ok")
  CURRENT_STEP=
}

# check_step NAME CMD...  — a failure is recorded and the next check still runs.
check_step() {
  local name=$1
  shift
  printf '\n==> %s\n' "$name"
  CURRENT_STEP=$name
  CURRENT_START=$(date +%s%N)
  local result=ok
  if ! "$@"; then
    result=FAILED
    FAILED+=("$name")
  fi
  STEP_NAMES+=("$name")
  STEP_TIMES+=("$(elapsed_since "$CURRENT_START")")
  STEP_RESULTS+=("$result")
  CURRENT_STEP=
}

skip_step() {
  printf '\n==> %s\n  skipped: %s\n' "$1" "$2"
  STEP_NAMES+=("$1")
  STEP_TIMES+=("0.0")
  STEP_RESULTS+=("skipped")
}

# ---------------------------------------------------------------------------------------------------------------------
# System peers. One row per Debian package: "<package>|<check> <check>...". A check is
#   cmd:NAME   an executable on PATH          py:MODULE  importable by Debian's /usr/bin/python3
#   file:PATH  a file or folder that exists   (globs allowed: file:/usr/lib/postgresql/*/bin/initdb)
# A package is installed when any of its checks fails. Add rows here as tests start needing more peers, e.g.
#   "orthanc|cmd:Orthanc"  "redis-server|cmd:redis-server"  "chromium|cmd:chromium"
#   "postgresql|file:/usr/lib/postgresql/*/bin/initdb"
SYSTEM_PEERS=(
  "build-essential|cmd:g++ cmd:make" # npm ci compiles better-sqlite3 from source (node-gyp)
  "dcmtk|cmd:dcmdump cmd:dcm2json cmd:storescu cmd:storescp"
  "python3-pydicom|py:pydicom"
  "libgdcm-tools|cmd:gdcmanon"
  "orthanc|cmd:Orthanc"
  "orthanc-dicomweb|file:/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
  "chromium|cmd:chromium" # browser tests (playwright-core drives Debian's Chromium; never `playwright install`)
  "time|file:/usr/bin/time"  # GNU time: peak RSS of veil deid over the hostile corpus (hostile-cli.test.ts)
  "openssl|cmd:openssl"      # throwaway TLS certificates for the listener security tests
  "iproute2|cmd:ip"          # private network namespaces for the dcmtk peers (ip link set lo up)
)

peer_check() {
  local check=$1
  case "$check" in
  cmd:*) command -v "${check#cmd:}" >/dev/null 2>&1 ;;
  py:*) [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c "import ${check#py:}" >/dev/null 2>&1 ;;
  file:*) compgen -G "${check#file:}" >/dev/null ;;
  *)
    echo "unknown peer check '$check'" >&2
    return 2
    ;;
  esac
}

missing_peers() {
  local row pkg check
  for row in "${SYSTEM_PEERS[@]}"; do
    pkg=${row%%|*}
    for check in ${row#*|}; do
      if ! peer_check "$check"; then
        echo "$pkg"
        break
      fi
    done
  done
}

install_system_peers() {
  local missing
  mapfile -t missing < <(missing_peers)
  if ((${#missing[@]} == 0)); then
    echo "all present: $(printf '%s ' "${SYSTEM_PEERS[@]%%|*}")"
    return 0
  fi
  echo "missing: ${missing[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get not found; install these Debian packages yourself: ${missing[*]}" >&2
    return 1
  fi
  local sudo=()
  if ((EUID != 0)); then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "error: not root and no sudo; install these Debian packages yourself: ${missing[*]}" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 "${missing[@]}"
  mapfile -t missing < <(missing_peers)
  if ((${#missing[@]} > 0)); then
    echo "error: still missing after apt-get install: ${missing[*]}" >&2
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------------------------------

echo "Veil tests in $ROOT (node $(node --version 2>/dev/null || echo missing), npm $(npm --version 2>/dev/null || echo missing))"
if [[ ! -d "$SHARED_DATA" ]]; then
  echo "error: shared test data not found at $(cd "$ROOT/.." && pwd)/shared/data" >&2
  echo "       tests read fixtures from ../shared/data: put (or symlink) the shared folder beside the repository." >&2
  exit 1
fi

if [[ "${VEIL_SKIP_SYSTEM_PEERS:-}" == 1 ]]; then
  skip_step "system peers (apt)" "VEIL_SKIP_SYSTEM_PEERS=1"
else
  run_step "system peers (apt)" install_system_peers
fi
source scripts/services.sh && run_step "services (Redis, PostgreSQL)" start_services
run_step "npm ci" install_node_modules
run_step "build (apps/veil/dist)" build_bundle

if [[ -f scripts/codegen/ps36.ts ]]; then
  check_step "codegen:check" npm run codegen:check
else
  skip_step "codegen:check" "scripts/codegen/ps36.ts does not exist yet"
fi
check_step "typecheck" npm run typecheck
check_step "lint" npm run lint
check_step "test:unit" npm run test:unit
if [[ -f packages/core/test/fuzz/run.ts ]]; then
  check_step "fuzz (${VEIL_FUZZ_ITERATIONS:-100000} iterations)" \
    env VEIL_FUZZ_ITERATIONS="${VEIL_FUZZ_ITERATIONS:-100000}" node --import tsx packages/core/test/fuzz/run.ts
else
  skip_step "fuzz" "packages/core/test/fuzz/run.ts does not exist yet"
fi

((${#FAILED[@]} == 0))
