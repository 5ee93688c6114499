"""The offline generator's ``integration type -> renderer`` table.

A renderer names the files the generator owns for a layout and writes them; everything else
under the integration's folder is a file carried over from earlier rounds. Each integration
type looks its renderer up here, so a type gets a shape of its own by adding an entry.

The api-client shape is a typed client, a FastAPI service whose operations call it, and
their tests; the webhook-receiver shape verifies signatures, refuses replays and records
each delivery once (``offline.receiver``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from activities.codegen.offline.client import render_client, render_init
from activities.codegen.offline.docs import (
    manifest_json,
    render_dockerfile,
    render_pyproject,
    render_readme,
)
from activities.codegen.offline.layout import Layout
from activities.codegen.offline.package_tests import render_client_tests, render_service_tests
from activities.codegen.offline.plans import api_client_spec, receiver_spec, sync_spec
from activities.codegen.offline.receiver import receiver_files, receiver_paths
from activities.codegen.offline.service import render_service
from activities.codegen.offline.sync_job import sync_files, sync_paths
from models.manifest import TechnicalSpec
from models.request import IntegrationType


@dataclass(frozen=True)
class Renderer:
    """What the generator writes itself for one integration type."""

    shape: str  # in words, for the generated README and the table's readers
    paths: Callable[[Layout], list[str]]
    render: Callable[[Layout], dict[str, str]]
    spec: Callable[[Layout], TechnicalSpec]  # what the analysis plans for this type


def _api_client_paths(lay: Layout) -> list[str]:
    root, pkg = lay.root, lay.pkg
    return [f"{root}/manifest.json", f"{root}/README.md", f"{root}/Dockerfile",
            f"{root}/pyproject.toml", f"{root}/{pkg}/__init__.py", f"{root}/{pkg}/errors.py",
            f"{root}/{pkg}/client.py", f"{root}/{pkg}/service.py", f"{root}/tests/conftest.py",
            f"{root}/tests/test_client.py", f"{root}/tests/test_service.py"]


def _api_client_files(lay: Layout) -> dict[str, str]:
    contents = [manifest_json(lay), render_readme(lay), render_dockerfile(lay),
                render_pyproject(lay), render_init(lay), lay.render("errors.py.tmpl"),
                render_client(lay), render_service(lay), lay.render("conftest.py.tmpl"),
                render_client_tests(lay), render_service_tests(lay)]
    return dict(zip(_api_client_paths(lay), contents, strict=True))


API_CLIENT = Renderer("a typed client and a service whose operations call it",
                      _api_client_paths, _api_client_files, api_client_spec)

WEBHOOK_RECEIVER = Renderer("a service that verifies each delivery's signature, refuses "
                            "replays and records each delivery once",
                            receiver_paths, receiver_files, receiver_spec)

RENDERERS: dict[IntegrationType, Renderer] = {
    IntegrationType.API_CLIENT: API_CLIENT,
    IntegrationType.WEBHOOK_RECEIVER: WEBHOOK_RECEIVER,
    IntegrationType.SYNC_JOB: Renderer("a typed client and a service whose /sync pages "
                                       "through the source with a persisted cursor",
                                       sync_paths, sync_files, sync_spec),
}


def renderer_for(lay: Layout) -> Renderer:
    return RENDERERS[lay.request.integration_type]
