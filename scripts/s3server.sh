#!/usr/bin/env bash
# Starts a local S3-compatible server on 127.0.0.1:10001 in the background,
# for the tests of storage/s3blob:
#
#   scripts/s3server.sh         start it unless something already listens
#                               there; print the PID of the server started
#   scripts/s3server.sh stop    stop the server this script started
#
# The server is moto's S3 (PyPI moto[server], pinned), installed once into a
# virtualenv in .cache/moto (git-ignored). moto evaluates If-None-Match: *
# on PutObject and CompleteMultipartUpload (412 PreconditionFailed when the
# key exists) but checks and writes in two steps; moto_server's threaded
# mode could therefore let two racing conditional writes both succeed. This
# script runs moto's WSGI app with a single-threaded server instead, so
# requests are handled one at a time and the check and the write are atomic,
# as they are on S3 itself. Data lives in memory.
#
# Environment: MOTO_VERSION (default 5.2.5), S3SERVER_PORT (default 10001),
# S3SERVER_CACHE (default <repo>/.cache/moto), PYTHON (default python3).
#
# Tests connect with: AWS_ENDPOINT_URL_S3=http://127.0.0.1:10001,
# AWS_ACCESS_KEY_ID=test, AWS_SECRET_ACCESS_KEY=test, AWS_REGION=us-east-1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST=127.0.0.1
PORT="${S3SERVER_PORT:-10001}"
VERSION="${MOTO_VERSION:-5.2.5}"
CACHE="${S3SERVER_CACHE:-$ROOT/.cache/moto}"
PYTHON="${PYTHON:-python3}"
PIDFILE="$CACHE/s3server-$PORT.pid"
VENV="$CACHE/venv"

NAME=s3server.sh TITLE="the S3 server" MATCH=moto
# shellcheck source=scripts/service-lib.sh
source "$ROOT/scripts/service-lib.sh"
service_prepare "$@"

PY="$VENV/bin/python"
if ! "$PY" -c "import moto, werkzeug; assert moto.__version__ == '$VERSION'" 2>/dev/null; then
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python 3"
  log "installing moto[server]==$VERSION into $VENV (once)"
  "$PYTHON" -m venv "$VENV" >&2 || die "$PYTHON -m venv failed (Debian: apt-get install python3-venv)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$VERSION" >&2 ||
    die "pip install moto[server]==$VERSION failed"
fi

RUNDIR="$(mktemp -d "${TMPDIR:-/tmp}/s3server.XXXXXX")"
cd "$RUNDIR"
service_launch "$RUNDIR/s3server.log" 60 "$PY" -c '
import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
app = DomainDispatcherApplication(create_backend_app)
# threaded=False: one request at a time, so conditional writes are atomic.
run_simple(sys.argv[1], int(sys.argv[2]), app, threaded=False, processes=1, request_handler=MotoRequestHandler)
' "$HOST" "$PORT"
