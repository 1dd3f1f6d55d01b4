#!/usr/bin/env bash
# Starts Azurite's queue service (the Azure Storage emulator's queues) on
# 127.0.0.1:10012 in the background, for the tests of ingest/notify:
#
#   scripts/azurite-queue.sh       start it unless something already listens
#                                  there; print the PID of the Azurite started
#   scripts/azurite-queue.sh stop  stop the Azurite this script started
#
# Azurite's default queue port, 10001, is the local S3 server's
# (scripts/s3server.sh), hence 10012. Azurite comes from npm, pinned, into
# .cache/azurite as for scripts/azurite.sh (one install serves both). Data
# lives in memory.
#
# Environment: AZURITE_VERSION (default 3.37.0), AZURITE_QUEUE_PORT (default
# 10012), AZURITE_CACHE (default <repo>/.cache/azurite).
#
# Tests connect with Azurite's well-known development account and the queue
# URL http://127.0.0.1:10012/devstoreaccount1/QUEUE.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST=127.0.0.1
PORT="${AZURITE_QUEUE_PORT:-10012}"
VERSION="${AZURITE_VERSION:-3.37.0}"
CACHE="${AZURITE_CACHE:-$ROOT/.cache/azurite}"
PIDFILE="$CACHE/azurite-queue-$PORT.pid"

NAME=azurite-queue.sh TITLE="Azurite's queue service" MATCH=azurite
# shellcheck source=scripts/service-lib.sh
source "$ROOT/scripts/service-lib.sh"
service_prepare "$@"

BIN="$CACHE/node_modules/.bin/azurite-queue"
if [[ ! -x "$BIN" ]]; then
  if command -v azurite-queue >/dev/null; then
    BIN="$(command -v azurite-queue)"
  else
    command -v npm >/dev/null || die "npm not found: install Node.js and npm (Debian: apt-get install nodejs npm)"
    log "installing azurite@$VERSION into $CACHE (once)"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$CACHE" "azurite@$VERSION" >&2 ||
      die "npm install azurite@$VERSION failed"
    [[ -x "$BIN" ]] || die "npm installed azurite but $BIN is missing"
  fi
fi

RUNDIR="$(mktemp -d "${TMPDIR:-/tmp}/azurite-queue.XXXXXX")"
HELP="$("$BIN" --help 2>&1 || true)"
ARGS=(--queueHost "$HOST" --queuePort "$PORT" --skipApiVersionCheck --loose)
if grep -q -- --disableTelemetry <<<"$HELP"; then
  ARGS+=(--disableTelemetry) # no traffic to anything but the tests
fi
if grep -q -- --inMemoryPersistence <<<"$HELP"; then
  ARGS+=(--inMemoryPersistence)
else
  ARGS+=(--location "$RUNDIR")
fi

cd "$RUNDIR"
service_launch "$RUNDIR/azurite-queue.log" 30 "$BIN" "${ARGS[@]}"
