"""How a webhook receiver checks its deliveries, read from the request (pure).

The sender signs each delivery with a shared secret (HMAC-SHA256 of the body, or of
``<timestamp>.<body>`` when the scheme has a timestamp header); the receiver finds the
signature in a header, encoded as hex, ``sha256=``-prefixed hex or base64. The form's
"Webhook signature" field chooses the encoding; the request's text may name it and the
headers (``X-Shopify-Hmac-Sha256``, ``X-Hub-Signature-256``, a ``...-Timestamp`` header, a
delivery-id header). Header names come from untrusted text and are kept only when they are
plain ``[A-Za-z0-9-]`` tokens; everything else falls back to the defaults below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.request import IntegrationRequest, SignatureEncoding
from rules.untrusted_text import clean_untrusted

DEFAULT_SIGNATURE_HEADER = "X-Signature-256"
DEFAULT_DELIVERY_HEADER = "X-Delivery-Id"
DEFAULT_TOLERANCE_SECONDS = 300
MAX_TOLERANCE_SECONDS = 86_400
_TOKEN = re.compile(r"(?<![A-Za-z0-9-])[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+){1,6}(?![A-Za-z0-9])")
_DELIVERY_WORDS = ("delivery", "webhook-id", "event-id", "idempotency", "message-id")
# Senders whose encoding is known from their header alone.
_KNOWN = {"x-shopify-hmac-sha256": SignatureEncoding.BASE64,
          "x-hub-signature-256": SignatureEncoding.PREFIXED_HEX}
_WINDOW = re.compile(
    r"(?:window|tolerance|older than|replay|within)[^0-9\n]{0,30}?(\d{1,5})\s*"
    r"(seconds?|secs?|s|minutes?|mins?|m)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SignatureScheme:
    """What the generated receiver checks."""

    header: str
    encoding: SignatureEncoding
    timestamp_header: str  # "" when the scheme has none (no replay window then)
    tolerance_seconds: int
    delivery_header: str


def _headers(text: str) -> list[str]:
    return [m[0] for m in _TOKEN.finditer(text) if len(m[0]) <= 64]


def _first(tokens: list[str], words: tuple[str, ...]) -> str:
    return next((t for t in tokens if any(w in t.lower() for w in words)), "")


def _encoding(text: str, header: str, chosen: SignatureEncoding | None) -> SignatureEncoding:
    if chosen is not None:
        return chosen
    lower = text.lower()
    if header.lower() in _KNOWN:
        return _KNOWN[header.lower()]
    if "base64" in lower:
        return SignatureEncoding.BASE64
    if "sha256=" in lower:
        return SignatureEncoding.PREFIXED_HEX
    if re.search(r"\bhex\b", lower):
        return SignatureEncoding.HEX
    return SignatureEncoding.PREFIXED_HEX


def _tolerance(text: str) -> int:
    match = _WINDOW.search(text)
    if not match:
        return DEFAULT_TOLERANCE_SECONDS
    seconds = int(match[1]) * (60 if match[2].lower().startswith("m") else 1)
    return max(1, min(MAX_TOLERANCE_SECONDS, seconds))


def signature_scheme(request: IntegrationRequest) -> SignatureScheme:
    """The scheme a receiver for ``request`` checks."""
    text = clean_untrusted(f"{request.requirements}\n{request.example_usage}")
    tokens = _headers(text)
    header = _first(tokens, ("signature", "hmac")) or DEFAULT_SIGNATURE_HEADER
    timestamp = _first(tokens, ("timestamp",))
    return SignatureScheme(
        header=header,
        encoding=_encoding(text, header, request.signature),
        timestamp_header=timestamp if timestamp.lower() != header.lower() else "",
        tolerance_seconds=_tolerance(text),
        delivery_header=_first(tokens, _DELIVERY_WORDS) or DEFAULT_DELIVERY_HEADER,
    )
