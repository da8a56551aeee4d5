#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Checks that the C sources under src/ and tests/ are formatted as
# .clang-format says, and names each place that is not. Only files under
# version control are checked: generated sources live in the build
# directory. Formatting rules differ between clang-format releases; this
# one is written for clang-format 14 (Debian 12).
#
#   build-aux/check-style.sh            every C file under src/ and tests/
#   build-aux/check-style.sh FILE...    those files
#
# To fix a file: clang-format -i FILE
set -eu

cd "$(dirname "$0")/.."

if ! command -v clang-format >/dev/null 2>&1; then
  echo "check-style: clang-format is not installed (apt-get install clang-format)" >&2
  exit 2
fi
case "$(clang-format --version)" in
  *" version 14."*) ;;
  *) echo "check-style: written for clang-format 14, running $(clang-format --version)" >&2 ;;
esac

if [ $# -eq 0 ]; then
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # shellcheck disable=SC2046
    set -- $(git ls-files 'src/*.[ch]' 'tests/*.[ch]')
  else
    # shellcheck disable=SC2046
    set -- $(find src tests -name '*.[ch]' | sort)
  fi
fi

clang-format --style=file --dry-run --Werror "$@"
