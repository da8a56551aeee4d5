#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Fails when a translatable string is missing, untranslated or fuzzy in any
# language of po/LINGUAS, when a catalogue does not compile, or when a
# source file with translatable strings is missing from po/POTFILES.in.
#
# It extracts the strings itself, with the same xgettext options as meson's
# glib preset, so it does not depend on `rill-pot` having been built and a
# stale rill.pot cannot hide a new string.
#
# Usage: check-translations.sh SOURCE_ROOT
set -eu
export LC_ALL=C

srcdir=${1:?usage: $0 SOURCE_ROOT}
podir="$srcdir/po"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

fail () {
  echo "FAIL: $*" >&2
  status=1
}

# Every file listed exists, and every file with translatable strings is
# listed (C: _(), N_(), C_(), NC_(), ngettext; .ui: translatable="yes";
# data: the .in files and the schema).
grep -v '^[[:space:]]*\(#.*\)\?$' "$podir/POTFILES.in" | sort >"$tmp/listed"
while read -r f; do
  [ -f "$srcdir/$f" ] || fail "po/POTFILES.in lists $f, which does not exist"
done <"$tmp/listed"
(
  cd "$srcdir"
  {
    grep -rlE '(^|[^A-Za-z0-9_])(N?C?_|d?c?n?gettext|g_d[a-z0-9]*gettext2?)[[:space:]]*\(' \
      --include='*.c' src 2>/dev/null || true
    grep -rl 'translatable="yes"' --include='*.ui' src 2>/dev/null || true
    ls data/*.desktop.in data/*.metainfo.xml.in data/*.gschema.xml 2>/dev/null || true
  } | sort -u
) >"$tmp/needed"
for f in $(comm -23 "$tmp/needed" "$tmp/listed"); do
  fail "$f has translatable strings but is not in po/POTFILES.in"
done
# Sorted, so additions from several branches merge without conflicts.
grep -v '^[[:space:]]*\(#.*\)\?$' "$podir/POTFILES.in" >"$tmp/as-listed"
LC_ALL=C sort -C "$tmp/as-listed" || fail "po/POTFILES.in is not sorted (LC_ALL=C sort)"

# The same keywords and flags as meson's i18n preset 'glib'.
xgettext --package-name=rill --from-code=UTF-8 --add-comments \
  --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
  --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
  --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
  --flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format \
  --flag=g_string_printf:2:c-format --flag=g_string_append_printf:2:c-format \
  --flag=g_error_new:3:c-format --flag=g_set_error:4:c-format \
  --flag=g_markup_printf_escaped:1:c-format --flag=g_log:3:c-format \
  --flag=g_print:1:c-format --flag=g_printerr:1:c-format \
  --flag=g_printf:1:c-format --flag=g_fprintf:2:c-format \
  --flag=g_sprintf:2:c-format --flag=g_snprintf:3:c-format \
  -D "$srcdir" -f "$podir/POTFILES.in" -o "$tmp/rill.pot" \
  || fail "xgettext could not extract the strings"
[ -f "$tmp/rill.pot" ] || fail "xgettext found no strings"
echo "# $(grep -c '^msgid ' "$tmp/rill.pot") msgids in the fresh template, header included"

for lang in $(grep -v '^#' "$podir/LINGUAS"); do
  po="$podir/$lang.po"
  if [ ! -f "$po" ]; then
    fail "po/LINGUAS lists $lang but $po does not exist"
    continue
  fi
  # Compiles, with format strings, plural forms and the header checked.
  if ! msgfmt --check --statistics -o /dev/null "$po" 2>"$tmp/stats"; then
    cat "$tmp/stats" >&2
    fail "$lang.po does not compile"
  fi
  echo "# $lang: $(cat "$tmp/stats")"
  # "N translated messages, M fuzzy translations, K untranslated messages."
  if grep -qE 'fuzzy|untranslated' "$tmp/stats"; then
    fail "$lang.po has fuzzy or untranslated entries"
  fi
  # Every msgid of the fresh template is in the catalogue and translated:
  # msgcmp counts fuzzy and untranslated entries as missing.
  msgcmp "$po" "$tmp/rill.pot" || fail "$lang.po lacks strings of the sources"
done

exit "$status"
