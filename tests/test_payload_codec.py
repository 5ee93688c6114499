"""Payloads at rest: large ones leave history (claim check), all are encrypted (AES-GCM with
key rotation), the Web UI's codec endpoint reads them back, and replay goes through it."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from infra.claim_check import ClaimCheckCodec, DirectoryBlobStore, MissingBlobError
from infra.payload_codec import Pipeline, data_converter, pipeline_for
from infra.payload_crypto import (
    EncryptionCodec,
    PayloadKeyError,
    keys_from_file,
    keys_from_setting,
    new_key_line,
    rotate_key_file,
)
from infra.secrets import secret_store
from infra.settings import get_settings
from models.creation import CreationResult
from starter.codec_server import create_codec_app
from tests.conftest import bin_path, running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    SAMPLE_BODY,
    World,
    approve,
    start_creation,
    wait_for_approval_wait,
    world_fixture,
)
from tests.figures import figure
from workflows.registry import ALL_WORKFLOWS


def _setting(*lines: str) -> str:
    return ",".join(":".join(line.split()) for line in lines)


KEY_A, KEY_B = new_key_line("a"), new_key_line("b")
payloads_strategy = st.lists(st.builds(
    lambda meta, data: Payload(metadata=meta, data=data),
    st.dictionaries(st.sampled_from(["encoding", "messageType", "x"]), st.binary(max_size=20),
                    max_size=3),
    st.binary(max_size=3000)), max_size=5)


# -- the codecs alone -------------------------------------------------------------------------

@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payloads=payloads_strategy)
def test_any_payload_comes_back_the_same_through_encryption_and_claim_check(
        payloads: list[Payload], tmp_path: Path) -> None:
    ring = keys_from_setting(_setting(KEY_A))
    assert ring is not None
    store = DirectoryBlobStore(tmp_path / "blobs")
    pipeline = Pipeline([EncryptionCodec(ring), ClaimCheckCodec(store, 512)])
    encoded = asyncio.run(pipeline.encode(payloads))
    for before, after in zip(payloads, encoded, strict=True):
        kind = after.metadata["encoding"]
        assert kind in (b"binary/encrypted", b"claim-check/sha256")
        if kind == b"claim-check/sha256":
            assert after.ByteSize() < 100  # history keeps the digest only
        if len(before.data) >= 16:
            assert before.data not in after.data
    assert asyncio.run(pipeline.decode(encoded)) == payloads


def test_a_payload_written_with_an_old_key_decodes_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "payload-keys"
    path.write_text(KEY_A + "\n")
    old_ring = keys_from_file(path)
    assert old_ring is not None
    [old] = asyncio.run(EncryptionCodec(old_ring).encode([Payload(data=b"issue text")]))
    assert old.metadata["encryption-key-id"] == b"a"
    new_id = rotate_key_file(path)
    ring = keys_from_file(path)
    assert ring is not None and [k for k, _ in ring.keys] == [new_id, "a"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    codec = EncryptionCodec(ring)
    [fresh] = asyncio.run(codec.encode([Payload(data=b"issue text")]))
    assert fresh.metadata["encryption-key-id"] == new_id.encode()
    assert [p.data for p in asyncio.run(codec.decode([old, fresh]))] == [b"issue text"] * 2
    # A process that lost the old key says which key it needs.
    only_new = keys_from_setting(_setting(path.read_text().splitlines()[0]))
    assert only_new is not None
    with pytest.raises(PayloadKeyError, match="encrypted with key 'a', which this process "
                                              "does not have"):
        asyncio.run(EncryptionCodec(only_new).decode([old]))


def test_a_tampered_payload_is_refused() -> None:
    from cryptography.exceptions import InvalidTag

    ring = keys_from_setting(_setting(KEY_A))
    assert ring is not None
    codec = EncryptionCodec(ring)
    [sealed] = asyncio.run(codec.encode([Payload(data=b"approve")]))
    sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(InvalidTag):
        asyncio.run(codec.decode([sealed]))


@pytest.mark.parametrize(("text", "sentence"), [
    ("a", "CCB_PAYLOAD_KEYS: write each key as id:base64key"),
    ("a:!!!", "CCB_PAYLOAD_KEYS: key 'a' is not base64"),
    (f"a:{base64.b64encode(b'short').decode()}", "key 'a' has 5 bytes; AES-256 needs 32"),
    ("bad id:" + KEY_A.split()[1], "key id 'bad id' is not a word"),
    (f"{_setting(KEY_A)},{_setting(KEY_A)}", "key id 'a' appears twice"),
])
def test_each_wrong_key_setting_is_one_sentence(text: str, sentence: str) -> None:
    with pytest.raises(PayloadKeyError, match=sentence.replace("(", r"\(").replace(")", r"\)")):
        keys_from_setting(text)


def test_a_missing_blob_says_the_stores_must_be_shared(tmp_path: Path) -> None:
    writer = ClaimCheckCodec(DirectoryBlobStore(tmp_path / "one"), 16)
    reader = ClaimCheckCodec(DirectoryBlobStore(tmp_path / "two"), 16)
    [claim] = asyncio.run(writer.encode([Payload(data=b"x" * 100)]))
    assert claim.ByteSize() < 100
    with pytest.raises(MissingBlobError, match="every process of the bot must share one "
                                               "payload store"):
        asyncio.run(reader.decode([claim]))


def test_the_registry_table_is_the_default_store(data_dir: Path) -> None:
    pipeline = pipeline_for(get_settings())
    big = Payload(metadata={"encoding": b"json/plain"}, data=b'"' + b"code " * 400 + b'"')
    [claim] = asyncio.run(pipeline.encode([big]))
    assert claim.metadata["encoding"] == b"claim-check/sha256"
    from registry.blobs import get_blob
    from registry.store import open_registry

    assert get_blob(open_registry(get_settings().registry_url), claim.data.decode()) is not None
    assert asyncio.run(pipeline_for(get_settings()).decode([claim])) == [big]


# -- a real creation on a server whose store we read raw ---------------------------------------

@pytest.fixture
async def stored_env(tmp_path: Path) -> AsyncIterator[tuple[WorkflowEnvironment, Path]]:
    """A dev server persisting to a SQLite file this test reads byte by byte."""
    from temporalio.common import SearchAttributeKey

    from infra.temporal import SEARCH_ATTRIBUTES

    db = tmp_path / "temporal.db"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=bin_path("temporal"), data_converter=data_converter(),
        dev_server_database_filename=str(db), ui=False, dev_server_log_level="error",
        search_attributes=[SearchAttributeKey.for_keyword(n) for n in SEARCH_ATTRIBUTES])
    try:
        yield env, db
    finally:
        await env.shutdown()


def _raw(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


async def _create(client: Client, world: World, body: str, task_queue: str) -> tuple[
        CreationResult, int, str]:
    issue = world.new_issue(body)
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue, body=body)
        await wait_for_approval_wait(handle)
        assert (await approve(handle)).accepted
        result = await asyncio.wait_for(handle.result(), timeout=180)
    history = await handle.fetch_history()
    from temporalio.api.history.v1 import History

    return result, History(events=history.events).ByteSize(), handle.id


async def test_a_history_holds_no_plain_issue_text_or_code_and_the_ui_codec_reads_it(
    stored_env: tuple[WorkflowEnvironment, Path], world: World, task_queue: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env, db = stored_env
    # Before: the converter as it was (no claim check, no keys): text and code in clear.
    monkeypatch.setenv("CCB_PAYLOAD_CLAIM_BYTES", "0")
    get_settings.cache_clear()
    plain, plain_size, _ = await _create(env.client, world, SAMPLE_BODY, task_queue)
    assert plain.state == "APPROVED"
    raw = _raw(db)
    assert b"Cache forecasts for 5 minutes" in raw and b"AcmeWeather" in raw  # the control

    # After: claim check and encryption on, as `ccb up` runs.
    monkeypatch.delenv("CCB_PAYLOAD_CLAIM_BYTES")
    monkeypatch.setenv("CCB_PAYLOAD_KEYS", _setting(KEY_B))
    get_settings.cache_clear()
    body = SAMPLE_BODY.replace("Acme Weather", "Bravo Weather").replace(
        "acme-weather", "bravo-weather").replace(
        "Cache forecasts for 5 minutes.", "Cache forecasts for 7 minutes, quokka-sized.")
    secret_store().set("bravo-weather", "BRAVO_WEATHER_API_KEY", "test-placeholder-key")
    sealed, sealed_size, sealed_id = await _create(env.client, world, body, task_queue)
    assert sealed.state == "APPROVED" and sealed.merged_sha
    await asyncio.sleep(1)  # let the server flush its writes to the file
    raw = _raw(db)
    for needle in (b"quokka-sized", b"BravoWeather", b"Bravo Weather", b"def forecast"):
        assert needle not in raw, needle
    figure(f"history of one offline creation (sample request, to merge): {plain_size} bytes "
           f"in clear -> {sealed_size} bytes with claim check and encryption "
           f"({sealed_size / plain_size:.2f}x)")
    assert sealed_size < 100_000

    # The Web UI's codec endpoint decodes what a client without the codec sees.
    raw_client = await Client.connect(env.client.service_client.config.target_host,
                                      data_converter=pydantic_data_converter)
    handle = raw_client.get_workflow_handle(sealed_id)
    first = (await handle.fetch_history()).events[0]
    encoded = first.workflow_execution_started_event_attributes.input
    assert encoded.payloads[0].metadata["encoding"] in (b"binary/encrypted",
                                                       b"claim-check/sha256")
    app = create_codec_app(get_settings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://codec") as http:
        origin = get_settings().ui_url
        pre = await http.options("/decode", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})
        assert pre.headers["access-control-allow-origin"] == origin
        answer = await http.post("/decode", content=json_format.MessageToJson(encoded),
                                 headers={"Content-Type": "application/json",
                                          "X-Namespace": "default", "Origin": origin})
        assert answer.status_code == 200, answer.text
        [decoded] = json_format.Parse(answer.text, Payloads()).payloads
        assert b"quokka-sized" in decoded.data
        bad = await http.post("/decode", content=b"not json",
                              headers={"Content-Type": "application/json"})
        assert bad.status_code == 400 and "not JSON Payloads" in bad.json()["error"]

    # Replay goes through the codec; after a rotation the old key still reads it.
    history = await env.client.get_workflow_handle(handle.id).fetch_history()
    replayer = Replayer(workflows=ALL_WORKFLOWS, data_converter=data_converter())
    assert (await replayer.replay_workflow(history)).replay_failure is None
    monkeypatch.setenv("CCB_PAYLOAD_KEYS", _setting(new_key_line("c"), KEY_B))
    get_settings.cache_clear()
    assert (await replayer.replay_workflow(history)).replay_failure is None
    monkeypatch.setenv("CCB_PAYLOAD_KEYS", _setting(new_key_line("c")))
    get_settings.cache_clear()
    failed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert failed.replay_failure is not None  # without key b it cannot be read at all
    print(json.dumps({"in_clear": plain_size, "sealed": sealed_size}), os.getpid())
