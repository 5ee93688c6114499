"""Content-addressed blobs: the claim-check store's default home (a registry table)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from registry.store import Registry
from registry.tables import PayloadBlob, utcnow

TABLE = PayloadBlob.__table__  # type: ignore[attr-defined]


def put_blob(registry: Registry, digest: str, data: bytes) -> None:
    """Store ``data`` under ``digest`` once: one INSERT that does nothing when the content is
    already there (a retry, another process, the same code twice)."""
    dialect = registry.engine.dialect.name
    values = {"digest": digest, "data": data, "size": len(data), "created_at": utcnow()}
    if dialect in ("sqlite", "postgresql"):
        insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(TABLE)
        statement = insert.values(**values).on_conflict_do_nothing(index_elements=["digest"])
        with registry.engine.begin() as conn:
            conn.execute(statement)
        return
    with registry.engine.begin() as conn:  # other databases: look, then insert
        if conn.execute(select(TABLE.c.digest).where(TABLE.c.digest == digest)).first() is None:
            conn.execute(TABLE.insert().values(**values))


def get_blob(registry: Registry, digest: str) -> bytes | None:
    with registry.engine.connect() as conn:
        row = conn.execute(select(TABLE.c.data).where(TABLE.c.digest == digest)).first()
        return bytes(row[0]) if row is not None else None
