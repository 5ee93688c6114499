"""A newer version's promotion tells older versions' promotions they are superseded; one that
never ran, or has ended, is not there to tell, and the newer promotion goes on regardless.
(The superseded wait itself ends on the stack in ``test_contribution.py``.)"""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import Client

from infra.settings import get_settings
from models.deployment import Environment
from models.promotion import PromotionInput, PromotionResult
from registry.store import Registry
from tests.conftest import running_worker


async def test_a_promotion_whose_older_versions_have_no_promotion_running_goes_on(
        client: Client, task_queue: str, registry: Registry,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCB_ENVIRONMENTS", "development")  # nothing after it to deploy to
    get_settings.cache_clear()
    slug = f"sup-{uuid.uuid4().hex[:8]}"
    registry.record_request(slug=slug, name="Sup", integration_type="api-client", request={},
                            repo="demo/integrations", issue_number=None, actor="alice",
                            workflow_id=f"create-{slug}", key=f"create-{slug}")
    for version, sha in (("0.1.0", "a" * 40), ("0.2.0", "b" * 40), ("0.3.0", "c" * 40)):
        registry.add_version(slug, version, commit_sha=sha)
    async with running_worker(client, task_queue):
        result = await client.execute_workflow(
            "PromotionWorkflow", PromotionInput(slug=slug, version="0.3.0", commit_sha="c" * 40),
            id=f"promote-{slug}-0.3.0", task_queue=task_queue, result_type=PromotionResult)
        history = await client.get_workflow_handle(f"promote-{slug}-0.3.0").fetch_history()
    # development is the whole order here: nothing to promote to, and no failure on the way
    assert result.reached == Environment.DEVELOPMENT and result.stopped == ""
    signalled = [e for e in history.events
                 if e.HasField("signal_external_workflow_execution_failed_event_attributes")]
    assert len(signalled) == 2  # 0.2.0 and 0.1.0: asked, not found, and that is fine
    get_settings.cache_clear()
