#!/usr/bin/env bash
# Refreshes the UI's vendored JavaScript: installs web/ui's pinned npm
# packages (package-lock.json) and copies ECharts into web/ui/assets/vendor/.
# The copied file is committed, so `go build` needs no npm; run this after
# changing the echarts version in web/ui/package.json.
set -euo pipefail
cd "$(dirname "$0")/../web/ui"
npm ci --no-audit --no-fund
mkdir -p assets/vendor
cp node_modules/echarts/dist/echarts.min.js assets/vendor/echarts.min.js
cp node_modules/echarts/LICENSE assets/vendor/echarts.LICENSE
echo "web/ui/assets/vendor/echarts.min.js: echarts $(node -p 'require("./node_modules/echarts/package.json").version')"
