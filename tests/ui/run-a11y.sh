#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# run-a11y.sh APP SEED
# run-a11y.sh --skip REASON
#
# Runs test-a11y.py with what a screen reader has: a private D-Bus session
# bus (dbus-run-session), on it the accessibility bus (at-spi-bus-launcher)
# and its registry, and HOME and the XDG directories in a fresh folder, so
# the app reads and writes nothing of a person's. The display is the
# suite's (xvfb-run). libatspi absent: a TAP skip that names the packages.
set -eu

if [ "$1" = "--skip" ]; then
  shift
  echo "1..0 # SKIP $*"
  exit 0
fi

here=$(dirname "$0")
python=/usr/bin/python3
if ! "$python" -c "import gi; gi.require_version('Atspi', '2.0')" 2>/dev/null; then
  echo "1..0 # SKIP no libatspi for Python (Debian: python3-gi gir1.2-atspi-2.0 at-spi2-core)"
  exit 0
fi
launcher=
for candidate in /usr/libexec/at-spi-bus-launcher /usr/lib/at-spi2-core/at-spi-bus-launcher; do
  [ -x "$candidate" ] && launcher=$candidate && break
done
[ -n "$launcher" ] || { echo "1..0 # SKIP no at-spi-bus-launcher (Debian: at-spi2-core)"; exit 0; }

if [ -z "${RILL_A11Y_IN_SESSION:-}" ]; then
  RILL_A11Y_IN_SESSION=1 exec dbus-run-session -- "$0" "$@"
fi

# G_DEBUG=fatal-warnings is for the app, not for the bus, the registry or
# libatspi in the test, which warn about each other as they start; the test
# hands it back to the app.
if [ -n "${G_DEBUG+set}" ]; then
  RILL_TEST_G_DEBUG=$G_DEBUG
  export RILL_TEST_G_DEBUG
  unset G_DEBUG
fi

dir=$(mktemp -d)
trap 'kill $bus 2>/dev/null; rm -rf "$dir"' EXIT
export HOME=$dir XDG_DATA_HOME=$dir/data XDG_CONFIG_HOME=$dir/config XDG_CACHE_HOME=$dir/cache
export XDG_RUNTIME_DIR=$dir/run
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# The app must reach the accessibility bus, which the suite turns off.
unset NO_AT_BRIDGE
# The test serves the list of models itself (OPENAI_BASE_URL).
unset OPENAI_API_KEY OLLAMA_HOST
"$launcher" --launch-immediately >"$dir/bus.log" 2>&1 &
bus=$!
exec "$python" "$here/test-a11y.py" "$@"
