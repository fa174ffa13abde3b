#!/usr/bin/env bash
# satoken host: installs and starts what satoken and kind need on this machine (Debian
# packages, the Docker engine, a runc workaround where the host lacks CAP_SYS_RESOURCE),
# which takes root. A hosted runner's user is not root but may sudo without a password.
# Without either, the step says so and satoken's own commands say what is missing.
set -euo pipefail

if ((EUID == 0)); then
  "$SATOKEN_BIN" host
elif sudo -n true 2>/dev/null; then
  # sudo's secure_path would drop the Go that setup-go put on PATH.
  sudo -n env "PATH=$PATH" "$SATOKEN_BIN" host
else
  echo "satoken host: skipped (not root, and no passwordless sudo)"
fi
