#!/usr/bin/env bash
# The studio page in headless chromium: run.sh SDWALK_BINARY ARTIFACT_DIR. Exit 77 (ctest: skipped)
# with the reason when chromium, node or tests/browser/node_modules (scripts/setup) is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
chromium="${SDWALK_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then echo "skipped: no chromium at $chromium (scripts/setup installs it)"; exit 77; fi
if ! command -v node >/dev/null; then echo "skipped: node is missing"; exit 77; fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "skipped: $here/node_modules/playwright-core is missing (scripts/setup runs npm ci there)"; exit 77
fi
mkdir -p "$2"
exec node "$here/studio_test.mjs" "$1" "$2" "$chromium"
