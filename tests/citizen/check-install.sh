#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs the build into a staging directory and checks that everything is
# where GNOME looks for it: desktop file, metainfo, schema, icons, the
# translation, the Shell's search provider and the D-Bus service.
#
# No installed file names the build tree or the source tree: those paths
# belong to rill-uninstalled, which is not installed.
#
# Usage: check-install.sh MESON BUILD_ROOT PREFIX DATADIR LOCALEDIR BINDIR SOURCE_ROOT
set -eu
export LC_ALL=C

meson=$1 builddir=$2 prefix=$3 datadir=$4 localedir=$5 bindir=$6 srcdir=$7
app_id=io.github.rill.Rill
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
status=0

fail () {
  echo "FAIL: $*" >&2
  status=1
}

"$meson" install -C "$builddir" --destdir "$dest" --no-rebuild --quiet >"$dest.log" 2>&1 || {
  cat "$dest.log" >&2
  rm -f "$dest.log"
  fail "meson install failed"
  exit 1
}
rm -f "$dest.log"

# Options are relative to the prefix unless given absolute.
under_prefix () {
  case "$1" in
    /*) echo "$dest$1" ;;
    *) echo "$dest$prefix/$1" ;;
  esac
}
share=$(under_prefix "$datadir")
locale=$(under_prefix "$localedir")
bin=$(under_prefix "$bindir")

for f in \
  "$share/applications/$app_id.desktop" \
  "$share/metainfo/$app_id.metainfo.xml" \
  "$share/glib-2.0/schemas/$app_id.gschema.xml" \
  "$share/icons/hicolor/scalable/apps/$app_id.svg" \
  "$share/icons/hicolor/symbolic/apps/$app_id-symbolic.svg" \
  "$share/gnome-shell/search-providers/$app_id.search-provider.ini" \
  "$share/dbus-1/services/$app_id.service" \
  "$locale/zh_CN/LC_MESSAGES/rill.mo"
do
  [ -f "$f" ] || fail "not installed: ${f#"$dest"}"
done
# The binary the service file runs, once the application is built.
if [ -x "$builddir/src/rill" ] && [ ! -x "$bin/rill" ]; then
  fail "not installed: ${bin#"$dest"}/rill"
fi
[ "$status" -eq 0 ] || exit 1

desktop-file-validate "$share/applications/$app_id.desktop" || fail "installed desktop file is invalid"
grep -q "^Name\[zh_CN\]=" "$share/applications/$app_id.desktop" || fail "installed desktop file is not translated"
grep -q "^Icon=$app_id\$" "$share/applications/$app_id.desktop" || fail "desktop file names another icon"
appstreamcli validate --no-net --pedantic "$share/metainfo/$app_id.metainfo.xml" >/dev/null ||
  fail "installed metainfo is invalid"
grep -q 'xml:lang="zh_CN"' "$share/metainfo/$app_id.metainfo.xml" || fail "installed metainfo is not translated"
glib-compile-schemas --strict --dry-run "$share/glib-2.0/schemas" || fail "installed schemas do not compile"
msgunfmt "$locale/zh_CN/LC_MESSAGES/rill.mo" | grep -q '首选项' || fail "rill.mo lacks the Chinese strings"

# The Shell starts the search provider by D-Bus activation of the name the
# .ini file gives, so the service file must own that name and run the
# installed binary as a service.
ini="$share/gnome-shell/search-providers/$app_id.search-provider.ini"
service="$share/dbus-1/services/$app_id.service"
grep -q "^DesktopId=$app_id.desktop\$" "$ini" || fail "search provider names another desktop file"
grep -q "^BusName=$app_id\$" "$ini" || fail "search provider names another bus name"
grep -q "^Name=$app_id\$" "$service" || fail "D-Bus service owns another name"
grep -q "^Exec=${bin#"$dest"}/rill --gapplication-service\$" "$service" || fail "D-Bus service runs something else"

for root in "$builddir" "$srcdir"; do
  for f in $(grep -r -l -a -F -- "$root" "$dest" || true); do
    fail "${f#"$dest"} names the path $root"
  done
done
if [ -e "$bin/rill-uninstalled" ]; then
  fail "rill-uninstalled is installed"
fi

echo "# installed:"
(cd "$dest" && find . -type f | sort | sed 's|^\.|# |')
exit "$status"
