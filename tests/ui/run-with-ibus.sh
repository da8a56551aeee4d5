#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# run-with-ibus.sh TEST [ARGS...]
# run-with-ibus.sh --skip REASON
#
# Runs the TAP test TEST with a real Chinese input method: a private IBus
# daemon with the libpinyin engine. Everything it starts is its own and goes
# away with it:
# - an X display (Xvfb): the test types with XTest, which goes to whichever
#   window has the focus, and the other ui tests, running at the same time
#   under the suite's display, take the focus whenever they show a window;
# - a D-Bus session bus (dbus-run-session), for what the daemon starts;
# - the daemon, on a socket in a fresh directory that is also HOME and the
#   XDG directories, so the engine neither reads nor writes a person's
#   dictionary; settings in memory. TEST reaches it by IBUS_ADDRESS only.
#
# IBus absent: a TAP skip that names the package. IBus present but the
# display, the daemon or the engine does not start: a failure that says why.
set -eu

# G_DEBUG=fatal-warnings is for the test, not for the daemons it needs:
# ibus-daemon warns as it starts (an address file it did not write yet)
# and would abort. Only the test gets it back.
if [ -n "${G_DEBUG+set}" ]; then
  RILL_TEST_G_DEBUG=$G_DEBUG
  export RILL_TEST_G_DEBUG
  unset G_DEBUG
fi

skip () {
  echo "1..0 # SKIP $*"
  exit 0
}

bail () {
  echo "Bail out! $*"
  for log in "${RILL_IBUS_DIR:-/nonexistent}"/*.log; do
    [ -s "$log" ] && sed "s|^|# $(basename "$log" .log): |" "$log"
  done
  exit 1
}

[ $# -ge 1 ] || bail "usage: run-with-ibus.sh TEST [ARGS...] | --skip REASON"
[ "$1" != --skip ] || { shift; skip "$*"; }

if [ -z "${RILL_IBUS_DIR:-}" ]; then
  command -v ibus-daemon >/dev/null && command -v ibus >/dev/null ||
    skip "IBus is not installed (Debian: ibus)"
  command -v Xvfb >/dev/null || bail "Xvfb is missing (Debian: xvfb)"
  command -v dbus-run-session >/dev/null || bail "dbus-run-session is missing (Debian: dbus)"

  RILL_IBUS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rill-ibus.XXXXXX")
  xvfb=""
  cleanup () {
    if [ -n "$xvfb" ]; then
      kill "$xvfb" 2>/dev/null || true
      wait "$xvfb" 2>/dev/null || true
    fi
    rm -rf "$RILL_IBUS_DIR"
  }
  trap cleanup EXIT
  trap 'exit 1' INT TERM

  # Xvfb writes its display number once it accepts connections; reading it
  # from a FIFO waits for exactly that (or for Xvfb to die: then EOF).
  mkfifo "$RILL_IBUS_DIR/display"
  Xvfb -displayfd 4 -screen 0 1280x800x24 -nolisten tcp \
    4>"$RILL_IBUS_DIR/display" >"$RILL_IBUS_DIR/xvfb.log" 2>&1 &
  xvfb=$!
  display=""
  read -r display <"$RILL_IBUS_DIR/display" || true
  [ -n "$display" ] || bail "Xvfb did not start"
  export DISPLAY=":$display"
  unset WAYLAND_DISPLAY XAUTHORITY

  mkdir "$RILL_IBUS_DIR/config" "$RILL_IBUS_DIR/cache" "$RILL_IBUS_DIR/data"
  export RILL_IBUS_DIR HOME="$RILL_IBUS_DIR"
  export XDG_CONFIG_HOME="$RILL_IBUS_DIR/config" XDG_CACHE_HOME="$RILL_IBUS_DIR/cache"
  export XDG_DATA_HOME="$RILL_IBUS_DIR/data"
  export GSETTINGS_BACKEND=memory
  # Set before the bus starts, for the IBus portal that the daemon has the
  # bus start as well.
  export IBUS_ADDRESS="unix:path=$RILL_IBUS_DIR/ibus.socket"
  export IBUS_ADDRESS_FILE="$RILL_IBUS_DIR/ibus.address"

  # The bus and the services it starts write to stderr; TAP goes on fd 3.
  status=0
  dbus-run-session -- "$0" "$@" 3>&1 >&2 || status=$?
  exit $status
fi

# On the private bus, in the private directory.
exec >&3 3>&-
daemon=""
stop () {
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
    ibus exit >/dev/null 2>&1 || kill "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'exit 1' INT TERM

# No panel, no emoji extension, no XIM server: the daemon, an in-memory
# config (with none at all the daemon never switches engines) and the
# engine are all the test needs.
memconf=""
for m in /usr/libexec/ibus-memconf /usr/lib/ibus/ibus-memconf /usr/local/libexec/ibus-memconf; do
  if [ -x "$m" ]; then
    memconf=$m
    break
  fi
done
[ -n "$memconf" ] || bail "ibus-memconf not found (Debian: ibus)"
ibus-daemon --panel=disable --emoji-extension=disable --config="$memconf" \
  --address="$IBUS_ADDRESS" >"$RILL_IBUS_DIR/ibus-daemon.log" 2>&1 &
daemon=$!

# Bounded polls (the daemon announces nothing). It answers once it listens.
tries=0
until engines=$(ibus list-engine --name-only 2>/dev/null); do
  kill -0 "$daemon" 2>/dev/null || bail "ibus-daemon exited at start"
  tries=$((tries + 1))
  [ $tries -lt 100 ] || bail "ibus-daemon did not answer within 10 s"
  sleep 0.1
done
echo "$engines" | grep -qx libpinyin ||
  skip "the libpinyin engine is not installed (Debian: ibus-libpinyin)"

# `ibus engine NAME` exits 1 even when it switched (it then fails to run
# setxkbmap for the engine's "default" layout): ask which engine is on.
tries=0
until [ "$(ibus engine 2>/dev/null)" = libpinyin ]; do
  kill -0 "$daemon" 2>/dev/null || bail "ibus-daemon exited while switching to libpinyin"
  tries=$((tries + 1))
  [ $tries -lt 100 ] || bail "the libpinyin engine did not start within 10 s"
  ibus engine libpinyin >/dev/null 2>&1 || true
  [ "$(ibus engine 2>/dev/null)" = libpinyin ] && break
  sleep 0.1
done

# No accessibility bus: nothing here is for a screen reader, and its
# services would outlive the private bus.
G_DEBUG=${RILL_TEST_G_DEBUG:-} GDK_BACKEND=x11 GTK_IM_MODULE=ibus GTK_A11Y=none "$@"
