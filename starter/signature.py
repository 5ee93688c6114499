"""GitHub webhook signatures: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="
_HEX_DIGITS = 64


def sign(secret: str, body: bytes) -> str:
    """The header value GitHub sends for ``body`` signed with ``secret``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def well_formed(header: str | None) -> bool:
    """True when ``header`` has the shape ``sha256=<64 hex digits>`` (checked before reading)."""
    if not header or not header.startswith(PREFIX) or len(header) != len(PREFIX) + _HEX_DIGITS:
        return False
    try:
        bytes.fromhex(header[len(PREFIX):])
    except ValueError:
        return False
    return True


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the signature of ``body``; compared in constant time.

    An empty secret verifies nothing: a starter without ``CCB_WEBHOOK_SECRET`` refuses all.
    """
    if not secret or not well_formed(header):
        return False
    assert header is not None
    return hmac.compare_digest(sign(secret, body).encode("ascii"), header.lower().encode("ascii"))
