#!/bin/sh
# Regenerates what docs and deploy/ copy from the binary: the key table in
# docs/configuration.md and the example deploy/hyperscale.conf.
# tests/integration/config_docs.py fails when they are stale.
set -eu
cd "$(dirname "$0")/.."
bin=${HYPERSCALE_BIN:-build/hyperscale}
table=$(mktemp)
"$bin" config --markdown > "$table"
awk -v t="$table" '
  /<!-- BEGIN generated/ { print; while ((getline l < t) > 0) print l; skip = 1; next }
  /<!-- END generated/ { skip = 0 }
  !skip { print }' docs/configuration.md > docs/configuration.md.new
mv docs/configuration.md.new docs/configuration.md
rm -f "$table"
"$bin" config > deploy/hyperscale.conf
