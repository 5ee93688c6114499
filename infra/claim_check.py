"""Large payloads leave Temporal history: a claim-check codec over a content-addressed store.

A payload larger than the threshold (``CCB_PAYLOAD_CLAIM_BYTES``) is stored under the sha256 of
its bytes and history keeps only that digest; every process that decodes (worker, starter,
CLI, codec server) fetches it back. Generated code and issue text therefore cost history a
few dozen bytes per step however large they are, and stay far from Temporal's payload and
history limits. The store is the registry's ``payload_blobs`` table by default (shared by
every process that shares the registry), or a directory (``CCB_PAYLOAD_STORE=dir:/path``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"claim-check/sha256"
CACHE_BYTES = 64 * 1024 * 1024


class BlobStore(Protocol):
    where: str

    def put(self, digest: str, data: bytes) -> None: ...
    def get(self, digest: str) -> bytes | None: ...


class MissingBlobError(LookupError):
    """History names a payload the store does not hold (the store was changed or wiped)."""


class RegistryBlobStore:
    """The default store: the registry's ``payload_blobs`` table."""

    def __init__(self, url: str) -> None:
        from registry.store import open_registry

        self.registry = open_registry(url)
        self.where = "the registry's payload_blobs table"

    def put(self, digest: str, data: bytes) -> None:
        from registry.blobs import put_blob

        put_blob(self.registry, digest, data)

    def get(self, digest: str) -> bytes | None:
        from registry.blobs import get_blob

        return get_blob(self.registry, digest)

    def close(self) -> None:
        self.registry.engine.dispose()


class DirectoryBlobStore:
    """Blobs as files ``<root>/<2 hex>/<digest>`` (a shared volume for several hosts)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root)

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, digest: str, data: bytes) -> None:
        path = self._path(digest)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f"{digest}.{os.getpid()}.tmp")
        temp.write_bytes(data)
        temp.replace(path)  # atomic: a reader sees all of it or nothing

    def get(self, digest: str) -> bytes | None:
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError:
            return None


class ClaimCheckCodec(PayloadCodec):
    """Payloads over ``threshold`` bytes become a digest; decoding fetches them back."""

    def __init__(self, store: BlobStore, threshold: int) -> None:
        self.store = store
        self.threshold = threshold
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cached = 0

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.ByteSize() <= self.threshold:
                out.append(payload)
                continue
            data = payload.SerializeToString()
            digest = hashlib.sha256(data).hexdigest()
            if digest not in self._cache:
                await asyncio.to_thread(self.store.put, digest, data)
                self._remember(digest, data)
            out.append(Payload(metadata={"encoding": ENCODING}, data=digest.encode()))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                out.append(payload)
                continue
            digest = payload.data.decode(errors="replace")
            data = self._cache.get(digest)
            if data is None:
                data = await asyncio.to_thread(self.store.get, digest)
                if data is None or hashlib.sha256(data).hexdigest() != digest:
                    raise MissingBlobError(
                        f"payload {digest[:12]}… is not in {self.store.where}: every process "
                        "of the bot must share one payload store (CCB_PAYLOAD_STORE, or the "
                        "same registry)")
                self._remember(digest, data)
            else:
                self._cache.move_to_end(digest)
            out.append(Payload.FromString(data))
        return out

    def _remember(self, digest: str, data: bytes) -> None:
        self._cache[digest] = data
        self._cached += len(data)
        while self._cached > CACHE_BYTES and self._cache:
            _, old = self._cache.popitem(last=False)
            self._cached -= len(old)
