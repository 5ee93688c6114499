"""Payloads encrypted at rest in Temporal: AES-256-GCM, the key id in each payload's metadata.

Keys come from ``CCB_PAYLOAD_KEYS`` (``id:base64key,...``) or the key file
(``CCB_PAYLOAD_KEYS_FILE``, default ``<data_dir>/payload-keys``: one ``id base64key`` per line).
The first key encrypts; every key decrypts, so payloads written before a rotation stay
readable (``ccb payload-keys rotate`` puts a new key first). No keys: payloads are not
encrypted. ``ccb up`` creates the file with one key on first start.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


class PayloadKeyError(ValueError):
    """The keys are unusable, or a payload needs a key this process lacks (one sentence)."""


@dataclass(frozen=True)
class Keyring:
    """Key id -> 32-byte key; ``current`` encrypts."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def current(self) -> tuple[str, bytes]:
        return self.keys[0]

    def key(self, key_id: str) -> bytes:
        for known, key in self.keys:
            if known == key_id:
                return key
        raise PayloadKeyError(
            f"a payload is encrypted with key {key_id!r}, which this process does not have "
            f"(it has {', '.join(k for k, _ in self.keys) or 'none'}): add that key to "
            "CCB_PAYLOAD_KEYS_FILE or CCB_PAYLOAD_KEYS (keep old keys after a rotation)")


def parse_keys(pairs: Sequence[tuple[str, str]], where: str) -> Keyring | None:
    """Key id and base64 text pairs as a keyring; each problem is one sentence naming
    ``where`` (the setting or file)."""
    keys: list[tuple[str, bytes]] = []
    for key_id, text in pairs:
        if not KEY_ID_PATTERN.match(key_id):
            raise PayloadKeyError(f"{where}: key id {key_id[:40]!r} is not a word of letters, "
                                  "digits, '.', '_' or '-' (up to 40)")
        try:
            key = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise PayloadKeyError(f"{where}: key {key_id!r} is not base64") from None
        if len(key) != KEY_BYTES:
            raise PayloadKeyError(f"{where}: key {key_id!r} has {len(key)} bytes; AES-256 "
                                  f"needs {KEY_BYTES} (`ccb payload-keys rotate` makes one)")
        if any(known == key_id for known, _ in keys):
            raise PayloadKeyError(f"{where}: key id {key_id!r} appears twice")
        keys.append((key_id, key))
    return Keyring(tuple(keys)) if keys else None


def keys_from_setting(text: str) -> Keyring | None:
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key_id, sep, key = item.partition(":")
        if not sep:
            raise PayloadKeyError("CCB_PAYLOAD_KEYS: write each key as id:base64key, "
                                  "separated by commas")
        pairs.append((key_id.strip(), key.strip()))
    return parse_keys(pairs, "CCB_PAYLOAD_KEYS")


def keys_from_file(path: Path) -> Keyring | None:
    if not path.exists():
        return None
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise PayloadKeyError(f"CCB_PAYLOAD_KEYS_FILE: cannot read {path}: "
                              f"{exc.strerror}") from None
    pairs = []
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 2:
            raise PayloadKeyError(f"CCB_PAYLOAD_KEYS_FILE: {path} has a line that is not "
                                  "'id base64key'")
        pairs.append((fields[0], fields[1]))
    return parse_keys(pairs, f"CCB_PAYLOAD_KEYS_FILE ({path})")


def new_key_line(key_id: str | None = None) -> str:
    key_id = key_id or f"k{secrets.token_hex(4)}"
    return f"{key_id} {base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


def rotate_key_file(path: Path) -> str:
    """Put a new key first in ``path`` (created 0600 if missing); returns its id."""
    line = new_key_line()
    old = path.read_text() if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".new")
    temp.touch(mode=0o600)
    temp.write_text(line + "\n" + old)
    temp.replace(path)
    return line.split()[0]


class EncryptionCodec(PayloadCodec):
    """AES-GCM over each whole payload (metadata included); the key id is authenticated."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id, key = self.keyring.current
        cipher = AESGCM(key)
        out = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), key_id.encode())
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()},
                               data=nonce + sealed))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                out.append(payload)  # written before encryption was on
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
            cipher = AESGCM(self.keyring.key(key_id))
            nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
            out.append(Payload.FromString(cipher.decrypt(nonce, sealed, key_id.encode())))
        return out
