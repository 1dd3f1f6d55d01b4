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

NAME=azurite.sh TITLE=Azurite MATCH=azurite
# shellcheck source=scripts/service-lib.sh
source "$ROOT/scripts/service-lib.sh"
service_prepare "$@"

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
service_launch "$RUNDIR/azurite.log" 30 "$BIN" "${ARGS[@]}"
