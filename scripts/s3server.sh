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

log() { echo "s3server.sh: $*" >&2; }
die() { log "$*"; exit 1; }

listening() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

running_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # A stale file may name a PID reused by another program: check it is ours.
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q moto || return 1
  fi
  echo "$pid"
}

mkdir -p "$CACHE"

if [[ "${1:-}" == "stop" ]]; then
  if pid="$(running_pid)"; then
    kill "$pid"
    rm -f "$PIDFILE"
    log "stopped the S3 server (PID $pid)"
  else
    log "no S3 server started by this script is running"
  fi
  exit 0
elif [[ $# -gt 0 ]]; then
  die "usage: $0 [stop]"
fi

if command -v flock >/dev/null; then
  exec 9>"$CACHE/.lock"
  flock -w 300 9 || die "timed out waiting for another s3server.sh"
fi

if listening; then
  if pid="$(running_pid)"; then
    log "S3 server (PID $pid) already listens on $HOST:$PORT"
    echo "$pid"
  else
    log "something already listens on $HOST:$PORT; leaving it alone"
  fi
  exit 0
fi

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
# 9>&- : the server must not hold the start lock.
nohup "$PY" -c '
import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
app = DomainDispatcherApplication(create_backend_app)
# threaded=False: one request at a time, so conditional writes are atomic.
run_simple(sys.argv[1], int(sys.argv[2]), app, threaded=False, processes=1, request_handler=MotoRequestHandler)
' "$HOST" "$PORT" >"$RUNDIR/s3server.log" 2>&1 </dev/null 9>&- &
PID=$!
echo "$PID" >"$PIDFILE"

for _ in $(seq 1 600); do
  if listening; then
    log "moto $VERSION S3 server (PID $PID) listens on $HOST:$PORT; log: $RUNDIR/s3server.log"
    echo "$PID"
    exit 0
  fi
  if ! kill -0 "$PID" 2>/dev/null; then
    rm -f "$PIDFILE"
    die "the S3 server exited before listening on $HOST:$PORT; its log: $(cat "$RUNDIR/s3server.log")"
  fi
  sleep 0.1
done
kill "$PID" 2>/dev/null || true
rm -f "$PIDFILE"
die "the S3 server did not listen on $HOST:$PORT within 60 s; its log: $(cat "$RUNDIR/s3server.log")"
