"""A person's own pull request that changed an integration, merged (issue 13, item 3).

The merge is the person's approval (the starter checked their write access): nothing is
merged or reverted here. For each integration the merge touched whose merged manifest.json
names a version above every recorded one (else nothing is recorded, and the comment says
which bump releases the change), the merged files are checked and tested in the sandbox,
the commit is recorded as that version with those gates
(tests and the security scan for that sha, the merger as approver), and, when they passed
and the first environment's flags allow it, deployed blue-green like an update, after which
the promotion takes it on. One comment on the pull request says what became of each.
One run per merge commit (``contribution_workflow_id``): a redelivered webhook starts none.
"""

from __future__ import annotations

import json

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.contribution import contribution_version
    from activities.credentials import missing_credentials
    from activities.flags import read_feature_flags
    from activities.github_issues import upsert_bot_comment
    from activities.github_pulls import list_pull_request_files
    from activities.github_review import read_repo_files
    from activities.lifecycle import record_event, record_version
    from activities.update_steps import find_integration
    from activities.verify import check_generated_code, run_generated_tests
    from models.codegen import Finding
    from models.contribution import (
        ContributionInput,
        ContributionResult,
        ContributionVersion,
        ContributionVersionQuery,
        SlugOutcome,
    )
    from models.credentials import CredentialQuery
    from models.deploy import DeployInput, DeployResult, deploy_workflow_id
    from models.deployment import Environment
    from models.events import EventType
    from models.flags import FeatureFlags
    from models.github import PullFile, PullQuery, UpsertComment
    from models.lifecycle import EventCommand, VersionCommand
    from models.promotion import PromotionInput
    from models.states import IntegrationState
    from models.update import IntegrationLookup, RepoFilesQuery
    from models.verify import CheckRequest, TestReport, TestRequest
    from rules.credentials import needed_credentials
    from rules.inert import inert
    from rules.review_rules import integration_slugs
    from rules.security_scan import security_scan
    from workflows.deploy import DeployWorkflow
    from workflows.errors import root_cause
    from workflows.names import INTEGRATIONS_DIR
    from workflows.policies import GITHUB_STEP, LOCAL_STEP, sandbox_step
    from workflows.promotion_start import start_promotion

MAX_INTEGRATIONS = 10  # a merge touching more is said, and the rest left to `ccb deploy`
NOT_DEPLOYABLE = (IntegrationState.PAUSED, IntegrationState.DEPRECATED)


