"""A small client of HAProxy's runtime API (the admin ``stats socket``), one command per
connection, with typed helpers whose HAProxy error texts become ``RuntimeApiError``."""

from __future__ import annotations

import csv
import io
import re
import socket
from pathlib import Path

from models.traffic import ServerAdminState, ServerStatus

SOCKET_TIMEOUT_S = 5.0
# Replies that mean the command failed (HAProxy answers in free text, not status codes).
_ERROR_MARKERS = (
    "unknown command",
    "no such",
    "require",
    "invalid",
    "cannot",
    "can't",
    "failed",
    "error",
    "not found",
    "permission denied",
    "unable",
    "must be",
    "is not",
    "expects",
    "only supported",
)


_MAP_ENTRY = re.compile(r"^0x[0-9a-f]+ \S+ \S+$")


class RuntimeApiError(RuntimeError):
    """HAProxy refused a runtime API command; the message says which and why."""


class ProxyUnreachableError(RuntimeApiError):
    """The admin socket does not answer: the proxy is not running (start it first)."""


class RuntimeApi:
    """Commands to one HAProxy process through its admin unix socket."""

    def __init__(self, socket_path: Path | str, timeout_s: float = SOCKET_TIMEOUT_S) -> None:
        self.socket_path = str(socket_path)
        self.timeout_s = timeout_s

    # -- transport ------------------------------------------------------------------------------

    def command(self, line: str) -> str:
        """Send one command and return HAProxy's whole reply (it closes after answering)."""
        if "\n" in line or ";" in line:
            raise ValueError(f"one runtime API command at a time, no ';' or newline: {line!r}")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout_s)
                sock.connect(self.socket_path)
                sock.sendall(line.encode() + b"\n")
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise ProxyUnreachableError(
                f"HAProxy's admin socket {self.socket_path} does not answer ({exc.strerror}); "
                "start the environment's proxy first"
            ) from exc
        except TimeoutError as exc:
            raise ProxyUnreachableError(
                f"HAProxy's admin socket {self.socket_path} did not answer `{line}` within "
                f"{self.timeout_s}s"
            ) from exc
        return b"".join(chunks).decode(errors="replace")

    def checked(self, line: str, ok_prefixes: tuple[str, ...] = ()) -> str:
        """Run a command whose success reply is empty or starts with one of ``ok_prefixes``."""
        reply = self.command(line).strip()
        if not reply or reply.startswith(ok_prefixes):
            return reply
        raise RuntimeApiError(f"HAProxy refused `{line}`: {reply.splitlines()[0]}")

    @staticmethod
    def _raise_if_error(line: str, reply: str) -> None:
        first = reply.strip().splitlines()[0] if reply.strip() else ""
        if first.startswith("#"):  # a CSV or table header: data, not an error
            return
        if _MAP_ENTRY.match(first):  # a map entry ("0x55d0 <key> <value>"): its key may be
            return                   # a slug that holds a marker's word ("errors-api")
        if any(marker in first.lower() for marker in _ERROR_MARKERS):
            raise RuntimeApiError(f"HAProxy refused `{line}`: {first}")

    # -- servers --------------------------------------------------------------------------------

    def add_server(self, backend: str, server: str, addr: str, port: int, weight: int,
                   check: bool = True) -> None:
        """Declare a dynamic server (it starts in maintenance: ``enable_server`` it)."""
        extra = " check inter 1s fall 2 rise 1" if check else ""
        self.checked(f"add server {backend}/{server} {addr}:{port} weight {weight}{extra}",
                     ("New server registered",))
        if check:
            self.checked(f"enable health {backend}/{server}")

    def del_server(self, backend: str, server: str) -> None:
        """Remove a dynamic server; HAProxy requires it in maintenance with no sessions."""
        self.checked(f"del server {backend}/{server}", ("Server deleted",))

    def enable_server(self, backend: str, server: str) -> None:
        self.checked(f"enable server {backend}/{server}")

    def set_addr(self, backend: str, server: str, addr: str, port: int) -> None:
        """Point a server at another address and port (do it while it is in maintenance)."""
        self.checked(
            f"set server {backend}/{server} addr {addr} port {port}",
            ("IP changed", "no need to change", "port changed"),
        )

    def set_weight(self, backend: str, server: str, percent: int) -> None:
        """Set an absolute weight; servers are declared with weight 100, so this is percent."""
        if not 0 <= percent <= 100:
            raise ValueError(f"weight must be a percentage 0..100, got {percent}")
        self.checked(f"set weight {backend}/{server} {percent}")

    def set_state(self, backend: str, server: str, state: ServerAdminState | str) -> None:
        """ready: takes traffic; drain: in-flight requests finish, no new ones; maint: none."""
        value = ServerAdminState(state).value
        self.checked(f"set server {backend}/{server} state {value}")

    def server_states(self, backend: str) -> list[ServerStatus]:
        """Every server of ``backend``: sessions and status from ``show stat`` (CSV), admin
        state bits from ``show servers state``, in declaration order."""
        admin = self._admin_state(backend)
        line = f"show stat {backend} 4 -1"
        reply = self.command(line)
        self._raise_if_error(line, reply)
        servers = []
        for row in csv.DictReader(io.StringIO(reply.lstrip("# "))):
            if row.get("pxname") != backend or row.get("svname") in ("FRONTEND", "BACKEND"):
                continue
            addr, _, port = (row.get("addr") or ":0").rpartition(":")
            servers.append(ServerStatus(
                backend=backend,
                name=row["svname"],
                addr=addr,
                port=int(port or 0),
                weight=admin.get(row["svname"], (0, 0))[1],
                status=row.get("status") or "",
                current_sessions=int(row.get("scur") or 0),
                queued=int(row.get("qcur") or 0),
                total_sessions=int(row.get("stot") or 0),
                admin_bits=admin.get(row["svname"], (0, 0))[0],
            ))
        return servers

    def backend_counters(self, backend: str) -> tuple[int, int]:
        """(requests, 5xx answers) the backend has seen since the proxy started, from the
        backend row of ``show stat`` (cumulative: a rate is a difference of two readings)."""
        line = f"show stat {backend} 2 -1"
        reply = self.command(line)
        self._raise_if_error(line, reply)
        for row in csv.DictReader(io.StringIO(reply.lstrip("# "))):
            if row.get("pxname") == backend and row.get("svname") == "BACKEND":
                return int(row.get("req_tot") or 0), int(row.get("hrsp_5xx") or 0)
        raise RuntimeApiError(f"HAProxy's `{line}` has no row for the backend {backend}")

    def _admin_state(self, backend: str) -> dict[str, tuple[int, int]]:
        """Server name -> (srv_admin_state bits, srv_uweight), from ``show servers state``.

        The user weight is the one ``set weight`` sets; ``show stat``'s weight column is the
        effective one, scaled and 0 or 1 while a server is in maintenance."""
        line = f"show servers state {backend}"
        reply = self.command(line)
        self._raise_if_error(line, reply)
        rows = [row.split() for row in reply.splitlines() if row and row[0].isdigit()]
        if not rows or len(rows[0]) > 1:
            raise RuntimeApiError(f"HAProxy answered `{line}` in an unknown format: {reply[:80]}")
        # rows[0] is the format version; then "<be_id> <be_name> <srv_id> <srv_name> <addr>
        # <op_state> <admin_state> <uweight> <iweight> ..."
        return {row[3]: (int(row[6]), int(row[7]))
                for row in rows[1:] if len(row) > 7 and row[1] == backend}

    def backend_exists(self, backend: str) -> bool:
        return backend in self.command("show backend").split()

    # -- maps -----------------------------------------------------------------------------------

    def show_map(self, map_path: Path | str) -> dict[str, str]:
        """The entries of a map file as HAProxy holds them in memory: key -> value."""
        line = f"show map {map_path}"
        reply = self.command(line)
        self._raise_if_error(line, reply)
        entries = {}
        for row in reply.splitlines():
            parts = row.split()
            if len(parts) == 3:  # "<entry id> <key> <value>"
                entries[parts[1]] = parts[2]
        return entries

    def add_map(self, map_path: Path | str, key: str, value: str) -> None:
        self.checked(f"add map {map_path} {key} {value}")

    def del_map(self, map_path: Path | str, key: str) -> None:
        self.checked(f"del map {map_path} {key}")

    # -- process --------------------------------------------------------------------------------

    def info(self) -> dict[str, str]:
        """``show info`` as a dict (Name, Version, Pid, Uptime_sec, ...)."""
        reply = self.command("show info")
        return {
            key.strip(): value.strip()
            for key, sep, value in (row.partition(":") for row in reply.splitlines())
            if sep
        }

    def is_alive(self) -> bool:
        try:
            return "Pid" in self.info()
        except ProxyUnreachableError:
            return False
