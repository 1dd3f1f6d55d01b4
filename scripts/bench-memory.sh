#!/usr/bin/env bash
# bench-memory.sh — peak memory of a full run at scale factor 10.
#
# Builds bin/medallion, generates 1,000,000 Olist-format orders (scale
# factor 10, seed 1) into a temporary project folder, runs
# `medallion run -C DIR` on it (the built-in e-commerce project, an empty
# lake: a full refresh) and prints the run's maximum resident set size in MB
# and its elapsed time. Target: under 4 GB (4096 MB). Exits 1 when the run
# fails or is over the target.
#
# Measures with GNU time (/usr/bin/time -v) when present, else with
# python3's resource module (the child's ru_maxrss). Installs nothing.
#
# Environment:
#   ORDERS=1000000      orders to generate
#   SEED=1              generator seed
#   BIN=bin/medallion   where to build the binary
#   TARGET_MB=4096      the target
#   KEEP=1              keep the temporary folder (its path is printed)
#   MKTMP=1             create DIR/.medallion/tmp (the project's engine.temp_dir)
#                       before the run: a work-around for runs that fail when
#                       DuckDB spills and cannot create that nested folder
#   TMPDIR              where the temporary folder goes (needs ~2.5 GB at SF10)
set -euo pipefail

cd "$(dirname "$0")/.."

ORDERS=${ORDERS:-1000000}
SEED=${SEED:-1}
BIN=${BIN:-bin/medallion}
TARGET_MB=${TARGET_MB:-4096}
GO=${GO:-go}

echo "building $BIN"
"$GO" build -o "$BIN" ./cmd/medallion
case "$BIN" in /*) bin=$BIN ;; *) bin=$PWD/$BIN ;; esac

dir=$(mktemp -d "${TMPDIR:-/tmp}/medallion-bench-memory.XXXXXX")
if [[ "${KEEP:-}" == 1 ]]; then
	echo "keeping $dir"
else
	trap 'rm -rf "$dir"' EXIT
fi

echo "generating $ORDERS orders (seed $SEED) into $dir/landing"
"$bin" generate --out "$dir/landing" --orders "$ORDERS" --seed "$SEED"
du -sh "$dir/landing" | sed 's/^/landing size: /'

if [[ "${MKTMP:-}" == 1 ]]; then
	mkdir -p "$dir/.medallion/tmp"
	echo "created $dir/.medallion/tmp (MKTMP=1)"
fi

log=$dir/run.log
measure=$dir/measure.txt
echo "running: $BIN run -C $dir"
status=0
if [[ -x /usr/bin/time ]] && /usr/bin/time -v true >/dev/null 2>&1; then
	tool="/usr/bin/time -v"
	/usr/bin/time -v -o "$measure" "$bin" run -C "$dir" >"$log" 2>&1 || status=$?
	max_kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$measure")
	elapsed=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$measure")
	# h:mm:ss or m:ss(.ss) → seconds
	elapsed_s=$(awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$elapsed")
else
	tool="python3 resource.getrusage(RUSAGE_CHILDREN)"
	python3 - "$bin" "$dir" "$log" "$measure" <<'EOF' || status=$?
import resource, subprocess, sys, time
bin_, dir_, log, measure = sys.argv[1:5]
start = time.monotonic()
with open(log, "wb") as out:
    rc = subprocess.call([bin_, "run", "-C", dir_], stdout=out, stderr=subprocess.STDOUT)
elapsed = time.monotonic() - start
maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
if sys.platform == "darwin":  # bytes there, KiB on Linux
    maxrss //= 1024
with open(measure, "w") as f:
    f.write(f"{maxrss} {elapsed:.2f}\n")
sys.exit(rc)
EOF
	read -r max_kb elapsed_s <"$measure"
fi

echo "--- end of the run's output"
tail -n 4 "$log"
echo "---"
max_mb=$(awk -v kb="$max_kb" 'BEGIN { printf "%.0f", kb / 1024 }')
echo "orders:            $ORDERS"
echo "measured with:     $tool"
echo "max RSS:           ${max_mb} MB (target < ${TARGET_MB} MB)"
echo "elapsed:           ${elapsed_s} s"
if [[ $status -ne 0 ]]; then
	echo "medallion run FAILED (exit $status); the figures above are up to the failure" >&2
	exit 1
fi
if (( max_mb >= TARGET_MB )); then
	echo "OVER TARGET"
	exit 1
fi
echo "within target"