@workflow.defn(name="ContributionWorkflow")
class ContributionWorkflow:
    """Record and deploy what a person merged into ``integrations/``."""

    @workflow.run
    async def run(self, inp: ContributionInput) -> ContributionResult:
        changed: list[PullFile] = await workflow.execute_activity(
            list_pull_request_files, PullQuery(repo=inp.repo, number=inp.pr_number),
            **GITHUB_STEP)
        slugs = integration_slugs([f.filename for f in changed])
        if not slugs:  # a merge outside integrations/ is none of the bot's business
            return ContributionResult(outcome="skipped")
        outcomes = [await self._one(inp, slug) for slug in slugs[:MAX_INTEGRATIONS]]
        lines = [f"- {o.line}" for o in outcomes]
        if len(slugs) > MAX_INTEGRATIONS:
            lines.append(f"- {len(slugs) - MAX_INTEGRATIONS} more integrations were changed; "
                         "deploy them with `ccb deploy <slug>`.")
        await workflow.execute_activity(upsert_bot_comment, UpsertComment(
            repo=inp.repo, number=inp.pr_number, marker=f"contribution/{inp.merge_sha[:12]}",
            body=f"@{inp.merged_by} merged this pull request as {inp.merge_sha[:7]}; the bot "
                 "took it as their approval of the integrations it changes:\n\n"
                 + "\n".join(lines)), **GITHUB_STEP)
        return ContributionResult(outcome="done", integrations=outcomes)

    async def _one(self, inp: ContributionInput, slug: str) -> SlugOutcome:
        lookup: IntegrationLookup = await workflow.execute_activity(
            find_integration, slug, **LOCAL_STEP)
        if not lookup.found:
            return SlugOutcome(slug=slug, outcome="unknown", line=(
                f"`{slug}` is not an integration the bot knows, so nothing was recorded or "
                "deployed: open an integration request for it."))
        root = f"{INTEGRATIONS_DIR}{slug}/"
        files: dict[str, str] = await workflow.execute_activity(
            read_repo_files, RepoFilesQuery(repo=inp.repo, prefix=root, ref=inp.merge_sha),
            **GITHUB_STEP)
        if not files:
            return SlugOutcome(slug=slug, outcome="removed", line=(
                f"`{slug}`'s folder was removed; the running {lookup.current_version or 'version'}"
                f" stays as it is: take it down with `ccb deprecate {slug}`."))
        manifest = _manifest(files.get(f"{root}manifest.json", ""))
        chosen: ContributionVersion = await workflow.execute_activity(
            contribution_version, ContributionVersionQuery(
                slug=slug, manifest_version=str(manifest.get("version") or "")[:40],
                commit_sha=inp.merge_sha), **LOCAL_STEP)
        version = chosen.version
        if not version:  # a version is its manifest's: nothing new to record or deploy
            return SlugOutcome(slug=slug, outcome="not_recorded", line=(
                f"`{slug}`: no new version is recorded or deployed, because {chosen.note}. "
                f"{lookup.current_version or 'The recorded version'} keeps running."))
        findings: list[Finding] = await workflow.execute_activity(
            check_generated_code, CheckRequest(slug=slug, files=files), **sandbox_step())
        report: TestReport = await workflow.execute_activity(
            run_generated_tests, TestRequest(slug=slug, files=files), **sandbox_step())
        scan = security_scan(findings)
        errors = [f for f in findings if f.severity == "error"]
        passed = report.passed and report.meets_coverage and not errors
        base = f"{workflow.info().workflow_id}/{slug}"
        await self._event(f"{base}/tests", EventType.TESTS_COMPLETED, slug, {
            **report.model_dump(mode="json", include={
                "tests", "failures", "errors", "coverage_percent", "isolation", "reason"}),
            "passed": report.passed and report.meets_coverage, "security_scan": scan,
            "commit_sha": inp.merge_sha})
        await self._event(f"{base}/merged", EventType.REVIEW_COMPLETED, slug, {
            "approved_by": inp.merged_by, "source": "contribution", "version": version,
            "pr": inp.pr_number})
        await workflow.execute_activity(record_version, VersionCommand(
            slug=slug, version=version, commit_sha=inp.merge_sha, pr_number=inp.pr_number,
            manifest={**manifest, "version": version}, make_current=passed,
            gates={"tests_passed": report.passed and report.meets_coverage,
                   "security_scan": scan, "tests": report.tests,
                   "coverage_percent": report.coverage_percent,
                   "approved_by": inp.merged_by, "approved_sha": inp.head_sha,
                   "source": "contribution"}), **LOCAL_STEP)
        said = f"`{slug}` {lookup.current_version or 'new'} -> {version}"
        if not passed:
            why = ("its tests failed" if not report.passed else
                   f"coverage {report.coverage_percent or 0:.0f}% is below the "
                   f"{report.coverage_gate:.0f}% gate" if not report.meets_coverage else
                   f"the checks found {len(errors)} error(s), first: "
                   f"{inert(errors[0].message[:200])}")
            return SlugOutcome(slug=slug, outcome="not_deployed", version=version, line=(
                f"{said} is recorded but not deployed: {why} for {inp.merge_sha[:7]} in the "
                f"sandbox ({inert(report.summary)}); it cannot be promoted. Fix it in a new "
                "pull request."))
        return await self._deploy(inp, slug, lookup, files, version, said)

    async def _deploy(self, inp: ContributionInput, slug: str, lookup: IntegrationLookup,
                      files: dict[str, str], version: str, said: str) -> SlugOutcome:
        env = inp.environment
        recorded = f"{said} is recorded (tests and security scan passed for {inp.merge_sha[:7]})"
        if lookup.state in NOT_DEPLOYABLE:
            return SlugOutcome(slug=slug, outcome="recorded", version=version, line=(
                f"{recorded}; not deployed: the integration is {lookup.state.lower()} "
                f"(`ccb resume {slug}` first, then `ccb deploy {slug} --env {env}`)."))
        flags: FeatureFlags = await workflow.execute_activity(
            read_feature_flags, env, **LOCAL_STEP)
        if not flags.auto_deployment:
            return SlugOutcome(slug=slug, outcome="recorded", version=version, line=(
                f"{recorded}; auto-deployment is off in {env}: deploy it with "
                f"`ccb deploy {slug} --env {env}`."))
        names = needed_credentials(files.get(f"{INTEGRATIONS_DIR}{slug}/manifest.json", ""))
        missing: list[str] = await workflow.execute_activity(
            missing_credentials, CredentialQuery(slug=slug, environment=env, names=names),
            **LOCAL_STEP) if names else []
        if missing:
            return SlugOutcome(slug=slug, outcome="recorded", version=version, line=(
                f"{recorded}; not deployed: its credentials {', '.join(missing)} are not set "
                f"for {env}. Set them with `ccb secrets set {slug} NAME --env {env}`, then "
                f"`ccb deploy {slug} --env {env}`."))
        root = f"{INTEGRATIONS_DIR}{slug}/"
        try:
            deployed: DeployResult = await workflow.execute_child_workflow(
                DeployWorkflow.run,
                DeployInput(slug=slug, version=version, environment=env,
                            files={p: t for p, t in files.items() if p.startswith(root)},
                            commit_sha=inp.merge_sha, flags=flags, actor=inp.merged_by,
                            reason=f"pull request #{inp.pr_number} merged by {inp.merged_by}"),
                id=deploy_workflow_id(env, slug, version))
        except ChildWorkflowError as err:
            return SlugOutcome(slug=slug, outcome="not_deployed", version=version, line=(
                f"{recorded}, but its deployment to {env} did not go live and was undone: "
                f"{inert(str(root_cause(err))[:300])}. The version before it still serves."))
        await start_promotion(PromotionInput(
            slug=slug, version=version, commit_sha=inp.merge_sha,
            from_environment=Environment(env), repo=inp.repo,
            issue_number=lookup.issue_number,  # where `/promote` for the integration works
            requested_by=inp.merged_by))
        onward = (f" Its promotion goes on from there; `/promote <environment>` on #"
                  f"{lookup.issue_number} (or `ccb promote {slug}`) lets it in where a person "
                  "must." if lookup.issue_number else "")
        return SlugOutcome(slug=slug, outcome="deployed", version=version, line=(
            f"{recorded} and live in {env} ({deployed.color.value}, blue-green); roll back "
            f"with `ccb rollback {slug}`.{onward}"))

    async def _event(self, event_id: str, kind: EventType, slug: str,
                     payload: dict[str, object]) -> None:
        await workflow.execute_activity(record_event, EventCommand(
            event_id=event_id, type=kind, slug=slug, payload=payload,
            metadata={"workflow_id": workflow.info().workflow_id}), **LOCAL_STEP)


def _manifest(text: str) -> dict[str, object]:
    """The merged manifest.json as a dict; {} when it is not a JSON object (the checks say
    what is wrong with it)."""
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
