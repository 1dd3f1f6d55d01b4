#!/usr/bin/env bash
# Starts a Spark Connect server, on 127.0.0.1:15032, that reads and writes
# abfs:// lakes of Azurite's development account (scripts/azurite.sh,
# 127.0.0.1:10000), for engine/spark's test of the spark engine over an
# ADLS lake. It is scripts/spark-connect.sh with hadoop-azure
# (.cache/spark-azure-jars, from scripts/spark-azure-jars/pom.xml by `make
# test-deps`) and the fs.azure.* settings that point ABFS at Azurite:
# Azurite has no Data Lake (DFS) endpoint, so ABFS talks to its Blob
# endpoint (fs.azure.fns.account.service.type=BLOB, an account without
# hierarchical namespace; hadoop-azure 3.5's Blob client), at
# fs.azure.abfs.endpoint (host:port; the account goes into the path as
# Azurite wants), over plain HTTP (abfs://, fs.azure.always.use.https=false;
# abfss:// is always HTTPS), with the account's well-known key, through the
# JDK's HTTP client (the default Apache client needs wildfly-openssl's SSL
# factory even for HTTP), and the version 2 file output committer (with
# version 1 a partitioned write failed at job commit: ABFS listed a renamed
# task folder's partition folder with 404 BlobNotFound on Azurite). A
# server of its own, so the shared server other
# tests use stays as it is; about 1.1 GB.
#
#   scripts/spark-connect-abfs.sh        start it unless something already
#                                        listens there; print its PID
#   scripts/spark-connect-abfs.sh stop   stop the server this script started
#
# Environment: SPARK_ABFS_PORT (default 15032), AZURITE_BLOB_PORT (default
# 10000), SPARK_AZURE_JARS (default <repo>/.cache/spark-azure-jars); the
# rest as in scripts/spark-connect.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AZURE_JARS="${SPARK_AZURE_JARS:-$ROOT/.cache/spark-azure-jars}"
if [[ "${1:-}" != "stop" ]]; then
  shopt -s nullglob
  JARS=("$AZURE_JARS"/*.jar)
  shopt -u nullglob
  ls "$AZURE_JARS"/hadoop-azure-*.jar >/dev/null 2>&1 ||
    { echo "spark-connect-abfs.sh: no hadoop-azure jar in $AZURE_JARS: run \`make test-deps\`" >&2; exit 1; }
  SPARK_CONNECT_EXTRA_JARS="$(IFS=,; echo "${JARS[*]}")"
  export SPARK_CONNECT_EXTRA_JARS
fi
ACCOUNT=devstoreaccount1
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
export SPARK_CONNECT_PORT="${SPARK_ABFS_PORT:-15032}"
export SPARK_CONNECT_CONF="spark.hadoop.fs.azure.abfs.endpoint=127.0.0.1:${AZURITE_BLOB_PORT:-10000}
spark.hadoop.fs.azure.always.use.https=false
spark.hadoop.fs.azure.fns.account.service.type=BLOB
spark.hadoop.fs.azure.account.hns.enabled=false
spark.hadoop.fs.azure.account.auth.type=SharedKey
spark.hadoop.fs.azure.account.key.$ACCOUNT.dfs.core.windows.net=$KEY
spark.hadoop.fs.azure.account.key.$ACCOUNT.blob.core.windows.net=$KEY
spark.hadoop.fs.azure.networking.library=JDK_HTTP_URL_CONNECTION
spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version=2"
exec bash "$ROOT/scripts/spark-connect.sh" "$@"
