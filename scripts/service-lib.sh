# Sourced by the scripts that start a test emulator in the background
# (azurite.sh, s3server.sh); not run on its own. The sourcing script sets:
#
#   NAME     its own name, for log lines ("azurite.sh")
#   TITLE    the server in messages ("Azurite", "the S3 server")
#   MATCH    a word of the server's command line, to recognise its PID
#   HOST, PORT, CACHE, PIDFILE
#
# then calls service_prepare "$@" (handles "stop", the start lock and an
# already listening server), installs the server, and calls
# service_launch LOG SECONDS COMMAND... to start it and wait until it
# listens. The PID of the server started is printed on standard output.

log() { echo "$NAME: $*" >&2; }
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
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$MATCH" || return 1
  fi
  echo "$pid"
}

# service_prepare handles the arguments; it exits after "stop" and when
# something already listens on HOST:PORT, and otherwise returns holding
# the start lock (test packages may call the script concurrently).
service_prepare() {
  local pid
  mkdir -p "$CACHE"
  if [[ "${1:-}" == "stop" ]]; then
    if pid="$(running_pid)"; then
      kill "$pid"
      rm -f "$PIDFILE"
      log "stopped $TITLE (PID $pid)"
    else
      log "nothing this script started is running on $HOST:$PORT"
    fi
    exit 0
  elif [[ $# -gt 0 ]]; then
    die "usage: $0 [stop]"
  fi
  if command -v flock >/dev/null; then
    exec 9>"$CACHE/.lock"
    flock -w 300 9 || die "timed out waiting for another $NAME"
  fi
  if listening; then
    if pid="$(running_pid)"; then
      log "$TITLE (PID $pid) already listens on $HOST:$PORT"
      echo "$pid"
    else
      log "something already listens on $HOST:$PORT; leaving it alone"
    fi
    exit 0
  fi
}

# service_launch LOG SECONDS COMMAND... starts COMMAND in the background
# with its output in LOG, and exits once it listens on HOST:PORT (printing
# its PID), or fails after SECONDS or if it exits first.
service_launch() {
  local logfile="$1" seconds="$2" pid
  shift 2
  # 9>&- : the server must not hold the start lock.
  nohup "$@" >"$logfile" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$PIDFILE"
  for _ in $(seq 1 $((seconds * 10))); do
    if listening; then
      log "$TITLE (PID $pid) listens on $HOST:$PORT; log: $logfile"
      echo "$pid"
      exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      die "$TITLE exited before listening on $HOST:$PORT; its log: $(cat "$logfile")"
    fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  die "$TITLE did not listen on $HOST:$PORT within $seconds s; its log: $(cat "$logfile")"
}
