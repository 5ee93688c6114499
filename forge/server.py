"""Running the forge: standalone from settings (``python -m forge``, ``ccb up``) or in a
background thread on an already-bound socket (tests)."""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn

from forge.app import create_app
from forge.state import Forge, ForgeConfig
from infra.settings import Settings

log = logging.getLogger("forge")
STARTUP_TIMEOUT_SECONDS = 15.0


def config_from_settings(settings: Settings, *, faults: bool = False) -> ForgeConfig:
    """Data in ``<data_dir>/forge``; webhooks to the starter's ``/webhooks/github``."""
    return ForgeConfig(
        data_dir=settings.data_dir / "forge",
        webhook_url=f"http://{settings.starter_host}:{settings.starter_port}/webhooks/github",
        webhook_secret=settings.webhook_secret.get_secret_value(),
        faults_enabled=faults,
    )


def serve(settings: Settings, *, faults: bool = False) -> None:
    """Run the forge in the foreground on ``forge_host:forge_port`` until interrupted."""
    forge = Forge(config_from_settings(settings, faults=faults))
    forge.start()
    try:
        log.info("forge API at %s (tokens in %s)", settings.forge_api_url, forge.tokens_path)
        uvicorn.run(create_app(forge), host=settings.forge_host, port=settings.forge_port,
                    log_level="warning", access_log=False)
    finally:
        forge.stop()


class ForgeServer:
    """A started forge served by uvicorn in a daemon thread on a loopback socket."""

    def __init__(self, config: ForgeConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.forge = Forge(config)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self.forge.start()
        config = uvicorn.Config(create_app(self.forge), log_level="warning", access_log=False,
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._sock]},
                                        name="forge-uvicorn", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the forge did not start: see the log above")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()
        self.forge.stop()
