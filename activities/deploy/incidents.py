"""The health monitor's incident issue: opened once per incident (the notification, on-call
mentioned when critical), its timeline edited in place as checks go on (an edit notifies
nobody), one comment paging on-call when a warning becomes critical, closed on recovery.

Every activity is idempotent: the issue is found by its hidden marker among the open issues
labelled ``incident``, so a retry after a crash finds the issue the first try opened.
"""

from __future__ import annotations

from github.Issue import Issue
from github.Repository import Repository
from temporalio import activity

from activities.github_client import repository
from activities.github_errors import github_activity
from activities.github_issues import by_bot
from infra.settings import get_settings
from models.github import hidden_marker, with_marker
from models.health import IncidentCommand, IncidentRef, Severity
from registry.store import open_registry
from rules.health import incident_body, incident_title

INCIDENT_LABEL = "incident"
SEVERITY_LABELS = {s: f"severity:{s.value}" for s in Severity}


def _repo_of(slug: str) -> str:
    """The repository of the integration's request, else the bot's."""
    settings = get_settings()
    integration = open_registry(settings.registry_url).find(slug)
    return (integration.repo if integration else "") or settings.github_repo


def _marker(command: IncidentCommand) -> str:
    return f"incident:{command.environment}/{command.slug}"


def _find_open(repo: Repository, command: IncidentCommand) -> Issue | None:
    tag = hidden_marker(_marker(command))
    for issue in repo.get_issues(state="open", labels=[INCIDENT_LABEL]):
        if tag in (issue.body or "") and by_bot(issue.user.login if issue.user else None):
            return issue
    return None


def _body(command: IncidentCommand) -> str:
    on_call = get_settings().on_call_logins
    text = incident_body(command.slug, command.environment, command.version, command.severity,
                         command.timeline, command.monitor_id, on_call, command.recovered_at,
                         mention=command.paged)
    return with_marker(text, _marker(command))


def _ref(issue: Issue) -> IncidentRef:
    return IncidentRef(number=issue.number, url=issue.html_url,
                       paged="On call: @" in (issue.body or ""))


@activity.defn
@github_activity("the incident of {slug} in {environment}")
def open_incident(command: IncidentCommand) -> IncidentRef:
    """The open incident issue of this integration and environment, opened if there is none
    (labelled ``incident`` and its severity, on-call mentioned when critical)."""
    repo = repository(_repo_of(command.slug))
    issue = _find_open(repo, command)
    if issue is None:
        opening = command.model_copy(update={"paged": command.severity == Severity.CRITICAL})
        issue = repo.create_issue(
            title=incident_title(command.slug, command.environment), body=_body(opening),
            labels=[INCIDENT_LABEL, SEVERITY_LABELS[command.severity]])
        activity.logger.info("opened incident #%s for %s in %s", issue.number, command.slug,
                             command.environment)
    return _ref(issue)


@activity.defn
@github_activity("incident #{number} of {slug}")
def update_incident(command: IncidentCommand) -> IncidentRef:
    """Write the timeline into the incident's text and its severity into its labels; when it
    became critical, one comment mentioning on-call (tagged, so a retry posts it once)."""
    issue = repository(_repo_of(command.slug)).get_issue(command.number)
    body = _body(command)
    if issue.body != body:
        issue.edit(body=body)
    wanted = SEVERITY_LABELS[command.severity]
    present = {label.name for label in issue.labels}
    if wanted not in present:
        issue.add_to_labels(wanted)
    for name in set(SEVERITY_LABELS.values()) - {wanted}:
        if name in present:
            issue.remove_from_labels(name)
    if command.escalated:
        marker = f"incident-critical:{len(command.timeline)}"
        tag = hidden_marker(marker)
        if not any(tag in (c.body or "") for c in issue.get_comments()):
            people = " ".join(f"@{login}" for login in get_settings().on_call_logins)
            last = command.timeline[-1].reason if command.timeline else ""
            issue.create_comment(with_marker(
                f"{people} this incident is now **critical**: {last}".strip(), marker))
    return _ref(issue)


@activity.defn
@github_activity("incident #{number} of {slug}")
def close_incident(command: IncidentCommand) -> IncidentRef:
    """The final timeline, one comment saying it recovered, and the issue closed."""
    issue = repository(_repo_of(command.slug)).get_issue(command.number)
    body = _body(command)
    if issue.body != body:
        issue.edit(body=body)
    marker = "incident-recovered"
    if not any(hidden_marker(marker) in (c.body or "") for c in issue.get_comments()):
        issue.create_comment(with_marker(
            f"Recovered: {command.slug} in {command.environment} passed its health check at "
            f"{command.recovered_at}. Closing this incident; the timeline above is kept.",
            marker))
    if issue.state != "closed":
        issue.edit(state="closed", state_reason="completed")
    return _ref(issue)


INCIDENT_ACTIVITIES = [open_incident, update_incident, close_incident]
