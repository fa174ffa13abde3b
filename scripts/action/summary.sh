#!/usr/bin/env bash
# The job summary: each check run's report.md under a heading with its outcome, and the
# scan's prediction; written even when an earlier step failed (then it says so).
set -euo pipefail
# shellcheck source=scripts/action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# GitHub refuses a step summary over 1 MiB; a longer report is cut and points to the
# artifact.
max_report_bytes=$((200 * 1024))

{
  echo "## satoken check"
  echo
  if [[ -z "${RUNS:-}" && -z "${CHECK_EXIT:-}" && -n "${SCAN_EXIT:-}" ]]; then
    echo "No manifests or chart were given: only the scan below, a prediction; no pod was run."
    echo
  elif [[ -z "${RUNS:-}" ]]; then
    echo "satoken check did not run to the end: an earlier step failed or the input was refused (see the step log)."
    echo
  fi
  while IFS=$'\t' read -r label dir rc; do
    [[ -n "$label" ]] || continue
    echo "### $label: $(outcome "$rc") (exit $rc)"
    echo
    if [[ -f "$dir/report.md" ]]; then
      head -c "$max_report_bytes" "$dir/report.md"
      if (($(wc -c <"$dir/report.md") > max_report_bytes)); then
        echo
        echo "… cut here; the whole report is $dir/report.md in the uploaded artifact."
      fi
    else
      echo "No report.md in $dir: satoken stopped before writing one (see the step log)."
    fi
    echo
  done <<<"${RUNS:-}"
  if [[ -n "${SCAN_EXIT:-}" && -f "$OUT_DIR/scan.txt" ]]; then
    echo "### satoken scan: $(outcome "$SCAN_EXIT") (exit $SCAN_EXIT)"
    echo
    echo "A prediction from the measured verdict table; where the check ran, its measurement decides."
    echo
    echo '```'
    head -c "$max_report_bytes" "$OUT_DIR/scan.txt"
    echo '```'
  fi
} >>"$GITHUB_STEP_SUMMARY"
