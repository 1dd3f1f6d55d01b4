#!/usr/bin/env bash
# Starts a Spark Connect server with Delta Lake on 127.0.0.1:15002 in the
# background, for the tests that talk to real Spark (internal/sparkserver)
# and for `make bench-spark`:
#
#   scripts/spark-connect.sh         start it unless something already
#                                    listens there; print its PID
#   scripts/spark-connect.sh stop    stop the server this script started
#
# Spark comes from pip's pyspark in the repository's .venv (it ships the
# Spark Connect server jar but no sbin/start-connect-server.sh, so the
# server is started with spark-submit), the delta-spark jars from
# .cache/spark-jars; both are installed by `make test-deps`. The server
# runs local[2] with the Delta extension and catalog, binds only
# 127.0.0.1, and uses about 1.1 GB: start one and share it. Its log and
# working folder (metastore, warehouse) go to a temporary directory whose
# path the script prints on standard error.
#
# Environment: SPARK_CONNECT_PORT (default 15002), VENV (default
# <repo>/.venv), SPARK_JARS (default <repo>/.cache/spark-jars),
# SPARK_CONNECT_CACHE (default <repo>/.cache/spark-connect, for the PID
# file, the start lock and the compiled cache reaper), SPARK_CONNECT_EXTRA_JARS
# (more jars, comma separated), SPARK_CONNECT_CONF (more key=value settings,
# one per line; scripts/spark-connect-s3.sh uses both),
# SPARK_CONNECT_SESSION_TIMEOUT (how long an abandoned session lives,
# e.g. 10m; Spark's default is 60m).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST=127.0.0.1
PORT="${SPARK_CONNECT_PORT:-15002}"
VENV="${VENV:-$ROOT/.venv}"
JARS="${SPARK_JARS:-$ROOT/.cache/spark-jars}"
CACHE="${SPARK_CONNECT_CACHE:-$ROOT/.cache/spark-connect}"
PIDFILE="$CACHE/spark-connect-$PORT.pid"

NAME=spark-connect.sh TITLE="the Spark Connect server" MATCH=SparkConnectServer
# shellcheck source=scripts/service-lib.sh
source "$ROOT/scripts/service-lib.sh"
service_prepare "$@"

command -v java >/dev/null || die "java not found: run \`make test-deps\` (it installs openjdk-17-jdk-headless)"
[[ -x "$VENV/bin/python" ]] || die "no Python venv at $VENV: run \`make test-deps\`"
SPARK_HOME="$("$VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))' 2>/dev/null)" ||
  die "$VENV has no pyspark: run \`make test-deps\`"
export SPARK_HOME
ls "$SPARK_HOME"/jars/spark-connect_*.jar >/dev/null 2>&1 || die "pyspark in $SPARK_HOME has no Spark Connect server jar"
shopt -s nullglob
DELTA=("$JARS"/delta-*.jar)
shopt -u nullglob
[[ ${#DELTA[@]} -gt 0 ]] || die "no delta-spark jars in $JARS: run \`make test-deps\`"
JARLIST="$(IFS=,; echo "${DELTA[*]}")"
[[ -z "${SPARK_CONNECT_EXTRA_JARS:-}" ]] || JARLIST="$JARLIST,$SPARK_CONNECT_EXTRA_JARS"
EXTRA_CONF=()
while IFS= read -r kv; do
  [[ -z "$kv" ]] || EXTRA_CONF+=(--conf "$kv")
done <<<"${SPARK_CONNECT_CONF:-}"

# The cache reaper (scripts/spark-reaper): a listener that uncaches the
# cached relations of a Spark Connect session when the session closes,
# released or expired (Spark keeps them otherwise, and the cached relations
# of killed medallion runs fill the heap). Compiled once per source version.
command -v javac >/dev/null && command -v jar >/dev/null ||
  die "javac or jar not found: run \`make test-deps\` (openjdk-17-jdk-headless)"
REAPER_SRC="$ROOT/scripts/spark-reaper/io/medallion/spark/CacheReaper.java"
REAPER_JAR="$CACHE/medallion-reaper-$(sha256sum "$REAPER_SRC" | cut -c1-12).jar"
if [[ ! -f "$REAPER_JAR" ]]; then
  REAPER_TMP="$(mktemp -d "${TMPDIR:-/tmp}/spark-reaper.XXXXXX")"
  javac -nowarn -cp "$SPARK_HOME/jars/*" -d "$REAPER_TMP" "$REAPER_SRC" >&2 ||
    die "cannot compile $REAPER_SRC"
  jar cf "$REAPER_JAR.tmp" -C "$REAPER_TMP" . && mv "$REAPER_JAR.tmp" "$REAPER_JAR"
  rm -rf "$REAPER_TMP"
fi
JARLIST="$JARLIST,$REAPER_JAR"
# How long the server keeps the session of a client that went away without
# releasing it (a killed run): Spark's default is 60m.
[[ -z "${SPARK_CONNECT_SESSION_TIMEOUT:-}" ]] ||
  EXTRA_CONF+=(--conf "spark.connect.session.manager.defaultSessionTimeout=$SPARK_CONNECT_SESSION_TIMEOUT")

# Besides the reaper (spark.extraListeners), two caches of the server are
# bounded: Delta's DeltaLog cache keeps each table path it read (its
# snapshot, plans and cached state: about 2.8 MB of heap each, measured) for
# 60 minutes, up to 10,000 tables, and every test lake is new (the built-in
# project: 45 tables per lake), so the default 1 GB driver heap is full
# after about 8 such lakes within an hour; it keeps 100 for 10 minutes here. And
# the SQL parser's DFA cache (ANTLR), which
# grows with new statement texts and is never flushed by default, is
# flushed once it holds about 10 % of the driver's memory
# (spark.sql.parser.manageParserCaches, parserDfaCacheFlushRatio).
export SPARK_LOCAL_IP=127.0.0.1
RUNDIR="$(mktemp -d "${TMPDIR:-/tmp}/spark-connect.XXXXXX")"
cd "$RUNDIR"
service_launch "$RUNDIR/spark-connect.log" 300 "$SPARK_HOME/bin/spark-submit" \
  --class org.apache.spark.sql.connect.service.SparkConnectServer \
  --master 'local[2]' \
  --jars "$JARLIST" \
  --conf spark.connect.grpc.binding.address="$HOST" \
  --conf spark.connect.grpc.binding.port="$PORT" \
  --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension \
  --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog \
  --conf spark.databricks.delta.snapshotPartitions=2 \
  --conf spark.sql.shuffle.partitions=2 \
  --conf spark.ui.enabled=false \
  --conf spark.sql.warehouse.dir="$RUNDIR/warehouse" \
  --conf spark.driver.extraJavaOptions="-Dderby.system.home=$RUNDIR" \
  --conf spark.sql.session.timeZone=UTC \
  --conf spark.extraListeners=io.medallion.spark.CacheReaper \
  --conf spark.sql.parser.manageParserCaches=true \
  --conf spark.sql.parser.parserDfaCacheFlushRatio=10 \
  --conf spark.databricks.delta.delta.log.cacheSize=100 \
  --conf spark.databricks.delta.delta.log.cacheRetentionMinutes=10 \
  ${EXTRA_CONF[@]+"${EXTRA_CONF[@]}"}
