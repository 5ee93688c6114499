"""Promotion's pure rules: the order environments are promoted in, how each one is entered,
and whether a version's recorded gates let it into the next one.

The order is a setting (``CCB_ENVIRONMENTS``, default ``development,staging,production``):
merged code deploys to the first; a promotion moves the same version, at the same commit,
one environment on at a time. Each environment's flags say how it is entered:
``promotion: auto`` (when the gates pass), ``approval`` (a person's ``/promote``, bound to
the commit) or ``off`` (promotion stops before it); an environment whose
``auto_deployment`` is off is never entered without a person.

Gates are bound to the version *and* the commit sha, never to "the newest event of the
slug": the tests and the security scan recorded for that sha when it merged, the generated
live checks passed against that version in the environment before, and, where the policy
asks, a person's approval of that sha.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from models.deployment import Environment
from models.flags import FeatureFlags, PromotionPolicy

DEFAULT_ORDER = "development,staging,production"
KNOWN = ", ".join(e.value for e in Environment)


def parse_environments(text: str) -> tuple[Environment, ...]:
    """``"development, staging, production"`` -> the environments in promotion order.
    Raises ValueError with the sentence to show (unknown, repeated or no environment)."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError(f"CCB_ENVIRONMENTS names no environment: list some of {KNOWN}, "
                         "first to last, comma-separated")
    unknown = [n for n in names if n not in {e.value for e in Environment}]
    if unknown:
        raise ValueError(f"CCB_ENVIRONMENTS names unknown environments {', '.join(unknown)}: "
                         f"use {KNOWN}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"CCB_ENVIRONMENTS names {', '.join(repeated)} more than once: each "
                         "environment has one place in the order")
    return tuple(Environment(n) for n in names)


def after(order: Iterable[Environment], current: Environment) -> list[Environment]:
    """The environments a version in ``current`` may still be promoted to, in order (none
    when ``current`` is not in the order: nothing is promoted out of an unlisted one)."""
    chain = list(order)
    return chain[chain.index(current) + 1:] if current in chain else []


def entry_policy(flags: FeatureFlags) -> PromotionPolicy:
    """How an environment is entered: its ``promotion`` flag, but never automatically where
    ``auto_deployment`` is off."""
    if flags.promotion is PromotionPolicy.AUTO and not flags.auto_deployment:
        return PromotionPolicy.APPROVAL
    return flags.promotion


@dataclass(frozen=True)
class GateRecords:
    """What the registry holds for one version at one commit (activities gather it)."""

    version_sha: str | None  # the commit the version was recorded at; None: not recorded
    merged: Mapping[str, Any] | None  # the version.recorded gates of that commit, if any
    live_checks_passed: frozenset[str]  # environments whose live checks passed for it
    live_checks_failed: frozenset[str]  # ... and failed (the newest result counts)


def gate_problems(records: GateRecords, *, version: str, commit_sha: str,
                  previous: Environment, approver: str, needs_approval: bool,
                  bots: frozenset[str] = frozenset({"ccb-bot"})) -> list[str]:
    """Why ``version`` at ``commit_sha`` may not enter the next environment (empty: it may)."""
    short = commit_sha[:7]
    if records.version_sha is None:
        return [f"version {version} was never merged: nothing to promote"]
    if not commit_sha or records.version_sha != commit_sha:
        return [f"version {version} was merged at {records.version_sha[:7] or 'no commit'}, "
                f"not at {short or 'no commit'}: promote the commit that merged"]
    problems = []
    merged = records.merged
    if merged is None:
        problems.append(f"no tests or security scan are recorded for {version} at {short} "
                        "(merged before gates were bound to commits): merge it again with "
                        "an update request")
    else:
        if merged.get("tests_passed") is not True:
            problems.append(f"the tests did not pass for {version} at {short}")
        if merged.get("security_scan") != "passed":
            problems.append(f"the security scan did not pass for {version} at {short}")
    if previous.value in records.live_checks_failed:
        problems.append(f"the generated live checks failed against {version} in {previous}")
    elif previous.value not in records.live_checks_passed:
        problems.append(f"the generated live checks have not passed against {version} in "
                        f"{previous}")
    if needs_approval and (not approver or approver.lower() in {b.lower() for b in bots}):
        problems.append(f"a person must approve {version} at {short}: `/promote <environment>`")
    return problems
