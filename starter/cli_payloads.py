"""``ccb codec-server`` and ``ccb payload-keys``: reading and rotating encrypted histories."""

from __future__ import annotations

from typing import Annotated

import typer

from infra.payload_codec import keyring_of, payload_keys_path
from infra.payload_crypto import PayloadKeyError, rotate_key_file
from infra.settings import get_settings
from starter.cli_commands import _fail, _one_line


def register(app: typer.Typer) -> None:
    """Add ``codec-server`` and ``payload-keys rotate|list`` to ``app``."""

    @app.command("codec-server")
    def codec_server(
        port: Annotated[int, typer.Option(help="port (default CCB_CODEC_PORT)")] = 0,
        host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    ) -> None:
        """Serve the Web UI's remote codec (decodes encrypted and claim-checked payloads)."""
        from starter.codec_server import serve

        settings = get_settings()
        typer.echo(f"ccb: codec server on http://{host}:{port or settings.codec_port} "
                   "(start the UI with --ui-codec-endpoint pointing here)")
        serve(settings, host, port or None)

    keys = typer.Typer(help="The keys that encrypt Temporal payloads.", no_args_is_help=True)
    app.add_typer(keys, name="payload-keys")

    @keys.command("rotate")
    @_one_line
    def rotate() -> None:
        """Put a new key first in the key file: new payloads use it, old ones stay readable."""
        settings = get_settings()
        if settings.payload_keys.get_secret_value().strip():
            _fail("CCB_PAYLOAD_KEYS is set, so the key file is not used: put a new id:key "
                  "first in that setting instead")
        path = payload_keys_path(settings)
        try:
            keyring_of(settings)  # refuse to prepend to a broken file
        except PayloadKeyError as exc:
            _fail(str(exc))
        key_id = rotate_key_file(path)
        typer.echo(f"ccb: new payload key {key_id} first in {path}; the worker, the starter "
                   "and the codec server encrypt with it within a second (keep the old keys: "
                   "they still decrypt older payloads)")

    @keys.command("list")
    @_one_line
    def list_keys() -> None:
        """The key ids (never the keys), the one that encrypts first."""
        settings = get_settings()
        try:
            ring = keyring_of(settings)
        except PayloadKeyError as exc:
            _fail(str(exc))
        if ring is None:
            typer.echo(f"no payload keys ({payload_keys_path(settings)} does not exist): "
                       "payloads are not encrypted")
            return
        for index, (key_id, _) in enumerate(ring.keys):
            typer.echo(f"{key_id}\t{'encrypts' if index == 0 else 'decrypts'}")
