#!/usr/bin/env bash
# A stand-in for scripts/azurite.sh in scriptservice's tests: starts a TCP
# listener on 127.0.0.1:$FAKE_PORT in the background and prints its PID;
# "stop" kills it, waits until it is gone and appends a line to
# $FAKE_DIR/stops.
set -euo pipefail
pidfile="$FAKE_DIR/server.pid"
if [[ "${1:-}" == "stop" ]]; then
  pid="$(cat "$pidfile")"
  kill "$pid"
  while (exec 3<>"/dev/tcp/127.0.0.1/$FAKE_PORT") 2>/dev/null; do sleep 0.05; done
  rm -f "$pidfile"
  echo stopped >>"$FAKE_DIR/stops"
  exit 0
fi
nohup python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
while True:
    s.accept()[0].close()
' "$FAKE_PORT" >/dev/null 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pidfile"
until (exec 3<>"/dev/tcp/127.0.0.1/$FAKE_PORT") 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { echo "fakeserver.sh: the listener exited" >&2; exit 1; }
  sleep 0.05
done
echo "$pid"
