"""The generate -> compare -> check -> test rounds of an update (SPEC process 2, steps 3-6).

An update's rounds differ from creation's: each round's code is compared with the live
version's public API, the version is bumped by what the comparison finds (never less than
the request declared), a breaking change gets a migration plan on top of the earlier ones,
and the old version's tests run with the new ones unless the change is breaking.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.codegen.claude_update import claude_generate_update
    from activities.codegen.offline_update import offline_generate_update
    from activities.codegen.select import select_backend
    from activities.compat import compare_public_api
    from models.bump import Bump
    from models.codegen import Backend, Finding
    from models.manifest import with_manifest_version
    from models.update import (
        CompatInput,
        CompatReport,
        IntegrationLookup,
        UpdateGenerateInput,
        UpdateInput,
    )
    from models.update_request import ChangeKind, UpdateRequest
    from models.verify import TestReport, TestRequest
    from rules.migration_plan import migration_plan
    from rules.security_scan import security_scan
    from rules.semver import bump_version, strongest
    from workflows import fix_rounds
    from workflows.policies import LOCAL_HEARTBEATING_STEP, LOCAL_STEP
    from workflows.request_run import RequestRun
    from workflows.update_checklist import move_to

DECLARED_BUMP = {ChangeKind.BREAKING: Bump.MAJOR, ChangeKind.FEATURE: Bump.MINOR,
                 ChangeKind.FIX: Bump.PATCH}
CLAUDE_UPDATE_PATCH = "update-by-claude"  # earlier runs always used the offline generator

Round = tuple[dict[str, str], CompatReport, str, Bump]  # files, comparison, version, bump


class UpdateFailed(ApplicationError):
    """A failure already explained on the issue; the run ends failed."""


class UpdateRounds(RequestRun):
    """The update workflow's generation rounds (its class derives from this one)."""

    _remember: dict[str, object]
    _checklist = False  # set at the start of a run: whether it keeps the checklist

    async def _at(self, name: str) -> None:
        """The update's current step; with its checklist (``update-checklist``) shown on the
        issue, with the state label."""
        self._progress.current_step = name
        if self._checklist:
            move_to(self._progress, name)
            await self._publish()

    async def _generate_until_green(
        self, inp: UpdateInput, update: UpdateRequest, lookup: IntegrationLookup,
        old_files: dict[str, str], old_version: str, reviewer_comments: list[str] | None = None,
        current: dict[str, str] | None = None,
    ) -> tuple[dict[str, str], TestReport, CompatReport, str, Bump]:
        """Generate, compare, check and test in bounded rounds. ``reviewer_comments`` (changes
        a reviewer asked for) and ``current`` (the PR's files) are set when answering one."""
        comments = list(reviewer_comments or [])
        findings: list[Finding] = []
        root = f"integrations/{update.slug}/"
        backend = self._progress.backend  # chosen by the first round, kept for answers
        if backend is None:
            backend = Backend.OFFLINE
            if workflow.patched(CLAUDE_UPDATE_PATCH):
                backend = await workflow.execute_activity(select_backend, **LOCAL_STEP)
            self._progress.backend = backend
        previous = current or old_files
        stop_when_stalled = workflow.patched(fix_rounds.STALLED_PATCH)
        last_round: dict[str, str] = {}
        for attempt in range(1, inp.max_fix_rounds + 1):
            await self._at("generate")
            if backend == Backend.CLAUDE:
                files, compat, new_version, bump = await self._claude_round(
                    update, lookup, old_files, previous, old_version, findings, attempt,
                    comments)
                previous = files
            else:
                # From the last round's files, so a round that can change nothing gives the
                # same files (the offline generator records a comment only once).
                basis = last_round if stop_when_stalled and last_round else old_files
                files, compat, new_version, bump = await self._offline_round(
                    update, lookup, old_files, old_version, findings, attempt, comments, basis)
            if compat.breaking:  # the newest plan on top of the earlier ones
                earlier = old_files.get(f"{root}MIGRATION.md", "")
                files[f"{root}MIGRATION.md"] = migration_plan(
                    update.slug, old_version, new_version, compat, update.change) + (
                    f"\n---\n\n{earlier}" if earlier else "")
            if stop_when_stalled and fix_rounds.stalled(files, last_round, attempt):
                raise UpdateFailed(fix_rounds.stalled_message(backend, attempt, findings),
                                   type=fix_rounds.STALLED_TYPE, non_retryable=True)
            last_round = dict(files)

            await self._at("check")
            findings = await self._check(update.slug, files)
            if any(f.severity == "error" for f in findings):
                continue
            await self._at("test")
            tested = files if compat.breaking else {**files, **previous_tests(old_files, root)}
            report = await self._test(TestRequest(slug=update.slug, files=tested,
                                                  coverage_gate=inp.coverage_gate))
            if report.passed and report.meets_coverage:
                self._security_scan = security_scan(findings)  # this round's own verdict
                return files, report, compat, new_version, bump
            findings = report.findings
        if stop_when_stalled:
            raise UpdateFailed(
                fix_rounds.not_converged_message(inp.max_fix_rounds, findings, internal=True),
                type=fix_rounds.NOT_CONVERGED_TYPE, non_retryable=True)
        raise UpdateFailed(
            f"the updated code still had problems after {inp.max_fix_rounds} rounds: "
            + "; ".join(f"{f.tool} {f.path}:{f.line or ''} {f.message}" for f in findings[:10]),
            type=fix_rounds.LEGACY_NOT_CONVERGED_TYPE, non_retryable=True)

    async def _compare(self, slug: str, old_files: dict[str, str],
                       new_files: dict[str, str]) -> CompatReport:
        await self._at("compatibility")
        report: CompatReport = await workflow.execute_activity(
            compare_public_api, CompatInput(slug=slug, old_files=old_files, new_files=new_files),
            **LOCAL_HEARTBEATING_STEP)
        return report

    async def _claude_round(
        self, update: UpdateRequest, lookup: IntegrationLookup, old_files: dict[str, str],
        previous: dict[str, str], old_version: str, findings: list[Finding], attempt: int,
        comments: list[str],
    ) -> Round:
        """One Claude call per round, at the declared bump's version; the manifest's version
        is then set to what the public-API comparison says the change really is."""
        code = await self._by_model(claude_generate_update, UpdateGenerateInput(
            request=lookup.request, update=update,
            version=bump_version(old_version, DECLARED_BUMP[update.kind]),
            previous_files=previous, findings=findings, attempt=attempt,
            renames=lookup.renames, integration_key=workflow.info().workflow_id,
            reviewer_comments=comments))
        compat = await self._compare(update.slug, old_files, code.files)
        bump = strongest(DECLARED_BUMP[update.kind], compat.detected_bump)
        new_version = bump_version(old_version, bump)
        self._remember = {"request": code.request,
                          "renames": [list(pair) for pair in code.renames]}
        files = with_manifest_version(dict(code.files), f"integrations/{update.slug}/",
                                      new_version)
        return files, compat, new_version, bump

    async def _offline_round(
        self, update: UpdateRequest, lookup: IntegrationLookup, old_files: dict[str, str],
        old_version: str, findings: list[Finding], attempt: int, comments: list[str],
        basis: dict[str, str],
    ) -> Round:
        """A draft at the old version to compare, then the files at the bumped version;
        ``basis`` is what the generator starts from (the old files, or the last round's)."""
        def asked(version: str) -> UpdateGenerateInput:
            return UpdateGenerateInput(
                request=lookup.request, update=update, version=version, previous_files=basis,
                findings=findings, attempt=attempt, renames=lookup.renames,
                reviewer_comments=comments)

        draft = await self._local(offline_generate_update, asked(old_version))
        compat = await self._compare(update.slug, old_files, draft.files)
        bump = strongest(DECLARED_BUMP[update.kind], compat.detected_bump)
        new_version = bump_version(old_version, bump)
        code = await self._local(offline_generate_update, asked(new_version))
        self._remember = {"request": code.request,
                          "renames": [list(pair) for pair in code.renames]}
        return dict(code.files), compat, new_version, bump


def manifest_version(files: dict[str, str], root: str) -> str:
    try:
        return str(json.loads(files[f"{root}manifest.json"])["version"])
    except (KeyError, ValueError, TypeError):
        return "0.1.0"


def previous_tests(old_files: dict[str, str], root: str) -> dict[str, str]:
    """The old version's test modules, renamed ``test_previous_*``, run with the new ones."""
    tests: dict[str, str] = {}
    for path, text in old_files.items():
        pure = PurePosixPath(path)
        if path.startswith(f"{root}tests/") and pure.name.startswith("test_"):
            tests[str(pure.with_name("test_previous_" + pure.name[5:]))] = text
    return tests
