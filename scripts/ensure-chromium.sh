#!/usr/bin/env bash
# Makes sure Debian's `chromium` is installed (the status-page test renders the page in it,
# headless, inside a network namespace with only loopback). Idempotent; prints one line.
set -euo pipefail

if chromium --version >/dev/null 2>&1; then
  echo "ensure-chromium: nothing to do, $(chromium --version | head -n 1)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-chromium: chromium is not installed and this is not root; install it as root" >&2
  exit 3
fi
LOG="$(mktemp)"
if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
    >"$LOG" 2>&1; then
  cat "$LOG" >&2
  echo "ensure-chromium: apt-get could not install chromium (output above)" >&2
  rm -f "$LOG"
  exit 4
fi
rm -f "$LOG"
echo "ensure-chromium: installed $(chromium --version | head -n 1)"
