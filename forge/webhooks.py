"""Outgoing webhook deliveries, signed like GitHub's and sent from a background thread.

``WebhookDispatcher.send`` only enqueues: the API call that caused the event never waits for
the receiver. A worker thread POSTs each payload with a short timeout, retries a bounded
number of times on connection errors, and records every delivery (without its secret).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger("forge.webhooks")

DELIVERY_TIMEOUT_SECONDS = 5.0
CONNECT_RETRIES = 3
RETRY_BACKOFF_SECONDS = (0.2, 0.5, 1.0)
MAX_RECORDED = 2000


def signature_256(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256``: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    """One delivery attempt series: what was sent, and how the receiver answered."""

    guid: str
    event: str
    action: str | None
    url: str
    payload: dict[str, Any]
    status_code: int | None = None
    error: str | None = None
    attempts: int = 0
    delivered_at: float | None = None
    duration_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self, *, with_payload: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "guid": self.guid, "delivery_id": self.guid, "event": self.event,
            "action": self.action, "url": self.url, "status_code": self.status_code,
            "error": self.error, "attempts": self.attempts, "delivered_at": self.delivered_at,
            "duration_ms": self.duration_ms,
        }
        if with_payload:
            data["payload"] = self.payload
        return data


class WebhookDispatcher:
    """A queue of deliveries and the thread that sends them."""

    def __init__(self, url: str | None, secret: str) -> None:
        self.url = url
        self._secret = secret
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._records: list[Delivery] = []
        self._records_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None

    def start(self) -> None:
        if self._thread is None:
            self._client = httpx.Client(timeout=DELIVERY_TIMEOUT_SECONDS, trust_env=False)
            self._thread = threading.Thread(target=self._run, name="forge-webhooks",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=DELIVERY_TIMEOUT_SECONDS * 2)
            self._thread = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def send(self, event: str, payload: dict[str, Any]) -> str | None:
        """Queue one delivery; returns its GUID (None when no URL is configured)."""
        if not self.url:
            return None
        delivery = Delivery(guid=str(uuid.uuid4()), event=event,
                            action=payload.get("action"), url=self.url, payload=payload)
        with self._records_lock:
            self._records.append(delivery)
            del self._records[:-MAX_RECORDED]
        self._queue.put(delivery)
        return delivery.guid

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait (bounded) until every queued delivery has been attempted."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def deliveries(self, *, with_payload: bool = False) -> list[dict[str, Any]]:
        with self._records_lock:
            return [d.summary(with_payload=with_payload) for d in self._records]

    # -- the worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            try:
                if delivery is None:
                    return
                self._deliver(delivery)
            finally:
                self._queue.task_done()

    def _deliver(self, delivery: Delivery) -> None:
        assert self._client is not None
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/forge",
            "X-GitHub-Event": delivery.event, "X-GitHub-Delivery": delivery.guid,
            "X-GitHub-Hook-ID": "1", "X-GitHub-Hook-Installation-Target-Type": "repository",
        }
        if self._secret:
            headers["X-Hub-Signature-256"] = signature_256(self._secret, body)
        for attempt in range(CONNECT_RETRIES + 1):
            delivery.attempts = attempt + 1
            started = time.monotonic()
            try:
                response = self._client.post(delivery.url, content=body, headers=headers)
            except httpx.TransportError as exc:
                delivery.error = f"{type(exc).__name__}: {exc}"
                if attempt < CONNECT_RETRIES and isinstance(
                        exc, httpx.ConnectError | httpx.ConnectTimeout):
                    time.sleep(RETRY_BACKOFF_SECONDS[min(attempt, len(RETRY_BACKOFF_SECONDS) - 1)])
                    continue
                log.warning("webhook %s %s to %s failed: %s", delivery.event, delivery.guid,
                            delivery.url, delivery.error)
                return
            delivery.status_code = response.status_code
            delivery.error = None if response.is_success else response.text[:200]
            delivery.delivered_at = time.time()
            delivery.duration_ms = round((time.monotonic() - started) * 1000, 1)
            return
