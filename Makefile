# medallion — see README.md.
GO      ?= go
BIN     ?= bin/medallion
ORDERS  ?= 100000
ADDR    ?= 127.0.0.1:8080
PY      ?= python3

.PHONY: all build demo run test test-deps vet fmt bench bench-delta bench-pipeline fuzz tidy clean ui

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

# Python packages the interop tests read our tables with (delta-rs), and
# what the UI's browser test (web/browser_test.go) drives: Debian's chromium
# and web/ui's pinned npm packages (playwright-core).
SUDO ?= $(shell [ "$$(id -u)" = 0 ] || echo sudo)
test-deps:
	$(PY) -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
	test -x /usr/bin/chromium || ($(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)
	npm ci --prefix web/ui --no-audit --no-fund
	command -v psql >/dev/null || ($(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-client)
	test -n "$$(ls .cache/pgjdbc/postgresql-*.jar 2>/dev/null)" || mvn -B -q -f scripts/pgjdbc/pom.xml dependency:copy-dependencies -DoutputDirectory=../../.cache/pgjdbc

# Refresh the UI's vendored ECharts (web/ui/assets/vendor/) from web/ui/package.json.
ui:
	scripts/ui-assets.sh

vet:
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet ./...

test: vet
	$(GO) test -count=1 -timeout 20m ./...

bench: bench-delta bench-pipeline

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
