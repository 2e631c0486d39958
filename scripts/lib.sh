# Shared by scripts/run and scripts/test: package install, build, PostgreSQL helpers.
# Sourced, not executed.

BACKSTOP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN=/usr/lib/postgresql/15/bin

# Debian 12 packages Backstop needs to build, test and run. Boost is taken as
# the header package plus Boost.JSON (Asio and Beast are header-only; the
# -all-dev meta package would pull in MPI and friends for nothing).
BACKSTOP_PACKAGES=(
  build-essential cmake pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev
  libpqxx-dev prometheus-cpp-dev libspdlog-dev libyaml-cpp-dev
  libgtest-dev libssl-dev openssl
  postgresql-15 postgresql-client-15
  curl python3
  prometheus
  # The web page's browser tests (tests/ui): headless Chromium driven by
  # Selenium; a font so screenshots show text.
  chromium chromium-driver python3-selenium fonts-dejavu-core
)
# Integration tests start their own Prometheus (a real one, on a free
# loopback port with temp storage); the package only provides the binary.

# ccache needs a writable cache folder even where HOME is unset (CI).
export CCACHE_DIR="${CCACHE_DIR:-${HOME:-/tmp}/.ccache}"
# Paths inside the checkout are hashed relative to it, so a fresh clone in
# another folder (CI, a second worktree) reuses the cache of this one.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$BACKSTOP_ROOT}"
export CCACHE_NOHASHDIR=true

log() { printf '[backstop] %s\n' "$*" >&2; }

install_packages() {
  local missing=()
  local p
  for p in "${BACKSTOP_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  log "installing: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  # The postgresql package would create and start a default cluster; we run
  # our own clusters, so keep the packaged one from being created.
  $sudo mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.d/backstop.conf >/dev/null
  # Nor may the prometheus package start a system Prometheus (its postinst
  # asks invoke-rc.d): a policy-rc.d that refuses every start, for the
  # duration of the install only, unless one is already there.
  local policy=/usr/sbin/policy-rc.d own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    own_policy=1
  fi
  $sudo apt-get update -qq
  local rc=0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  if [ -n "$own_policy" ]; then $sudo rm -f "$policy"; fi
  [ "$rc" -eq 0 ] || return "$rc"
  # Where systemd runs, the unit is still enabled for the next boot: the
  # tests never use a system Prometheus, so switch it off if we installed it.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
}

# build_backstop BUILD_TYPE [extra cmake args...]
build_backstop() {
  local build_type="$1"; shift
  local build_dir="$BACKSTOP_ROOT/build"
  cmake -S "$BACKSTOP_ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" "$@" >/dev/null
  cmake --build "$build_dir" -j "${BACKSTOP_JOBS:-2}"
}

# The postgres OS user must be able to reach the data directory.
pg_prepare_dir() {
  local dir="$1"
  mkdir -p "$dir"
  chown postgres:postgres "$dir"
  chmod 700 "$dir"
}

pg_as() { runuser -u postgres -- "$@"; }

# pg_init DATADIR PORT: initialise a cluster that trusts loopback connections.
pg_init() {
  local data="$1" port="$2"
  pg_as "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$data'"
    echo "max_connections = 200"
    echo "fsync = ${PG_FSYNC:-on}"
  } | pg_as tee -a "$data/postgresql.conf" >/dev/null
}

pg_start() {
  local data="$1"
  pg_as "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null
}

pg_stop() {
  local data="$1"
  [ -f "$data/postmaster.pid" ] || return 0
  pg_as "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

# pg_psql DATADIR PORT SQL...: run SQL as the superuser (in database
# PG_DB, default postgres).
pg_psql() {
  local data="$1" port="$2"; shift 2
  pg_as psql -h 127.0.0.1 -p "$port" -U postgres -d "${PG_DB:-postgres}" -v ON_ERROR_STOP=1 -q "$@"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_throwaway_pg: a cluster on a free port in a temp dir, removed on exit.
# Sets BACKSTOP_TMP, BACKSTOP_PG_DATA, BACKSTOP_PG_PORT and a trap.
start_throwaway_pg() {
  BACKSTOP_TMP="$(mktemp -d /tmp/backstop.XXXXXX)"
  BACKSTOP_PG_DATA="$BACKSTOP_TMP/pg"
  trap 'pg_stop "$BACKSTOP_PG_DATA"; rm -rf "$BACKSTOP_TMP"' EXIT
  trap 'exit 130' INT TERM
  chmod 755 "$BACKSTOP_TMP"
  pg_prepare_dir "$BACKSTOP_PG_DATA"
  BACKSTOP_PG_PORT="$(free_port)"
  # Throwaway data: durability does not matter, speed does.
  PG_FSYNC=off pg_init "$BACKSTOP_PG_DATA" "$BACKSTOP_PG_PORT"
  pg_start "$BACKSTOP_PG_DATA"
  # Two roles, as in production (README: Database roles): backstop_owner
  # creates, migrates and owns the test databases; backstop serves with the
  # grants the migrator gives it. The owner is a member of the serving role
  # (not the reverse), so it may end the serving role's sessions when it
  # drops a test database.
  pg_psql "$BACKSTOP_PG_DATA" "$BACKSTOP_PG_PORT" \
    -c "CREATE ROLE backstop_owner LOGIN CREATEDB" -c "CREATE ROLE backstop LOGIN" \
    -c "GRANT backstop TO backstop_owner" \
    -c "CREATE DATABASE backstop_test OWNER backstop_owner"
}
