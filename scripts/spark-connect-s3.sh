#!/usr/bin/env bash
# Starts a second Spark Connect server, on 127.0.0.1:15012, that reads and
# writes s3a:// lakes on the local S3 server (scripts/s3server.sh, moto on
# 127.0.0.1:10001), for engine/spark/sparkruns' test of the spark engine over an S3
# lake. It is scripts/spark-connect.sh with hadoop-aws and the AWS SDK
# modules S3A uses (.cache/spark-s3a-jars, from scripts/spark-s3a-jars/pom.xml
# by `make test-deps`) and the fs.s3a.* settings of that S3 server
# (endpoint, path-style access, its test credentials). A server of its own,
# so the shared server other tests use stays as it is; about 1.1 GB.
#
#   scripts/spark-connect-s3.sh         start it unless something already
#                                       listens there; print its PID
#   scripts/spark-connect-s3.sh stop    stop the server this script started
#
# Environment: SPARK_S3_PORT (default 15012), S3SERVER_PORT (default 10001),
# SPARK_S3A_JARS (default <repo>/.cache/spark-s3a-jars); the rest as in
# scripts/spark-connect.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
S3A_JARS="${SPARK_S3A_JARS:-$ROOT/.cache/spark-s3a-jars}"
if [[ "${1:-}" != "stop" ]]; then
  shopt -s nullglob
  JARS=("$S3A_JARS"/*.jar)
  shopt -u nullglob
  ls "$S3A_JARS"/hadoop-aws-*.jar >/dev/null 2>&1 ||
    { echo "spark-connect-s3.sh: no hadoop-aws jar in $S3A_JARS: run \`make test-deps\`" >&2; exit 1; }
  SPARK_CONNECT_EXTRA_JARS="$(IFS=,; echo "${JARS[*]}")"
  export SPARK_CONNECT_EXTRA_JARS
fi
export SPARK_CONNECT_PORT="${SPARK_S3_PORT:-15012}"
export SPARK_CONNECT_CONF="spark.hadoop.fs.s3a.endpoint=http://127.0.0.1:${S3SERVER_PORT:-10001}
spark.hadoop.fs.s3a.endpoint.region=us-east-1
spark.hadoop.fs.s3a.path.style.access=true
spark.hadoop.fs.s3a.connection.ssl.enabled=false
spark.hadoop.fs.s3a.access.key=test
spark.hadoop.fs.s3a.secret.key=test
spark.hadoop.fs.s3a.aws.credentials.provider=org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider
spark.hadoop.fs.s3a.change.detection.mode=none
spark.hadoop.fs.s3a.fast.upload.buffer=bytebuffer"
exec bash "$ROOT/scripts/spark-connect.sh" "$@"
