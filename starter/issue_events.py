"""What a person does on GitHub outside the bot's commands (issue 13 item 3): closing a
request issue cancels the running workflow (its compensations run: pull request closed,
branch deleted, or a revert after a merge), reopening retries a request whose last run
failed, each answered with one comment on the issue; closing or merging the bot's pull
request is told to the workflow that waits on it."""

from __future__ import annotations

from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from infra.settings import Settings
from models.creation import Progress, PullClosed
from models.github import UpsertComment
from starter.dispatch import RPC_TIMEOUT, Dispatcher, Outcome, TemporalUnavailable
from starter.permissions import pull_state
from starter.routing import IssueClosed, IssueReopened
from workflows import names


def may_act(action: IssueClosed | IssueReopened) -> bool:
    """The person who opened a request may close or reopen it without write access."""
    return bool(action.author) and action.actor.lower() == action.author.lower()


async def closed_by_its_merge(dispatcher: Dispatcher, settings: Settings, repo: str,
                              issue: int) -> bool:
    """Whether the run's pull request is merged: merging it closes the issue ("Closes #N"),
    which is no reason to stop the run that is about to deploy it."""
    found = await dispatcher.find(repo, issue)
    if found is None:
        return False
    try:
        progress = await found[1].query("progress", result_type=Progress)
    except (RPCError, WorkflowQueryFailedError):
        return False
    if not progress.pr_number:
        return False
    return (await pull_state(settings, repo, progress.pr_number)).get("merged") is True


async def on_issue_event(dispatcher: Dispatcher, settings: Settings,
                         action: IssueClosed | IssueReopened, delivery: str) -> Outcome:
    repo, issue = action.repo, action.issue_number
    if isinstance(action, IssueClosed):
        if await closed_by_its_merge(dispatcher, settings, repo, issue):
            return Outcome("ignored", f"#{issue} was closed by merging its pull request")
        outcome = await dispatcher.cancel(repo, issue)
        if outcome.status != "cancelled":
            return outcome  # nothing ran: the issue closing is the end of it, nothing to say
        text = (f"@{action.actor} closed this issue, so the bot stopped working on it: "
                "what it had done is being undone (its pull request closed and branch "
                "deleted, or a revert opened after a merge). Reopen the issue to start again.")
    else:
        outcome = await dispatcher.retry(repo, issue, action.actor, action.title, action.body)
        if outcome.status == "started":
            text = f"@{action.actor} reopened this issue: the bot is retrying the request."
        else:
            text = (f"@{action.actor} reopened this issue, but there is nothing to retry: "
                    f"{outcome.message}. Comment `/status` to see where it is.")
    marker = f"{'closed' if isinstance(action, IssueClosed) else 'reopened'}-{delivery}"[:60]
    await dispatcher.start_reply(UpsertComment(repo=repo, number=issue, marker=_safe(marker),
                                               body=text), key=_safe(marker))
    return outcome


def _safe(marker: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in marker)


async def tell_pull_closed(dispatcher: Dispatcher, target: tuple[str, str],
                           closed: PullClosed) -> Outcome:
    """Tell the owning workflow a person closed (or merged) its pull request."""
    kind, workflow_id = target
    handle = dispatcher.client.get_workflow_handle(workflow_id)
    try:
        await handle.signal(names.PULL_CLOSED_SIGNAL, closed, rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return Outcome("rejected", f"{workflow_id} is not running", workflow_id, kind)
        raise TemporalUnavailable(f"Temporal did not answer: {exc.message}") from None
    what = "merged" if closed.merged else "closed"
    return Outcome("signalled", f"{workflow_id} told the pull request was {what} by "
                   f"{closed.actor}", workflow_id, kind)
