#!/usr/bin/env bash
# Fails if a lower layer includes a higher layer's header by relative path
# (the poison headers in cmake/poison catch system headers; this catches
# "../lua/x.h" style includes). Layers, bottom up: core, store, lua, server|cli.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
check() { # layer, forbidden layers...
  local layer=$1; shift
  for f in $(ls src/"$layer"/*.[ch] 2>/dev/null); do
    for up in "$@"; do
      if grep -nE "#include\s+[\"<](\.\./)?$up/" "$f"; then
        echo "layering: $f includes from src/$up (a higher layer)"; status=1
      fi
    done
  done
}
check core store lua server cli
check store lua server cli
check lua server cli
[ $status -eq 0 ] && echo "layering: ok"
exit $status
