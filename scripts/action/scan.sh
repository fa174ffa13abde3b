#!/usr/bin/env bash
# satoken scan on the images: a prediction from the measured verdict table, kept in
# OUT_DIR/scan.txt. Its exit code is an output for the verdict step; the step itself
# fails only on bad input.
set -euo pipefail
# shellcheck source=scripts/action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

declare -a images # set by split_words
split_words images "${IMAGES:-}"
boolean scan "${SCAN:=true}"
if [[ "$SCAN" == false || ${#images[@]} -eq 0 ]]; then
  echo "satoken scan: skipped (scan: $SCAN, images: ${#images[@]})"
  exit 0
fi

mkdir -p "$OUT_DIR"
rc=0
"$SATOKEN_BIN" scan "${images[@]}" | tee "$OUT_DIR/scan.txt" || rc=$?
echo "satoken scan: exit $rc ($(outcome "$rc"))"
set_output exit-code "$rc"
