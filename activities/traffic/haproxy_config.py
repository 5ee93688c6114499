"""Render one environment's HAProxy configuration.

Design (why it looks like this):

* One frontend per environment routes by the Host header's first label (``weather-api``,
  ``weather-api.localhost:8500``) through a map file to a backend. A map entry can be added at
  run time (``add map``), and every backend is pre-declared as a numbered *slot*, so adding a new
  integration never re-renders or reloads anything: HAProxy 2.6 closes idle keep-alive client
  connections of the old process on a reload, which is the very loss a blue-green switch must
  not cause. Growing past ``slots`` needs a restart, done outside a deployment.
* Each slot declares both colours as servers with a real weight (100, so weights read as
  percentages) and ``disabled``; a deployment sets the address and state at run time.
* ``balance hash`` on the client's address and port with consistent hashing: each keep-alive
  connection sticks to one colour, and since shifting only raises the new colour's weight and
  lowers the old one's, a connection moves old -> new at most once (no flapping) while the
  share of new connections follows the weights.
* ``retry-on conn-failure empty-response`` with ``retries 3`` and ``option redispatch``: a
  request that never reached a server (refused connection) or met a reused server connection
  that closed under it is sent again, possibly to the other colour. A response timeout is not
  retried (the server may still be working on it), and ``disable-l7-retry`` keeps every
  non-idempotent method (POST, PATCH, ...) from being re-sent after it may have been executed;
  connection failures stay retried because nothing was delivered.
* Keep-alive to clients (no ``http-server-close``); ``http-reuse safe`` to servers.
"""

from __future__ import annotations

from models.deployment import Color
from models.traffic import FULL_WEIGHT, ProxySpec

# Timeouts (seconds unless marked): one place, named.
TIMEOUT_CONNECT = "3s"
TIMEOUT_CLIENT = "60s"
TIMEOUT_SERVER = "60s"
TIMEOUT_HTTP_REQUEST = "10s"
TIMEOUT_KEEP_ALIVE = "60s"
TIMEOUT_QUEUE = "10s"
TIMEOUT_CHECK = "2s"
CHECK_INTERVAL = "1s"
# Concurrent connections per proxy; HAProxy needs about twice as many file descriptors.
MAXCONN = 4096
# A placeholder address for a colour nobody routed yet (it is disabled, nothing connects).
UNROUTED_ADDR = "127.0.0.1:1"
UNKNOWN_HOST_MESSAGE = (
    "no integration is routed for this Host header: send Host: <integration-slug> "
    "of an integration deployed in this environment"
)


def slot_name(index: int) -> str:
    """The backend name of slot ``index``."""
    return f"slot{index:03d}"


def render_config(proxy: ProxySpec) -> str:
    """The whole configuration text of ``proxy``'s HAProxy process."""
    lines = [
        "# Rendered by activities/traffic/haproxy_config.py; do not edit, it is rewritten.",
        "global",
        f"    stats socket {proxy.socket_path} mode 600 level admin expose-fd listeners",
        f"    hard-stop-after {proxy.hard_stop_after_s}s",
        f"    maxconn {MAXCONN}",
        "",
        "defaults",
        "    mode http",
        "    option forwardfor",
        "    option redispatch",
        "    retries 3",
        "    retry-on conn-failure empty-response",
        "    http-reuse safe",
        f"    timeout connect {TIMEOUT_CONNECT}",
        f"    timeout client {TIMEOUT_CLIENT}",
        f"    timeout server {TIMEOUT_SERVER}",
        f"    timeout http-request {TIMEOUT_HTTP_REQUEST}",
        f"    timeout http-keep-alive {TIMEOUT_KEEP_ALIVE}",
        f"    timeout queue {TIMEOUT_QUEUE}",
        f"    timeout check {TIMEOUT_CHECK}",
        "",
        f"frontend fe_{proxy.environment}",
        f"    bind {proxy.listen_host}:{proxy.port}",
        "    http-request set-var(txn.slot) "
        f"req.hdr(host),field(1,:),field(1,.),lower,map({proxy.map_path})",
        "    http-request return status 404 content-type text/plain "
        f'string "{UNKNOWN_HOST_MESSAGE}" if !{{ var(txn.slot) -m found }}',
        "    http-request set-var(txn.client_port) src_port",
        "    use_backend %[var(txn.slot)]",
        "",
    ]
    for index in range(proxy.slots):
        lines += [
            f"backend {slot_name(index)}",
            "    balance hash src,concat(:,txn.client_port)",
            "    hash-type consistent",
            "    http-request disable-l7-retry unless METH_GET || METH_HEAD || METH_OPTIONS",
            "    http-response set-header X-Ccb-Color %s",
        ]
        for color in Color:
            lines.append(
                f"    server {color.value} {UNROUTED_ADDR} weight {FULL_WEIGHT} disabled "
                f"check inter {CHECK_INTERVAL} fall 2 rise 1"
            )
        lines.append("")
    return "\n".join(lines)
