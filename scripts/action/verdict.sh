#!/usr/bin/env bash
# The step's outcome: the check's exit code (the scan's when only images were given),
# failing on 3 and 1 always, on 4 unless fail-on-not-judged is false. Outputs: outcome
# and exit-code.
set -euo pipefail
# shellcheck source=scripts/action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fail_on_not_judged=${FAIL_ON_NOT_JUDGED:-true}
if ! (boolean fail-on-not-judged "$fail_on_not_judged"); then
  set_output outcome harness-error
  set_output exit-code 1
  exit 1
fi

by=check
if [[ -n "${CHECK_EXIT:-}" ]]; then
  rc=$CHECK_EXIT
  # A scanned image that could not be read is a harness error, whatever the check says.
  [[ "${SCAN_EXIT:-}" != 1 ]] || rc=$(worst "$rc" 1)
elif [[ -n "${SCAN_EXIT:-}" ]]; then
  rc=$SCAN_EXIT by=scan
else
  echo "::error title=satoken::satoken did not run to the end: an earlier step failed (see its log)"
  rc=1
fi
case "$rc" in 0 | 3 | 4) ;; *) rc=1 ;; esac

result=$(outcome "$rc")
set_output outcome "$result"
set_output exit-code "$rc"
# What the outcome means depends on what decided it: pods measured, or binaries read.
case "$by:$rc" in
  check:0) echo "satoken: passed — every pod judged, none broke" ;;
  scan:0) echo "satoken: passed (scan only) — every client-go found has a prediction from measured runs, none failing; no pod was run" ;;
  check:3) echo "::error title=satoken::broken — the add-on does not survive token expiry (see report.md in the job summary)" ;;
  scan:3) echo "::error title=satoken::broken (scan only) — a client-go linked in the images is predicted to fail after token expiry" ;;
  *:4)
    what="some pod's evidence cannot decide; report.md says why and what to do"
    [[ "$by" == check ]] || what="a client-go linked in the images has no prediction (scan only)"
    if [[ "$fail_on_not_judged" == false ]]; then
      echo "::warning title=satoken::not judged — $what; not a pass (fail-on-not-judged: false)"
      exit 0
    fi
    echo "::error title=satoken::not judged — $what"
    ;;
  *) echo "::error title=satoken::harness error — satoken could not finish (see the step log)" ;;
esac
exit "$rc"
