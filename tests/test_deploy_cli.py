"""`ccb deployments`, `ccb deploy` and `ccb rollback`: listings and clear errors (the
workflows themselves are exercised in test_deploy_workflow.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from infra.settings import get_settings
from registry.deployments import record_deployment
from registry.store import Registry, open_registry
from starter.cli_deploy import read_source, register
from tests.deploy_helpers import deploy_environment, faulty_files
from tests.deploy_helpers import register as register_integration
from tests.traffic_helpers import start_version_server

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    cli = typer.Typer()
    register(cli)
    return cli


@pytest.fixture
def reg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    with deploy_environment(monkeypatch):
        yield open_registry(get_settings().registry_url)


def test_deployments_lists_live_colour_and_health(app: typer.Typer, reg: Registry) -> None:
    register_integration(reg, "listed")
    server = start_version_server("1.0.0")
    try:
        record_deployment(reg, key="a", slug="listed", version="0.9.0", environment="development",
                          color="green", status="live", endpoint="127.0.0.1:1")
        record_deployment(reg, key="b", slug="listed", version="1.0.0", environment="development",
                          color="blue", status="live", endpoint=f"127.0.0.1:{server.port}")
        result = runner.invoke(app, ["deployments"])
        everything = runner.invoke(app, ["deployments", "--all"])
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["INTEGRATION", "VERSION", "ENV", "COLOUR", "STATUS",
                                "ENDPOINT", "HEALTH"]
    assert lines[1].split()[:5] == ["listed", "1.0.0", "development", "blue", "live"]
    assert lines[1].endswith("ready")
    assert len(lines) == 2  # the first one was retired when the second went live
    assert "retired" in everything.output


def test_rollback_without_an_earlier_version_says_so(app: typer.Typer, reg: Registry) -> None:
    register_integration(reg, "lonely")
    record_deployment(reg, key="a", slug="lonely", version="1.0.0", environment="development",
                      color="blue", status="live", endpoint="127.0.0.1:1", image="lonely:1")
    result = runner.invoke(app, ["rollback", "lonely"])
    assert result.exit_code == 1
    assert "lonely has no earlier version in development to go back to (live: 1.0.0)" in \
        result.output
    unknown = runner.invoke(app, ["rollback", "nope"])
    assert unknown.exit_code == 1 and "no integration named 'nope'" in unknown.output


def test_deploy_with_a_bad_source_is_a_clear_error(app: typer.Typer, reg: Registry,
                                                   tmp_path: Path) -> None:
    result = runner.invoke(app, ["deploy", "ghost", "--source", str(tmp_path)])
    assert result.exit_code == 1
    assert "integrations/ghost/manifest.json not found: pass --source" in result.output
    bad_env = runner.invoke(app, ["deploy", "ghost", "--env", "moon"])
    assert bad_env.exit_code == 2 and "moon" in bad_env.output
    for path, text in faulty_files("ghost", "1.2.3").items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    files, version = read_source(tmp_path, "ghost")
    assert version == "1.2.3" and "integrations/ghost/Dockerfile" in files
