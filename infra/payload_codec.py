"""The bot's payload codec: encryption, then claim-check, chosen by the settings.

Encoding encrypts each payload (when keys are set, ``infra/payload_crypto.py``), then moves
the large ones to the payload store (``infra/claim_check.py``); decoding undoes both in
reverse. Payloads written without either (before they were on) pass through. The codec reads
the settings when it runs, so a client built once follows the process's current settings
(tests switch data directories between cases).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from infra.claim_check import BlobStore, ClaimCheckCodec, DirectoryBlobStore, RegistryBlobStore
from infra.payload_crypto import (
    EncryptionCodec,
    Keyring,
    PayloadKeyError,
    keys_from_file,
    keys_from_setting,
)
from infra.settings import Settings, get_settings


def keyring_of(settings: Settings) -> Keyring | None:
    """The configured keys: the setting, else the key file; None when there are none."""
    text = settings.payload_keys.get_secret_value()
    if text.strip():
        return keys_from_setting(text)
    return keys_from_file(payload_keys_path(settings))


def payload_keys_path(settings: Settings) -> Path:
    return settings.payload_keys_file or settings.data_dir / "payload-keys"


def store_directory(settings: Settings) -> Path | None:
    """The directory store ``CCB_PAYLOAD_STORE`` names, or None for the registry's table;
    raises the sentence that says what a wrong value should be."""
    where = settings.payload_store.strip()
    if not where:
        return None
    if where.startswith("dir:"):
        return Path(where[4:]).expanduser().resolve()
    raise PayloadKeyError(f"CCB_PAYLOAD_STORE {where[:60]!r} is not a store: leave it empty "
                          "for the registry's table, or write dir:/a/shared/directory")


def store_of(settings: Settings) -> BlobStore:
    directory = store_directory(settings)
    if directory is None:
        return RegistryBlobStore(settings.registry_url)
    return DirectoryBlobStore(directory)


class Pipeline(PayloadCodec):
    """Codecs applied in order to encode, in reverse to decode."""

    def __init__(self, codecs: Sequence[PayloadCodec]) -> None:
        self.codecs = list(codecs)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = list(payloads)
        for codec in self.codecs:
            out = await codec.encode(out)
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = list(payloads)
        for codec in reversed(self.codecs):
            out = await codec.decode(out)
        return out


def pipeline_for(settings: Settings) -> Pipeline:
    codecs: list[PayloadCodec] = []
    keyring = keyring_of(settings)
    if keyring is not None:
        codecs.append(EncryptionCodec(keyring))
    if settings.payload_claim_bytes > 0:
        codecs.append(ClaimCheckCodec(store_of(settings), settings.payload_claim_bytes))
    return Pipeline(codecs)


KEPT_PIPELINES = 4  # a process whose settings change (tests) keeps the last few
RESTAT_SECONDS = 1.0  # a rotated key file is picked up within this


class BotCodec(PayloadCodec):
    """The pipeline of the current settings (one per distinct configuration, kept)."""

    def __init__(self, settings: Callable[[], Settings] = get_settings) -> None:
        self._settings = settings
        self._pipelines: dict[tuple[object, ...], Pipeline] = {}
        self._last: tuple[Settings, float, Pipeline] | None = None

    def pipeline(self) -> Pipeline:
        s = self._settings()
        now = time.monotonic()
        last = self._last
        if last is not None and last[0] is s and now - last[1] < RESTAT_SECONDS:
            return last[2]  # the same settings object, the key file looked at just now
        path = payload_keys_path(s)
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = 0
        key = (s.payload_keys.get_secret_value(), str(path), stamp, s.payload_store,
               s.payload_claim_bytes, s.registry_url)
        pipeline = self._pipelines.pop(key, None) or pipeline_for(s)
        self._pipelines[key] = pipeline  # the most recent last
        while len(self._pipelines) > KEPT_PIPELINES:
            old = self._pipelines.pop(next(iter(self._pipelines)))
            for codec in old.codecs:
                close = getattr(getattr(codec, "store", None), "close", None)
                if close is not None:
                    close()
        self._last = (s, now, pipeline)
        return pipeline

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self.pipeline().encode(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self.pipeline().decode(payloads)


def data_converter(codec: PayloadCodec | None = None) -> DataConverter:
    """The pydantic converter with the bot's codec; failures' messages and stack traces go
    into an encoded payload too (they can quote issue text or code)."""
    return dataclasses.replace(
        pydantic_data_converter, payload_codec=codec or BotCodec(),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes)


def check_payload_settings(settings: Settings) -> None:
    """Raise the one sentence that names a wrong key or store setting (at start)."""
    keyring_of(settings)
    store_directory(settings)  # the text only: no database is opened to check it
