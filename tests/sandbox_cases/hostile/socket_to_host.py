"""Generated-test stand-in: connects to a server the HOST runs on its loopback (port filled in
by the host test). In the sandbox's own network namespace nothing listens there."""

import socket

HOST_PORT = int("__HOST_PORT__")


def test_reaches_the_hosts_loopback_server() -> None:
    with socket.create_connection(("127.0.0.1", HOST_PORT), timeout=3) as conn:
        banner = conn.recv(100)
    assert banner.startswith(b"HOST-SERVER")
