#!/usr/bin/env bash
# Starts a third Spark Connect server, on 127.0.0.1:15022, that reads and
# writes gs:// lakes on the local GCS emulator (scripts/gcsserver.sh,
# fake-gcs-server on 127.0.0.1:10003), for engine/spark's test of the spark
# engine over a GCS lake. It is scripts/spark-connect.sh with the GCS
# connector's shaded jar (.cache/spark-gcs-jars, from
# scripts/spark-gcs-jars/pom.xml by `make test-deps`) and the fs.gs.*
# settings of that emulator: its URL as the storage root, no
# authentication. fs.gs.impl names the connector's file system: Hadoop
# 3.5's core-default.xml names its own GCS module (hadoop-gcp, which pyspark
# does not ship) and gives sizes as "64m", which the connector reads as
# plain numbers (NumberFormatException): they are set here in bytes.
# fs.gs.operation.move.enable=false: renames copy and delete, as on a
# bucket without hierarchical namespace, instead of the objects.move call
# fake-gcs-server does not have (HTTP 400). A server of its own, so the shared server other tests use
# stays as it is; about 1.1 GB.
#
#   scripts/spark-connect-gcs.sh        start it unless something already
#                                       listens there; print its PID
#   scripts/spark-connect-gcs.sh stop   stop the server this script started
#
# Environment: SPARK_GCS_PORT (default 15022), GCSSERVER_PORT (default
# 10003), SPARK_GCS_JARS (default <repo>/.cache/spark-gcs-jars); the rest as
# in scripts/spark-connect.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GCS_JARS="${SPARK_GCS_JARS:-$ROOT/.cache/spark-gcs-jars}"
if [[ "${1:-}" != "stop" ]]; then
  shopt -s nullglob
  JARS=("$GCS_JARS"/gcs-connector-*.jar)
  shopt -u nullglob
  [[ ${#JARS[@]} -gt 0 ]] ||
    { echo "spark-connect-gcs.sh: no gcs-connector jar in $GCS_JARS: run \`make test-deps\`" >&2; exit 1; }
  SPARK_CONNECT_EXTRA_JARS="$(IFS=,; echo "${JARS[*]}")"
  export SPARK_CONNECT_EXTRA_JARS
fi
export SPARK_CONNECT_PORT="${SPARK_GCS_PORT:-15022}"
export SPARK_CONNECT_CONF="spark.hadoop.fs.gs.impl=com.google.cloud.hadoop.fs.gcs.GoogleHadoopFileSystem
spark.hadoop.fs.AbstractFileSystem.gs.impl=com.google.cloud.hadoop.fs.gcs.GoogleHadoopFS
spark.hadoop.fs.gs.storage.root.url=http://127.0.0.1:${GCSSERVER_PORT:-10003}/
spark.hadoop.fs.gs.storage.service.path=storage/v1/
spark.hadoop.fs.gs.auth.type=UNAUTHENTICATED
spark.hadoop.fs.gs.project.id=medallion-test
spark.hadoop.fs.gs.operation.move.enable=false
spark.hadoop.fs.gs.block.size=67108864
spark.hadoop.fs.gs.rewrite.max.chunk.size=536870912
spark.hadoop.fs.gs.outputstream.buffer.size=8388608
spark.hadoop.fs.gs.inputstream.inplace.seek.limit=8388608
spark.hadoop.fs.gs.inputstream.min.range.request.size=2097152"
exec bash "$ROOT/scripts/spark-connect.sh" "$@"
