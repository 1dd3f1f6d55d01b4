#!/usr/bin/env bash
# Starts a GCS emulator (fake-gcs-server, in memory, plain HTTP) on
# 127.0.0.1:10003 in the background, for the test of the spark engine over
# a gs:// lake: the Spark Connect server of scripts/spark-connect-gcs.sh and
# the medallion processes of the test reach it at that fixed address. The
# emulator is scripts/gcsserver (the fakestorage library of go.mod), built
# with the repository's Go toolchain into .cache/gcsserver.
#
#   scripts/gcsserver.sh         start it unless something already listens
#                                there; print its PID
#   scripts/gcsserver.sh stop    stop the server this script started
#
# Environment: GCSSERVER_PORT (default 10003), GO (default go).
#
# Clients connect with STORAGE_EMULATOR_HOST=http://127.0.0.1:10003, the
# GCS connector with fs.gs.storage.root.url=http://127.0.0.1:10003/ and
# fs.gs.auth.type=UNAUTHENTICATED.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST=127.0.0.1
PORT="${GCSSERVER_PORT:-10003}"
CACHE="${GCSSERVER_CACHE:-$ROOT/.cache/gcsserver}"
PIDFILE="$CACHE/gcsserver-$PORT.pid"

NAME=gcsserver.sh TITLE="the GCS emulator" MATCH=gcsserver
# shellcheck source=scripts/service-lib.sh
source "$ROOT/scripts/service-lib.sh"
service_prepare "$@"

GO="${GO:-go}"
command -v "$GO" >/dev/null || die "$GO not found: the GCS emulator is built with Go"
(cd "$ROOT" && "$GO" build -o "$CACHE/gcsserver" ./scripts/gcsserver) >&2 || die "building scripts/gcsserver failed"

RUNDIR="$(mktemp -d "${TMPDIR:-/tmp}/gcsserver.XXXXXX")"
cd "$RUNDIR"
service_launch "$RUNDIR/gcsserver.log" 60 "$CACHE/gcsserver" -addr "$HOST:$PORT"
