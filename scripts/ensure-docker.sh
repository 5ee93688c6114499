#!/usr/bin/env bash
# Makes sure a Docker engine answers `docker info`. Idempotent: does nothing when one already
# answers. Otherwise installs Debian's docker.io (and debootstrap, which builds the sandbox's
# base image offline) when missing, starts dockerd in the background (log and pidfile under
# /tmp/ccb-dockerd), and waits up to 60 s for it. If the default setup (overlay2, bridge,
# iptables) does not come up, it retries with vfs storage and no bridge/iptables: the test
# sandbox runs with network "none" and needs neither. Prints one line; exits 3 when no engine
# can be had (callers then fall back to the weaker local sandbox).
set -uo pipefail

RUN_DIR=/tmp/ccb-dockerd
WAIT_SECONDS=60

answers() { timeout 10 docker info >/dev/null 2>&1; }

if answers; then
  echo "ensure-docker: engine already answers (server $(docker version -f '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-docker: no Docker engine answers and this is not root: start one (or run this as root)" >&2
  exit 3
fi

install_missing() {  # install_missing <command> <debian package>...
  command -v "$1" >/dev/null 2>&1 && return 0
  shift
  if [ ! -f /tmp/.ccb-apt-updated ]; then apt-get update -qq >/dev/null && touch /tmp/.ccb-apt-updated; fi
  # policy-rc.d exit 101 keeps the package's postinst from starting a system service.
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
  local rc=$?
  [ "$created" = 1 ] && rm -f "$policy"
  return $rc
}

if ! install_missing dockerd docker.io; then
  echo "ensure-docker: could not install Debian's docker.io (apt-get failed); no engine" >&2
  exit 3
fi
install_missing debootstrap debootstrap || echo "ensure-docker: debootstrap could not be installed; the base image cannot be built" >&2
command -v docker >/dev/null 2>&1 || { echo "ensure-docker: no docker CLI after installing docker.io" >&2; exit 3; }

mkdir -p "$RUN_DIR"
stop_ours() {
  local pid
  pid=$(cat "$RUN_DIR/dockerd.pid" 2>/dev/null) || return 0
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$RUN_DIR/dockerd.pid"
}

start_dockerd() {  # start_dockerd <description> <dockerd args>...
  local what=$1; shift
  stop_ours
  nohup dockerd --pidfile "$RUN_DIR/dockerd.pid" "$@" >>"$RUN_DIR/dockerd.log" 2>&1 &
  local pid=$!
  for _ in $(seq "$WAIT_SECONDS"); do
    if answers; then
      echo "ensure-docker: started dockerd ($what, pid $pid, log $RUN_DIR/dockerd.log)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  kill "$pid" 2>/dev/null
  return 1
}

echo "--- $(date -u +%FT%TZ) ensure-docker" >>"$RUN_DIR/dockerd.log"
start_dockerd "overlay2, bridge" && exit 0
start_dockerd "vfs storage, no bridge, no iptables" --storage-driver=vfs --iptables=false --bridge=none && exit 0
echo "ensure-docker: dockerd did not answer within ${WAIT_SECONDS} s, see $RUN_DIR/dockerd.log: $(tail -n 3 "$RUN_DIR/dockerd.log" | tr '\n' ' ')" >&2
exit 3
