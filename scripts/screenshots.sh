#!/bin/sh
# Regenerates the README's screenshots in docs/screenshots/: builds medallion,
# generates a demo project (20000 orders, seed 1), runs it, and exports the
# dashboard and pipeline pages with `medallion dashboard export` (headless
# Chromium: apt-get install chromium).
#
#   scripts/screenshots.sh [ORDERS]
set -eu
cd "$(dirname "$0")/.."
orders=${1:-20000}
out=docs/screenshots
work=$(mktemp -d "${TMPDIR:-/tmp}/medallion-screenshots.XXXXXX")
trap 'rm -rf "$work"' EXIT

go build -o "$work/medallion" ./cmd/medallion
"$work/medallion" init "$work/project" >/dev/null
"$work/medallion" generate --out "$work/project/landing" --orders "$orders" --seed 1 >/dev/null
"$work/medallion" run -C "$work/project" >/dev/null
"$work/medallion" dashboard export -C "$work/project" --out "$work/export" --width 1280 --height 1720

mkdir -p "$out"
cp "$work/export/ecommerce.png" "$out/dashboard.png"
cp "$work/export/pipeline.png" "$out/pipeline.png"
ls -l "$out"/*.png
