#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs a command against a real gnome-keyring-daemon on a private D-Bus
# session bus, with its keyrings in a throwaway directory, so a test never
# touches the user's own keyring.
set -eu

if [ -z "${RILL_IN_PRIVATE_BUS:-}" ]; then
  export RILL_IN_PRIVATE_BUS=1
  exec dbus-run-session -- "$0" "$@"
fi

tmp=$(mktemp -d)
chmod 700 "$tmp"
export HOME="$tmp"
export XDG_DATA_HOME="$tmp/data"
export XDG_CONFIG_HOME="$tmp/config"
export XDG_RUNTIME_DIR="$tmp/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"

# --unlock reads the password for a new "login" keyring from stdin; that
# keyring then is the default collection.
# The daemon is a GLib program too: the test's G_DEBUG=fatal-warnings must
# not turn its harmless warnings (no PAM, no systemd) into a crash.
printf test | env -u G_DEBUG -u G_MESSAGES_DEBUG \
  gnome-keyring-daemon --foreground --unlock --components=secrets >"$tmp/daemon.log" 2>&1 &
daemon=$!
trap 'kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; rm -rf "$tmp"' EXIT

# Wait until the daemon owns the Secret Service name.
i=0
until gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
        --method org.freedesktop.DBus.NameHasOwner org.freedesktop.secrets 2>/dev/null | grep -q true; do
  i=$((i + 1))
  if [ "$i" -gt 100 ]; then
    echo "gnome-keyring-daemon did not start:" >&2
    cat "$tmp/daemon.log" >&2
    exit 1
  fi
  sleep 0.1
done

status=0
"$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "gnome-keyring-daemon's log:" >&2
  cat "$tmp/daemon.log" >&2
fi
exit "$status"
