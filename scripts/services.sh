# Services the gateway tests run against: Redis and PostgreSQL on 127.0.0.1 (sourced by scripts/test.sh, which calls
# start_services; also usable by hand: `source scripts/services.sh && start_services`).
#
# A service already answering is used as it is and never touched. Otherwise, on Debian (apt-get, root or sudo):
#   Redis       install redis-server if missing; start `redis-server --daemonize yes --bind 127.0.0.1 --port 6379
#               --save '' --appendonly no` (nothing persisted: tests make their own keys)
#   PostgreSQL  install postgresql if missing; start its `main` cluster (pg_ctlcluster --skip-systemctl-redirect); as it
#               was not running, this script may then add `host all all 127.0.0.1/32 trust` to that cluster's
#               pg_hba.conf (test machines only) and create the roles postgres and root and the database `test`.
# The tests find them at VEIL_TEST_REDIS_URL (redis://127.0.0.1:6379) and VEIL_TEST_PG_URL
# (postgres://postgres@127.0.0.1:5432/test). When a service cannot be had the tests skip, except under CI=true, where
# this function fails too.

_svc_sudo() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "services: not root and no sudo; cannot run: $*" >&2
    return 1
  fi
}

# Runs a command as the postgres system user.
_svc_as_postgres() {
  if ((EUID == 0)); then
    runuser -u postgres -- "$@" # util-linux, in every Debian
  elif command -v sudo >/dev/null 2>&1; then
    sudo -u postgres "$@"
  else
    echo "services: not root and no sudo; cannot run as postgres: $*" >&2
    return 1
  fi
}

_svc_apt_install() {
  command -v apt-get >/dev/null 2>&1 || {
    echo "services: apt-get not found; install $* yourself" >&2
    return 1
  }
  _svc_sudo apt-get update -q &&
    _svc_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 "$@"
}

_svc_redis_up() {
  command -v redis-cli >/dev/null 2>&1 && [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == PONG ]]
}

_svc_pg_up() {
  command -v pg_isready >/dev/null 2>&1 && pg_isready -h 127.0.0.1 -p 5432 -q
}

start_redis() {
  if _svc_redis_up; then
    echo "redis: answering on 127.0.0.1:6379"
    return 0
  fi
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    _svc_apt_install redis-server || return 1
  fi
  _svc_redis_up && return 0 # the package's own start may have done it
  _svc_sudo redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no || return 1
  local i
  for i in $(seq 1 50); do
    _svc_redis_up && echo "redis: started on 127.0.0.1:6379" && return 0
    sleep 0.2
  done
  echo "services: redis-server did not answer" >&2
  return 1
}

start_postgres() {
  if _svc_pg_up; then
    echo "postgresql: answering on 127.0.0.1:5432"
    return 0
  fi
  if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || ! command -v pg_ctlcluster >/dev/null 2>&1; then
    _svc_apt_install postgresql || return 1
  fi
  local ver
  ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  if [[ -z "$ver" ]]; then
    echo "services: no PostgreSQL version under /usr/lib/postgresql" >&2
    return 1
  fi
  if [[ ! -d "/etc/postgresql/$ver/main" ]]; then
    _svc_sudo pg_createcluster "$ver" main || return 1
  fi
  # It was not running: this is a machine for tests. Let loopback connect without a password.
  local hba="/etc/postgresql/$ver/main/pg_hba.conf"
  if ! _svc_sudo grep -qE '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    _svc_sudo sed -i '1i host all all 127.0.0.1/32 trust' "$hba" || return 1
  fi
  if _svc_pg_up; then # started by the package's installation: read the new pg_hba.conf
    _svc_sudo pg_ctlcluster --skip-systemctl-redirect "$ver" main reload || return 1
  else
    _svc_sudo pg_ctlcluster --skip-systemctl-redirect "$ver" main start || return 1
  fi
  local i
  for i in $(seq 1 100); do
    _svc_pg_up && break
    sleep 0.3
  done
  if ! _svc_pg_up; then
    echo "services: PostgreSQL $ver did not answer on 127.0.0.1:5432" >&2
    return 1
  fi
  local role
  for role in postgres root; do
    if [[ "$(_svc_as_postgres psql -h 127.0.0.1 -Atc "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" != 1 ]]; then
      _svc_as_postgres psql -h 127.0.0.1 -qc "CREATE ROLE \"$role\" LOGIN SUPERUSER" || return 1
    fi
  done
  if [[ "$(_svc_as_postgres psql -h 127.0.0.1 -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]]; then
    _svc_as_postgres createdb -h 127.0.0.1 -O postgres test || return 1
  fi
  echo "postgresql: $ver started on 127.0.0.1:5432 (database test)"
}

# Both services. Without them the gateway tests skip; under CI=true they are required.
start_services() {
  local failed=()
  start_redis || failed+=(redis)
  start_postgres || failed+=(postgresql)
  if ((${#failed[@]} == 0)); then return 0; fi
  if [[ -n "${CI:-}" ]]; then
    echo "error: could not start: ${failed[*]} (CI=true: the gateway tests need them)" >&2
    return 1
  fi
  echo "warning: could not start: ${failed[*]}; the tests that need them will be skipped" >&2
  return 0
}
