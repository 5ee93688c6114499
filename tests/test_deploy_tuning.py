"""``CCB_DEPLOY_TUNING``: how deployments move per environment, and a clear refusal when the
setting is wrong (a deployment then stops before touching anything)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from temporalio.exceptions import ApplicationError

from activities.deploy.steps import environment_tuning
from infra.settings import get_settings
from models.deploy import DeployTuning


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()  # after monkeypatch's undo: no test sees this one's setting


def _with(monkeypatch: pytest.MonkeyPatch, value: object) -> None:
    monkeypatch.setenv("CCB_DEPLOY_TUNING", json.dumps(value))
    get_settings.cache_clear()


def test_an_environment_without_overrides_gets_the_defaults(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _with(monkeypatch, {"development": {"window_s": 3}})
    assert environment_tuning("production") == DeployTuning()
    tuned = environment_tuning("development")
    assert tuned.window_s == 3 and tuned.steps == DeployTuning().steps


def test_a_wrong_setting_is_refused_naming_it_and_what_to_fix(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _with(monkeypatch, {"staging": {"steps": [50]}})
    with pytest.raises(ApplicationError) as caught:
        environment_tuning("staging")
    assert caught.value.non_retryable
    assert "CCB_DEPLOY_TUNING for staging is invalid" in str(caught.value)
    assert "steps must rise strictly to 100" in str(caught.value)
