"""Content-addressed blobs: the claim-check store's default home (a registry table)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from registry.store import Registry
from registry.tables import PayloadBlob


def put_blob(registry: Registry, digest: str, data: bytes) -> None:
    """Store ``data`` under ``digest`` once; storing it again is a no-op (same content)."""
    with registry.session() as session:
        if session.get(PayloadBlob, digest) is not None:
            return
        session.add(PayloadBlob(digest=digest, data=data, size=len(data)))
        try:
            session.commit()
        except IntegrityError:  # another process stored the same content first
            session.rollback()


def get_blob(registry: Registry, digest: str) -> bytes | None:
    with registry.session() as session:
        row = session.get(PayloadBlob, digest)
        return bytes(row.data) if row is not None else None
