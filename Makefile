# medallion — see README.md.
GO      ?= go
BIN     ?= bin/medallion
ORDERS  ?= 100000
ADDR    ?= 127.0.0.1:8080
PY      ?= python3

.PHONY: all build demo run test test-deps vet fmt bench bench-deps bench-compare bench-delta bench-pipeline bench-spark bench-spark-deps fuzz tidy clean ui

all: build

build:
	$(GO) build -o $(BIN) ./cmd/medallion

# The main job: replay Olist-format orders and clickstream into ./landing
# while the built-in e-commerce project keeps ./lake fresh, serve the live
# dashboard on http://$(ADDR) and print the headline KPIs. Ctrl-C stops;
# `make demo` again continues the replay (same ORDERS).
# e.g. make demo ORDERS=20000 ADDR=127.0.0.1:9090
demo: build
	$(BIN) demo --orders $(ORDERS) --orders-per-second 500 --addr $(ADDR)

# The batch job: generate the data into ./landing, run the built-in project
# into ./lake once and print the headline KPIs.
run: build
	$(BIN) generate --out landing --orders $(ORDERS)
	$(BIN) run

# What the tests need besides Go, installed once and then only when its pin
# changes (stamp files): the Python peers (delta-rs, pyspark) in .venv from
# scripts/requirements-test.txt; Java and the delta-spark jars (Maven, from
# scripts/spark-jars/pom.xml) in .cache/spark-jars, for the tests that write
# Delta tables with Spark; Debian's chromium and web/ui's pinned npm
# packages for the UI's browser test (web/browser_test.go); psql and the
# PostgreSQL JDBC driver for web/pgwire's client tests. Azurite and the
# S3 server (moto) install themselves into .cache on first use.
SUDO       ?= $(shell [ "$$(id -u)" = 0 ] || echo sudo)
VENV       ?= .venv
SPARK_JARS ?= .cache/spark-jars
SPARK_S3A_JARS ?= .cache/spark-s3a-jars
SPARK_GCS_JARS ?= .cache/spark-gcs-jars
SPARK_AZURE_JARS ?= .cache/spark-azure-jars
PGJDBC     ?= .cache/pgjdbc
APT_GET    = $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get

test-deps: $(VENV)/.installed $(SPARK_JARS)/.installed $(SPARK_S3A_JARS)/.installed $(SPARK_GCS_JARS)/.installed $(SPARK_AZURE_JARS)/.installed $(PGJDBC)/.installed web/ui/node_modules/.installed
	test -x /usr/bin/chromium || ($(APT_GET) update && $(APT_GET) install -y chromium)
	command -v psql >/dev/null || ($(APT_GET) update && $(APT_GET) install -y postgresql-client)

$(VENV)/.installed: scripts/requirements-test.txt
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
	touch $@

$(SPARK_JARS)/.installed: scripts/spark-jars/pom.xml
	command -v javac >/dev/null || ($(APT_GET) update && $(APT_GET) install -y openjdk-17-jdk-headless)
	command -v mvn >/dev/null || ($(APT_GET) update && $(APT_GET) install -y maven)
	rm -rf $(SPARK_JARS)
	mvn -B -q -f scripts/spark-jars/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
		-DincludeGroupIds=io.delta -DoutputDirectory=$(abspath $(SPARK_JARS)) -Dmaven.repo.local=$(abspath .cache/m2)
	ls $(SPARK_JARS)/delta-spark_*.jar >/dev/null
	touch $@

# hadoop-aws and the AWS SDK modules S3A uses (scripts/spark-s3a-jars/pom.xml,
# about 13 MB), for the Spark server of the spark engine's S3 lake test
# (scripts/spark-connect-s3.sh). Only those groups: Spark brings Hadoop's
# client, netty, httpclient and the rest.
$(SPARK_S3A_JARS)/.installed: scripts/spark-s3a-jars/pom.xml
	command -v javac >/dev/null || ($(APT_GET) update && $(APT_GET) install -y openjdk-17-jdk-headless)
	command -v mvn >/dev/null || ($(APT_GET) update && $(APT_GET) install -y maven)
	rm -rf $(SPARK_S3A_JARS)
	mvn -B -q -f scripts/spark-s3a-jars/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
		-DincludeGroupIds=org.apache.hadoop,software.amazon.awssdk,software.amazon.s3.analyticsaccelerator,software.amazon.eventstream,org.reactivestreams,org.wildfly.openssl \
		-DoutputDirectory=$(abspath $(SPARK_S3A_JARS)) -Dmaven.repo.local=$(abspath .cache/m2)
	ls $(SPARK_S3A_JARS)/hadoop-aws-*.jar >/dev/null
	touch $@

# The GCS connector's shaded jar (scripts/spark-gcs-jars/pom.xml, 40 MB),
# for the Spark server of the spark engine's GCS lake test
# (scripts/spark-connect-gcs.sh).
$(SPARK_GCS_JARS)/.installed: scripts/spark-gcs-jars/pom.xml
	command -v javac >/dev/null || ($(APT_GET) update && $(APT_GET) install -y openjdk-17-jdk-headless)
	command -v mvn >/dev/null || ($(APT_GET) update && $(APT_GET) install -y maven)
	rm -rf $(SPARK_GCS_JARS)
	mvn -B -q -f scripts/spark-gcs-jars/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
		-DoutputDirectory=$(abspath $(SPARK_GCS_JARS)) -Dmaven.repo.local=$(abspath .cache/m2)
	ls $(SPARK_GCS_JARS)/gcs-connector-*-shaded.jar >/dev/null
	touch $@

