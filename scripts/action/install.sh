#!/usr/bin/env bash
# Puts a satoken binary in place for the later steps (SATOKEN_BIN in GITHUB_ENV): the one
# named by satoken-bin, else `go install …/cmd/satoken@<version>` (satoken-version, else the
# ref the action was used at), else — the action used from a path, as the local runner
# does — built from the action's own source.
set -euo pipefail
# shellcheck source=scripts/action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

module=github.com/satoken-e2e/satoken-e2e/cmd/satoken

if [[ -n "${SATOKEN_BIN_INPUT:-}" ]]; then
  bin=$(realpath -e -- "$SATOKEN_BIN_INPUT" 2>/dev/null) || fail "satoken-bin: $SATOKEN_BIN_INPUT does not exist"
  [[ -x "$bin" ]] || fail "satoken-bin: $bin is not executable"
else
  gobin="$RUNNER_TEMP/satoken-action/bin"
  version="${SATOKEN_VERSION:-${ACTION_REF:-}}"
  if [[ -n "$version" ]]; then
    [[ "$version" =~ ^[A-Za-z0-9][A-Za-z0-9._/+-]*$ ]] || fail "satoken-version: \"$version\" is not a module version, branch or commit"
    echo "go install $module@$version"
    GOBIN="$gobin" go install "$module@$version"
  else
    echo "go install ./cmd/satoken in $GITHUB_ACTION_PATH (the action's own source)"
    (cd "$GITHUB_ACTION_PATH" && GOBIN="$gobin" go install ./cmd/satoken)
  fi
  bin="$gobin/satoken"
fi

"$bin" version
echo "SATOKEN_BIN=$bin" >>"$GITHUB_ENV"
set_output satoken "$bin"
