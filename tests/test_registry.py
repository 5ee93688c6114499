"""The registry on SQLite (always) and PostgreSQL (when CCB_TEST_POSTGRES_URL points at one)."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from models.events import EventType
from models.states import IntegrationState
from registry.store import Registry, SlugTakenError, UnknownIntegrationError, make_engine

POSTGRES_URL = os.environ.get("CCB_TEST_POSTGRES_URL", "")


def _postgres_registry() -> Registry:
    """A fresh database on the server, so tests never see each other's rows."""
    database = f"ccb_test_{uuid.uuid4().hex[:10]}"
    engine = make_engine(POSTGRES_URL)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    engine.dispose()
    base, _, _ = POSTGRES_URL.rpartition("/")
    return Registry(f"{base}/{database}")


@pytest.fixture(params=["sqlite", "postgres"])
def any_registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    if request.param == "sqlite":
        yield Registry(f"sqlite:///{tmp_path / 'registry.db'}")
        return
    if not POSTGRES_URL:
        pytest.skip("CCB_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against "
                    "(`make test` starts one where it can install Debian's postgresql)")
    registry = _postgres_registry()
    yield registry
    registry.engine.dispose()


def _request(registry: Registry, slug: str, workflow_id: str = "wf-1", key: str = "") -> None:
    registry.record_request(slug=slug, name=slug.title(), integration_type="api-client",
                            request={"slug": slug}, repo="demo/integrations", issue_number=7,
                            actor="alice", workflow_id=workflow_id, key=key or f"{slug}/req")


def test_request_is_recorded_once_with_its_event(any_registry: Registry) -> None:
    for _ in range(3):
        _request(any_registry, "acme")
    [row] = any_registry.list_integrations()
    assert (row.slug, row.state, row.issue_number) == ("acme", IntegrationState.REQUESTED, 7)
    [event] = any_registry.events("acme")
    assert event.type == EventType.INTEGRATION_REQUESTED
    assert event.metadata == {"actor": "alice", "workflow_id": "wf-1"}
    assert event.payload["slug"] == "acme"
    assert len(any_registry.transitions("acme")) == 1


def test_slug_held_by_a_live_integration_is_refused(any_registry: Registry) -> None:
    _request(any_registry, "acme")
    with pytest.raises(SlugTakenError, match=r"already exists .*integration-update"):
        _request(any_registry, "acme", workflow_id="wf-2", key="acme/other")
    assert any_registry.get("acme").workflow_id == "wf-1"


def test_failed_integration_is_retried_not_requested_again(any_registry: Registry) -> None:
    _request(any_registry, "acme")
    any_registry.transition("acme", IntegrationState.FAILED, actor="ccb-bot", reason="boom",
                            workflow_id="wf-1", key="acme/fail")
    with pytest.raises(SlugTakenError, match="state FAILED; comment /retry"):
        _request(any_registry, "acme", workflow_id="wf-2", key="acme/again")
    any_registry.transition("acme", IntegrationState.ANALYZING, actor="alice", reason="/retry",
                            workflow_id="wf-1", key="acme/retry")
    assert [t.to_state for t in any_registry.transitions("acme")] == [
        IntegrationState.REQUESTED, IntegrationState.FAILED, IntegrationState.ANALYZING]


def test_versions_and_events(any_registry: Registry) -> None:
    _request(any_registry, "acme")
    any_registry.add_version("acme", "1.0.0", commit_sha="abc", pr_number=3,
                             manifest={"version": "1.0.0"})
    any_registry.add_version("acme", "1.0.0", commit_sha="abc", pr_number=3)
    any_registry.add_version("acme", "1.1.0")
    assert [v.version for v in any_registry.versions("acme")] == ["1.0.0", "1.1.0"]
    any_registry.add_event("e1", EventType.CODE_GENERATED, slug="acme", payload={"files": 4})
    any_registry.add_event("e1", EventType.CODE_GENERATED, slug="acme", payload={"files": 9})
    events = any_registry.events("acme")
    assert [e.type for e in events] == [EventType.INTEGRATION_REQUESTED, EventType.CODE_GENERATED]
    assert events[1].payload == {"files": 4}


def test_unknown_integration_says_how_to_find_them(any_registry: Registry) -> None:
    with pytest.raises(UnknownIntegrationError, match="ccb list"):
        any_registry.get("nope")


def _hammer(url: str, writer: int, count: int) -> None:
    registry = Registry(url)
    for i in range(count):
        registry.add_event(f"w{writer}-{i}", EventType.ERROR_OCCURRED, slug="shared",
                           payload={"writer": writer, "i": i})
        slug = f"w{writer}-{i}"
        registry.record_request(slug=slug, name=slug, integration_type="sync-job", request={},
                                repo="demo/integrations", issue_number=i, actor="bot",
                                workflow_id=slug, key=f"{slug}/req")
        registry.transition(slug, IntegrationState.ANALYZING, actor="bot", reason="go",
                            workflow_id=slug, key=f"{slug}/an")


def test_concurrent_writers_from_two_processes_never_corrupt_sqlite(tmp_path: Path) -> None:
    """The worker and the starter write at once: WAL + busy timeout keep every write."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    _request(Registry(url), "shared")
    count = 150
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(url, w, count)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    registry = Registry(url)
    assert len(registry.events("shared")) == 1 + 3 * count
    assert len(registry.list_integrations()) == 1 + 3 * count
    assert len(registry.transitions()) == 1 + 2 * 3 * count
    with sqlite3.connect(tmp_path / "shared.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_blob_is_stored_once_and_read_back(any_registry: Registry) -> None:
    """The claim-check store: the same content twice is one row; bytes come back exact."""
    import hashlib

    from registry.blobs import get_blob, put_blob

    data = bytes(range(256)) * 40
    digest = hashlib.sha256(data).hexdigest()
    assert get_blob(any_registry, digest) is None
    put_blob(any_registry, digest, data)
    put_blob(any_registry, digest, data)  # a retry, or another process: no error, no copy
    assert get_blob(any_registry, digest) == data
    from sqlalchemy import func, select

    from registry.tables import PayloadBlob

    with any_registry.session() as session:
        count = session.exec(select(func.count()).select_from(PayloadBlob)  # type: ignore[call-overload]
                             .where(PayloadBlob.digest == digest)).one()
    assert tuple(count) == (1,)


def test_processes_starting_together_on_a_fresh_database_all_get_the_schema(
        tmp_path: Path) -> None:
    """`ccb up` starts the starter and the worker at once on a new data dir: both create the
    schema, and neither may fail because the other created a table first or was switching
    the new file to WAL at that moment (SQLite's "database is locked", CI's one failure)."""
    import threading

    from registry.store import Registry

    for round_ in range(40):
        url = f"sqlite:///{tmp_path / f'fresh-{round_}.db'}"
        start, failures = threading.Barrier(6), []

        def open_it(url: str = url, start: threading.Barrier = start,
                    failures: list[str] = failures) -> None:
            start.wait()
            try:
                Registry(url).ping()
            except Exception as exc:  # what a racing process would die of
                failures.append(repr(exc)[:200])

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == [], failures