# hadoop-azure alone (scripts/spark-azure-jars/pom.xml, 0.6 MB): Spark
# brings Hadoop's client and the rest. For the Spark server of the spark
# engine's ADLS lake test on Azurite (scripts/spark-connect-abfs.sh).
$(SPARK_AZURE_JARS)/.installed: scripts/spark-azure-jars/pom.xml
	command -v javac >/dev/null || ($(APT_GET) update && $(APT_GET) install -y openjdk-17-jdk-headless)
	command -v mvn >/dev/null || ($(APT_GET) update && $(APT_GET) install -y maven)
	rm -rf $(SPARK_AZURE_JARS)
	mvn -B -q -f scripts/spark-azure-jars/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
		-DoutputDirectory=$(abspath $(SPARK_AZURE_JARS)) -Dmaven.repo.local=$(abspath .cache/m2)
	ls $(SPARK_AZURE_JARS)/hadoop-azure-*.jar >/dev/null
	touch $@

# The PostgreSQL JDBC driver web/pgwire's JDBC client test loads (its
# testdata/JdbcClient.java runs from source, so the JDK, not only the JRE).
$(PGJDBC)/.installed: scripts/pgjdbc/pom.xml
	command -v javac >/dev/null || ($(APT_GET) update && $(APT_GET) install -y openjdk-17-jdk-headless)
	command -v mvn >/dev/null || ($(APT_GET) update && $(APT_GET) install -y maven)
	rm -rf $(PGJDBC)
	mvn -B -q -f scripts/pgjdbc/pom.xml dependency:copy-dependencies \
		-DoutputDirectory=$(abspath $(PGJDBC)) -Dmaven.repo.local=$(abspath .cache/m2)
	ls $(PGJDBC)/postgresql-*.jar >/dev/null
	touch $@

web/ui/node_modules/.installed: web/ui/package-lock.json
	npm ci --prefix web/ui --no-audit --no-fund
	touch $@

# Refresh the UI's vendored ECharts (web/ui/assets/vendor/) from web/ui/package.json.
ui:
	scripts/ui-assets.sh

vet:
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet ./...

# The README's test command: installs what the tests need (test-deps),
# then runs every package's tests.
test: test-deps vet
	$(GO) test -count=1 -timeout 60m ./...

bench: bench-compare bench-delta

# The comparison of issue 17 (scripts/benchcmp): medallion run vs the
# gold-only DuckDB reference vs the polars + deltalake peer
# (scripts/bench/polars_peer.py), interleaved, medians, ratios, peak RSS,
# every contender's gold checked equal to medallion's. SCALES=sf1,incr by
# default; SCALES=sf1,incr,sf10 adds SF10 (1M orders, one run, ~2.5 GB disk);
# sf30 adds SF30 (3M orders, medallion only, one run, ~8 GB disk); incr10
# the 1,000-order increment over an SF10 lake (one run, ~2.5 GB disk); same
# and same10 that increment in the lake's newest month (a mid-month daily
# run: the month's partitions are rewritten) over SF1 and SF10.
SCALES ?= sf1,incr
REPS   ?= 3
bench-compare: build bench-deps
	$(GO) build -o bin/benchcmp ./scripts/benchcmp
	bin/benchcmp -bin $(BIN) -python $(VENV)/bin/python -scales $(SCALES) -reps $(REPS)

# The peer's Python packages (polars, deltalake) in .venv.
bench-deps: $(VENV)/.bench-installed

$(VENV)/.bench-installed: scripts/requirements-bench.txt
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements-bench.txt
	touch $@

# Issue 12's comparison on Spark (scripts/benchcmp -suite spark): SF1 full
# refresh and the 1,000-order increment for medallion on engine kind spark,
# the PySpark notebooks reference (scripts/bench/spark_notebooks.py) and
# medallion on duckdb, on one local[2] Spark Connect server the run starts on
# SPARK_BENCH_PORT (scripts/spark-connect.sh) and stops; medians of REPS,
# CPU of each process and of the Spark server, gold checked equal. Needs
# `make test-deps` (Java and the delta-spark jars) for the server.
SPARK_SCALES     ?= sf1,incr
SPARK_BENCH_PORT ?= 15099
bench-spark: build bench-spark-deps
	$(GO) build -o bin/benchcmp ./scripts/benchcmp
	bin/benchcmp -suite spark -bin $(BIN) -python $(VENV)/bin/python -scales $(SPARK_SCALES) -reps $(REPS) -spark-port $(SPARK_BENCH_PORT)

# The Spark Connect client's Python packages (pyspark[connect]) in .venv.
bench-spark-deps: $(VENV)/.bench-spark-installed

$(VENV)/.bench-spark-installed: scripts/requirements-bench-spark.txt
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements-bench-spark.txt
	touch $@

bench-delta:
	$(GO) test -run '^$$' -bench . -benchtime 20x ./delta/

bench-pipeline:
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m ./pipeline/...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseActions -fuzztime 30s ./delta/
	$(GO) test -run '^$$' -fuzz FuzzParseSchema -fuzztime 30s ./delta/
	$(GO) test -run '^$$' -fuzz FuzzCheckQuery -fuzztime 30s ./engine/duckdb/

tidy:
	$(GO) mod tidy

clean:
	rm -rf bin lake landing .medallion
