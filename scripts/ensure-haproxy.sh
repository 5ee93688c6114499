#!/usr/bin/env bash
# Makes sure an `haproxy` binary is on PATH (Debian bookworm ships 2.6). Idempotent: does
# nothing when `haproxy -v` already works. Never starts the Debian service: the project runs
# its own HAProxy processes (activities/traffic/haproxy_process.py). Prints one line.
set -euo pipefail

if haproxy -v >/dev/null 2>&1; then
  echo "ensure-haproxy: nothing to do, $(haproxy -v | head -n 1)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-haproxy: haproxy is not installed and this is not root; run as root or install it" >&2
  exit 3
fi
# policy-rc.d exit 101 keeps the package's postinst from starting the system service.
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$POLICY"
  chmod +x "$POLICY"
  CREATED_POLICY=1
fi
cleanup() { if [ "$CREATED_POLICY" = 1 ]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT
LOG="$(mktemp)"
if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy) \
    >"$LOG" 2>&1; then
  cat "$LOG" >&2
  echo "ensure-haproxy: apt-get could not install haproxy (output above)" >&2
  rm -f "$LOG"
  exit 1
fi
rm -f "$LOG"
echo "ensure-haproxy: installed $(haproxy -v | head -n 1)"
