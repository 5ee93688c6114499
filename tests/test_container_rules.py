"""Issue 12, item 5: a deployed integration never runs as root and cannot reach another
integration's container. The Dockerfile rules refuse a root user in every spelling and
``COPY --from`` another image; the integrations' network has inter-container traffic off
(shown from the network's own configuration: no packet is aimed anywhere)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from activities.checks.layout import CheckLimits, dockerfile_findings
from activities.deploy.containers import INTEGRATION_NETWORK, integration_network
from activities.sandbox.docker_runner import docker_client

PATH = "integrations/x/Dockerfile"
BASE = "FROM ccb-base:latest\nCOPY . /app\n"


def _codes(dockerfile: str) -> list[str]:
    return [f.code for f in dockerfile_findings({PATH: dockerfile}, "x", CheckLimits())]


ROOT_SPELLINGS = st.one_of(
    st.builds(lambda n: "0" * n, st.integers(1, 6)),
    st.sampled_from(["root", "ROOT", "Root"]),
    st.builds(lambda u, g: f"{u}:{g}", st.sampled_from(["65534", "app", "1000"]),
              st.sampled_from(["0", "00", "root"])),
    st.builds(lambda name: f"${name}", st.from_regex(r"[A-Z_]{1,8}", fullmatch=True)),
    st.builds(lambda name: f"${{{name}}}", st.from_regex(r"[A-Z_]{1,8}", fullmatch=True)),
    st.builds(lambda n: f"{'0' * n}:{'0' * n}", st.integers(1, 3)),
)


@given(ROOT_SPELLINGS)
def test_a_root_user_in_any_spelling_is_refused(user: str) -> None:
    assert "dockerfile-root" in _codes(f"{BASE}USER {user}\n")


@given(st.integers(1, 2**31 - 1), st.one_of(st.none(), st.integers(1, 2**31 - 1)))
def test_a_fixed_non_root_uid_passes(uid: int, gid: int | None) -> None:
    user = str(uid) if gid is None else f"{uid}:{gid}"
    assert _codes(f"{BASE}USER {user}\n") == []


def test_copy_from_must_name_a_stage_of_the_same_file() -> None:
    staged = "FROM ccb-base:latest AS build\nFROM ccb-base:latest\nCOPY --from=build /a /a\n"
    assert _codes(staged + "USER 65534\n") == []
    assert _codes("FROM ccb-base:latest\nFROM ccb-base:latest\nCOPY --from=0 /a /a\n"
                  "USER 65534\n") == []
    for image in ("python:3.11", "ghcr.io/evil/tools:latest", "docker.io/library/busybox"):
        codes = _codes(f"FROM ccb-base:latest\nCOPY --from={image} / /\nUSER 65534\n")
        assert "dockerfile-copy-from" in codes, image


def test_the_integrations_network_has_inter_container_traffic_off() -> None:
    client = docker_client()
    assert client is not None
    assert integration_network(client) == INTEGRATION_NETWORK
    assert integration_network(client) == INTEGRATION_NETWORK  # idempotent
    network = client.networks.get(INTEGRATION_NETWORK)
    assert network.attrs["Driver"] == "bridge"
    assert network.attrs["Options"]["com.docker.network.bridge.enable_icc"] == "false"
