#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The two programs built from src/main.c. rill-uninstalled runs from the
# build tree with this build's schema and translations and nothing set up
# for it; rill, which knows only installed paths, says in words what to do
# when the schema is not installed rather than aborting in GSettings.
#
# Usage: check-uninstalled.sh BUILD_ROOT
set -eu

builddir=$1
status=0

fail () {
  echo "FAIL: $*" >&2
  status=1
}

if ! locale -a | grep -qix 'zh_CN\.utf-\{0,1\}8'; then
  echo "SKIP: no zh_CN.UTF-8 locale"
  exit 77
fi

# Nothing installed is visible: no schema directories, no system data.
unset GSETTINGS_SCHEMA_DIR LANGUAGE
export GSETTINGS_BACKEND=memory XDG_DATA_DIRS=/nonexistent LC_ALL=zh_CN.UTF-8

# "Open a new window", the --new-window option, in Rill's catalogue.
out=$("$builddir/src/rill-uninstalled" --help) || fail "rill-uninstalled --help failed"
echo "$out" | grep -q -- '--new-window *打开新窗口' ||
  fail "rill-uninstalled does not speak the build's translation: $out"

if err=$("$builddir/src/rill" --help 2>&1); then
  fail "rill started without its schema"
fi
echo "$err" | grep -q 'GSETTINGS_SCHEMA_DIR=_build/data' ||
  fail "rill without its schema does not say what to do: $err"

exit "$status"
