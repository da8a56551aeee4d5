#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Checks that the C sources under src/ and tests/ are formatted as
# build-aux/uncrustify.cfg says: names every file that differs, shows the
# change uncrustify would make to the first few, and fails if any differ.
# It also fails on any line longer than 100 characters (characters, not
# bytes: a Chinese test string is 3 bytes a character), naming each as
# FILE:LINE, since uncrustify does not wrap lines itself.
# Only files under version control are checked, so generated sources (they
# live in the build directory) are not. The rules are written for
# uncrustify 0.72 (Debian 12); other releases format some things otherwise.
#
#   build-aux/check-style.sh            every C file git tracks under src/ and tests/
#   build-aux/check-style.sh FILE...    those files
#
# RILL_STYLE_DIFFS=N shows the diff of the first N files that differ (3).
#
# To fix a file:  uncrustify -l C -c build-aux/uncrustify.cfg --replace --no-backup FILE
# (-l C matters: without it uncrustify reads headers as C++.) The diffs
# printed here apply with `git apply`.
#
# Exit status: 0 all formatted, 1 some file differs or has a long line,
# 2 uncrustify missing or failed.
set -eu

cd "$(dirname "$0")/.."

config=build-aux/uncrustify.cfg
max_diffs=${RILL_STYLE_DIFFS:-3}
# .editorconfig's max_line_length; keep the two the same.
max_columns=100

if ! command -v uncrustify >/dev/null 2>&1; then
  echo "check-style: uncrustify is not installed (apt-get install uncrustify)" >&2
  exit 2
fi
case "$(uncrustify --version)" in
  Uncrustify-0.72.*) ;;
  *) echo "check-style: written for uncrustify 0.72, running $(uncrustify --version)" >&2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ $# -gt 0 ]; then
  for f in "$@"; do
    printf '%s\n' "$f"
  done > "$tmp/files"
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -- 'src/*.[ch]' 'tests/*.[ch]' > "$tmp/files"
else
  find src tests -name '*.[ch]' | sort > "$tmp/files"
fi

checked=0
differ=0
shown=0
long_lines=0
while IFS= read -r f; do
  case "$f" in
    # Generated sources, should one ever be committed, follow their
    # generator's style, not ours.
    *-resources.[ch] | *-enums.[ch] | *-enum-types.[ch] | *-marshal.[ch]) continue ;;
  esac
  checked=$((checked + 1))
  # uncrustify 0.72 can loop forever on some macro layouts: bound each file.
  if ! timeout 60 uncrustify -q -l C -c "$config" -f "$f" -o "$tmp/out"; then
    echo "check-style: uncrustify failed on $f" >&2
    exit 2
  fi
  # Characters, not bytes: the bytes less the UTF-8 continuation bytes
  # (10xxxxxx), counted in the C locale because mawk, Debian's awk, counts
  # bytes whatever the locale.
  LC_ALL=C awk -v max="$max_columns" -v file="$f" '
    { n = length ($0) - gsub (/[\200-\277]/, "&") }
    n > max { printf "%s:%d: line is %d characters, more than %d\n", file, FNR, n, max; found++ }
    END { exit found > 0 }' "$f" > "$tmp/long" || true
  if [ -s "$tmp/long" ]; then
    cat "$tmp/long"
    long_lines=$((long_lines + $(wc -l < "$tmp/long")))
  fi
  if cmp -s "$f" "$tmp/out"; then
    continue
  fi
  differ=$((differ + 1))
  echo "$f: not formatted"
  if [ "$shown" -lt "$max_diffs" ]; then
    shown=$((shown + 1))
    diff -u --label "a/$f" --label "b/$f" "$f" "$tmp/out" || true
  fi
done < "$tmp/files"

status=0
if [ "$long_lines" -gt 0 ]; then
  echo "check-style: $long_lines lines are longer than $max_columns characters (.editorconfig's max_line_length); wrap them by hand" >&2
  status=1
fi
if [ "$differ" -gt 0 ]; then
  echo "check-style: $differ of $checked files differ from $config" >&2
  echo "check-style: fix with: uncrustify -l C -c $config --replace --no-backup FILE..." >&2
  status=1
fi
[ "$status" -eq 0 ] || exit "$status"
echo "check-style: $checked files formatted as $config says"
