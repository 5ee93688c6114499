#!/usr/bin/env bash
# Installs and starts what the test suite talks to, from Debian's packages, and writes their
# addresses to .data/test-services.env. Each part says what it did; a part that cannot be had
# here (no root, no package) is reported and its tests say why they cannot run.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .data
ENV_FILE=.data/test-services.env
: > "$ENV_FILE"

as_root_install() {  # as_root_install <command> <debian package>
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "test-services: $1 missing and not root: install Debian's $2" >&2
    return 1
  fi
  if [ ! -f /tmp/.ccb-apt-updated ]; then apt-get update -qq >/dev/null && touch /tmp/.ccb-apt-updated; fi
  echo "test-services: installing Debian's $2" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# PostgreSQL for the registry tests.
if url=$(bash scripts/ensure-postgres.sh | tail -n 1); then
  echo "export CCB_TEST_POSTGRES_URL='$url'" >> "$ENV_FILE"
  echo "test-services: PostgreSQL at $url" >&2
fi

# A Docker engine (sandbox and deployment tests; base image built offline on first use).
if bash scripts/ensure-docker.sh; then
  echo "export CCB_TEST_DOCKER=1" >> "$ENV_FILE"
fi

# HAProxy, the blue-green traffic switch.
bash scripts/ensure-haproxy.sh || true

# Chromium, headless, for the status page's rendering test.
bash scripts/ensure-chromium.sh || true

# docker-compose, to check docker-compose.temporal.yml.
as_root_install docker-compose docker-compose || true
exit 0
