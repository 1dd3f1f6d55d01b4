#!/usr/bin/env bash
# Starts Azurite's blob service (the Azure Storage emulator) on
# 127.0.0.1:10000 in the background, for the tests of storage/azureblob:
#
#   scripts/azurite.sh         start it unless something already listens
#                              there; print the PID of the Azurite started
#   scripts/azurite.sh stop    stop the Azurite this script started
#
# Azurite comes from npm, pinned, into .cache/azurite (git-ignored): the
# first run installs it (about half a minute), later runs start at once. An
# azurite-blob already on PATH is used if .cache has none. Data lives in
# memory (--inMemoryPersistence) or, with an Azurite too old for that, in a
# fresh temporary directory; the log goes to a temporary directory whose
# path the script prints on standard error.
#
# Environment: AZURITE_VERSION (default 3.37.0), AZURITE_BLOB_PORT (default
# 10000), AZURITE_CACHE (default <repo>/.cache/azurite).
#
# Tests connect with Azurite's well-known development account:
#   AZURE_STORAGE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;'
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST=127.0.0.1
PORT="${AZURITE_BLOB_PORT:-10000}"
VERSION="${AZURITE_VERSION:-3.37.0}"
CACHE="${AZURITE_CACHE:-$ROOT/.cache/azurite}"
PIDFILE="$CACHE/azurite-$PORT.pid"

log() { echo "azurite.sh: $*" >&2; }
die() { log "$*"; exit 1; }

listening() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

# running_pid prints the PID in the pid file if that process is alive.
running_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # A stale file may name a PID reused by another program: check it is ours.
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q azurite || return 1
  fi
  echo "$pid"
}

mkdir -p "$CACHE"

if [[ "${1:-}" == "stop" ]]; then
  if pid="$(running_pid)"; then
    kill "$pid"
    rm -f "$PIDFILE"
    log "stopped Azurite (PID $pid)"
  else
    log "no Azurite started by this script is running"
  fi
  exit 0
elif [[ $# -gt 0 ]]; then
  die "usage: $0 [stop]"
fi

# One start at a time (test packages may call this concurrently).
if command -v flock >/dev/null; then
  exec 9>"$CACHE/.lock"
  flock -w 300 9 || die "timed out waiting for another azurite.sh"
fi

if listening; then
  if pid="$(running_pid)"; then
    log "Azurite (PID $pid) already listens on $HOST:$PORT"
    echo "$pid"
  else
    log "something already listens on $HOST:$PORT; leaving it alone"
  fi
  exit 0
fi

BIN="$CACHE/node_modules/.bin/azurite-blob"
if [[ ! -x "$BIN" ]]; then
  if command -v azurite-blob >/dev/null; then
    BIN="$(command -v azurite-blob)"
  else
    command -v npm >/dev/null || die "npm not found: install Node.js and npm (Debian: apt-get install nodejs npm)"
    log "installing azurite@$VERSION into $CACHE (once)"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$CACHE" "azurite@$VERSION" >&2 ||
      die "npm install azurite@$VERSION failed"
    [[ -x "$BIN" ]] || die "npm installed azurite but $BIN is missing"
  fi
fi

RUNDIR="$(mktemp -d "${TMPDIR:-/tmp}/azurite.XXXXXX")"
HELP="$("$BIN" --help 2>&1 || true)"
ARGS=(--blobHost "$HOST" --blobPort "$PORT" --skipApiVersionCheck --loose)
if grep -q -- --disableTelemetry <<<"$HELP"; then
  ARGS+=(--disableTelemetry) # no traffic to anything but the tests
fi
if grep -q -- --inMemoryPersistence <<<"$HELP"; then
  ARGS+=(--inMemoryPersistence) # incompatible with --location; runs in RUNDIR
else
  ARGS+=(--location "$RUNDIR")
fi

cd "$RUNDIR"
# 9>&- : the server must not hold the start lock.
nohup "$BIN" "${ARGS[@]}" >"$RUNDIR/azurite.log" 2>&1 </dev/null 9>&- &
PID=$!
echo "$PID" >"$PIDFILE"

for _ in $(seq 1 300); do
  if listening; then
    log "Azurite (PID $PID) listens on $HOST:$PORT; log: $RUNDIR/azurite.log"
    echo "$PID"
    exit 0
  fi
  if ! kill -0 "$PID" 2>/dev/null; then
    rm -f "$PIDFILE"
    die "Azurite exited before listening on $HOST:$PORT; its log: $(cat "$RUNDIR/azurite.log")"
  fi
  sleep 0.1
done
kill "$PID" 2>/dev/null || true
rm -f "$PIDFILE"
die "Azurite did not listen on $HOST:$PORT within 30 s; its log: $(cat "$RUNDIR/azurite.log")"
