#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs the MCP reference server the tests talk to into DIR (a folder of
# the build tree), unless that version is there already:
#
#   tests/core/mcp-server.sh DIR
#
# test-mcp looks for DIR/node_modules/@modelcontextprotocol/server-everything
# (meson passes DIR as RILL_MCP_EVERYTHING_DIR) and skips, saying why, when it
# is missing; CI sets RILL_MCP_REQUIRED=1 so that a missing server fails.
set -eu

# Pinned: tool names and answers are compared exactly.
version=2026.8.31
dir="${1:?usage: $0 DIR}"
package="$dir/node_modules/@modelcontextprotocol/server-everything/package.json"

if [ -f "$package" ] && grep -q "\"version\": \"$version\"" "$package"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "mcp-server.sh: npm is not installed (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
mkdir -p "$dir"
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
  "@modelcontextprotocol/server-everything@$version"
