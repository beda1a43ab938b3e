#!/bin/sh
# tests/bench/readme.sh - run every benchmark (tests/bench/run) and write its
# markdown into the README's performance section, between the
# <!-- bench:begin --> and <!-- bench:end --> markers, so the figures there
# always come from one run (with its date, machine and commit), never from typing.
#
#   tests/bench/readme.sh [--quick] [--wait-idle] [--json FILE] [README]
#
# README defaults to README.md. --json FILE also keeps the run's JSON. Nothing is
# written if any part of the run fails. BUILD_DIR is passed on to tests/bench/run.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
flags="" json="" readme=README.md
while [ $# -gt 0 ]; do
    case $1 in
    --quick | --wait-idle) flags="$flags $1"; shift ;;
    --json) json=${2:?--json needs a file}; shift 2 ;;
    -*) echo "usage: $0 [--quick] [--wait-idle] [--json FILE] [README]" >&2; exit 2 ;;
    *) readme=$1; shift ;;
    esac
done
if ! grep -q '<!-- bench:begin -->' "$readme" || ! grep -q '<!-- bench:end -->' "$readme"; then
    echo "readme.sh: $readme has no <!-- bench:begin --> / <!-- bench:end --> markers" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086 # $flags is a list of plain words
tests/bench/run $flags --markdown "$tmp/run.md" --json "$tmp/run.json" >/dev/null
# The README has its own "## Performance" heading above the markers.
sed '1{/^## Performance$/d}' "$tmp/run.md" | sed '1{/^$/d}' >"$tmp/section.md"
awk -v section="$tmp/section.md" '
    /<!-- bench:begin -->/ { print; while ((getline line < section) > 0) print line; skip = 1; next }
    /<!-- bench:end -->/ { skip = 0 }
    !skip { print }
' "$readme" >"$tmp/README.md"
cat "$tmp/README.md" >"$readme"
[ -z "$json" ] || cp "$tmp/run.json" "$json"
echo "readme.sh: $readme performance section rewritten from tests/bench/run" >&2
